'use strict'
// The cross-language behaviour list (tests/behaviour/README.md), in Node: the same scenarios
// run in Rust, Python and C against the same core, here through the kafkajs-shaped API.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Broker, Producer, Consumer, Admin, ConfigError, KafkaError } = require('..')
const { assertNoUnhandledRejections, tmpdir, sleep } = require('./helpers')

let dir, broker, admin
before(async () => {
  dir = tmpdir()
  broker = await Broker.open(path.join(dir, 'data'), {
    'num.partitions': 3,
    'group.initial.rebalance.delay.ms': 0
  })
  admin = new Admin({ broker })
  await admin.connect()
})
after(async () => {
  await admin.disconnect()
  await broker.close()
  fs.rmSync(dir, { recursive: true, force: true })
  assertNoUnhandledRejections()
})

/** A new topic with `count` records ("0", "1", ...) in each of its partitions. */
async function fill (topic, partitions, count) {
  await broker.createTopic(topic, partitions)
  const producer = new Producer({ broker })
  await producer.connect()
  for (let p = 0; p < partitions; p++) {
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: String(i), partition: p })) })
  }
  await producer.disconnect()
}

function groupConsumer (groupId) {
  return new Consumer({ broker, groupId }, { 'auto.offset.reset': 'earliest', 'enable.auto.commit': 'false' })
}

/** The next `n` messages of async iteration (20 s at most), as { partition, offset }. */
async function take (iterator, n) {
  const out = []
  const deadline = Date.now() + 20000
  while (out.length < n && Date.now() < deadline) {
    const next = await Promise.race([iterator.next(), sleep(20000).then(() => ({ done: true }))])
    if (next.done) break
    out.push({ partition: next.value.partition, offset: Number(next.value.message.offset) })
  }
  return out
}

test('B1 settings by Kafka name', async () => {
  await broker.createTopic('b1')
  const b1 = (await broker.describeTopics()).find(t => t.name === 'b1')
  assert.equal(b1.partitions, 3)
  await assert.rejects(Broker.open(path.join(dir, 'other'), { 'log.retention.hour': 1 }),
    e => e instanceof ConfigError && /log\.retention\.hour/.test(e.message))
})

test('B2 seek before assignment', async () => {
  await fill('b2', 1, 10)
  const c = groupConsumer('g-b2')
  await c.connect()
  await c.subscribe({ topics: ['b2'] })
  assert.deepEqual(await c.assignment(), [])
  await c.seek({ topic: 'b2', partition: 0, offset: '6' })
  const it = c[Symbol.asyncIterator]()
  const [first] = await take(it, 1)
  assert.equal(first.offset, 6)
  await it.return()
  await c.disconnect()
})

test('B3 pause and resume', async () => {
  await fill('b3', 2, 5)
  const c = groupConsumer('g-b3')
  await c.connect()
  await c.subscribe({ topics: ['b3'] })
  await c.pause([{ topic: 'b3', partitions: [0] }])
  const it = c[Symbol.asyncIterator]()
  const first = await take(it, 5)
  assert.deepEqual(first.map(r => r.partition), [1, 1, 1, 1, 1])
  assert.deepEqual(c.paused(), [{ topic: 'b3', partitions: [0] }])
  // One iteration step waits across the resume: nothing comes before it, then partition 0.
  const waiting = it.next()
  const more = await Promise.race([waiting.then(() => 'a record'), sleep(500).then(() => 'nothing')])
  assert.equal(more, 'nothing', 'nothing more while partition 0 is paused')
  await c.resume([{ topic: 'b3', partitions: [0] }])
  const after = await waiting
  assert.equal(after.done, false)
  const rest = [
    { partition: after.value.partition, offset: Number(after.value.message.offset) },
    ...await take(it, 4)
  ]
  assert.deepEqual(rest, [0, 1, 2, 3, 4].map(offset => ({ partition: 0, offset })))
  assert.equal(new Set([...first, ...rest].map(r => `${r.partition}:${r.offset}`)).size, 10)
  await it.return()
  await c.disconnect()
})

test('B4 commit after partial consumption', async () => {
  await fill('b4', 1, 10)
  const c = groupConsumer('g-b4')
  await c.connect()
  await c.subscribe({ topics: ['b4'] })
  const it = c[Symbol.asyncIterator]()
  assert.deepEqual((await take(it, 3)).map(r => r.offset), [0, 1, 2])
  // Leaving the iteration gives the messages not reached back (kafkajs's rule), so the
  // positions are what was delivered; then commit them.
  await it.return()
  await c.commit()
  const committed = await admin.fetchOffsets({ groupId: 'g-b4', topics: ['b4'] })
  assert.deepEqual(committed[0].partitions.map(p => p.offset), ['3'])
  await c.disconnect()

  const next = groupConsumer('g-b4')
  await next.connect()
  await next.subscribe({ topics: ['b4'] })
  const nit = next[Symbol.asyncIterator]()
  const [first] = await take(nit, 1)
  assert.equal(first.offset, 3)
  await nit.return()
  await next.disconnect()
})

test('B5 the same refusal, the same error', async () => {
  await broker.createTopic('b5', 1)
  await assert.rejects(broker.createTopic('b5', 1),
    e => e instanceof KafkaError && e.code === 36 && e.name === 'TOPIC_ALREADY_EXISTS')
})
