'use strict'
// Kafka config names and values as the core reads them: strings.

const { ConfigError } = require('../errors.js')

/** `{ 'linger.ms': 5, 'bootstrap.servers': ['a:9092', 'b:9092'] }` as strings. */
function kafkaConfig (config, what) {
  if (config == null) return {}
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(`the ${what} config must be an object of Kafka config names, not ${typeof config}`)
  }
  const out = {}
  for (const [name, value] of Object.entries(config)) {
    if (value === undefined || value === null) continue
    if (Array.isArray(value)) out[name] = value.join(',')
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      out[name] = String(value)
    } else {
      throw new ConfigError(`${what} config ${name}: a string, number or boolean is needed, not ${typeof value}`)
    }
  }
  return out
}

module.exports = { kafkaConfig }
