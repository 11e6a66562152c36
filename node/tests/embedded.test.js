'use strict'
// Every API against an embedded broker: the Broker itself, and the clients attached in-process.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { Broker, Producer, Consumer, Admin } = require('..')
const { clientSuite } = require('./suite')
const { tmpdir, unique } = require('./helpers')

test('Broker: open, createTopic, listTopics, deleteTopic, serve, close, reopen', async () => {
  const dir = tmpdir()
  const broker = await Broker.open(dir, { 'num.partitions': 2, 'group.initial.rebalance.delay.ms': 0 })
  assert.equal(broker.path, dir)
  const created = await broker.createTopic('orders', { partitions: 4, configs: { 'cleanup.policy': 'compact' } })
  assert.equal(created.name, 'orders')
  assert.equal(created.partitions, 4)
  assert.deepEqual(created.configs, { 'cleanup.policy': 'compact' })
  assert.equal((await broker.createTopic('defaults')).partitions, 2, 'num.partitions')
  assert.deepEqual(await broker.listTopics(), ['defaults', 'orders'])
  await broker.deleteTopic('defaults')
  assert.deepEqual(await broker.listTopics(), ['orders'])

  const addr = await broker.serve('127.0.0.1:0')
  assert.match(addr, /^127\.0\.0\.1:\d+$/)
  assert.notEqual(addr, '127.0.0.1:0')
  // A TCP client and an in-process one see the same broker.
  const admin = new Admin({ bootstrapServers: addr })
  await admin.connect()
  assert.deepEqual(await admin.listTopics(), ['orders'])
  const producer = new Producer({ broker })
  await producer.connect()
  await producer.send({ topic: 'orders', messages: [{ key: 'a', value: '1' }] })
  await producer.disconnect()
  await admin.disconnect()
  await broker.close()
  assert.equal(broker.closed, true)
  await broker.close()

  const reopened = await Broker.open(dir)
  assert.deepEqual(await reopened.listTopics(), ['orders'])
  const consumer = new Consumer({ broker: reopened }, { 'auto.offset.reset': 'earliest' })
  await consumer.connect()
  await consumer.assign([0, 1, 2, 3].map(partition => ({ topic: 'orders', partition })))
  for await (const { message } of consumer) {
    assert.equal(message.value.toString(), '1')
    break
  }
  await consumer.disconnect()
  await reopened.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

clientSuite('embedded broker, in-process clients', async () => {
  const dir = tmpdir()
  const broker = await Broker.open(dir, { 'group.initial.rebalance.delay.ms': 0 })
  return {
    opts: { broker },
    createTopic: (name, partitions) => broker.createTopic(name, partitions),
    async close () {
      await broker.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
})

test('embedded broker: a served listener and in-process clients share groups', async () => {
  const dir = tmpdir()
  const broker = await Broker.open(dir, { 'group.initial.rebalance.delay.ms': 0 })
  const addr = await broker.serve('127.0.0.1:0')
  const topic = unique('shared')
  await broker.createTopic(topic, 2)
  const groupId = unique('g-shared')
  const a = new Consumer({ broker, groupId }, { 'session.timeout.ms': 10000, 'heartbeat.interval.ms': 200 })
  const b = new Consumer({ bootstrapServers: addr, groupId }, { 'session.timeout.ms': 10000, 'heartbeat.interval.ms': 200 })
  for (const c of [a, b]) {
    await c.connect()
    await c.subscribe({ topics: [topic], fromBeginning: true })
    await c.run({ eachMessage: async () => {} })
  }
  const deadline = Date.now() + 30000
  let sizes
  do {
    sizes = [(await a.assignment()).length, (await b.assignment()).length]
    if (sizes[0] === 1 && sizes[1] === 1) break
    await new Promise(resolve => setTimeout(resolve, 50))
  } while (Date.now() < deadline)
  assert.deepEqual(sizes, [1, 1], 'one partition each')
  await a.disconnect()
  await b.disconnect()
  await broker.close()
  fs.rmSync(dir, { recursive: true, force: true })
})
