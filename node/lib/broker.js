'use strict'
// The embedded broker: a strom broker in this process, storing its data in a directory.

const { native, call } = require('./addon.js')
const { kafkaConfig } = require('./config.js')
const { InvalidArgumentError } = require('../errors.js')

/** An embedded strom broker storing its data in a directory. */
class Broker {
  constructor (handle) {
    if (!(handle instanceof native.NativeBroker)) {
      throw new InvalidArgumentError('use Broker.open(path) to open a broker')
    }
    this._native = handle
    this._keepAlive = null
  }

  /**
   * Opens (creating it if needed) the broker whose data lives in `path`. `config` takes
   * Kafka's broker setting names, every one `strom serve` takes (num.partitions,
   * group.initial.rebalance.delay.ms, listeners, metrics.listener, ...).
   */
  static async open (path, config = {}) {
    if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('Broker.open needs a directory path')
    const c = kafkaConfig(config, 'broker')
    const broker = new Broker(await call(() => native.openBroker(path, c)))
    if (broker.listeners.length > 0) broker._keepServing()
    return broker
  }

  /** The addresses the Kafka listeners are bound to. */
  get listeners () {
    return this._native.listeners
  }

  /** The data directory. */
  get path () {
    return this._native.dataDir
  }

  get closed () {
    return this._native.closed
  }

  /**
   * Creates a topic. `options`: a partition count, or `{ partitions | numPartitions, configs }`
   * with Kafka topic config names (`retention.ms`, `cleanup.policy`, ...).
   */
  async createTopic (name, options = {}) {
    if (typeof options === 'number') options = { partitions: options }
    const partitions = options.partitions ?? options.numPartitions ?? null
    const configs = kafkaConfig(options.configs, 'topic')
    return call(() => this._native.createTopic(name, partitions, configs))
  }

  /** Topic names, sorted (internal topics such as __consumer_offsets left out). */
  async listTopics () {
    return call(() => this._native.topics().map(t => t.name).filter(n => !n.startsWith('__')))
  }

  /** Every topic with its id, partition count and configs. */
  async describeTopics () {
    return call(() => this._native.topics())
  }

  async deleteTopic (name) {
    return call(() => this._native.deleteTopic(name))
  }

  /**
   * Serves the Kafka protocol on `listen` ("host:port"; port 0 picks a free one) until
   * `close()`, and resolves to the bound address. Like a net.Server, a serving broker keeps
   * the process alive.
   */
  async serve (listen = '127.0.0.1:9092') {
    const addr = await call(() => this._native.serve(listen))
    this._keepServing()
    return addr
  }

  /** Serves Prometheus text metrics (GET /metrics) on `listen`; resolves to the bound address. */
  async serveMetrics (listen = '127.0.0.1:0') {
    const addr = await call(() => this._native.serveMetrics(listen))
    this._keepServing()
    return addr
  }

  _keepServing () {
    if (this._keepAlive === null) this._keepAlive = setInterval(() => {}, 1 << 30)
  }

  /** Stops the listeners, flushes and closes the broker. Closing again does nothing. */
  async close () {
    try {
      await call(() => this._native.close())
    } finally {
      if (this._keepAlive !== null) clearInterval(this._keepAlive)
      this._keepAlive = null
    }
  }
}

module.exports = { Broker }
