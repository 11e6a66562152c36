'use strict'
// Where a client connects: `{ bootstrapServers } | { brokers }` (a cluster over TCP) or
// `{ broker }` (an embedded Broker of this process), plus `clientId`.

const { kafkaConfig } = require('./config.js')
const { Broker } = require('./broker.js')
const { ClosedError, ConfigError, InvalidArgumentError } = require('../errors.js')

/** The client's Kafka config and embedded broker (null over TCP). */
function clientOptions (options, config, what) {
  if (options == null) options = {}
  if (typeof options !== 'object') throw new ConfigError(`${what} options must be an object`)
  const out = { config: kafkaConfig(config, what), broker: null }
  if (options.broker != null) {
    if (!(options.broker instanceof Broker)) {
      throw new InvalidArgumentError(`${what} option broker must be a strom Broker (from Broker.open)`)
    }
    out.broker = options.broker
  }
  const servers = options.bootstrapServers ?? options.brokers
  if (servers != null) {
    out.config['bootstrap.servers'] = Array.isArray(servers) ? servers.join(',') : String(servers)
  }
  if (options.clientId != null) out.config['client.id'] = String(options.clientId)
  return out
}

/** The native broker a client attaches to (null over TCP); a closed one is a ClosedError. */
function brokerHandle (broker) {
  if (broker == null) return null
  if (broker._native == null || broker._native.closed) throw new ClosedError('the broker is closed')
  return broker._native
}

module.exports = { clientOptions, brokerHandle }
