'use strict'
// A strom Broker serving on TCP while kafkajs (2.2.4) produces and consumes, and a consumer
// group shared by a strom consumer and a kafkajs consumer.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { Kafka, logLevel, PartitionAssigners } = require('kafkajs')
const { Broker, Producer, Consumer, KafkaError } = require('..')
const { assertNoUnhandledRejections, tmpdir, unique, waitFor } = require('./helpers')

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

let dir, broker, addr, kafka
before(async () => {
  dir = tmpdir()
  broker = await Broker.open(dir, { 'group.initial.rebalance.delay.ms': 0 })
  addr = await broker.serve('127.0.0.1:0')
  kafka = new Kafka({ clientId: 'strom-node-interop', brokers: [addr], logLevel: logLevel.NOTHING })
})
after(async () => {
  await broker.close()
  fs.rmSync(dir, { recursive: true, force: true })
  assertNoUnhandledRejections()
})

const FAST = { 'session.timeout.ms': 10000, 'heartbeat.interval.ms': 300 }

test('kafkajs produces, strom consumes; strom produces, kafkajs consumes', async () => {
  // kafkajs → strom (in-process consumer of the serving broker).
  const toStrom = unique('kafkajs-to-strom')
  await broker.createTopic(toStrom, 2)
  const kproducer = kafka.producer({ allowAutoTopicCreation: false })
  await kproducer.connect()
  await kproducer.send({
    topic: toStrom,
    messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `from-kafkajs-${i}`, headers: { i: String(i) } }))
  })
  const consumer = new Consumer({ broker, groupId: unique('g-strom') }, FAST)
  await consumer.connect()
  await consumer.subscribe({ topics: [toStrom], fromBeginning: true })
  const got = new Map()
  await consumer.run({ eachMessage: async ({ message }) => { got.set(message.key.toString(), message) } })
  await waitFor(() => got.size >= 20, '20 kafkajs messages in strom')
  await consumer.disconnect()
  for (let i = 0; i < 20; i++) {
    const m = got.get(`k${i}`)
    assert.equal(m.value.toString(), `from-kafkajs-${i}`)
    assert.equal(m.headers.i.toString(), String(i))
  }

  // strom (over TCP) → kafkajs.
  const toKafkajs = unique('strom-to-kafkajs')
  await broker.createTopic(toKafkajs, 2)
  const producer = new Producer({ bootstrapServers: addr }, { 'compression.type': 'none' })
  await producer.connect()
  await producer.send({
    topic: toKafkajs,
    messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`from-strom-${i}`), headers: { i: String(i) } }))
  })
  await producer.disconnect()
  const kconsumer = kafka.consumer({ groupId: unique('g-kafkajs'), sessionTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 100 })
  await kconsumer.connect()
  await kconsumer.subscribe({ topics: [toKafkajs], fromBeginning: true })
  const kgot = new Map()
  await kconsumer.run({ eachMessage: async ({ message }) => { kgot.set(message.key.toString(), message) } })
  await waitFor(() => kgot.size >= 20, '20 strom messages in kafkajs')
  await kconsumer.disconnect()
  await kproducer.disconnect()
  for (let i = 0; i < 20; i++) {
    const m = kgot.get(`k${i}`)
    assert.equal(m.value.toString(), `from-strom-${i}`)
    assert.equal(m.headers.i.toString(), String(i))
  }
})

/**
 * kafkajs's own round-robin assigner under the protocol name "roundrobin", which strom (and
 * Java, librdkafka) use: kafkajs's default advertises only "RoundRobinAssigner".
 */
const RoundRobin = ({ cluster }) => ({ ...PartitionAssigners.roundRobin({ cluster }), name: 'roundrobin' })

test('a consumer group shared by a strom consumer and a kafkajs consumer', async () => {
  const topic = unique('shared-group')
  const groupId = unique('g-mixed')
  await broker.createTopic(topic, 4)
  const mine = new Consumer({ bootstrapServers: addr, groupId }, { ...FAST, 'partition.assignment.strategy': 'roundrobin' })
  await mine.connect()
  await mine.subscribe({ topics: [topic], fromBeginning: true })
  const mineGot = []
  await mine.run({ eachMessage: async ({ partition, message }) => { mineGot.push({ partition, value: message.value.toString() }) } })
  await waitFor(async () => (await mine.assignment()).length === 4, 'the strom consumer alone owns all 4')

  const theirs = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 100, partitionAssigners: [RoundRobin] })
  let theirAssignment = {}
  theirs.on(theirs.events.GROUP_JOIN, e => { theirAssignment = e.payload.memberAssignment })
  await theirs.connect()
  await theirs.subscribe({ topics: [topic], fromBeginning: true })
  const theirsGot = []
  await theirs.run({ eachMessage: async ({ partition, message }) => { theirsGot.push({ partition, value: message.value.toString() }) } })
  const count = () => (theirAssignment[topic] || []).length
  await waitFor(async () => count() > 0 && count() + (await mine.assignment()).length === 4, 'the partitions shared out')
  const myPartitions = (await mine.assignment()).map(tp => tp.partition)
  assert.ok(myPartitions.length > 0, 'the strom consumer has a share')

  const producer = new Producer({ broker })
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ value: `m${i}`, partition: i % 4 })) })
  await producer.disconnect()
  await waitFor(() => mineGot.length + theirsGot.length >= 40, 'all 40 consumed by the group')
  await theirs.disconnect()
  await mine.disconnect()
  assert.ok(mineGot.length > 0 && theirsGot.length > 0, `each gets a share: strom ${mineGot.length}, kafkajs ${theirsGot.length}`)
  assert.equal(mineGot.length + theirsGot.length, 40, 'nothing twice')
  assert.ok(mineGot.every(m => myPartitions.includes(m.partition)))
  assert.ok(theirsGot.every(m => theirAssignment[topic].includes(m.partition)))
})

test('default assignors share no protocol: INCONSISTENT_GROUP_PROTOCOL, as a typed crash', async () => {
  const topic = unique('no-common-protocol')
  const groupId = unique('g-defaults')
  await broker.createTopic(topic, 2)
  const theirs = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 100 })
  let joined = false
  theirs.on(theirs.events.GROUP_JOIN, () => { joined = true })
  await theirs.connect()
  await theirs.subscribe({ topics: [topic] })
  await theirs.run({ eachMessage: async () => {} })
  await waitFor(() => joined, 'kafkajs (RoundRobinAssigner) joined')
  const mine = new Consumer({ broker, groupId }, FAST)
  await mine.connect()
  await mine.subscribe({ topics: [topic] })
  const crashes = []
  mine.on(mine.events.CRASH, e => crashes.push(e))
  await mine.run({ eachMessage: async () => {} })
  await waitFor(() => crashes.length > 0, 'the strom consumer refused')
  await mine.disconnect()
  await theirs.disconnect()
  const { error, restart } = crashes[0].payload
  assert.ok(error instanceof KafkaError, `${error.name}: ${error.message}`)
  assert.equal(error.name, 'INCONSISTENT_GROUP_PROTOCOL')
  assert.equal(error.code, 23)
  assert.equal(restart, false)
})
