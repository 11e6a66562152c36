'use strict'
// The consumer's state lives in the core: seeks and pauses before the group assigns a
// partition, pause/resume from handlers without losing or repeating messages, paused(),
// settings given after connect, exact commits when delivery stops early, and 64-bit offsets
// and timestamps. Against an embedded broker (suite.js runs the common API on both targets).
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { Broker, Producer, Consumer, Admin, IllegalStateError, InvalidArgumentError } = require('..')
const { unpackBatches, unpackDeliveries } = require('../lib/wire.js')
const { assertNoUnhandledRejections, tmpdir, unique, sleep, waitFor } = require('./helpers')

const FAST = { 'session.timeout.ms': 10000, 'heartbeat.interval.ms': 500 }

let dir, broker, admin
before(async () => {
  dir = tmpdir()
  broker = await Broker.open(dir, { 'group.initial.rebalance.delay.ms': 0 })
  admin = new Admin({ broker })
  await admin.connect()
})
after(async () => {
  await admin.disconnect()
  await broker.close()
  fs.rmSync(dir, { recursive: true, force: true })
  assertNoUnhandledRejections()
})

/** A new topic with `perPartition` messages `p<partition>-<i>` in each partition. */
async function topicWith (partitions, perPartition) {
  const topic = unique('t')
  await broker.createTopic(topic, partitions)
  const producer = new Producer({ broker })
  await producer.connect()
  for (let p = 0; p < partitions; p++) {
    await producer.send({ topic, messages: Array.from({ length: perPartition }, (_, i) => ({ value: `p${p}-${i}`, partition: p })) })
  }
  await producer.disconnect()
  return topic
}

function consumer (config = {}) {
  return new Consumer({ broker, groupId: unique('g') }, { ...FAST, ...config })
}

/** `seen` entries `{ partition, offset }` of one partition, as offsets. */
function offsetsOf (seen, partition) {
  return seen.filter(s => s.partition === partition).map(s => s.offset)
}

function range (from, to) {
  return Array.from({ length: to - from }, (_, i) => from + i)
}

test('seek before assignment: subscribe, seek, run starts the partition at the sought offset', async () => {
  const topic = await topicWith(2, 10)
  const c = consumer()
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  // Not assigned yet: the core keeps the seek until the group assigns the partition.
  await c.seek({ topic, partition: 1, offset: '6' })
  const seen = []
  await c.run({ eachMessage: async ({ partition, message }) => { seen.push({ partition, offset: Number(message.offset) }) } })
  await waitFor(() => seen.length >= 14, 'partition 0 from 0, partition 1 from 6')
  await sleep(300)
  await c.disconnect()
  assert.deepEqual(offsetsOf(seen, 0), range(0, 10))
  assert.deepEqual(offsetsOf(seen, 1), [6, 7, 8, 9])
  const committed = await admin.fetchOffsets({ groupId: c.groupId, topics: [topic] })
  assert.deepEqual(committed[0].partitions.map(p => p.offset), ['10', '10'])
})

test('pause and resume from eachMessage: nothing lost, nothing twice', async () => {
  const topic = await topicWith(2, 50)
  const c = consumer()
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  const seen = []
  let pausedAt = null
  let resumed = false
  await c.run({
    eachMessage: async ({ partition, message, pause }) => {
      const offset = Number(message.offset)
      seen.push({ partition, offset })
      if (partition === 0 && offset === 10 && pausedAt === null) {
        const resume = pause()
        pausedAt = seen.length
        setTimeout(() => { resumed = true; resume() }, 500)
      }
    }
  })
  await waitFor(() => pausedAt !== null, 'the pause')
  await waitFor(() => offsetsOf(seen, 1).length === 50, 'partition 1 meanwhile')
  assert.equal(resumed, false, 'partition 1 went on while partition 0 was paused')
  assert.equal(offsetsOf(seen, 0).at(-1), 10, 'nothing of partition 0 after its pause')
  await waitFor(() => seen.length >= 100, 'partition 0 after the resume')
  await sleep(300)
  await c.disconnect()
  assert.deepEqual(offsetsOf(seen, 0), range(0, 50))
  assert.deepEqual(offsetsOf(seen, 1), range(0, 50))
  assert.equal(seen.length, 100)
})

