'use strict'
// Records cross the addon packed in one Buffer per call (layouts in bindings/node/src/wire.rs,
// all little-endian): kafkajs-shaped messages are packed for a send, and deliveries and polled
// records are unpacked into kafkajs's shapes. Offsets and timestamps are i64s (see int64.js).

const { InvalidArgumentError } = require('../errors.js')
const { toInt64, readInt64String, writeInt64 } = require('./int64.js')


function toBytes (v, what) {
  if (v === undefined || v === null) return null
  if (Buffer.isBuffer(v)) return v
  if (typeof v === 'string') return Buffer.from(v, 'utf8')
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  throw new InvalidArgumentError(`${what} must be a Buffer, a string or null, not ${typeof v}`)
}

function headerList (headers, i) {
  if (headers == null) return null
  if (typeof headers !== 'object') throw new InvalidArgumentError(`messages[${i}].headers must be an object`)
  const out = []
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value]
    for (const v of values) out.push([Buffer.from(name, 'utf8'), toBytes(v, `header ${name}`)])
  }
  return out.length ? out : null
}

/** Milliseconds as a safe-integer number or a BigInt; null when absent. */
function timestampOf (t, i) {
  if (t === undefined || t === null) return null
  if (typeof t === 'number' && Number.isSafeInteger(t)) return t
  if (typeof t === 'string') {
    // The common case (kafkajs's timestamps are strings): below 2^53, Number is exact.
    const n = Number(t)
    if (Number.isSafeInteger(n) && t.trim() !== '') return n
  }
  const what = `messages[${i}].timestamp`
  if (t instanceof Date) {
    const ms = t.getTime()
    if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError(`${what} is an invalid Date`)
    return ms
  }
  return toInt64(t, what)
}

function putBytes (buf, pos, b) {
  if (b === null) {
    buf.writeInt32LE(-1, pos)
    return pos + 4
  }
  buf.writeInt32LE(b.length, pos)
  b.copy(buf, pos + 4)
  return pos + 4 + b.length
}

/** Packs kafkajs-shaped messages into one Buffer for NativeProducer.send. */
function packRecords (messages) {
  const n = messages.length
  const keys = new Array(n)
  const values = new Array(n)
  const headers = new Array(n)
  const timestamps = new Array(n)
  let size = 0
  for (let i = 0; i < n; i++) {
    const m = messages[i]
    if (m === null || typeof m !== 'object') throw new InvalidArgumentError(`messages[${i}] must be an object`)
    const p = m.partition
    if (p !== undefined && p !== null && !(Number.isInteger(p) && p >= 0)) {
      throw new InvalidArgumentError(`messages[${i}].partition must be a partition number, not ${p}`)
    }
    const k = toBytes(m.key, `messages[${i}].key`)
    const v = toBytes(m.value, `messages[${i}].value`)
    const h = headerList(m.headers, i)
    keys[i] = k
    values[i] = v
    headers[i] = h
    timestamps[i] = timestampOf(m.timestamp, i)
    size += 24 + (k === null ? 0 : k.length) + (v === null ? 0 : v.length)
    if (h !== null) for (const [name, value] of h) size += 8 + name.length + (value === null ? 0 : value.length)
  }
  const buf = Buffer.allocUnsafe(size)
  let pos = 0
  for (let i = 0; i < n; i++) {
    buf.writeInt32LE(messages[i].partition ?? -1, pos)
    const t = timestamps[i]
    if (t === null) {
      // i64::MIN: no timestamp, the producer stamps the record.
      buf.writeUInt32LE(0, pos + 4)
      buf.writeInt32LE(-0x80000000, pos + 8)
    } else {
      writeInt64(buf, t, pos + 4)
    }
    pos = putBytes(buf, pos + 12, keys[i])
    pos = putBytes(buf, pos, values[i])
    const h = headers[i]
    buf.writeInt32LE(h === null ? 0 : h.length, pos)
    pos += 4
    if (h !== null) {
      for (const [name, value] of h) {
        pos = putBytes(buf, pos, name)
        pos = putBytes(buf, pos, value)
      }
    }
  }
  return buf
}

/** Record metadata, one per message sent, in order (kafkajs's fields plus the record's offset). */
function unpackDeliveries (topic, buf) {
  const n = buf.length / 20
  const out = new Array(n)
  for (let i = 0, pos = 0; i < n; i++, pos += 20) {
    const offset = readInt64String(buf, pos + 4)
    out[i] = {
      topicName: topic,
      partition: buf.readInt32LE(pos),
      errorCode: 0,
      offset,
      baseOffset: offset,
      timestamp: readInt64String(buf, pos + 12)
    }
  }
  return out
}

function readBytes (buf, pos) {
  const len = buf.readInt32LE(pos)
  if (len < 0) return [null, pos + 4]
  return [buf.subarray(pos + 4, pos + 4 + len), pos + 4 + len]
}

/**
 * Polled records grouped into batches of one partition each, in the order they came:
 * [{ topic, partition, messages: [kafkajs message], next: 0 }]; `next` is the index of the first
 * message not delivered yet (consumer.js).
 */
function unpackBatches (buf) {
  const count = buf.readUInt32LE(0)
  if (count === 0) return []
  const topicCount = buf.readUInt32LE(4)
  let pos = 8
  const topics = new Array(topicCount)
  for (let i = 0; i < topicCount; i++) {
    const len = buf.readInt32LE(pos)
    topics[i] = buf.toString('utf8', pos + 4, pos + 4 + len)
    pos += 4 + len
  }
  const batches = []
  let batch = null
  for (let i = 0; i < count; i++) {
    const topic = topics[buf.readUInt32LE(pos)]
    const partition = buf.readInt32LE(pos + 4)
    const offset = readInt64String(buf, pos + 8)
    const timestamp = readInt64String(buf, pos + 16)
    const attributes = buf[pos + 24] << 3
    let key, value
    ;[key, pos] = readBytes(buf, pos + 25)
    ;[value, pos] = readBytes(buf, pos)
    const headerCount = buf.readInt32LE(pos)
    pos += 4
    const headers = {}
    for (let h = 0; h < headerCount; h++) {
      const nameLen = buf.readInt32LE(pos)
      const name = buf.toString('utf8', pos + 4, pos + 4 + nameLen)
      let hv
      ;[hv, pos] = readBytes(buf, pos + 4 + nameLen)
      const prev = headers[name]
      if (prev === undefined) headers[name] = hv
      else if (Array.isArray(prev)) prev.push(hv)
      else headers[name] = [prev, hv]
    }
    if (batch === null || batch.topic !== topic || batch.partition !== partition) {
      batch = { topic, partition, messages: [], next: 0 }
      batches.push(batch)
    }
    batch.messages.push({ key, value, timestamp, attributes, offset, headers })
  }
  return batches
}

module.exports = { packRecords, unpackDeliveries, unpackBatches }
