'use strict'
// The producer: kafkajs's send and sendBatch over the core producer, one packed Buffer per send.

const { native, call } = require('./addon.js')
const { clientOptions, brokerHandle } = require('./client.js')
const { packRecords, unpackDeliveries } = require('./wire.js')
const { ClosedError, ConfigError, InvalidArgumentError } = require('../errors.js')

/** A Kafka producer: `new Producer({ bootstrapServers } | { broker }, { 'linger.ms': 5, ... })`. */
class Producer {
  constructor (options = {}, config = {}) {
    const { config: c, broker } = clientOptions(options, config, 'producer')
    this._config = c
    this._broker = broker
    this._connecting = null
    this._native = null
    this._disconnected = false
  }

  /** Starts the producer (checking its config); after disconnect, a new one. */
  async connect () {
    if (this._disconnected) {
      this._disconnected = false
      this._connecting = null
    }
    if (this._connecting === null) {
      const broker = brokerHandle(this._broker)
      this._connecting = call(() => native.connectProducer(this._config, broker))
      this._connecting.catch(() => { this._connecting = null })
    }
    this._native = await this._connecting
  }

  _handle () {
    if (this._native === null) throw new ClosedError('the producer is not connected: call connect() first')
    return this._native
  }

  /**
   * Sends `messages` to `topic` and resolves, once every one is acknowledged, to their record
   * metadata (one per message, in order).
   */
  async send ({ topic, messages, acks, compression } = {}) {
    if (typeof topic !== 'string' || topic === '') throw new InvalidArgumentError('send needs a topic')
    if (!Array.isArray(messages)) throw new InvalidArgumentError('send needs messages: an array')
    if (acks !== undefined || compression !== undefined) {
      throw new ConfigError('acks and compression are producer settings here: pass { acks, \'compression.type\' } in the producer config')
    }
    const handle = this._handle()
    if (messages.length === 0) return []
    const packed = packRecords(messages)
    const delivered = await call(() => handle.send(topic, packed, messages.length))
    return unpackDeliveries(topic, delivered)
  }

  /** kafkajs's sendBatch: `{ topicMessages: [{ topic, messages }] }`, metadata of all. */
  async sendBatch ({ topicMessages } = {}) {
    if (!Array.isArray(topicMessages)) throw new InvalidArgumentError('sendBatch needs topicMessages: an array')
    const results = await Promise.all(topicMessages.map(tm => this.send(tm)))
    return results.flat()
  }

  /** Sends what is queued without waiting for linger.ms, and waits for the answers. */
  async flush () {
    const handle = this._handle()
    return call(() => handle.flush())
  }

  /** Delivers what is queued and stops; later sends fail with a ClosedError. */
  async disconnect () {
    if (this._connecting === null) return
    this._disconnected = true
    const handle = await this._connecting.catch(() => null)
    if (handle !== null) await call(() => handle.close())
  }
}

module.exports = { Producer }