test('pause from eachBatch with resolveOffset: the unresolved rest comes once, after the resume', async () => {
  const topic = await topicWith(1, 40)
  const c = consumer()
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  const processed = []
  let paused = false
  await c.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, pause, isStale }) => {
      for (const m of batch.messages) {
        const offset = Number(m.offset)
        processed.push(offset)
        resolveOffset(m.offset)
        if (offset === 14 && !paused) {
          paused = true
          const resume = pause()
          assert.equal(isStale(), true)
          setTimeout(resume, 300)
          return
        }
      }
    }
  })
  await waitFor(() => processed.length >= 40, '40 messages')
  await sleep(300)
  await c.disconnect()
  assert.deepEqual(processed, range(0, 40))
})

test('paused(): synchronous, pauses of partitions not assigned yet included, withheld until resumed', async () => {
  const topic = await topicWith(3, 5)
  const c = consumer()
  assert.deepEqual(c.paused(), [], 'not connected')
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  await c.pause([{ topic, partitions: [2, 1] }])
  const listed = c.paused()
  assert.ok(Array.isArray(listed), 'an array, not a promise')
  assert.deepEqual(listed, [{ topic, partitions: [1, 2] }])
  const seen = []
  await c.run({ eachMessage: async ({ partition, message }) => { seen.push({ partition, offset: Number(message.offset) }) } })
  await waitFor(() => seen.length >= 5, 'partition 0')
  await sleep(500)
  assert.deepEqual(seen.map(s => s.partition), [0, 0, 0, 0, 0], 'partitions 1 and 2 withheld')
  assert.deepEqual(c.paused(), [{ topic, partitions: [1, 2] }], 'still paused once assigned')
  await c.resume([{ topic, partitions: [1] }])
  assert.deepEqual(c.paused(), [{ topic, partitions: [2] }])
  await waitFor(() => seen.length >= 10, 'partition 1')
  // A topic without partitions: every partition of it assigned now.
  await c.pause([{ topic }])
  assert.deepEqual(c.paused(), [{ topic, partitions: [0, 1, 2] }])
  await c.resume([{ topic }])
  assert.deepEqual(c.paused(), [])
  await waitFor(() => seen.length >= 15, 'partition 2')
  await sleep(300)
  await c.disconnect()
  assert.deepEqual(c.paused(), [], 'disconnected')
  for (const p of [0, 1, 2]) assert.deepEqual(offsetsOf(seen, p), range(0, 5))
})

test('settings after connect: fromBeginning and autoCommit reach the core until the first poll', async () => {
  const topic = await topicWith(1, 6)
  // 'latest' in the config, fromBeginning after connect wins.
  const c = consumer({ 'auto.offset.reset': 'latest' })
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  const it = c[Symbol.asyncIterator]()
  const first = await it.next()
  assert.equal(first.value.message.offset, '0')
  await it.return()
  // Once polled, a change is refused by the core; the same value is not a change.
  await assert.rejects(c.subscribe({ topics: [topic], fromBeginning: false }), e => {
    assert.ok(e instanceof IllegalStateError, `${e.name}: ${e.message}`)
    assert.match(e.message, /auto\.offset\.reset cannot change once the consumer has polled/)
    return true
  })
  await c.subscribe({ topics: [topic], fromBeginning: true })
  await assert.rejects(c.run({ autoCommit: false, eachMessage: async () => {} }), IllegalStateError)
  await c.disconnect()

  // autoCommit: false set by run after connect: nothing committed on disconnect.
  const d = consumer()
  await d.connect()
  await d.subscribe({ topics: [topic], fromBeginning: true })
  const seen = []
  await d.run({ autoCommit: false, eachMessage: async ({ message }) => { seen.push(message.offset) } })
  await waitFor(() => seen.length >= 6, '6 messages')
  await d.disconnect()
  const committed = await admin.fetchOffsets({ groupId: d.groupId, topics: [topic] })
  assert.deepEqual(committed[0].partitions, [{ partition: 0, offset: '-1', metadata: null }])
})

