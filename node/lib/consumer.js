'use strict'
// The consumer in kafkajs's shapes over the core consumer. The core owns the consumer's state:
// positions (which, like commits, cover exactly the records it handed out), fetched records,
// pauses (a paused partition's fetched records wait in the core), seeks (each drops only its
// partition's fetched records; with a group subscription, seeks and pauses of partitions not
// assigned yet wait for the assignment) and settings changed before the first poll.
//
// What is left here is kafkajs's way of delivering: the run loop awaiting eachMessage or
// eachBatch (resolveOffset, eachBatchAutoResolve) one partition's batch at a time, async
// iteration, and the consumer.crash event. One rule of kafkajs's needs a little bookkeeping:
// records handed out by a poll that end up not delivered (a handler failed, a handler or the
// user paused or sought their partition, the consumer stopped) are given back, see _giveBack.

const { EventEmitter } = require('node:events')
const { AsyncLocalStorage } = require('node:async_hooks')
const { native, call, callSync } = require('./addon.js')
const { clientOptions, brokerHandle } = require('./client.js')
const { unpackBatches } = require('./wire.js')
const { toInt64, nextOffset } = require('./int64.js')
const { ClosedError, InvalidArgumentError, IllegalStateError } = require('../errors.js')

/** How long one poll of a running consumer waits for records (bounds `disconnect`). */
const POLL_MS = 100
/** Records asked for per poll: as many as max.poll.records lets the core hand out. */
const POLL_MAX = 0xffffffff
/**
 * Records per poll unless `max.poll.records` is set: kafkajs hands whole fetches to eachBatch,
 * and Kafka's 500 spends much of a consumer's time crossing into JavaScript and back.
 */
const MAX_POLL_RECORDS = '2000'
/** Backoff after a failed poll or handler, doubling up to the maximum. */
const RETRY_MS = 100
const RETRY_MAX_MS = 5000

/** Why the in-hand records of a partition are no longer delivered (see `_stale`). */
const SOUGHT = 'sought'
const PAUSED = 'paused'

const handlerContext = new AsyncLocalStorage()

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

function tpKey (topic, partition) {
  return `${partition}:${topic}`
}

/** The key of a whole topic (topic names have no ':'). */
function topicKey (topic) {
  return `:${topic}`
}

