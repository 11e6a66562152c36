'use strict'
// The admin client: kafkajs's topic, metadata, group and offset calls over the core admin client.

const { native, call } = require('./addon.js')
const { clientOptions, brokerHandle } = require('./client.js')
const errors = require('../errors.js')

const { ClosedError, InvalidArgumentError } = errors

/** The first refusal among per-topic or per-group results, as its StromError. */
function firstError (results) {
  for (const r of results) {
    if (r.error != null) return errors.decode(r.error) || new errors.StromError(r.error)
  }
  return null
}

/** Kafka's admin client: topics, metadata, consumer groups and their offsets. */
class Admin {
  constructor (options = {}, config = {}) {
    const { config: c, broker } = clientOptions(options, config, 'admin')
    this._config = c
    this._broker = broker
    this._connecting = null
    this._native = null
  }

  /** Connects (fetching metadata once, so a wrong address fails here). */
  async connect () {
    if (this._connecting === null) {
      const broker = brokerHandle(this._broker)
      this._connecting = call(() => native.connectAdmin(this._config, broker))
      this._connecting.catch(() => { this._connecting = null })
    }
    this._native = await this._connecting
  }

  _handle () {
    if (this._native === null) throw new ClosedError('the admin client is not connected: call connect() first')
    return this._native
  }

  /**
   * Creates `[{ topic, numPartitions, replicationFactor, configEntries: [{ name, value }] }]`.
   * Resolves to true when every topic was created, false when some existed already (as kafkajs);
   * any other refusal rejects with its KafkaError.
   */
  async createTopics ({ topics, validateOnly = false } = {}) {
    if (!Array.isArray(topics)) throw new InvalidArgumentError('createTopics needs topics: an array')
    const specs = topics.map(t => ({
      topic: t.topic,
      numPartitions: t.numPartitions ?? undefined,
      replicationFactor: t.replicationFactor ?? undefined,
      configs: Object.fromEntries((t.configEntries ?? []).map(({ name, value }) => [name, String(value)]))
    }))
    const handle = this._handle()
    const results = await call(() => handle.createTopics(specs, validateOnly))
    const existed = results.filter(r => r.error != null && errors.decode(r.error).code === 36)
    const err = firstError(results.filter(r => !existed.includes(r)))
    if (err) throw err
    return existed.length === 0
  }

  async deleteTopics ({ topics } = {}) {
    if (!Array.isArray(topics)) throw new InvalidArgumentError('deleteTopics needs topics: an array')
    const handle = this._handle()
    const err = firstError(await call(() => handle.deleteTopics(topics)))
    if (err) throw err
  }

  /** Topic names, sorted (internal ones left out). */
  async listTopics () {
    const handle = this._handle()
    return call(() => handle.listTopics(false))
  }

  /** `{ topics: [{ name, partitions: [{ partitionId, leader, replicas, isr, ... }] }] }`. */
  async fetchTopicMetadata ({ topics = [] } = {}) {
    const handle = this._handle()
    const described = await call(() => handle.describeTopics(topics))
    return {
      topics: described.map(t => ({
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions.map(p => ({
          partitionErrorCode: 0,
          partitionId: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: []
        }))
      }))
    }
  }

  /** `{ groups: [{ groupId, protocolType, state }] }`. */
  async listGroups () {
    const handle = this._handle()
    const groups = await call(() => handle.listGroups())
    return { groups: groups.map(g => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.state ?? null })) }
  }

  /**
   * `{ groups: [{ groupId, state, protocolType, protocol, members: [{ memberId, clientId,
   * clientHost, assignment: [{ topic, partitions }] }] }] }`.
   */
  async describeGroups (groupIds) {
    if (!Array.isArray(groupIds)) throw new InvalidArgumentError('describeGroups needs an array of group ids')
    const handle = this._handle()
    const groups = await call(() => handle.describeGroups(groupIds))
    return {
      groups: groups.map(g => ({
        errorCode: 0,
        groupId: g.groupId,
        state: g.state,
        protocolType: g.protocolType,
        protocol: g.protocol,
        coordinator: g.coordinator,
        members: g.members.map(m => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId ?? null,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: m.assignment
        }))
      }))
    }
  }

  /**
   * Committed offsets of `groupId`: `[{ topic, partitions: [{ partition, offset, metadata }] }]`,
   * offset '-1' where nothing is committed. Without `topics`, every topic with a commit.
   */
  async fetchOffsets ({ groupId, topics } = {}) {
    if (typeof groupId !== 'string' || groupId === '') throw new InvalidArgumentError('fetchOffsets needs a groupId')
    const handle = this._handle()
    const committed = await call(() => handle.groupOffsets(groupId))
    const byTopic = new Map()
    for (const o of committed) {
      if (!byTopic.has(o.topic)) byTopic.set(o.topic, new Map())
      byTopic.get(o.topic).set(o.partition, o.offset)
    }
    const names = topics ?? [...byTopic.keys()].sort()
    if (names.length === 0) return []
    const described = await call(() => handle.describeTopics(names))
    return described.map(t => ({
      topic: t.name,
      partitions: t.partitions.map(p => {
        const offset = byTopic.get(t.name)?.get(p.partitionId)
        // A BigInt from the addon: exact past 2^53.
        return { partition: p.partitionId, offset: offset === undefined ? '-1' : String(offset), metadata: null }
      })
    }))
  }

  /** Deletes empty groups; rejects with the first refusal. */
  async deleteGroups (groupIds) {
    if (!Array.isArray(groupIds)) throw new InvalidArgumentError('deleteGroups needs an array of group ids')
    const handle = this._handle()
    const results = await call(() => handle.deleteGroups(groupIds))
    const err = firstError(results)
    if (err) throw err
    return results.map(r => ({ groupId: r.name, errorCode: 0 }))
  }

  /** Closes the connections; later calls fail with a ClosedError. */
  async disconnect () {
    if (this._connecting === null) return
    const handle = await this._connecting.catch(() => null)
    this._connecting = null
    this._native = null
    if (handle !== null) handle.close()
  }
}

module.exports = { Admin }