test('leaving for await early commits what was consumed, not the whole poll', async () => {
  const topic = await topicWith(1, 20)
  const c = consumer()
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  const got = []
  for await (const { message } of c) {
    got.push(message.offset)
    if (got.length === 3) break
  }
  await c.disconnect()
  assert.deepEqual(got, ['0', '1', '2'])
  const committed = await admin.fetchOffsets({ groupId: c.groupId, topics: [topic] })
  assert.equal(committed[0].partitions[0].offset, '3')
  // The next member of the group goes on from there, each message once.
  const next = new Consumer({ broker, groupId: c.groupId }, FAST)
  await next.connect()
  await next.subscribe({ topics: [topic] })
  const rest = []
  await next.run({ eachMessage: async ({ message }) => { rest.push(Number(message.offset)) } })
  await waitFor(() => rest.length >= 17, 'the other 17')
  await sleep(200)
  await next.disconnect()
  assert.deepEqual(rest, range(3, 20))
})

test('a failing eachBatch handler: the batch comes again from its first unresolved message', async () => {
  const topic = await topicWith(1, 10)
  const c = consumer()
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  c.on(c.events.CRASH, () => {})
  const processed = []
  let failed = false
  await c.run({
    eachBatch: async ({ batch, resolveOffset }) => {
      for (const m of batch.messages) {
        if (m.offset === '4' && !failed) {
          failed = true
          throw new Error('failed on 4')
        }
        processed.push(Number(m.offset))
        resolveOffset(m.offset)
      }
    }
  })
  await waitFor(() => processed.length >= 10, '10 messages')
  await sleep(300)
  await c.disconnect()
  assert.deepEqual(processed, range(0, 10))
})

test('64-bit offsets: past 2^53 a number is refused, strings and BigInts are exact both ways', async () => {
  const topic = await topicWith(1, 1)
  const c = consumer()
  await c.connect()
  await c.subscribe({ topics: [topic] })
  const unsafe = 2 ** 53 + 2
  await assert.rejects(c.seek({ topic, partition: 0, offset: unsafe }), e => {
    assert.ok(e instanceof InvalidArgumentError, `${e.name}: ${e.message}`)
    assert.match(e.message, /2\^53/)
    return true
  })
  await assert.rejects(c.commitOffsets([{ topic, partition: 0, offset: unsafe }]), InvalidArgumentError)
  await assert.rejects(c.commitOffsets([{ topic, partition: 0, offset: '1.5' }]), InvalidArgumentError)
  await assert.rejects(c.commitOffsets([{ topic, partition: 0, offset: '9223372036854775808' }]), /64-bit range/)
  await assert.rejects(c.seek({ topic, partition: 0, offset: -2 }), InvalidArgumentError)
  await c.seek({ topic, partition: 0, offset: 9007199254740993n })
  // A committed offset past 2^53 reaches the broker and comes back digit for digit.
  const big = '9007199254740993'
  await c.commitOffsets([{ topic, partition: 0, offset: big }])
  const committed = await admin.fetchOffsets({ groupId: c.groupId, topics: [topic] })
  assert.equal(committed[0].partitions[0].offset, big)
  await c.commitOffsets([{ topic, partition: 0, offset: 2n ** 62n }])
  const again = await admin.fetchOffsets({ groupId: c.groupId, topics: [topic] })
  assert.equal(again[0].partitions[0].offset, String(2n ** 62n))
  await c.disconnect()

  const producer = new Producer({ broker })
  await producer.connect()
  await assert.rejects(producer.send({ topic, messages: [{ value: 'x', timestamp: unsafe }] }), e => {
    assert.ok(e instanceof InvalidArgumentError, `${e.name}: ${e.message}`)
    assert.match(e.message, /timestamp/)
    return true
  })
  await assert.rejects(producer.send({ topic, messages: [{ value: 'x', timestamp: 'soon' }] }), InvalidArgumentError)
  const md = await producer.send({ topic, messages: [{ value: 'a', timestamp: '1700000000001' }, { value: 'b', timestamp: 1700000000002n }, { value: 'c', timestamp: new Date(1700000000003) }] })
  assert.deepEqual(md.map(m => m.timestamp), ['1700000000001', '1700000000002', '1700000000003'])
  await producer.disconnect()
})

