'use strict'
// Failures reach JavaScript as typed errors (StromError subclasses with Kafka's name, code and
// retriable flag), handler failures are retried and reported, and nothing is left unhandled.
const { test, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const strom = require('..')
const { Broker, Producer, Consumer, Admin, StromError, KafkaError, ConfigError, ClosedError, StateError, InvalidArgumentError } = strom
const { assertNoUnhandledRejections, tmpdir, unique, waitFor } = require('./helpers')

after(assertNoUnhandledRejections)

async function withBroker (config, fn) {
  const dir = tmpdir()
  const broker = await Broker.open(dir, { 'group.initial.rebalance.delay.ms': 0, ...config })
  try {
    await fn(broker)
  } finally {
    await broker.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

test('bad config: ConfigError with INVALID_CONFIG\'s code, naming the setting', async () => {
  await withBroker({}, async broker => {
    const cases = [
      () => new Producer({ broker }, { 'no.such.setting': 1 }).connect(),
      () => new Producer({ broker }, { acks: 'sometimes' }).connect(),
      () => new Consumer({ broker }, { 'auto.offset.reset': 'sideways' }).connect(),
      () => new Admin({ broker }, { 'retries.max': 3 }).connect(),
      () => new Producer({}).connect(),
      () => Broker.open(tmpdir(), { 'num.partitionz': 3 })
    ]
    for (const make of cases) {
      await assert.rejects(make(), e => {
        assert.ok(e instanceof ConfigError && e instanceof StromError && e instanceof Error, `${e.name}: ${e.message}`)
        assert.equal(e.retriable, false)
        return true
      })
    }
    await assert.rejects(new Producer({ broker }, { 'no.such.setting': 1 }).connect(), /no\.such\.setting/)
    const e = await new Producer({ broker }, { 'linger.ms': 'soon' }).connect().catch(err => err)
    assert.equal(e.code, 40, 'INVALID_CONFIG')
    assert.throws(() => new Producer({ broker }, 'acks=all'), ConfigError)
    await assert.rejects(new Producer({ broker }).send({ topic: 't', messages: [{ value: 'x' }], acks: -1 }), ConfigError)
  })
})

test('unknown topic: KafkaError UNKNOWN_TOPIC_OR_PARTITION (3, retriable)', async () => {
  await withBroker({ 'auto.create.topics.enable': false }, async broker => {
    const isUnknownTopic = e => {
      assert.ok(e instanceof KafkaError && e instanceof StromError, `${e.name}: ${e.message}`)
      assert.equal(e.name, 'UNKNOWN_TOPIC_OR_PARTITION')
      assert.equal(e.code, 3)
      assert.equal(e.retriable, true)
      return true
    }
    await assert.rejects(broker.deleteTopic('missing'), isUnknownTopic)
    const addr = await broker.serve('127.0.0.1:0')
    for (const opts of [{ broker }, { bootstrapServers: addr }]) {
      const admin = new Admin(opts)
      await admin.connect()
      await assert.rejects(admin.fetchTopicMetadata({ topics: ['missing'] }), isUnknownTopic)
      await assert.rejects(admin.deleteTopics({ topics: ['missing'] }), isUnknownTopic)
      await admin.disconnect()
    }
    // Over TCP with auto-creation off, a produce to a missing topic gives up after max.block.ms.
    const producer = new Producer({ bootstrapServers: addr }, { 'max.block.ms': 500 })
    await producer.connect()
    await assert.rejects(producer.send({ topic: 'missing', messages: [{ value: 'x' }] }), e => {
      assert.ok(e instanceof StromError, `${e.name}: ${e.message}`)
      assert.ok(e.name === 'TimeoutError' || e.name === 'UNKNOWN_TOPIC_OR_PARTITION', e.name)
      assert.equal(e.retriable, true)
      return true
    })
    await producer.disconnect()
    // A partition the topic does not have.
    await broker.createTopic('one', 1)
    const inProcess = new Producer({ broker }, { 'max.block.ms': 500 })
    await inProcess.connect()
    await assert.rejects(inProcess.send({ topic: 'one', messages: [{ value: 'x', partition: 7 }] }), isUnknownTopic)
    await inProcess.disconnect()
  })
})

test('existing topic: KafkaError TOPIC_ALREADY_EXISTS (36, not retriable)', async () => {
  await withBroker({}, async broker => {
    await broker.createTopic('t', 1)
    await assert.rejects(broker.createTopic('t', 1), e => e instanceof KafkaError && e.name === 'TOPIC_ALREADY_EXISTS' && e.code === 36 && !e.retriable)
  })
})

test('closed or never connected clients and a closed broker: ClosedError', async () => {
  const dir = tmpdir()
  const broker = await Broker.open(dir)
  await broker.createTopic('t', 1)
  const producer = new Producer({ broker })
  await assert.rejects(producer.send({ topic: 't', messages: [{ value: 'x' }] }), ClosedError)
  await producer.connect()
  await producer.send({ topic: 't', messages: [{ value: 'x' }] })
  await producer.disconnect()
  await producer.disconnect()
  await assert.rejects(producer.send({ topic: 't', messages: [{ value: 'x' }] }), e => e instanceof ClosedError && /closed/.test(e.message))
  await assert.rejects(producer.flush().then(() => producer.send({ topic: 't', messages: [{ value: 'y' }] })), ClosedError)

  const consumer = new Consumer({ broker, groupId: 'g' })
  await assert.rejects(consumer.subscribe({ topics: ['t'] }), ClosedError)
  const admin = new Admin({ broker })
  await assert.rejects(admin.listTopics(), ClosedError)

  await broker.close()
  await assert.rejects(broker.createTopic('u', 1), ClosedError)
  await assert.rejects(broker.serve('127.0.0.1:0'), ClosedError)
  await assert.rejects(new Producer({ broker }).connect(), ClosedError)
  fs.rmSync(dir, { recursive: true, force: true })
})

test('misuse: StateError and InvalidArgumentError', async () => {
  await withBroker({}, async broker => {
    await broker.createTopic('t', 1)
    const consumer = new Consumer({ broker })
    await consumer.connect()
    // Polling with neither subscription nor assignment.
    await assert.rejects((async () => { for await (const m of consumer) return m })(), StateError)
    // subscribe needs group.id.
    await assert.rejects(consumer.subscribe({ topics: ['t'] }), StateError)
    await assert.rejects(consumer.run({}), InvalidArgumentError)
    await consumer.disconnect()
    const producer = new Producer({ broker })
    await producer.connect()
    await assert.rejects(producer.send({ topic: 't', messages: [{ value: 42 }] }), InvalidArgumentError)
    await assert.rejects(producer.send({ topic: 't', messages: [{ value: 'x', partition: -3 }] }), InvalidArgumentError)
    await assert.rejects(producer.send({ topic: 't' }), InvalidArgumentError)
    await producer.disconnect()
    await assert.rejects(Broker.open(broker.path), e => e.name === 'StorageError' && e instanceof strom.IoError && /in use/.test(e.message))
  })
})

test('a failing handler: consumer.crash is emitted and the message is delivered again', async () => {
  await withBroker({}, async broker => {
    const topic = unique('crash')
    await broker.createTopic(topic, 1)
    const producer = new Producer({ broker })
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] })
    await producer.disconnect()
    const consumer = new Consumer({ broker, groupId: unique('g') }, { 'auto.offset.reset': 'earliest' })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic] })
    const crashes = []
    consumer.on(consumer.events.CRASH, e => crashes.push(e))
    const seen = []
    let failed = false
    await consumer.run({
      eachMessage: async ({ message }) => {
        const v = message.value.toString()
        if (v === 'b' && !failed) {
          failed = true
          throw new Error('handler failed on b')
        }
        seen.push(v)
      }
    })
    await waitFor(() => seen.length >= 3, 'a, b (again) and c')
    await consumer.disconnect()
    assert.deepEqual(seen, ['a', 'b', 'c'])
    assert.equal(crashes.length, 1)
    assert.equal(crashes[0].type, 'consumer.crash')
    assert.equal(crashes[0].payload.error.message, 'handler failed on b')
    assert.equal(crashes[0].payload.restart, true)
  })
})

test('connection refused: a retriable NetworkError or TimeoutError', async () => {
  const admin = new Admin({ bootstrapServers: '127.0.0.1:1' }, { 'default.api.timeout.ms': 1000 })
  await assert.rejects(admin.connect(), e => {
    assert.ok(e.name === 'NetworkError' || e.name === 'TimeoutError', `${e.name}: ${e.message}`)
    assert.equal(e.retriable, true)
    return true
  })
})
