//! `strom_message`: a consumed record and its accessors; `strom_header`: a record header as
//! the producer takes it.

use crate::error::{call, guard, strom_result, Failure};
use crate::ffi::{handle, take_handle, Out};
use bytes::Bytes;
use std::ffi::{c_char, CString};
use strom_core::client::ConsumerRecord;

/// A record header given to `strom_producer_send`: `key` is a NUL-terminated UTF-8 string;
/// `value` points to `value_len` bytes, or is NULL (with `value_len` 0) for a null value.
/// The library copies both; they need to live only for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct strom_header {
    pub key: *const c_char,
    pub value: *const u8,
    pub value_len: usize,
}

/// A consumed record, returned by `strom_consumer_poll` and released by
/// `strom_message_free`. Owns its data: every pointer its accessors return stays valid
/// until the message is freed, whatever happens to the consumer. Immutable, so it may be
/// read from any thread.
#[derive(Debug)]
pub struct strom_message {
    topic: CString,
    partition: i32,
    offset: i64,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    /// Keys NUL-terminated for C.
    headers: Vec<(CString, Option<Bytes>)>,
}

/// A Rust string as a C string; Kafka topic names and header keys have no NUL, but one
/// would only cut the C view short.
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

impl From<ConsumerRecord> for strom_message {
    fn from(r: ConsumerRecord) -> Self {
        strom_message {
            topic: c_string(&r.topic),
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r
                .headers
                .into_iter()
                .map(|(k, v)| (c_string(&k), v))
                .collect(),
        }
    }
}

/// # Safety
/// `message` is NULL or a live message.
unsafe fn message<'a>(message: *const strom_message) -> Option<&'a strom_message> {
    // SAFETY: NULL or live, by the caller's promise.
    unsafe { message.as_ref() }
}

/// A buffer for C: `(pointer, length)`, NULL for a null key or value.
fn buffer(b: Option<&Bytes>) -> (*const u8, usize) {
    match b {
        Some(b) if b.is_empty() => (b"".as_ptr(), 0),
        Some(b) => (b.as_ptr(), b.len()),
        None => (std::ptr::null(), 0),
    }
}

/// The record's topic (NUL-terminated, owned by the message); NULL if `message` is NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_message_topic(message: *const strom_message) -> *const c_char {
    guard(std::ptr::null(), || {
        // SAFETY: the header's contract: NULL or a live message.
        unsafe { self::message(message) }.map_or(std::ptr::null(), |m| m.topic.as_ptr())
    })
}

/// The record's partition; -1 if `message` is NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_message_partition(message: *const strom_message) -> i32 {
    // SAFETY: the header's contract: NULL or a live message.
    guard(-1, || {
        unsafe { self::message(message) }.map_or(-1, |m| m.partition)
    })
}

/// The record's offset; -1 if `message` is NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_message_offset(message: *const strom_message) -> i64 {
    // SAFETY: the header's contract: NULL or a live message.
    guard(-1, || {
        unsafe { self::message(message) }.map_or(-1, |m| m.offset)
    })
}

/// The record's timestamp in milliseconds since the epoch (the producer's, or the broker's
/// for topics with `message.timestamp.type=LogAppendTime`); -1 if `message` is NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_message_timestamp(message: *const strom_message) -> i64 {
    // SAFETY: the header's contract: NULL or a live message.
    guard(-1, || {
        unsafe { self::message(message) }.map_or(-1, |m| m.timestamp)
    })
}

/// The record's key: its bytes (owned by the message, not NUL-terminated) with the length in
/// `*len` (`len` may be NULL). NULL with length 0 for a null key (or a NULL `message`); a
/// non-NULL pointer with length 0 for an empty key.
#[no_mangle]
pub unsafe extern "C" fn strom_message_key(
    message: *const strom_message,
    len: *mut usize,
) -> *const u8 {
    guard(std::ptr::null(), || {
        // SAFETY: the header's contract: NULL or a live message.
        let (ptr, n) = buffer(unsafe { self::message(message) }.and_then(|m| m.key.as_ref()));
        // SAFETY: `len` is NULL or writable, by the header's contract.
        unsafe { Out::optional(len).write(n) };
        ptr
    })
}

/// The record's value, as `strom_message_key` gives the key (NULL for a null value, a
/// tombstone).
#[no_mangle]
pub unsafe extern "C" fn strom_message_value(
    message: *const strom_message,
    len: *mut usize,
) -> *const u8 {
    guard(std::ptr::null(), || {
        // SAFETY: the header's contract: NULL or a live message.
        let (ptr, n) = buffer(unsafe { self::message(message) }.and_then(|m| m.value.as_ref()));
        // SAFETY: `len` is NULL or writable, by the header's contract.
        unsafe { Out::optional(len).write(n) };
        ptr
    })
}

/// How many headers the record has; 0 if `message` is NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_message_header_count(message: *const strom_message) -> usize {
    // SAFETY: the header's contract: NULL or a live message.
    guard(0, || {
        unsafe { self::message(message) }.map_or(0, |m| m.headers.len())
    })
}

/// Header `index` (0-based, in record order) of the record: `*key` (NUL-terminated),
/// `*value` and `*value_len` (NULL and 0 for a null value). All owned by the message.
/// `value` and `value_len` may be NULL when not wanted. `STROM_ERR_INVALID_ARGUMENT` when
/// `index` is out of range.
#[no_mangle]
pub unsafe extern "C" fn strom_message_header(
    message: *const strom_message,
    index: usize,
    key: *mut *const c_char,
    value: *mut *const u8,
    value_len: *mut usize,
) -> strom_result {
    call("strom_message_header", || {
        // SAFETY: the header's contract: NULL or a live message.
        let m = unsafe { handle(message, "message")? };
        let key = Out::required(key, "key")?;
        let (k, v) = m.headers.get(index).ok_or_else(|| {
            Failure::invalid(format!(
                "index {index} is out of range: the record has {} headers",
                m.headers.len()
            ))
        })?;
        let (ptr, n) = buffer(v.as_ref());
        // SAFETY: `key` checked non-NULL, `value` and `value_len` NULL or writable, by the
        // header's contract.
        unsafe {
            key.write(k.as_ptr());
            Out::optional(value).write(ptr);
            Out::optional(value_len).write(n);
        }
        Ok(())
    })
}

/// Releases `message` and everything its accessors returned. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_message_free(message: *mut strom_message) {
    // SAFETY: NULL or a message from strom_consumer_poll that the caller gives up.
    guard((), || drop(unsafe { take_handle(message) }))
}