test('packed records: offsets and timestamps past 2^53 unpack digit for digit', () => {
  const offsets = [0n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]
  const deliveries = Buffer.alloc(20 * offsets.length)
  offsets.forEach((o, i) => {
    deliveries.writeInt32LE(i, i * 20)
    deliveries.writeBigInt64LE(o, i * 20 + 4)
    deliveries.writeBigInt64LE(-1n, i * 20 + 12)
  })
  const md = unpackDeliveries('t', deliveries)
  assert.deepEqual(md.map(m => m.offset), offsets.map(String))
  assert.deepEqual(md.map(m => m.timestamp), ['-1', '-1', '-1', '-1'])

  // One topic "t", one record per offset: the layout of bindings/node/src/wire.rs.
  const head = Buffer.alloc(13)
  head.writeUInt32LE(offsets.length, 0)
  head.writeUInt32LE(1, 4)
  head.writeInt32LE(1, 8)
  head.write('t', 12)
  const records = offsets.map(o => {
    const r = Buffer.alloc(25 + 4 + 4 + 4)
    r.writeUInt32LE(0, 0)
    r.writeInt32LE(0, 4)
    r.writeBigInt64LE(o, 8)
    r.writeBigInt64LE(o === 0n ? -(2n ** 63n) : o, 16)
    r[24] = 1
    r.writeInt32LE(-1, 25)
    r.writeInt32LE(-1, 29)
    r.writeInt32LE(0, 33)
    return r
  })
  const [batch] = unpackBatches(Buffer.concat([head, ...records]))
  assert.deepEqual(batch.messages.map(m => m.offset), offsets.map(String))
  assert.deepEqual(batch.messages.map(m => m.timestamp), [String(-(2n ** 63n)), ...offsets.slice(1).map(String)])
  assert.equal(batch.messages[0].attributes, 8, 'LogAppendTime')
})

test('commit() inside eachMessage commits what was processed, not the rest of the poll', async () => {
  const topic = await topicWith(1, 10)
  const c = consumer()
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  let committedInside = null
  const seen = []
  await c.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const offset = Number(message.offset)
      if (offset === 3) {
        // 0, 1 and 2 were processed; this one is not yet, nor 4..9 that the poll brought too.
        await c.commit()
        const committed = await admin.fetchOffsets({ groupId: c.groupId, topics: [topic] })
        committedInside = committed[0].partitions[0].offset
      }
      seen.push(offset)
    }
  })
  await waitFor(() => seen.length === 10, 'every message')
  await c.disconnect()
  assert.equal(committedInside, '3')
})

test("group.protocol 'consumer' (KIP-848): the coordinator assigns, commits carry the member epoch", async () => {
  const topic = await topicWith(2, 10)
  // session/heartbeat settings are the classic protocol's; the consumer protocol's come from
  // the broker (group.consumer.*).
  const c = new Consumer({ broker, groupId: unique('g848') }, { 'group.protocol': 'consumer' })
  await c.connect()
  await c.subscribe({ topics: [topic], fromBeginning: true })
  const seen = []
  await c.run({ eachMessage: async ({ partition, message }) => { seen.push({ partition, offset: Number(message.offset) }) } })
  await waitFor(() => seen.length >= 20, 'both partitions read')
  await c.disconnect()
  assert.deepEqual(offsetsOf(seen, 0), range(0, 10))
  assert.deepEqual(offsetsOf(seen, 1), range(0, 10))
  const committed = await admin.fetchOffsets({ groupId: c.groupId, topics: [topic] })
  assert.deepEqual(committed[0].partitions.map(p => p.offset), ['10', '10'])
  const bad = new Consumer({ broker, groupId: 'x' }, { 'group.protocol': 'fancy' })
  await assert.rejects(bad.connect(), /group.protocol/)
})
