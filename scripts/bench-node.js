'use strict'
// Node client benchmark, run by scripts/bench-node.sh: records/s of 100-byte values for
// strom's Producer and Consumer and for kafkajs's, against the same `strom serve`, plus strom's
// in-process produce into an embedded broker. Every run uses its own fresh topic.
// Clients alternate within each of `runs` rounds; the report gives medians (and every run).
//   node scripts/bench-node.js --bootstrap 127.0.0.1:PORT [--records N] [--runs N] [--batch N]
//        [--in-flight N] [--partitions N] [--json FILE]
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { randomBytes } = require('node:crypto')
const strom = require('../node')
const { Kafka, logLevel } = require('../node/node_modules/kafkajs')

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

function args () {
  const a = { records: 300000, runs: 3, batch: 1000, inFlight: 4, partitions: 3, valueSize: 100 }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase())
    a[name] = name === 'bootstrap' || name === 'json' ? argv[i + 1] : Number(argv[i + 1])
  }
  if (!a.bootstrap) throw new Error('--bootstrap host:port is required')
  return a
}

const opts = args()
const value = randomBytes(opts.valueSize)
const chunk = Array.from({ length: opts.batch }, () => ({ value }))
let topicSeq = 0
const topicName = label => `bench-${label}-${process.pid}-${topicSeq++}`

/** Sends `records` in chunks of `batch`, `inFlight` sends at a time; returns seconds taken. */
async function produceWith (send, records) {
  const start = process.hrtime.bigint()
  let sent = 0
  const worker = async () => {
    while (sent < records) {
      const n = Math.min(opts.batch, records - sent)
      sent += n
      await send(n === opts.batch ? chunk : chunk.slice(0, n))
    }
  }
  await Promise.all(Array.from({ length: opts.inFlight }, worker))
  return Number(process.hrtime.bigint() - start) / 1e9
}

/** Runs a consumer until `records` arrived; rate from the first record to the last. */
async function consumeWith (start, stop, records) {
  let count = 0
  let first = null
  let last = null
  const t0 = process.hrtime.bigint()
  let done
  const finished = new Promise(resolve => { done = resolve })
  const onBatch = n => {
    const now = process.hrtime.bigint()
    if (first === null) first = now
    count += n
    if (count >= records && last === null) {
      last = now
      done()
    }
  }
  await start(onBatch)
  await finished
  await stop()
  return { seconds: Number(last - first) / 1e9, firstAfter: Number(first - t0) / 1e9, count }
}

async function stromProduce (admin, producerOpts, label) {
  const topic = topicName(label)
  await admin.createTopics({ topics: [{ topic, numPartitions: opts.partitions }] })
  const producer = new strom.Producer(producerOpts, { 'linger.ms': 5, acks: 'all' })
  await producer.connect()
  await producer.send({ topic, messages: [{ value }] })
  const seconds = await produceWith(messages => producer.send({ topic, messages }), opts.records)
  await producer.disconnect()
  return { topic, seconds }
}

async function kafkajsProduce (kafka, admin) {
  const topic = topicName('kafkajs')
  await admin.createTopics({ topics: [{ topic, numPartitions: opts.partitions }] })
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value }] })
  const seconds = await produceWith(messages => producer.send({ topic, messages, acks: -1 }), opts.records)
  await producer.disconnect()
  return { topic, seconds }
}

async function stromConsume (topic, records) {
  const consumer = new strom.Consumer({ bootstrapServers: opts.bootstrap, groupId: `bench-strom-${topic}` })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  return consumeWith(
    onBatch => consumer.run({ eachBatch: async ({ batch }) => onBatch(touch(batch.messages)) }),
    () => consumer.disconnect(),
    records
  )
}

/** What a handler does at the least: look at every value. Returns the message count. */
let touched = 0
function touch (messages) {
  for (const m of messages) touched += m.value.length
  return messages.length
}

async function kafkajsConsume (kafka, topic, records) {
  const consumer = kafka.consumer({ groupId: `bench-kafkajs-${topic}`, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  return consumeWith(
    onBatch => consumer.run({ eachBatch: async ({ batch }) => onBatch(touch(batch.messages)) }),
    () => consumer.disconnect(),
    records
  )
}

function median (xs) {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.floor(s.length / 2)]
}

async function main () {
  const admin = new strom.Admin({ bootstrapServers: opts.bootstrap })
  await admin.connect()
  const kafka = new Kafka({ clientId: 'bench', brokers: [opts.bootstrap], logLevel: logLevel.NOTHING })
  const n = opts.records
  const runs = { kafkajs_produce: [], strom_produce: [], strom_in_process_produce: [], kafkajs_consume: [], strom_consume: [] }
  const rate = s => Math.round(n / s)
  for (let run = 0; run < opts.runs; run++) {
    const kp = await kafkajsProduce(kafka, admin)
    runs.kafkajs_produce.push(rate(kp.seconds))
    const sp = await stromProduce(admin, { bootstrapServers: opts.bootstrap }, 'strom')
    runs.strom_produce.push(rate(sp.seconds))
    // Both topics hold records + 1 (the warm-up record); each consumer reads the other's.
    const kc = await kafkajsConsume(kafka, sp.topic, n + 1)
    runs.kafkajs_consume.push(Math.round(kc.count / kc.seconds))
    const sc = await stromConsume(kp.topic, n + 1)
    runs.strom_consume.push(Math.round(sc.count / sc.seconds))

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strom-bench-node-'))
    const broker = await strom.Broker.open(dir)
    const embeddedAdmin = new strom.Admin({ broker })
    await embeddedAdmin.connect()
    const ip = await stromProduce(embeddedAdmin, { broker }, 'in-process')
    runs.strom_in_process_produce.push(rate(ip.seconds))
    await embeddedAdmin.disconnect()
    await broker.close()
    fs.rmSync(dir, { recursive: true, force: true })
    await admin.deleteTopics({ topics: [kp.topic, sp.topic] })
  }
  await admin.disconnect()

  const results = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]))
  const row = (what, key, base) => {
    const r = results[key]
    const ratio = base ? `   ${(r / results[base]).toFixed(1)}x kafkajs` : ''
    console.log(`${what.padEnd(40)} ${String(r).padStart(9)} rec/s${ratio.padEnd(17)} runs: ${runs[key].join(', ')}`)
  }
  console.log(`${n} records x ${opts.valueSize} B, sends of ${opts.batch} messages, ${opts.inFlight} in flight, ` +
    `${opts.partitions} partitions, acks=all; medians of ${opts.runs} runs`)
  row('kafkajs 2.2.4 producer (TCP)', 'kafkajs_produce')
  row('strom Producer (TCP)', 'strom_produce', 'kafkajs_produce')
  row('strom Producer (in-process, embedded)', 'strom_in_process_produce', 'kafkajs_produce')
  row('kafkajs 2.2.4 consumer (TCP, eachBatch)', 'kafkajs_consume')
  row('strom Consumer (TCP, eachBatch)', 'strom_consume', 'kafkajs_consume')
  console.log('(consumers: eachBatch reads every value; rate from the first record to the last)')
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ ...opts, runs, results }, null, 2) + '\n')
}

main().catch(e => {
  console.error(e)
  process.exit(1)
})
