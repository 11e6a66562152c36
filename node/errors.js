'use strict'
// Errors of the strom package. Every failure is a StromError; a refusal by a broker is a
// KafkaError whose `name` is Kafka's error name (UNKNOWN_TOPIC_OR_PARTITION, ...), `code` its
// error code and `retriable` whether trying again may succeed. The native addon rejects with
// a message whose first line is a JSON header (see bindings/node/src/error.rs); `fromNative`
// turns it into the matching class.

class StromError extends Error {
  constructor (message, { code = null, retriable = false, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = new.target.name
    /** Kafka's error code, when the failure has one (null otherwise). */
    this.code = code
    /** Whether the same call may succeed when tried again. */
    this.retriable = retriable
  }
}

/** A broker refused the call with a Kafka error code; `name` is Kafka's name for it. */
class KafkaError extends StromError {
  constructor (message, { code, name, retriable = false } = {}) {
    super(message, { code, retriable })
    this.name = name || `UNKNOWN_ERROR_CODE_${code}`
  }
}

/** An unknown configuration name or a bad value. */
class ConfigError extends StromError {}
/** The producer, consumer, admin client or broker is closed (or was never connected). */
class ClosedError extends StromError {}
/** The call did not finish within its time limit. */
class TimeoutError extends StromError {}
/** No connection could be made to a broker, or one was lost. */
class NetworkError extends StromError {}
/** A call that does not fit the client's state (polling before subscribing, ...). */
class IllegalStateError extends StromError {}
/** An argument that cannot be used as given. */
class InvalidArgumentError extends StromError {}
/** The broker broke the Kafka protocol or lacks an API version the call needs. */
class ProtocolError extends StromError {}
/** A file or socket operation failed (data directory, listener). */
class StorageError extends StromError {}

// The kinds are core's `ErrorKind` names (core/src/error_kind.rs); the class names are the
// same as Python's (strom.errors), so the two packages cannot drift apart.
const KINDS = {
  config: ConfigError,
  closed: ClosedError,
  timeout: TimeoutError,
  network: NetworkError,
  illegal_state: IllegalStateError,
  invalid_argument: InvalidArgumentError,
  protocol: ProtocolError,
  io: StorageError,
  internal: StromError
}

/** Decodes one encoded native error (header line + message) into a StromError. */
function decode (text, cause) {
  const nl = text.indexOf('\n')
  if (!text.startsWith('{"strom":1') || nl < 0) return null
  let header
  try {
    header = JSON.parse(text.slice(0, nl))
  } catch {
    return null
  }
  const message = text.slice(nl + 1)
  const extra = { code: header.code, retriable: header.retriable, cause }
  if (header.kind === 'kafka') {
    return new KafkaError(message, { code: header.code, name: header.name, retriable: header.retriable })
  }
  const Kind = KINDS[header.kind] || StromError
  return new Kind(message, extra)
}

/** The StromError for anything the native addon threw or rejected with. */
function fromNative (e) {
  if (e instanceof StromError) return e
  const text = e && typeof e.message === 'string' ? e.message : String(e)
  const decoded = decode(text)
  if (decoded) return decoded
  // napi's own argument conversion errors (a number where a string belongs...).
  if (e && (e.code === 'InvalidArg' || e.code === 'NumberExpected' || e.code === 'StringExpected' ||
      e.code === 'ObjectExpected' || e.code === 'ArrayExpected' || e.code === 'BooleanExpected')) {
    return new InvalidArgumentError(text)
  }
  return new StromError(text, { cause: e })
}

module.exports = {
  StromError,
  KafkaError,
  ConfigError,
  ClosedError,
  TimeoutError,
  NetworkError,
  IllegalStateError,
  InvalidArgumentError,
  ProtocolError,
  StorageError,
  // Earlier names of the same classes.
  ConnectionError: NetworkError,
  StateError: IllegalStateError,
  IoError: StorageError,
  fromNative,
  decode
}
