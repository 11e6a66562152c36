'use strict'
// A kafkajs consumer-group member for the group tests (driven by tests/clients/grouplib.py):
//   node group-consumer.js '<spec json>'
// spec: {brokers, groupId, topic, clientId, sessionTimeout, heartbeatInterval,
//        assigner: "default" | "roundrobin", metadata: "<prefix>",
//        commit: null | {"<partition>": [offset, metadata]}}
//
// Worker mode (commit == null): subscribes from the earliest offset, and for every batch first
// reports the records ({"ev":"batch"}), then commits offset+1 of the last one with the metadata
// string "<prefix>:<partition>:<offset>" (commit after processing), then reports the commit.
// Commit mode: joins, commits exactly the given offsets once assigned every given partition,
// reports them and leaves the group.
// stdin commands, one per line: "pause" (stop processing and committing; records that still
// arrive are dropped unreported) and "stop" (leave the group cleanly and exit 0).
// stdout: one JSON event per line; kafkajs' own log goes to stderr.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, logLevel, AssignerProtocol } = require('kafkajs')
const { MemberMetadata, MemberAssignment } = AssignerProtocol
const readline = require('readline')

function emit (ev) {
  process.stdout.write(JSON.stringify(ev) + '\n')
}

function stderrLogCreator () {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`${new Date().toISOString()} [kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}\n`)
  }
}

// The standard "roundrobin" assignor (Java RoundRobinAssignor, librdkafka and kafka-python
// "roundrobin"): every subscribed (topic, partition), sorted, dealt in turn to the members
// sorted by member id, skipping members not subscribed to the topic. Member metadata and
// assignments use the consumer protocol encoding (version 0, which every client reads).
const RoundRobin = ({ cluster }) => ({
  name: 'roundrobin',
  version: 0,
  async assign ({ members, topics }) {
    const subs = {}
    const allTopics = new Set(topics)
    for (const m of members) {
      const meta = MemberMetadata.decode(m.memberMetadata)
      subs[m.memberId] = new Set(meta.topics)
      meta.topics.forEach(t => allTopics.add(t))
    }
    await cluster.addMultipleTargetTopics([...allTopics])
    const sorted = members.map(m => m.memberId).sort()
    const assignment = {}
    sorted.forEach(id => { assignment[id] = {} })
    const tps = []
    for (const topic of [...allTopics].sort()) {
      const parts = cluster.findTopicPartitionMetadata(topic).map(p => p.partitionId).sort((a, b) => a - b)
      parts.forEach(p => tps.push([topic, p]))
    }
    let i = 0
    for (const [topic, partition] of tps) {
      for (let tries = 0; tries < sorted.length; tries++) {
        const id = sorted[i % sorted.length]
        i++
        if (subs[id].has(topic)) {
          if (!assignment[id][topic]) assignment[id][topic] = []
          assignment[id][topic].push(partition)
          break
        }
      }
    }
    return sorted.map(memberId => ({
      memberId,
      memberAssignment: MemberAssignment.encode({ version: 0, assignment: assignment[memberId] })
    }))
  },
  protocol ({ topics }) {
    return { name: 'roundrobin', metadata: MemberMetadata.encode({ version: 0, topics }) }
  }
})

