'use strict'
// The client API suite, run against each target: an embedded broker with in-process clients
// (embedded.test.js) and a `strom serve` process over TCP (serve.test.js).
const { describe, test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { Producer, Consumer, Admin } = require('..')
const { assertNoUnhandledRejections, unique, sleep, waitFor } = require('./helpers')

/** Consumer settings that keep group tests quick. */
const FAST = { 'session.timeout.ms': 10000, 'heartbeat.interval.ms': 500 }

/**
 * `makeTarget()` resolves to `{ opts, createTopic(name, partitions), close() }`: `opts` are
 * the client options (`{ broker }` or `{ bootstrapServers }`).
 */
function clientSuite (label, makeTarget) {
  describe(label, () => {
    let target
    let admin
    before(async () => {
      target = await makeTarget()
      admin = new Admin(target.opts)
      await admin.connect()
    })
    after(async () => {
      await admin?.disconnect()
      await target?.close()
      assertNoUnhandledRejections()
    })

    test('producer: send resolves to per-message metadata; flush; disconnect', async () => {
      const topic = unique('send')
      await target.createTopic(topic, 3)
      const producer = new Producer(target.opts, { 'linger.ms': 1 })
      await producer.connect()
      const messages = Array.from({ length: 30 }, (_, i) => ({
        key: i % 2 ? `k${i}` : Buffer.from(`k${i}`),
        value: i % 3 ? `v${i}` : Buffer.from(`v${i}`),
        headers: { n: String(i), both: [Buffer.from('a'), 'b'] }
      }))
      messages.push({ key: null, value: null, partition: 2, timestamp: 1700000000000 })
      const md = await producer.send({ topic, messages })
      assert.equal(md.length, 31)
      for (const m of md) {
        assert.equal(m.topicName, topic)
        assert.ok(m.partition >= 0 && m.partition < 3)
        assert.match(m.offset, /^\d+$/)
        assert.equal(m.errorCode, 0)
      }
      assert.equal(md[30].partition, 2)
      assert.equal(md[30].timestamp, '1700000000000')
      // The same key lands on the same partition, with a later offset.
      const again = await producer.send({ topic, messages: [{ key: 'k1', value: 'again' }] })
      assert.equal(again[0].partition, md[1].partition)
      assert.ok(Number(again[0].offset) > Number(md[1].offset))
      const batch = await producer.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'x' }] }, { topic, messages: [{ value: 'y' }] }] })
      assert.equal(batch.length, 2)
      await producer.flush()
      await producer.disconnect()

      // Read back with assign (no group): keys, values, headers and timestamps as sent.
      const consumer = new Consumer(target.opts, { 'auto.offset.reset': 'earliest' })
      await consumer.connect()
      await consumer.assign([0, 1, 2].map(partition => ({ topic, partition })))
      const got = []
      for await (const { partition, message } of consumer) {
        got.push({ partition, message })
        if (got.length === 34) break
      }
      await consumer.disconnect()
      const byValue = new Map(got.map(g => [g.message.value === null ? null : g.message.value.toString(), g]))
      for (let i = 0; i < 30; i++) {
        const g = byValue.get(`v${i}`)
        assert.ok(g, `v${i} consumed`)
        assert.ok(Buffer.isBuffer(g.message.key) && Buffer.isBuffer(g.message.value))
        assert.equal(g.message.key.toString(), `k${i}`)
        assert.equal(g.partition, md[i].partition)
        assert.equal(g.message.offset, md[i].offset)
        assert.equal(g.message.headers.n.toString(), String(i))
        assert.deepEqual(g.message.headers.both.map(String), ['a', 'b'])
      }
      const nulls = byValue.get(null)
      assert.equal(nulls.message.key, null)
      assert.equal(nulls.message.timestamp, '1700000000000')
      assert.equal(nulls.partition, 2)
    })

    test('consumer: subscribe fromBeginning, run eachMessage, commits, disconnect', async () => {
      const topic = unique('each-message')
      const groupId = unique('g-each-message')
      await target.createTopic(topic, 2)
      const producer = new Producer(target.opts)
      await producer.connect()
      await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) })
      const consumer = new Consumer({ ...target.opts, groupId }, FAST)
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      const seen = []
      await consumer.run({
        eachMessage: async ({ topic: t, partition, message, heartbeat }) => {
          assert.equal(t, topic)
          await heartbeat()
          seen.push({ partition, offset: Number(message.offset), value: message.value.toString() })
        }
      })
      await waitFor(() => seen.length >= 40, '40 messages')
      await consumer.disconnect()
      assert.equal(seen.length, 40)
      assert.deepEqual(new Set(seen.map(s => s.value)).size, 40)
      for (const p of [0, 1]) {
        const offsets = seen.filter(s => s.partition === p).map(s => s.offset)
        assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), 'in order per partition')
      }
      // Auto-commit on close: the group's offsets cover every message.
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
      assert.equal(committed[0].topic, topic)
      assert.equal(committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0), 40)
      // A new member of the group has nothing left to read; new messages arrive.
      await producer.send({ topic, messages: [{ value: 'late' }] })
      const next = new Consumer({ ...target.opts, groupId }, FAST)
      await next.connect()
      await next.subscribe({ topic })
      const late = []
      await next.run({ eachMessage: async ({ message }) => { late.push(message.value.toString()) } })
      await waitFor(() => late.length >= 1, 'the late message')
      await sleep(300)
      await next.disconnect()
      assert.deepEqual(late, ['late'])
      await producer.disconnect()
    })

    test('consumer: run eachBatch with resolveOffset', async () => {
      const topic = unique('each-batch')
      await target.createTopic(topic, 1)
      const producer = new Producer(target.opts)
      await producer.connect()
      await producer.send({ topic, messages: Array.from({ length: 25 }, (_, i) => ({ value: `v${i}` })) })
      await producer.disconnect()
      const consumer = new Consumer({ ...target.opts, groupId: unique('g-batch') }, FAST)
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      const values = []
      let batches = 0
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, isRunning, isStale, commitOffsetsIfNecessary }) => {
          assert.equal(batch.topic, topic)
          assert.equal(batch.partition, 0)
          assert.ok(!batch.isEmpty() && isRunning() && !isStale())
          assert.equal(batch.firstOffset(), batch.messages[0].offset)
          assert.equal(batch.lastOffset(), batch.messages[batch.messages.length - 1].offset)
          batches++
          for (const m of batch.messages) {
            values.push(m.value.toString())
            resolveOffset(m.offset)
          }
          await commitOffsetsIfNecessary()
        }
      })
      await waitFor(() => values.length >= 25, '25 messages in batches')
      await consumer.disconnect()
      assert.deepEqual(values, Array.from({ length: 25 }, (_, i) => `v${i}`))
      assert.ok(batches >= 1)
    })

    test('consumer: for await over messages, ends on disconnect', async () => {
      const topic = unique('iterate')
      await target.createTopic(topic, 1)
      const producer = new Producer(target.opts)
      await producer.connect()
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) })
      const consumer = new Consumer({ ...target.opts, groupId: unique('g-iter') }, FAST)
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      const values = []
      const iteration = (async () => {
        for await (const { message } of consumer) values.push(message.value.toString())
      })()
      await waitFor(() => values.length >= 10, '10 iterated messages')
      await consumer.disconnect()
      await iteration
      assert.deepEqual(values, Array.from({ length: 10 }, (_, i) => `v${i}`))
      await producer.disconnect()
    })

    test('consumer: seek, pause/resume and commitOffsets', async () => {
      const topic = unique('seek')
      const groupId = unique('g-seek')
      await target.createTopic(topic, 1)
      const producer = new Producer(target.opts)
      await producer.connect()
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) })
      const consumer = new Consumer({ ...target.opts, groupId }, FAST)
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      const offsets = []
      await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => { offsets.push(Number(message.offset)) } })
      await waitFor(() => offsets.length >= 10, 'the first 10')
      await consumer.seek({ topic, partition: 0, offset: '5' })
      await waitFor(() => offsets.length >= 15, 'offsets 5..9 again')
      assert.deepEqual(offsets, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 6, 7, 8, 9])

      await consumer.pause([{ topic }])
      assert.deepEqual(consumer.paused(), [{ topic, partitions: [0] }])
      await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `w${i}` })) })
      await sleep(700)
      assert.equal(offsets.length, 15, 'nothing arrives while paused')
      await consumer.resume([{ topic }])
      assert.deepEqual(consumer.paused(), [])
      await waitFor(() => offsets.length >= 20, 'the 5 sent while paused')
      assert.deepEqual(offsets.slice(15), [10, 11, 12, 13, 14])

      await consumer.commitOffsets([{ topic, partition: 0, offset: '12' }])
      assert.deepEqual(await consumer.assignment(), [{ topic, partition: 0 }])
      await consumer.disconnect()
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
      assert.deepEqual(committed, [{ topic, partitions: [{ partition: 0, offset: '12', metadata: null }] }])
      await producer.disconnect()
    })

    test('admin: topics, metadata, groups and offsets', async () => {
      const topic = unique('admin')
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '60000' }] }] }), true)
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false, 'exists already')
      assert.ok((await admin.listTopics()).includes(topic))
      const meta = await admin.fetchTopicMetadata({ topics: [topic] })
      assert.equal(meta.topics.length, 1)
      assert.equal(meta.topics[0].name, topic)
      assert.deepEqual(meta.topics[0].partitions.map(p => p.partitionId), [0, 1, 2])
      assert.ok(meta.topics[0].partitions.every(p => p.leader >= 0 && p.isr.length === 1))

      const groupId = unique('g-admin')
      const consumer = new Consumer({ ...target.opts, groupId }, FAST)
      await consumer.connect()
      await consumer.subscribe({ topics: [topic] })
      await consumer.run({ autoCommit: false, eachMessage: async () => {} })
      await waitFor(async () => (await consumer.assignment()).length === 3, 'an assignment')
      const { groups } = await admin.listGroups()
      assert.ok(groups.some(g => g.groupId === groupId && g.protocolType === 'consumer'))
      const described = await admin.describeGroups([groupId])
      const g = described.groups[0]
      assert.equal(g.groupId, groupId)
      assert.equal(g.state, 'Stable')
      assert.equal(g.members.length, 1)
      assert.deepEqual(g.members[0].assignment, [{ topic, partitions: [0, 1, 2] }])
      await consumer.commitOffsets([{ topic, partition: 1, offset: 0 }])
      await consumer.disconnect()
      assert.deepEqual(await admin.fetchOffsets({ groupId }), [{
        topic,
        partitions: [
          { partition: 0, offset: '-1', metadata: null },
          { partition: 1, offset: '0', metadata: null },
          { partition: 2, offset: '-1', metadata: null }
        ]
      }])
      assert.deepEqual(await admin.deleteGroups([groupId]), [{ groupId, errorCode: 0 }])
      await admin.deleteTopics({ topics: [topic] })
      assert.ok(!(await admin.listTopics()).includes(topic))
    })
  })
}

module.exports = { clientSuite, FAST }
