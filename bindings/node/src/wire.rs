//! Records cross the JavaScript boundary packed in one `Buffer` per call, not as one object
//! per record: reading or building an object costs a N-API call per field, a packed buffer one
//! call per batch. `node/lib/wire.js` writes and reads the same layouts (all little-endian):
//!
//! Produce (JS → Rust), per record:
//!   i32 partition (-1: none), i64 timestamp (i64::MIN: none),
//!   i32 key length (-1: null) + bytes, i32 value length (-1: null) + bytes,
//!   i32 header count, per header: i32 name length + UTF-8, i32 value length (-1: null) + bytes
//!
//! Delivery (Rust → JS), per record: i32 partition, i64 offset, i64 timestamp
//!
//! Poll (Rust → JS): u32 record count, u32 topic count, per topic u32 length + UTF-8; then per
//! record: u32 topic index, i32 partition, i64 offset, i64 timestamp, u8 timestamp type
//! (0 create, 1 log append), key, value and headers as in Produce.
//!
//! Offsets and timestamps travel as i64, exactly: JavaScript reads them into decimal strings
//! (kafkajs's shape) without going through a double, so values past 2^53 stay exact.

use crate::error::{JsFailure, JsResult};
use bytes::Bytes;
use strom::client::producer::RecordRef;
use strom::client::{ConsumerRecord, RecordMetadata};
use strom::records::fetched::TimestampType;

/// One decoded produce record; key, value and header values are slices of the batch.
#[derive(Debug)]
pub struct OwnedRecord {
    partition: Option<i32>,
    timestamp: Option<i64>,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<(String, Option<Bytes>)>,
}

impl OwnedRecord {
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            partition: self.partition,
            timestamp: self.timestamp,
            headers: &self.headers,
        }
    }
}

struct Reader {
    buf: Bytes,
    at: usize,
}

impl Reader {
    fn take(&mut self, n: usize, what: &str) -> JsResult<Bytes> {
        if self.buf.len() - self.at < n {
            return Err(JsFailure::invalid(format!(
                "packed records end inside {what} at byte {}",
                self.at
            )));
        }
        let out = self.buf.slice(self.at..self.at + n);
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> JsResult<[u8; N]> {
        let b = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&b);
        Ok(out)
    }

    fn i32(&mut self, what: &str) -> JsResult<i32> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &str) -> JsResult<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    fn bytes(&mut self, what: &str) -> JsResult<Option<Bytes>> {
        match self.i32(what)? {
            -1 => Ok(None),
            n if n >= 0 => Ok(Some(self.take(n as usize, what)?)),
            n => Err(JsFailure::invalid(format!("{what} has length {n}"))),
        }
    }
}

/// "No timestamp" in a produce record: the producer stamps it.
pub const NO_TIMESTAMP: i64 = i64::MIN;

/// Decodes `count` records written by `lib/wire.js`'s `packRecords`.
pub fn decode_produce(buf: Bytes, count: usize) -> JsResult<Vec<OwnedRecord>> {
    // Each record takes at least 24 bytes: never allocate for more than the buffer can hold.
    let mut out = Vec::with_capacity(count.min(buf.len() / 24));
    let mut r = Reader { buf, at: 0 };
    for _ in 0..count {
        let partition = r.i32("partition")?;
        let timestamp = r.i64("timestamp")?;
        let key = r.bytes("key")?;
        let value = r.bytes("value")?;
        let n_headers = r.i32("header count")?;
        let mut headers = Vec::with_capacity(n_headers.clamp(0, 64) as usize);
        for _ in 0..n_headers.max(0) {
            let name = r
                .bytes("header name")?
                .ok_or_else(|| JsFailure::invalid("a header name is null"))?;
            let name = String::from_utf8(name.to_vec())
                .map_err(|_| JsFailure::invalid("a header name is not UTF-8"))?;
            headers.push((name, r.bytes("header value")?));
        }
        out.push(OwnedRecord {
            partition: (partition >= 0).then_some(partition),
            timestamp: (timestamp != NO_TIMESTAMP).then_some(timestamp),
            key,
            value,
            headers,
        });
    }
    if r.at != r.buf.len() {
        return Err(JsFailure::invalid(format!(
            "{} bytes left after {count} packed records",
            r.buf.len() - r.at
        )));
    }
    Ok(out)
}

/// Packs delivery results for `lib/wire.js`'s `unpackDeliveries`.
pub fn encode_deliveries(metas: &[RecordMetadata]) -> Vec<u8> {
    let mut out = Vec::with_capacity(metas.len() * 20);
    for m in metas {
        out.extend_from_slice(&m.partition.to_le_bytes());
        out.extend_from_slice(&m.offset.to_le_bytes());
        out.extend_from_slice(&m.timestamp.to_le_bytes());
    }
    out
}

