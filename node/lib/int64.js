'use strict'
// Offsets and timestamps are 64-bit; a JavaScript number is exact only up to 2^53
// (Number.MAX_SAFE_INTEGER). They cross the addon as BigInts or as little-endian i64s in the
// packed buffers, and reach the user as decimal strings (kafkajs's shape), so no value is
// rounded on the way; a number past 2^53 given by the user is refused rather than guessed at.

const { InvalidArgumentError } = require('../errors.js')

const TWO_32 = 0x100000000
/** |hi| below this: hi * 2^32 + lo is below 2^53, exact as a number. */
const SAFE_HI = 0x200000
const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n

/**
 * A 64-bit integer from a user's value: a BigInt, a number that is a safe integer, or a
 * decimal string. Anything else, or outside the i64 range, is an InvalidArgumentError.
 */
function toInt64 (v, what) {
  let b
  if (typeof v === 'bigint') {
    b = v
  } else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      const why = Number.isInteger(v) ? 'past 2^53 a number is not exact: pass a string or a BigInt' : 'not an integer'
      throw new InvalidArgumentError(`${what} ${v}: ${why}`)
    }
    b = BigInt(v)
  } else if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    b = BigInt(v)
  } else {
    throw new InvalidArgumentError(`${what} ${String(v)} is not an integer (a string, a number or a BigInt)`)
  }
  if (b < I64_MIN || b > I64_MAX) throw new InvalidArgumentError(`${what} ${v} is out of the 64-bit range`)
  return b
}

/** The i64 at `pos` as a decimal string, exactly. */
function readInt64String (buf, pos) {
  const hi = buf.readInt32LE(pos + 4)
  if (hi >= -SAFE_HI && hi < SAFE_HI) return String(hi * TWO_32 + buf.readUInt32LE(pos))
  return buf.readBigInt64LE(pos).toString()
}

/** Writes `v` (a safe-integer number or a BigInt in range) as an i64 at `pos`. */
function writeInt64 (buf, v, pos) {
  if (typeof v === 'bigint') {
    buf.writeBigInt64LE(v, pos)
  } else {
    const hi = Math.floor(v / TWO_32)
    buf.writeUInt32LE(v - hi * TWO_32, pos)
    buf.writeInt32LE(hi, pos + 4)
  }
}

/** The offset after `offset` (a decimal string), as a string. */
function nextOffset (offset) {
  return (BigInt(offset) + 1n).toString()
}

module.exports = { toInt64, readInt64String, writeInt64, nextOffset }
