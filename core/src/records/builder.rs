//! The producer's batch under construction: records are encoded into the v2 record format the
//! moment they are appended (like Java's `MemoryRecordsBuilder`), so no per-record struct is
//! kept and sealing a batch is one compression pass plus a header.

use super::varint;
use crate::error::{Error, Result};
use crate::records::batch::{Codec, HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};
use crate::records::compress::compress;
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::OnceLock;

const ATTR_TRANSACTIONAL: i16 = 1 << 4;
/// The CRC-32C covers the batch from the attributes field on.
const CRC_START: usize = 21;
/// The longest a timestamp delta can encode to; [`BatchBuilder::size_with`] assumes it because
/// it is not told the timestamp.
const MAX_VARLONG_LEN: usize = 10;

/// The idempotence/transaction fields of a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerFields {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub transactional: bool,
}

impl ProducerFields {
    /// A plain (non-idempotent) producer.
    pub const NONE: ProducerFields = ProducerFields {
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        transactional: false,
    };
}

/// One RecordBatch v2 being filled by the producer.
#[derive(Debug)]
pub struct BatchBuilder {
    codec: Codec,
    /// The uncompressed records section, exactly as it goes on the wire for `Codec::None`.
    records: BytesMut,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    /// The compressed records section, made on the first `build` and reused when an
    /// idempotent producer rebuilds the batch with new producer fields.
    compressed: OnceLock<Bytes>,
}

/// The codec's bits in a batch's attributes.
pub(crate) fn codec_bits(codec: Codec) -> i16 {
    match codec {
        Codec::None => 0,
        Codec::Gzip => 1,
        Codec::Snappy => 2,
        Codec::Lz4 => 3,
        Codec::Zstd => 4,
    }
}

/// Encoded size of a nullable length-prefixed field.
#[inline]
fn field_len(len: Option<usize>) -> usize {
    match len {
        None => 1,
        Some(n) => varint::len(n as i64) + n,
    }
}

#[inline]
fn headers_len(headers: &[(String, Option<Bytes>)]) -> usize {
    let mut n = varint::len(headers.len() as i64);
    for (k, v) in headers {
        n += field_len(Some(k.len())) + field_len(v.as_ref().map(Bytes::len));
    }
    n
}

#[inline]
fn put_field(buf: &mut BytesMut, field: Option<&[u8]>) {
    match field {
        None => varint::put(buf, -1),
        Some(b) => {
            varint::put(buf, b.len() as i64);
            buf.extend_from_slice(b);
        }
    }
}

impl BatchBuilder {
    /// An empty batch; `capacity` is the initial reservation for the records section.
    pub fn new(codec: Codec, capacity: usize) -> Self {
        BatchBuilder {
            codec,
            records: BytesMut::with_capacity(capacity),
            count: 0,
            base_timestamp: -1,
            max_timestamp: -1,
            compressed: OnceLock::new(),
        }
    }