fn put_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => out.extend_from_slice(&(-1i32).to_le_bytes()),
        Some(b) => {
            out.extend_from_slice(&(b.len() as i32).to_le_bytes());
            out.extend_from_slice(b);
        }
    }
}

/// Packs polled records for `lib/wire.js`'s `unpackBatches`.
pub fn encode_poll(records: &[ConsumerRecord]) -> Vec<u8> {
    let mut topics: Vec<&str> = Vec::new();
    let mut size = 8;
    for r in records {
        if !topics.iter().any(|t| *t == &*r.topic) {
            topics.push(&r.topic);
            size += 4 + r.topic.len();
        }
        size +=
            41 + r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len());
        for (name, value) in &r.headers {
            size += 8 + name.len() + value.as_ref().map_or(0, |v| v.len());
        }
    }
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    out.extend_from_slice(&(topics.len() as u32).to_le_bytes());
    for t in &topics {
        put_bytes(&mut out, Some(t.as_bytes()));
    }
    let mut last = 0usize;
    for r in records {
        if topics[last] != &*r.topic {
            last = topics.iter().position(|t| *t == &*r.topic).unwrap_or(0);
        }
        out.extend_from_slice(&(last as u32).to_le_bytes());
        out.extend_from_slice(&r.partition.to_le_bytes());
        out.extend_from_slice(&r.offset.to_le_bytes());
        out.extend_from_slice(&r.timestamp.to_le_bytes());
        out.push(match r.timestamp_type {
            TimestampType::Create => 0,
            TimestampType::LogAppend => 1,
        });
        put_bytes(&mut out, r.key.as_deref());
        put_bytes(&mut out, r.value.as_deref());
        out.extend_from_slice(&(r.headers.len() as i32).to_le_bytes());
        for (name, value) in &r.headers {
            put_bytes(&mut out, Some(name.as_bytes()));
            put_bytes(&mut out, value.as_deref());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        out: &mut Vec<u8>,
        partition: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) {
        out.extend_from_slice(&partition.to_le_bytes());
        out.extend_from_slice(&timestamp.to_le_bytes());
        put_bytes(out, key);
        put_bytes(out, Some(b"value"));
        out.extend_from_slice(&(headers.len() as i32).to_le_bytes());
        for (n, v) in headers {
            put_bytes(out, Some(n.as_bytes()));
            put_bytes(out, Some(v));
        }
    }

    #[test]
    fn produce_records_decode_and_truncation_is_an_error() {
        let mut buf = Vec::new();
        record(&mut buf, -1, NO_TIMESTAMP, None, &[]);
        record(&mut buf, 2, (1 << 53) + 1, Some(b"k"), &[("h", b"v")]);
        let decoded = decode_produce(Bytes::from(buf.clone()), 2).unwrap_or_default();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[0].partition, None);
        assert_eq!(decoded[0].timestamp, None);
        assert_eq!(decoded[1].timestamp, Some((1 << 53) + 1), "exact past 2^53");
        assert_eq!(decoded[1].as_ref().key, Some(&b"k"[..]));
        assert_eq!(decoded[1].headers[0].0, "h");
        for cut in 0..buf.len() {
            assert!(decode_produce(Bytes::copy_from_slice(&buf[..cut]), 2).is_err());
        }
        assert!(
            decode_produce(Bytes::from(buf), 1).is_err(),
            "trailing bytes"
        );
    }

    #[test]
    fn offsets_and_timestamps_past_2_pow_53_are_packed_exactly() {
        let big = (1i64 << 53) + 1;
        let metas = [RecordMetadata {
            topic: "t".into(),
            partition: 3,
            offset: big,
            timestamp: -1,
        }];
        let out = encode_deliveries(&metas);
        assert_eq!(out.len(), 20);
        assert_eq!(out[4..12], big.to_le_bytes());
        assert_eq!(out[12..20], (-1i64).to_le_bytes());
        let record = ConsumerRecord {
            topic: "t".into(),
            partition: 0,
            offset: big,
            timestamp: big + 1,
            timestamp_type: TimestampType::Create,
            key: None,
            value: None,
            headers: Vec::new(),
            leader_epoch: None,
        };
        let out = encode_poll(&[record]);
        // count, topic count, "t" (4 + 1), topic index, partition, then the offset.
        let at = 8 + 5 + 8;
        assert_eq!(out[at..at + 8], big.to_le_bytes());
        assert_eq!(out[at + 8..at + 16], (big + 1).to_le_bytes());
    }
}
