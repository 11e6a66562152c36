//! Record-level encode and decode, for the few places that must look inside a batch: the
//! compaction cleaner, exact offset-by-timestamp lookups, the metadata log, tests and benches.
//!
//! The produce and fetch paths never come here; they move whole batches. Decoding is delegated
//! to the `kafka-protocol` crate, but decompression is done here first with a hard output limit,
//! because a producer can store a small batch that inflates to gigabytes.

use crate::error::{Error, Result};
use crate::log::batch::{BatchHeader, Codec, HEADER_LEN};
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
use std::io::Read;

/// Largest decompressed record section strom will materialise for one batch.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 * 1024 * 1024;
/// The smallest encoding of one v2 record: seven one-byte varints/fields.
const MIN_RECORD_BYTES: usize = 7;

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

/// Encodes `records` as one RecordBatch v2 with offsets `0..n` (the log assigns the real ones).
pub fn encode_batch(records: &[SimpleRecord], compression: Compression) -> Result<BytesMut> {
    if records.is_empty() {
        return Err(Error::InvalidRecord(
            "a batch needs at least one record".into(),
        ));
    }
    let full: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch only while offset − sequence is
            // constant; counting up from NO_SEQUENCE keeps the batch's base sequence at -1.
            sequence: NO_SEQUENCE.wrapping_add(i as i32),
            timestamp: r.timestamp,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.clone().into(), v.clone()))
                .collect(),
        })
        .collect();
    encode_records(&full, compression)
}

/// Encodes fully specified records (offsets, producer fields) into batches.
pub fn encode_records(records: &[Record], compression: Compression) -> Result<BytesMut> {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options)
        .map_err(|e| Error::InvalidRecord(format!("cannot encode records: {e}")))?;
    Ok(buf)
}

/// Decodes every record of one complete batch, decompressing with a size limit.
pub fn decode_batch(batch: &[u8]) -> Result<Vec<Record>> {
    let header = BatchHeader::parse(batch)?;
    if batch.len() != header.total_len() {
        return Err(Error::CorruptBatch("batch length mismatch".into()));
    }
    let codec = header
        .codec()
        .ok_or_else(|| Error::CorruptBatch("unknown codec".into()))?;
    let count = usize::try_from(header.record_count)
        .map_err(|_| Error::CorruptBatch("negative record count".into()))?;
    let body_len = if codec == Codec::None {
        batch.len() - HEADER_LEN
    } else {
        decompress(codec, &batch[HEADER_LEN..])?.len()
    };
    // kafka-protocol reserves `record_count` entries up front: never let a header make it
    // allocate more than the bytes could possibly hold.
    if count > body_len / MIN_RECORD_BYTES + 1 {
        return Err(Error::CorruptBatch(format!(
            "record count {count} cannot fit in {body_len} bytes"
        )));
    }
    let mut buf = Bytes::copy_from_slice(batch);
    let bounded = |compressed: &mut Bytes, _c: Compression| -> anyhow::Result<Bytes> {
        decompress(codec, compressed).map_err(anyhow::Error::from)
    };
    let set = RecordBatchDecoder::decode_with_custom_compression(&mut buf, Some(bounded))
        .map_err(|e| Error::CorruptBatch(format!("cannot decode records: {e}")))?;
    Ok(set.records)
}

/// Decompresses a record section, refusing output beyond [`MAX_DECOMPRESSED_BYTES`].
pub fn decompress(codec: Codec, input: &[u8]) -> Result<Bytes> {
    let limit = MAX_DECOMPRESSED_BYTES;
    let out = match codec {
        Codec::None => return Ok(Bytes::copy_from_slice(input)),
        Codec::Gzip => read_bounded(flate2::read::GzDecoder::new(input), limit)?,
        Codec::Zstd => read_bounded(
            zstd::stream::read::Decoder::new(input).map_err(decompress_error)?,
            limit,
        )?,
        Codec::Lz4 => read_bounded(lz4::Decoder::new(input).map_err(decompress_error)?, limit)?,
        Codec::Snappy => snappy_decompress(input, limit)?,
    };
    Ok(Bytes::from(out))
}

fn decompress_error(e: std::io::Error) -> Error {
    Error::CorruptBatch(format!("cannot decompress records: {e}"))
}

fn read_bounded(reader: impl Read, limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(decompress_error)?;
    if out.len() > limit {
        return Err(Error::CorruptBatch(format!(
            "records decompress to more than {limit} bytes"
        )));
    }
    Ok(out)
}

/// The Java client's snappy framing (xerial): a 16-byte magic header, then blocks of
/// `u32 length` + raw snappy. Without the header the payload is one raw snappy block.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

fn snappy_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>> {
    let too_big = || Error::CorruptBatch(format!("records decompress to more than {limit} bytes"));
    let raw = |block: &[u8], out: &mut Vec<u8>| -> Result<()> {
        let len = snap::raw::decompress_len(block)
            .map_err(|e| Error::CorruptBatch(format!("bad snappy block: {e}")))?;
        if out.len() + len > limit {
            return Err(too_big());
        }
        let start = out.len();
        out.resize(start + len, 0);
        snap::raw::Decoder::new()
            .decompress(block, &mut out[start..])
            .map_err(|e| Error::CorruptBatch(format!("bad snappy block: {e}")))?;
        Ok(())
    };
    let mut out = Vec::new();
    if !input.starts_with(XERIAL_MAGIC) {
        raw(input, &mut out)?;
        return Ok(out);
    }
    let mut rest = input.get(XERIAL_HEADER_LEN..).unwrap_or_default();
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(Error::CorruptBatch("truncated snappy block length".into()));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let block = rest
            .get(4..4 + len)
            .ok_or_else(|| Error::CorruptBatch("truncated snappy block".into()))?;
        raw(block, &mut out)?;
        rest = &rest[4 + len..];
    }
    Ok(out)
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
        let zeros = vec![0u8; MAX_DECOMPRESSED_BYTES + 1024];
        let bomb = zstd::bulk::compress(&zeros, 3).unwrap();
        assert!(bomb.len() < 1 << 20);
        assert!(decompress(Codec::Zstd, &bomb).is_err());
    }
}