async function main () {
  const spec = JSON.parse(process.argv[2])
  const kafka = new Kafka({
    clientId: spec.clientId || 'strom-kjs-member',
    brokers: spec.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 1000, initialRetryTime: 200, maxRetryTime: 1000 },
    logLevel: logLevel.INFO,
    logCreator: stderrLogCreator
  })
  const options = {
    groupId: spec.groupId,
    sessionTimeout: spec.sessionTimeout || 6000,
    heartbeatInterval: spec.heartbeatInterval || 1000,
    rebalanceTimeout: spec.rebalanceTimeout || 30000,
    maxWaitTimeInMs: 200,
    maxBytesPerPartition: 64 * 1024,
    retry: { retries: 1000, initialRetryTime: 200, maxRetryTime: 1000 }
  }
  if (spec.assigner === 'roundrobin') options.partitionAssigners = [RoundRobin]
  const consumer = kafka.consumer(options)
  let paused = false
  let stopping = false
  let committedOnce = false

  const stop = async (code) => {
    if (stopping) return
    stopping = true
    try {
      await consumer.disconnect()
    } catch (e) {
      emit({ ev: 'error', where: 'disconnect', error: String(e && e.message) })
    }
    emit({ ev: 'stopped' })
    process.exit(code)
  }

  const { GROUP_JOIN, REBALANCING, CRASH } = consumer.events
  let assigned = []
  let running = false
  // Commit mode: once running (kafkajs ignores commitOffsets before run() has started the
  // runner, and GROUP_JOIN fires before that) and assigned every partition to commit.
  const commitOnce = async () => {
    const wanted = Object.keys(spec.commit).map(Number)
    if (committedOnce || !running || !wanted.every(p => assigned.includes(p))) return
    committedOnce = true
    try {
      await consumer.commitOffsets(wanted.map(p => ({
        topic: spec.topic, partition: p, offset: String(spec.commit[p][0]), metadata: spec.commit[p][1]
      })))
      const offsets = {}
      wanted.forEach(p => { offsets[p] = spec.commit[p][0] })
      emit({ ev: 'committed', offsets })
    } catch (e) {
      emit({ ev: 'commit_error', error: String(e && e.message) })
    }
    await stop(0)
  }
  consumer.on(GROUP_JOIN, async ({ payload }) => {
    assigned = (payload.memberAssignment[spec.topic] || []).slice().sort((a, b) => a - b)
    emit({ ev: 'assigned', partitions: assigned, member: payload.memberId, leader: payload.isLeader, protocol: payload.groupProtocol })
    if (spec.commit) await commitOnce()
  })
  consumer.on(REBALANCING, () => emit({ ev: 'revoked' }))
  consumer.on(CRASH, ({ payload }) => {
    emit({ ev: 'error', where: 'crash', error: String(payload.error && payload.error.message), restart: payload.restart })
    // A crash kafkajs does not recover from: exit, so the test sees a dead member, not a silent one.
    if (!payload.restart && !stopping) setTimeout(() => process.exit(3), 100)
  })

  readline.createInterface({ input: process.stdin }).on('line', line => {
    const cmd = line.trim()
    if (cmd === 'pause') {
      paused = true
      consumer.pause([{ topic: spec.topic }])
      emit({ ev: 'paused' })
    } else if (cmd === 'stop') {
      stop(0)
    }
  })

  await consumer.connect()
  await consumer.subscribe({ topics: [spec.topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isStale }) => {
      if (paused || spec.commit || batch.isEmpty() || isStale()) return
      const recs = batch.messages.map(m => [batch.partition, Number(m.offset), m.key && m.key.toString()])
      emit({ ev: 'batch', recs })
      const lastOffset = batch.messages[batch.messages.length - 1].offset
      resolveOffset(lastOffset)
      const next = Number(lastOffset) + 1
      try {
        await consumer.commitOffsets([{
          topic: batch.topic,
          partition: batch.partition,
          offset: String(next),
          metadata: `${spec.metadata || 'kjs'}:${batch.partition}:${next}`
        }])
        emit({ ev: 'committed', offsets: { [batch.partition]: next } })
      } catch (e) {
        emit({ ev: 'commit_error', partition: batch.partition, error: String(e && e.message) })
        // The commit retrier wraps the broker's error (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION,
        // UNKNOWN_MEMBER_ID) in a non-retriable one that would crash the consumer for good;
        // rethrow the broker's error so kafkajs' runner rejoins the group as it does for fetches.
        let root = e
        while (root && (root.cause || root.originalError)) root = root.cause || root.originalError
        throw root
      }
      await heartbeat()
    }
  })
  running = true
  emit({ ev: 'ready' })
  if (spec.commit) await commitOnce()
}

process.on('SIGTERM', () => process.exit(0))
main().catch(e => {
  emit({ ev: 'error', where: 'main', error: String(e && e.stack) })
  process.exit(2)
})
