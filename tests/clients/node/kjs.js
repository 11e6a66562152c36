'use strict'
// Drives kafkajs for the pytest suite: `node kjs.js < spec.json` (or the JSON as argv[2]), where
//   {"brokers": ["127.0.0.1:PORT"], "steps": [{"op": "...", ...}, ...]}
// Steps run in order on one Kafka instance (one admin, one producer); stdout gets exactly one
// JSON line: {"ok": true, "results": [...]} or {"ok": false, "step": i, "error": {...},
// "results": [...]} (exit code 2). kafkajs' own log lines go to stderr.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const { Kafka, Partitioners, ConfigResourceTypes, logLevel } = require('kafkajs')
const codecs = require('./codecs')

function stderrLogCreator () {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    process.stderr.write(`[kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}\n`)
  }
}

function toBuf (v) {
  return v === null || v === undefined ? null : Buffer.from(v, 'utf8')
}

function serializable (value) {
  if (value === undefined) return null
  return JSON.parse(JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? v.toString() : v)))
}

// kafkajs nests the broker's error: KafkaJSNonRetriableError -> cause / originalError ->
// KafkaJSAggregateError.errors -> KafkaJSProtocolError{type, code}. Keep the whole chain.
function describeError (e, depth = 0) {
  if (!e || typeof e !== 'object' || depth > 4) return e === undefined ? null : String(e)
  const out = { name: e.name, type: e.type, code: e.code, message: e.message, retriable: e.retriable }
  if (e.cause) out.cause = describeError(e.cause, depth + 1)
  if (e.originalError) out.originalError = describeError(e.originalError, depth + 1)
  if (Array.isArray(e.errors)) out.errors = e.errors.map(x => describeError(x, depth + 1))
  return out
}

async function main () {
  const spec = JSON.parse(process.argv[2] || require('fs').readFileSync(0, 'utf8'))
  const kafka = new Kafka({
    clientId: 'strom-kafkajs-test',
    brokers: spec.brokers,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 4, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: logLevel.ERROR,
    logCreator: stderrLogCreator
  })
  const admin = kafka.admin()
  await admin.connect()

  // Records, for every message the default partitioner placed, the partition it chose.
  const chosen = []
  const recordingPartitioner = () => {
    const inner = Partitioners.DefaultPartitioner()
    return args => {
      const partition = inner(args)
      chosen.push(partition)
      return partition
    }
  }
  let producer = null
  async function getProducer () {
    if (!producer) {
      producer = kafka.producer({
        createPartitioner: recordingPartitioner,
        idempotent: false,
        allowAutoTopicCreation: false
      })
      await producer.connect()
    }
    return producer
  }

  const ops = {
    async produce (step) {
      const p = await getProducer()
      const compression = codecs.byName[step.codec || 'none']
      if (compression === undefined) throw new Error(`unknown codec ${step.codec}`)
      const acks = step.acks === undefined ? -1 : step.acks
      const chunk = step.chunk || step.messages.length
      const out = []
      for (let start = 0; start < step.messages.length; start += chunk) {
        const msgs = step.messages.slice(start, start + chunk).map(m => {
          const msg = { key: toBuf(m.key), value: toBuf(m.value) }
          if (m.partition !== undefined && m.partition !== null) msg.partition = m.partition
          if (m.timestamp !== undefined && m.timestamp !== null) msg.timestamp = String(m.timestamp)
          return msg
        })
        chosen.length = 0
        const meta = await p.send({ topic: step.topic, messages: msgs, acks, compression, timeout: 15000 })
        let c = 0
        const partitions = msgs.map(m => (m.partition !== undefined ? m.partition : chosen[c++]))
        const base = {}
        for (const r of meta) {
          if (r.errorCode !== 0) throw new Error(`produce error ${JSON.stringify(r)}`)
          base[r.partition] = BigInt(r.baseOffset)
        }
        const next = {}
        msgs.forEach((m, i) => {
          const part = partitions[i]
          if (base[part] === undefined) throw new Error(`no produce result for partition ${part}`)
          const idx = next[part] || 0n
          next[part] = idx + 1n
          out.push({ key: m.key && m.key.toString(), value: m.value && m.value.toString(), partition: part, offset: Number(base[part] + idx) })
        })
      }
      return out
    },
    async createTopics (step) {
      return admin.createTopics({
        topics: step.topics.map(t => ({
          topic: t.topic,
          numPartitions: t.numPartitions,
          replicationFactor: t.replicationFactor === undefined ? 1 : t.replicationFactor,
          configEntries: Object.entries(t.configs || {}).map(([name, value]) => ({ name, value }))
        })),
        waitForLeaders: true,
        timeout: 10000
      })
    },
    async describeConfigs (step) {
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: step.topic, configNames: step.configNames }]
      })
      return res.resources
    },
    async alterConfigs (step) {
      const res = await admin.alterConfigs({
        validateOnly: !!step.validateOnly,
        resources: [{
          type: ConfigResourceTypes.TOPIC,
          name: step.topic,
          configEntries: Object.entries(step.configs).map(([name, value]) => ({ name, value }))
        }]
      })
      return res.resources
    },
    async createPartitions (step) {
      return admin.createPartitions({ topicPartitions: [{ topic: step.topic, count: step.count }], timeout: 10000 })
    },
    async deleteTopics (step) {
      await admin.deleteTopics({ topics: step.topics, timeout: 10000 })
      return true
    },
    async listTopics () {
      return admin.listTopics()
    },
    async fetchTopicMetadata (step) {
      return admin.fetchTopicMetadata({ topics: step.topics })
    },
    async fetchTopicOffsets (step) {
      return admin.fetchTopicOffsets(step.topic)
    },
    async fetchTopicOffsetsByTimestamp (step) {
      return admin.fetchTopicOffsetsByTimestamp(step.topic, step.timestamp)
    },
    async deleteTopicRecords (step) {
      await admin.deleteTopicRecords({ topic: step.topic, partitions: step.partitions })
      return true
    },
    async describeCluster () {
      return admin.describeCluster()
    },
    // Starts a transaction on a transactional producer of its own (then aborts it, should it
    // ever start); what a broker without transactions must refuse at once.
    async transaction (step) {
      const p = kafka.producer({ transactionalId: step.transactionalId, idempotent: true, maxInFlightRequests: 1 })
      await p.connect()
      try {
        const txn = await p.transaction()
        await txn.abort()
        return true
      } finally {
        await p.disconnect()
      }
    }
  }

  const results = []
  let failedStep = null
  try {
    for (let i = 0; i < spec.steps.length; i++) {
      failedStep = i
      const step = spec.steps[i]
      const fn = ops[step.op]
      if (!fn) throw new Error(`unknown op ${step.op}`)
      results.push(serializable(await fn(step)))
    }
    failedStep = null
  } catch (e) {
    const error = describeError(e)
    process.stdout.write(JSON.stringify({ ok: false, step: failedStep, error, results }) + '\n')
    process.exitCode = 2
  } finally {
    if (producer) await producer.disconnect().catch(() => {})
    await admin.disconnect().catch(() => {})
  }
  if (failedStep === null) process.stdout.write(JSON.stringify({ ok: true, results }) + '\n')
}

main().catch(e => {
  process.stdout.write(JSON.stringify({ ok: false, step: null, error: { name: e.name, type: e.type, message: e.message } }) + '\n')
  process.exitCode = 2
})
