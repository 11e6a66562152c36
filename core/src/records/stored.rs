//! Record-level encode and decode, for the few places that must look inside a batch: the
//! compaction cleaner, exact offset-by-timestamp lookups, the metadata log, tests and benches.
//!
//! The produce and fetch paths never come here; they move whole batches. Encoding is the
//! producer's [`BatchBuilder`]; decoding goes through strom's bounded
//! [`reader`](crate::records::reader), because stored bytes may be damaged and a decoder that
//! trusts a record's claims can be made to allocate gigabytes.

use crate::error::{Error, Result};
use crate::records::batch::{self, BatchHeader, Codec, HEADER_LEN};
use crate::records::builder::{BatchBuilder, ProducerFields};
use crate::records::{compress, reader as record_reader, varint};
use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, TimestampType};

/// A record as the simple APIs see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp: i64,
    pub headers: Vec<(String, Option<Bytes>)>,
}

impl SimpleRecord {
    pub fn new<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        key: Option<K>,
        value: Option<V>,
        timestamp: i64,
    ) -> Self {
        SimpleRecord {
            key: key.map(|k| Bytes::copy_from_slice(k.as_ref())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_ref())),
            timestamp,
            headers: Vec::new(),
        }
    }
}

/// Kafka's codec enum for a strom codec.
pub fn compression_of(codec: Codec) -> Compression {
    match codec {
        Codec::None => Compression::None,
        Codec::Gzip => Compression::Gzip,
        Codec::Snappy => Compression::Snappy,
        Codec::Lz4 => Compression::Lz4,
        Codec::Zstd => Compression::Zstd,
    }
}