    /// Encodes one record at the end of the batch. The first record's timestamp becomes the
    /// batch's base timestamp; later ones are stored as (possibly negative) deltas to it.
    ///
    /// Lengths are written as Kafka's 32-bit varints; keys, values and headers beyond 2 GiB
    /// are the caller's to refuse (`max.request.size` does long before).
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(String, Option<Bytes>)],
    ) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
        } else if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        let ts_delta = timestamp.wrapping_sub(self.base_timestamp);
        let offset_delta = i64::from(self.count);
        let body = 1
            + varint::len(ts_delta)
            + varint::len(offset_delta)
            + field_len(key.map(<[u8]>::len))
            + field_len(value.map(<[u8]>::len))
            + headers_len(headers);

        let buf = &mut self.records;
        buf.reserve(varint::len(body as i64) + body);
        varint::put(buf, body as i64);
        buf.put_u8(0); // record attributes: unused in v2
        varint::put(buf, ts_delta);
        varint::put(buf, offset_delta);
        put_field(buf, key);
        put_field(buf, value);
        varint::put(buf, headers.len() as i64);
        for (k, v) in headers {
            put_field(buf, Some(k.as_bytes()));
            put_field(buf, v.as_deref());
        }
        self.count += 1;
        // The section changed: a previously compressed copy is stale.
        self.compressed.take();
    }

    pub fn record_count(&self) -> i32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Uncompressed size so far including the batch header: what `batch.size` is compared to.
    pub fn estimated_size(&self) -> usize {
        HEADER_LEN + self.records.len()
    }

    /// The largest timestamp appended, or -1 (Kafka's "no timestamp") while empty.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// [`Self::estimated_size`] after appending a record of this shape, so the accumulator can
    /// seal the batch first. An upper bound: the timestamp delta is counted at its widest.
    pub fn size_with(
        &self,
        key_len: Option<usize>,
        value_len: Option<usize>,
        headers: &[(String, Option<Bytes>)],
    ) -> usize {
        let body = 1
            + MAX_VARLONG_LEN
            + varint::len(i64::from(self.count))
            + field_len(key_len)
            + field_len(value_len)
            + headers_len(headers);
        self.estimated_size() + varint::len(body as i64) + body
    }

    /// The complete batch: baseOffset 0 (the broker assigns offsets), no leader epoch,
    /// CreateTime, the records section compressed with the codec, and the CRC-32C.
    pub fn build(&self, producer: ProducerFields) -> Result<Bytes> {
        if self.count == 0 {
            return Err(Error::InvalidRecord(
                "a batch needs at least one record".into(),
            ));
        }
        let section: &[u8] = match self.codec {
            Codec::None => &self.records,
            codec => match self.compressed.get() {
                Some(c) => c,
                None => {
                    let c = Bytes::from(compress(codec, &self.records)?);
                    // A concurrent build may have won the race; either copy is identical.
                    self.compressed.get_or_init(|| c)
                }
            },
        };
        let total = HEADER_LEN + section.len();
        let batch_length = i32::try_from(total - LOG_OVERHEAD).map_err(|_| {
            Error::InvalidRecord(format!("a batch of {total} bytes is too large to encode"))
        })?;
        let mut attributes = codec_bits(self.codec);
        if producer.transactional {
            attributes |= ATTR_TRANSACTIONAL;
        }

        let mut out = BytesMut::with_capacity(total);
        out.put_i64(0); // baseOffset
        out.put_i32(batch_length);
        out.put_i32(-1); // partitionLeaderEpoch
        out.put_i8(MAGIC_V2);
        out.put_u32(0); // CRC, filled in below
        out.put_i16(attributes);
        out.put_i32(self.count - 1); // lastOffsetDelta
        out.put_i64(self.base_timestamp);
        out.put_i64(self.max_timestamp);
        out.put_i64(producer.producer_id);
        out.put_i16(producer.producer_epoch);
        out.put_i32(producer.base_sequence);
        out.put_i32(self.count);
        out.extend_from_slice(section);
        let crc = crc32c::crc32c(&out[CRC_START..]);
        out[17..CRC_START].copy_from_slice(&crc.to_be_bytes());
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::batch::BatchHeader;

    #[test]
    fn header_fields_and_sizes() {
        let mut b = BatchBuilder::new(Codec::None, 1024);
        assert!(b.is_empty());
        assert_eq!(b.estimated_size(), HEADER_LEN);
        assert_eq!(b.max_timestamp(), -1);
        assert!(b.build(ProducerFields::NONE).is_err());

        let headers = vec![("h".to_string(), Some(Bytes::from_static(b"v")))];
        let predicted = b.size_with(Some(3), Some(5), &headers);
        b.append(1_000, Some(b"key"), Some(b"value"), &headers);
        assert!(predicted >= b.estimated_size());
        assert!(predicted <= b.estimated_size() + MAX_VARLONG_LEN);
        b.append(900, None, None, &[]);
        b.append(1_500, Some(b""), Some(b""), &[]);
        assert_eq!(b.record_count(), 3);
        assert_eq!(b.max_timestamp(), 1_500);

        let pf = ProducerFields {
            producer_id: 77,
            producer_epoch: 3,
            base_sequence: 10,
            transactional: true,
        };
        let batch = b.build(pf).unwrap();
        assert_eq!(batch.len(), b.estimated_size());
        let h = BatchHeader::parse(&batch).unwrap();
        h.validate(&batch).unwrap();
        assert_eq!(
            (h.base_offset, h.partition_leader_epoch, h.last_offset_delta),
            (0, -1, 2)
        );
        assert_eq!((h.base_timestamp, h.max_timestamp), (1_000, 1_500));
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (77, 3, 10)
        );
        assert!(h.is_transactional() && !h.is_control() && !h.is_log_append_time());
        assert_eq!(h.codec(), Some(Codec::None));
    }

    #[test]
    fn rebuilding_with_new_producer_fields_reuses_the_section() {
        let mut b = BatchBuilder::new(Codec::Zstd, 0);
        for i in 0..50 {
            b.append(i, Some(b"k"), Some(&[i as u8; 40]), &[]);
        }
        let first = b.build(ProducerFields::NONE).unwrap();
        let pf = ProducerFields {
            producer_id: 1,
            producer_epoch: 2,
            base_sequence: 300,
            transactional: false,
        };
        let second = b.build(pf).unwrap();
        assert_eq!(first[HEADER_LEN..], second[HEADER_LEN..]);
        let h = BatchHeader::parse(&second).unwrap();
        h.validate(&second).unwrap();
        assert_eq!(h.base_sequence, 300);
        assert_eq!(h.codec(), Some(Codec::Zstd));

        // Appending after a build invalidates the cached compressed section.
        b.append(99, None, Some(b"late"), &[]);
        let third = b.build(pf).unwrap();
        let h = BatchHeader::parse(&third).unwrap();
        h.validate(&third).unwrap();
        assert_eq!(h.record_count, 51);
        assert_ne!(third[HEADER_LEN..], second[HEADER_LEN..]);
    }

    #[test]
    fn append_micro_check() {
        // Not a timed assertion: prints the per-append cost for a 10-byte key, 100-byte value.
        // Best of several batch-sized rounds, so first-touch page faults do not dominate.
        let key = [7u8; 10];
        let value = [9u8; 100];
        let n = 1_000;
        let mut best = u128::MAX;
        for _ in 0..50 {
            let mut b = BatchBuilder::new(Codec::None, n * 130);
            let start = std::time::Instant::now();
            for i in 0..n {
                b.append(1_700_000_000_000 + i as i64, Some(&key), Some(&value), &[]);
            }
            best = best.min(start.elapsed().as_nanos() / n as u128);
            assert_eq!(b.record_count(), n as i32);
        }
        println!("append: {best} ns/record (debug builds are much slower)");
    }
}