function escapeRegex (s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** `[{ topic, partitions? }]` as the addon takes it (no partitions: those assigned now). */
function topicPartitions (topics, what) {
  if (!Array.isArray(topics)) throw new InvalidArgumentError(`${what} needs [{ topic, partitions }]`)
  return topics.map(({ topic, partitions } = {}) => {
    if (typeof topic !== 'string' || topic === '') throw new InvalidArgumentError(`${what} needs a topic name, not ${topic}`)
    if (partitions != null && !Array.isArray(partitions)) throw new InvalidArgumentError(`${what}: partitions must be an array`)
    return { topic, partitions: partitions ?? undefined }
  })
}

/**
 * A Kafka consumer: `new Consumer({ bootstrapServers | broker, groupId }, kafkaConfig)`, then
 * `connect`, `subscribe`, and `run({ eachMessage | eachBatch })` or `for await (... of consumer)`.
 */
class Consumer extends EventEmitter {
  constructor (options = {}, config = {}) {
    super()
    const { config: c, broker } = clientOptions(options, config, 'consumer')
    if (options && options.groupId != null) c['group.id'] = String(options.groupId)
    if (c['max.poll.records'] === undefined) c['max.poll.records'] = MAX_POLL_RECORDS
    this._config = c
    /** Settings given after connect (fromBeginning, autoCommit): a reconnect keeps them. */
    this._later = {}
    this._broker = broker
    this._native = null
    this._connecting = null
    this._ops = Promise.resolve()
    this._subscribed = []
    this._running = false
    this._iterating = false
    this._loop = null
    this._polling = null
    this._disconnected = false
    /** The batches of the last poll (see unpackBatches), each with its first undelivered message. */
    this._inHand = []
    /** Partitions (and whole topics) sought or paused since the last poll started: SOUGHT | PAUSED. */
    this._stale = new Map()
    this.events = Consumer.events
  }

  get groupId () {
    return this._config['group.id'] ?? null
  }

  /** Starts the consumer (checking its config). */
  async connect () {
    if (this._connecting === null) {
      this._disconnected = false
      this._connecting = this._build()
      this._connecting.catch(() => { this._connecting = null })
    }
    await this._connecting
  }

  async _build () {
    const broker = brokerHandle(this._broker)
    this._native = await call(() => native.connectConsumer({ ...this._config, ...this._later }, broker))
  }

  /** Runs one native call after the ones queued before it (a consumer is used serially). */
  _op (fn) {
    if (this._native === null) {
      return Promise.reject(new ClosedError('the consumer is not connected: call connect() first'))
    }
    const p = this._ops.then(() => call(() => fn(this._native)))
    this._ops = p.then(() => {}, () => {})
    return p
  }

  /**
   * Settings kafkajs takes after connect (fromBeginning, autoCommit): the core changes them
   * until the first poll and refuses after (IllegalStateError); an unchanged one is left alone.
   */
  async _set (settings) {
    for (const [name, value] of Object.entries(settings)) {
      if ((this._later[name] ?? this._config[name]) === value) continue
      await this._op(n => n.reconfigure(name, value))
      this._later[name] = value
    }
  }

  /**
   * Subscribes through the group to `topics` (names or RegExps) or `topic`. `fromBeginning`
   * sets where a partition without a committed offset starts (auto.offset.reset).
   * Calls accumulate, as in kafkajs.
   */
  async subscribe ({ topics, topic, fromBeginning } = {}) {
    if (this._running || this._iterating) throw new IllegalStateError('cannot subscribe while the consumer is running')
    const list = topics ?? (topic !== undefined ? [topic] : [])
    if (!Array.isArray(list) || list.length === 0) throw new InvalidArgumentError('subscribe needs topics')
    for (const t of list) {
      if (!(typeof t === 'string' && t !== '') && !(t instanceof RegExp)) {
        throw new InvalidArgumentError(`a topic must be a name or a RegExp, not ${t}`)
      }
    }
    if (this._native === null) throw new ClosedError('the consumer is not connected: call connect() first')
    if (fromBeginning !== undefined) await this._set({ 'auto.offset.reset': fromBeginning ? 'earliest' : 'latest' })
    const all = [...this._subscribed, ...list]
    if (all.some(t => t instanceof RegExp)) {
      const pattern = all.map(t => (t instanceof RegExp ? t.source : escapeRegex(t))).join('|')
      await this._op(n => n.subscribePattern(pattern))
    } else {
      const names = [...new Set(all)]
      await this._op(n => n.subscribe(names))
    }
    this._subscribed = all
  }

  /** Consumes exactly these partitions, without group membership (strom's, like Java's assign). */
  async assign (partitions) {
    if (!Array.isArray(partitions)) throw new InvalidArgumentError('assign needs [{ topic, partition }]')
    const list = partitions.map(({ topic, partition }) => ({ topic, partition }))
    await this._op(n => n.assign(list))
    this._subscribed = []
  }

  /**
   * Starts consuming in the background and resolves once started. `eachMessage({ topic,
   * partition, message })` or `eachBatch({ batch, resolveOffset, ... })` is awaited for each
   * message or batch, one at a time. When a handler throws, its partition goes on from the
   * failed message, `consumer.crash` is emitted and consuming goes on after a backoff.
   * `autoCommit` and `autoCommitInterval` (ms) set enable.auto.commit and
   * auto.commit.interval.ms: positions are committed as the next poll starts, so a message
   * counts as processed once its handler resolved.
   */
  async run ({ eachMessage, eachBatch, autoCommit, autoCommitInterval, eachBatchAutoResolve = true } = {}) {
    if (this._running || this._iterating) throw new IllegalStateError('the consumer is already running')
    if ((typeof eachMessage === 'function') === (typeof eachBatch === 'function')) {
      throw new InvalidArgumentError('run needs exactly one of eachMessage and eachBatch')
    }
    if (this._native === null) throw new ClosedError('the consumer is not connected: call connect() first')
    const settings = {}
    if (autoCommit !== undefined) settings['enable.auto.commit'] = autoCommit ? 'true' : 'false'
    if (autoCommitInterval != null) settings['auto.commit.interval.ms'] = String(autoCommitInterval)
    await this._set(settings)
    this._running = true
    const loop = this._runLoop(eachMessage, eachBatch, eachBatchAutoResolve)
    this._loop = loop.catch(e => this._emitCrash(e, false)).finally(() => { this._running = false })
  }

  /** Polls; the batches are in hand until delivered or given back. */
  _poll () {
    this._polling = (async () => {
      // Seeks and pauses from here on concern the records this poll hands out.
      this._stale.clear()
      this._inHand = unpackBatches(await this._op(n => n.poll(POLL_MS, POLL_MAX)))
      return this._inHand
    })()
    return this._polling
  }

  /** Whether the in-hand records of the partition must not be delivered (sought or paused since the poll). */
  _isStale (topic, partition) {
    return this._stale.size > 0 && (this._stale.has(tpKey(topic, partition)) || this._stale.has(topicKey(topic)))
  }

  /**
   * The core counts every record a poll handed out as consumed: positions, and so commits,
   * cover them. kafkajs delivers a poll's records partition by partition and, when a handler
   * fails or the partition is paused or sought, does not deliver the partition's remaining
   * records: it seeks the partition back to the first one not processed. So do we, here, for
   * every batch left with undelivered records (a seek drops only that partition's prefetched
   * records in the core); a partition sought by the user keeps the user's offset.
   */
  _giveBack () {
    for (const { topic, partition, messages, next } of this._inHand) {
      if (next < messages.length && this._stale.get(tpKey(topic, partition)) !== SOUGHT) {
        const offset = BigInt(messages[next].offset)
        this._op(n => n.seek(topic, partition, offset)).catch(e => this._emitCrash(e, false))
      }
    }
    this._inHand = []
  }

  _emitCrash (error, restart) {
    const event = { id: 0, type: Consumer.events.CRASH, timestamp: Date.now(), payload: { error, groupId: this.groupId, restart } }
    if (this.listenerCount(Consumer.events.CRASH) > 0) this.emit(Consumer.events.CRASH, event)
    else process.emitWarning(`strom consumer: ${error && error.message}${restart ? ' (retrying)' : ''}`)
  }

  async _runLoop (eachMessage, eachBatch, autoResolve) {
    let backoff = RETRY_MS
    while (this._running) {
      let batches
      try {
        batches = await this._poll()
      } catch (e) {
        if (!this._running) break
        const retry = e.retriable === true
        this._emitCrash(e, retry)
        if (!retry) break
        await sleep(backoff)
        backoff = Math.min(backoff * 2, RETRY_MAX_MS)
        continue
      }
      let failed = false
      await handlerContext.run(this, async () => {
        try {
          for (let b = 0; b < batches.length && this._running; b++) {
            if (eachMessage) await this._eachMessage(batches[b], eachMessage)
            else await this._eachBatch(batches[b], eachBatch, autoResolve)
          }
        } catch (e) {
          failed = true
          this._emitCrash(e instanceof Error ? e : new Error(String(e)), true)
        } finally {
          this._giveBack()
        }
      })
      if (failed) {
        await sleep(backoff)
        backoff = Math.min(backoff * 2, RETRY_MAX_MS)
      } else {
        backoff = RETRY_MS
      }
    }
  }

  async _eachMessage (batch, handler) {
    const { topic, partition, messages } = batch
    const pause = () => this._pauseFromHandler(topic, partition)
    while (batch.next < messages.length && this._running && !this._isStale(topic, partition)) {
      await handler({ topic, partition, message: messages[batch.next], heartbeat: async () => {}, pause })
      batch.next++
    }
  }

  async _eachBatch (batch, handler, autoResolve) {
    const { topic, partition, messages } = batch
    if (this._isStale(topic, partition)) return
    /** Messages before this index are resolved (processed). */
    let resolved = 0
    const payload = {
      batch: {
        topic,
        partition,
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => (messages.length ? messages[0].offset : null),
        lastOffset: () => (messages.length ? messages[messages.length - 1].offset : null)
      },
      resolveOffset: offset => {
        const i = messages.findIndex(m => m.offset === String(offset))
        if (i + 1 > resolved) resolved = i + 1
      },
      heartbeat: async () => {},
      commitOffsetsIfNecessary: async offsets => {
        if (offsets) return this.commitOffsets(offsets)
        if (resolved > 0) {
          return this.commitOffsets([{ topic, partition, offset: nextOffset(messages[resolved - 1].offset) }])
        }
      },
      uncommittedOffsets: () => ({ topics: [] }),
      isRunning: () => this._running,
      isStale: () => this._isStale(topic, partition),
      pause: () => this._pauseFromHandler(topic, partition)
    }
    try {
      await handler(payload)
    } finally {
      // On a failure, or without eachBatchAutoResolve, what was not resolved is given back.
      batch.next = resolved
    }
    if (autoResolve) batch.next = messages.length
  }

  _pauseFromHandler (topic, partition) {
    this.pause([{ topic, partitions: [partition] }]).catch(e => this._emitCrash(e, false))
    return () => { this.resume([{ topic, partitions: [partition] }]).catch(e => this._emitCrash(e, false)) }
  }

  /**
   * Async iteration over `{ topic, partition, message }`, one at a time: positions are
   * committed (with auto-commit) when the next poll starts. Ends after `disconnect()`; leaving
   * the loop early gives the messages not reached back.
   */
  [Symbol.asyncIterator] () {
    if (this._running || this._iterating) throw new IllegalStateError('the consumer is already running')
    this._iterating = true
    let b = 0
    const end = () => {
      if (this._iterating) this._giveBack()
      this._iterating = false
      return { done: true, value: undefined }
    }
    return {
      next: async () => {
        for (;;) {
          const batches = this._inHand
          for (; b < batches.length; b++) {
            const batch = batches[b]
            if (batch.next < batch.messages.length && !this._isStale(batch.topic, batch.partition)) {
              const message = batch.messages[batch.next++]
              return { done: false, value: { topic: batch.topic, partition: batch.partition, message } }
            }
          }
          if (this._disconnected || !this._iterating) return end()
          this._giveBack()
          b = 0
          try {
            await this._poll()
          } catch (e) {
            if (this._disconnected || e instanceof ClosedError) return end()
            end()
            throw e
          }
        }
      },
      return: async () => end(),
      [Symbol.asyncIterator] () { return this }
    }
  }

  /** Commits offsets: `[{ topic, partition, offset }]`, offset being the next one to consume. */
  async commitOffsets (offsets) {
    if (!Array.isArray(offsets)) throw new InvalidArgumentError('commitOffsets needs [{ topic, partition, offset }]')
    const list = offsets.map(({ topic, partition, offset, metadata }) => ({
      topic,
      partition,
      offset: toInt64(offset, 'commit offset'),
      metadata: metadata ?? undefined
    }))
    return this._op(n => n.commitOffsets(list))
  }

  /**
   * Commits the position of every assigned partition: after the messages delivered (for the
   * run loop: whose handler resolved), also when called inside a poll's messages, whose
   * undelivered rest is not committed.
   */
  async commit () {
    const undelivered = []
    for (const { topic, partition, messages, next } of this._inHand) {
      // A partition sought since the poll has the user's offset as its position already.
      if (next < messages.length && this._stale.get(tpKey(topic, partition)) !== SOUGHT) {
        undelivered.push({ topic, partition, offset: BigInt(messages[next].offset) })
      }
    }
    if (undelivered.length === 0) return this._op(n => n.commitSync())
    return this._op(n => n.commitPositionsExcept(undelivered))
  }

  /**
   * Makes consuming of the partition go on from `offset` (a string, a number up to 2^53 or a
   * BigInt). With a group subscription, a partition not assigned yet is sought once it is.
   */
  seek ({ topic, partition, offset } = {}) {
    let o
    try {
      o = toInt64(offset, 'seek offset')
    } catch (e) {
      return Promise.reject(e)
    }
    if (o < 0n) return Promise.reject(new InvalidArgumentError(`seek offset ${offset} is negative`))
    this._stale.set(tpKey(topic, partition), SOUGHT)
    return this._op(n => n.seek(topic, partition, o))
  }

  /**
   * Stops consuming `[{ topic, partitions? }]` (without partitions: those of the topic assigned
   * now) until resumed. With a group subscription, listed partitions not assigned yet are
   * paused once they are.
   */
  pause (topics) {
    let list
    try {
      list = topicPartitions(topics, 'pause')
    } catch (e) {
      return Promise.reject(e)
    }
    for (const { topic, partitions } of list) {
      const keys = partitions === undefined ? [topicKey(topic)] : partitions.map(p => tpKey(topic, p))
      for (const key of keys) if (!this._stale.has(key)) this._stale.set(key, PAUSED)
    }
    return this._op(n => n.pause(list))
  }

  resume (topics) {
    let list
    try {
      list = topicPartitions(topics, 'resume')
    } catch (e) {
      return Promise.reject(e)
    }
    return this._op(n => n.resume(list))
  }

  /**
   * Paused partitions, `[{ topic, partitions }]`, including those to be paused once the group
   * assigns them. Synchronous, as kafkajs's: the core's list as of the end of the consumer's
   * last call (a pause resolves after it is in).
   */
  paused () {
    if (this._native === null) return []
    const byTopic = new Map()
    for (const { topic, partition } of callSync(() => this._native.paused())) {
      if (!byTopic.has(topic)) byTopic.set(topic, [])
      byTopic.get(topic).push(partition)
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }))
  }

  /** The partitions assigned now: `[{ topic, partition }]`. */
  async assignment () {
    return this._op(n => n.assignment())
  }

  /** Stops the run loop (after the handler in progress) and iteration, commits, leaves the group. */
  async disconnect () {
    this._disconnected = true
    this._running = false
    this._iterating = false
    if (this._connecting === null) return
    await this._connecting.catch(() => {})
    // From inside a handler the loop cannot be waited for: it is waiting for that handler.
    if (this._loop !== null && handlerContext.getStore() !== this) await this._loop
    if (this._polling !== null) await this._polling.catch(() => {})
    // Undelivered records (of a disconnect from a handler, or of an iteration's last poll)
    // go back before the final commit.
    this._giveBack()
    if (this._native !== null) await this._op(n => n.close())
    this._connecting = null
    this._ops = Promise.resolve()
    this.emit(Consumer.events.DISCONNECT, { type: Consumer.events.DISCONNECT, timestamp: Date.now() })
  }
}

Consumer.events = Object.freeze({
  CRASH: 'consumer.crash',
  DISCONNECT: 'consumer.disconnect'
})

module.exports = { Consumer }