/// Encodes `records` as one RecordBatch v2 with offsets `0..n` (the log assigns the real
/// ones), with the same encoder the producer uses ([`BatchBuilder`]).
pub fn encode_batch(records: &[SimpleRecord], compression: Compression) -> Result<BytesMut> {
    if records.is_empty() {
        return Err(Error::InvalidRecord(
            "a batch needs at least one record".into(),
        ));
    }
    let codec = codec_of(compression);
    let size: usize = records
        .iter()
        .map(|r| r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut builder = BatchBuilder::new(codec, HEADER_LEN + size + 16 * records.len());
    for r in records {
        builder.append(
            r.timestamp,
            r.key.as_deref(),
            r.value.as_deref(),
            &r.headers,
        );
    }
    let batch = builder.build(ProducerFields::NONE)?;
    // The builder owns the only handle: this takes the buffer over without a copy.
    Ok(BytesMut::from(batch))
}

/// The codec of a `kafka-protocol` compression setting.
pub fn codec_of(compression: Compression) -> Codec {
    match compression {
        Compression::None => Codec::None,
        Compression::Gzip => Codec::Gzip,
        Compression::Snappy => Codec::Snappy,
        Compression::Lz4 => Codec::Lz4,
        Compression::Zstd => Codec::Zstd,
    }
}

/// Walks the records of one stored batch (`batch` is exactly the batch `h` describes) with
/// the checks every reader of stored data applies: offset deltas inside the batch's range
/// (compaction leaves gaps) and the header's count equal to the records found. On an error,
/// nothing `f` saw should be trusted.
pub fn walk_stored(
    h: &BatchHeader,
    batch: &[u8],
    mut f: impl FnMut(record_reader::RecordRef<'_>) -> Result<()>,
) -> Result<usize> {
    let found = record_reader::for_each_record(h, batch, |_, r| {
        if r.offset_delta < 0 || r.offset_delta > h.last_offset_delta {
            return Err(Error::CorruptBatch(format!(
                "record offset delta {} outside the batch's 0..={}",
                r.offset_delta, h.last_offset_delta
            )));
        }
        f(r)
    })?;
    if i64::try_from(found) != Ok(i64::from(h.record_count)) {
        return Err(Error::CorruptBatch(format!(
            "batch header counts {} records, {found} found",
            h.record_count
        )));
    }
    Ok(found)
}

/// Decodes every record of one complete batch through [`walk_stored`]. Keys, values and
/// headers are copied out, so nothing returned pins the batch or its decompressed section.
/// For the internal logs and tests: a record costs a `Record` here, so data paths that may
/// meet large client batches walk with [`walk_stored`] instead.
pub fn decode_batch(batch: &[u8]) -> Result<Vec<Record>> {
    let h = BatchHeader::parse(batch)?;
    if batch.len() != h.total_len() {
        return Err(Error::CorruptBatch("batch length mismatch".into()));
    }
    let timestamp_type = if h.is_log_append_time() {
        TimestampType::LogAppend
    } else {
        TimestampType::Creation
    };
    let mut out = Vec::new();
    walk_stored(&h, batch, |r| {
        out.push(Record {
            transactional: h.is_transactional(),
            control: h.is_control(),
            delete_horizon: false,
            partition_leader_epoch: h.partition_leader_epoch,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            timestamp_type,
            offset: h.base_offset + i64::from(r.offset_delta),
            sequence: h.base_sequence.wrapping_add(r.offset_delta),
            timestamp: h.base_timestamp.wrapping_add(r.timestamp_delta),
            key: r.key.map(Bytes::copy_from_slice),
            value: r.value.map(Bytes::copy_from_slice),
            headers: r
                .headers()
                .map(|(k, v)| {
                    let key = String::from_utf8_lossy(k).into_owned();
                    (StrBytes::from_string(key), v.map(Bytes::copy_from_slice))
                })
                .collect(),
        });
        Ok(())
    })?;
    Ok(out)
}

/// What [`filter_batch`] made of a batch.
#[derive(Debug)]
pub enum Filtered {
    /// Every record stays: keep the batch's bytes.
    Unchanged,
    /// No record stays.
    Empty,
    /// The kept records, byte for byte, in a new batch; `removed` records went.
    Rewritten { batch: Vec<u8>, removed: usize },
}

/// Keeps the records of a stored batch that `keep` accepts, copying each kept record's bytes
/// unchanged (duplicate header keys, any header bytes) into a batch with the same header
/// fields (base offset, timestamps, producer, attributes and, as Kafka keeps it, the last
/// offset delta), a new count, length and CRC, compressed again with the batch's codec.
/// Memory is the new batch's size, whatever the number of records.
pub fn filter_batch(
    h: &BatchHeader,
    batch: &[u8],
    mut keep: impl FnMut(&record_reader::RecordRef<'_>) -> bool,
) -> Result<Filtered> {
    let mut section = BytesMut::new();
    let mut kept = 0usize;
    let found = walk_stored(h, batch, |r| {
        if keep(&r) {
            varint::put(&mut section, r.raw.len() as i64);
            section.extend_from_slice(r.raw);
            kept += 1;
        }
        Ok(())
    })?;
    if kept == found {
        return Ok(Filtered::Unchanged);
    }
    if kept == 0 {
        return Ok(Filtered::Empty);
    }
    let codec = h
        .codec()
        .ok_or_else(|| Error::CorruptBatch("unknown codec".into()))?;
    let payload = compress::compress(codec, &section)?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&batch[..HEADER_LEN]);
    out.extend_from_slice(&payload);
    batch::rewrite_count_and_length(&mut out, kept)?;
    Ok(Filtered::Rewritten {
        batch: out,
        removed: found - kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_records(n: usize) -> Vec<SimpleRecord> {
        (0..n)
            .map(|i| {
                let mut r = SimpleRecord::new(
                    Some(format!("key-{i}").as_bytes()),
                    Some(format!("value-{i}-{}", "x".repeat(i % 50)).as_bytes()),
                    1_000 + i as i64,
                );
                r.headers
                    .push(("h".into(), Some(Bytes::from_static(b"hv"))));
                r
            })
            .collect()
    }

    #[test]
    fn every_codec_round_trips() {
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let recs = sample_records(100);
            let batch = encode_batch(&recs, c).unwrap();
            let header = BatchHeader::parse(&batch).unwrap();
            header.validate(&batch).unwrap();
            let decoded = decode_batch(&batch).unwrap();
            assert_eq!(decoded.len(), 100, "{c:?}");
            for (i, r) in decoded.iter().enumerate() {
                assert_eq!(r.offset, i as i64);
                assert_eq!(r.key, recs[i].key);
                assert_eq!(r.value, recs[i].value);
                assert_eq!(r.timestamp, recs[i].timestamp);
            }
        }
    }

    #[test]
    fn record_count_beyond_the_bytes_is_refused_without_allocating() {
        let mut batch = encode_batch(&sample_records(2), Compression::None)
            .unwrap()
            .to_vec();
        batch[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        let e = decode_batch(&batch).unwrap_err();
        assert_eq!(e.kafka_code(), 2, "{e}");
    }

    #[test]
    fn decompression_bomb_is_refused() {
        use record_reader::{decompress, MAX_DECOMPRESSED_BYTES};
        let zeros = vec![0u8; MAX_DECOMPRESSED_BYTES + 1024];
        let bomb = zstd::bulk::compress(&zeros, 3).unwrap();
        assert!(bomb.len() < 1 << 20);
        assert!(decompress(Codec::Zstd, &bomb).is_err());
    }
}
