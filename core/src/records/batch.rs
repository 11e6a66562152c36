//! The Kafka RecordBatch v2 header: parsing, validation and in-place patching, without ever
//! decoding the records inside.
//!
//! Layout (big-endian), as on the wire and on disk:
//!
//! ```text
//!  0 baseOffset i64        27 baseTimestamp i64
//!  8 batchLength i32       35 maxTimestamp i64
//! 12 partitionLeaderEpoch  43 producerId i64
//! 16 magic i8              51 producerEpoch i16
//! 17 crc u32 (CRC-32C of   53 baseSequence i32
//!    bytes 21..end)        57 recordCount i32
//! 21 attributes i16        61 records…
//! 23 lastOffsetDelta i32
//! ```
//!
//! `baseOffset` and `partitionLeaderEpoch` sit before the CRC'd range, which is why the log can
//! assign offsets by patching eight bytes.

use crate::error::{Error, Result};

/// Bytes of header before the records.
pub const HEADER_LEN: usize = 61;
/// `baseOffset` + `batchLength`: the part of the header outside `batchLength`'s count.
pub const LOG_OVERHEAD: usize = 12;
/// The only magic strom stores.
pub const MAGIC_V2: i8 = 2;

const CRC_START: usize = 21;
const ATTR_TIMESTAMP_TYPE: i16 = 1 << 3;
const ATTR_TRANSACTIONAL: i16 = 1 << 4;
const ATTR_CONTROL: i16 = 1 << 5;

/// The compression codec named by the low three attribute bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Codec {
    fn from_attributes(attributes: i16) -> Option<Codec> {
        match attributes & 0x7 {
            0 => Some(Codec::None),
            1 => Some(Codec::Gzip),
            2 => Some(Codec::Snappy),
            3 => Some(Codec::Lz4),
            4 => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// Kafka's name for the codec (`compression.type` values).
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// The decoded fixed-size header of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

impl BatchHeader {
    /// Parses the 61 header bytes. Checks only what is needed to know the batch's extent:
    /// the magic and a length that can hold a header. Everything else is [`Self::validate`].
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader> {
        if bytes.len() < HEADER_LEN {
            return Err(Error::CorruptBatch(format!(
                "{} bytes cannot hold a {HEADER_LEN}-byte batch header",
                bytes.len()
            )));
        }
        let header = BatchHeader {
            base_offset: be_i64(bytes, 0),
            batch_length: be_i32(bytes, 8),
            partition_leader_epoch: be_i32(bytes, 12),
            magic: bytes[16] as i8,
            crc: be_i32(bytes, 17) as u32,
            attributes: be_i16(bytes, 21),
            last_offset_delta: be_i32(bytes, 23),
            base_timestamp: be_i64(bytes, 27),
            max_timestamp: be_i64(bytes, 35),
            producer_id: be_i64(bytes, 43),
            producer_epoch: be_i16(bytes, 51),
            base_sequence: be_i32(bytes, 53),
            record_count: be_i32(bytes, 57),
        };
        match header.magic {
            MAGIC_V2 => {}
            0 | 1 => return Err(Error::UnsupportedMagic(header.magic)),
            m => return Err(Error::CorruptBatch(format!("unknown magic byte {m}"))),
        }
        if (header.batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(Error::CorruptBatch(format!(
                "batchLength {} is smaller than a header",
                header.batch_length
            )));
        }
        Ok(header)
    }

    /// Total bytes of the batch including `baseOffset` and `batchLength`.
    pub fn total_len(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record (as assigned by the producer's deltas).
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    pub fn codec(&self) -> Option<Codec> {
        Codec::from_attributes(self.attributes)
    }

    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_TIMESTAMP_TYPE != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    /// The semantic checks a producer's batch must pass; `bytes` is the whole batch.
    pub fn validate(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() != self.total_len() {
            return Err(Error::CorruptBatch(format!(
                "batchLength says {} bytes, found {}",
                self.total_len(),
                bytes.len()
            )));
        }
        let actual = crc32c::crc32c(&bytes[CRC_START..]);
        if actual != self.crc {
            return Err(Error::CorruptBatch(format!(
                "CRC-32C mismatch: header {:#010x}, computed {actual:#010x}",
                self.crc
            )));
        }
        if self.codec().is_none() {
            return Err(Error::CorruptBatch(format!(
                "unknown compression codec id {}",
                self.attributes & 0x7
            )));
        }
        if self.record_count <= 0 {
            return Err(Error::InvalidRecord(format!(
                "record count {} must be positive",
                self.record_count
            )));
        }
        if self.last_offset_delta as i64 != self.record_count as i64 - 1 {
            return Err(Error::InvalidRecord(format!(
                "lastOffsetDelta {} does not match record count {}",
                self.last_offset_delta, self.record_count
            )));
        }
        Ok(())
    }
}

/// Verifies the CRC of a complete batch (header already parsed). Used by recovery.
pub fn crc_matches(header: &BatchHeader, bytes: &[u8]) -> bool {
    bytes.len() == header.total_len() && crc32c::crc32c(&bytes[CRC_START..]) == header.crc
}

/// Overwrites `baseOffset`; the CRC does not cover it.
pub fn patch_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Switches a batch to LogAppendTime with the given time, as Kafka does for topics with
/// `message.timestamp.type=LogAppendTime`, and recomputes the CRC those fields are under.
pub fn stamp_log_append_time(batch: &mut [u8], now_ms: i64) {
    set_max_timestamp(batch, true, now_ms);
}

/// Marks a batch CreateTime with the given maxTimestamp (the records' real maximum), as Kafka
/// rewrites a producer's header that says otherwise, and recomputes the CRC.
pub fn stamp_create_time(batch: &mut [u8], max_timestamp: i64) {
    set_max_timestamp(batch, false, max_timestamp);
}

fn set_max_timestamp(batch: &mut [u8], log_append_time: bool, max_timestamp: i64) {
    let attributes = if log_append_time {
        be_i16(batch, 21) | ATTR_TIMESTAMP_TYPE
    } else {
        be_i16(batch, 21) & !ATTR_TIMESTAMP_TYPE
    };
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    batch[35..43].copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Sets a rebuilt batch's recordCount and batchLength (for its current size) and recomputes
/// the CRC. The cleaner uses it for batches it filtered.
pub fn rewrite_count_and_length(batch: &mut [u8], record_count: usize) -> Result<()> {
    let too_big = || Error::CorruptBatch(format!("a {}-byte batch is too large", batch.len()));
    let length = i32::try_from(batch.len() - LOG_OVERHEAD).map_err(|_| too_big())?;
    let count = i32::try_from(record_count).map_err(|_| too_big())?;
    batch[8..12].copy_from_slice(&length.to_be_bytes());
    batch[57..61].copy_from_slice(&count.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// A batch with no records that holds offset `offset` in place. The cleaner writes one where
/// compaction removed the last records of a segment, so every sealed segment still ends
/// exactly where the next one begins (Kafka's v2 format allows empty batches for this).
pub fn empty_batch(offset: i64, timestamp: i64, leader_epoch: i32) -> Vec<u8> {
    let mut b = vec![0u8; HEADER_LEN];
    b[..8].copy_from_slice(&offset.to_be_bytes());
    b[8..12].copy_from_slice(&((HEADER_LEN - LOG_OVERHEAD) as i32).to_be_bytes());
    b[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
    b[16] = MAGIC_V2 as u8;
    // attributes 0, lastOffsetDelta 0
    b[27..35].copy_from_slice(&timestamp.to_be_bytes());
    b[35..43].copy_from_slice(&timestamp.to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    // recordCount 0
    let crc = crc32c::crc32c(&b[CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// One batch located inside a buffer.
#[derive(Debug, Clone, Copy)]
pub struct LocatedBatch {
    pub position: usize,
    pub header: BatchHeader,
}

/// Splits a produce payload into its batches and validates each one fully, so that a request
/// is accepted or refused as a whole before any byte reaches the log.
pub fn split_and_validate(bytes: &[u8], max_batch_bytes: usize) -> Result<Vec<LocatedBatch>> {
    let mut out = Vec::new();
    let mut pos = 0;
    if bytes.is_empty() {
        return Err(Error::InvalidRecord("no record batch in request".into()));
    }
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.len() < LOG_OVERHEAD {
            return Err(Error::CorruptBatch(format!(
                "{} trailing bytes after the last batch",
                rest.len()
            )));
        }
        let header = BatchHeader::parse(rest)?;
        let total = header.total_len();
        if total > rest.len() {
            return Err(Error::CorruptBatch(format!(
                "batchLength claims {total} bytes but only {} remain",
                rest.len()
            )));
        }
        if total > max_batch_bytes {
            return Err(Error::MessageTooLarge {
                size: total,
                limit: max_batch_bytes,
            });
        }
        header.validate(&rest[..total])?;
        out.push(LocatedBatch {
            position: pos,
            header,
        });
        pos += total;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::stored::{encode_batch, SimpleRecord};
    use kafka_protocol::records::Compression;

    fn sample() -> Vec<u8> {
        let recs = [
            SimpleRecord::new(Some(b"k1"), Some(b"v1"), 1000),
            SimpleRecord::new(Some(b"k2"), Some(b"v2"), 1001),
        ];
        encode_batch(&recs, Compression::None)
            .expect("encode")
            .to_vec()
    }

    #[test]
    fn parses_a_real_batch() {
        let b = sample();
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.magic, 2);
        assert_eq!(h.record_count, 2);
        assert_eq!(h.last_offset_delta, 1);
        assert_eq!(h.max_timestamp, 1001);
        assert_eq!(h.total_len(), b.len());
        h.validate(&b).unwrap();
    }

    #[test]
    fn patching_base_offset_keeps_crc_valid() {
        let mut b = sample();
        patch_base_offset(&mut b, 4242);
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.base_offset, 4242);
        assert_eq!(h.last_offset(), 4243);
        h.validate(&b).unwrap();
    }

    #[test]
    fn refuses_bad_crc_magic_length_and_size() {
        let mut b = sample();
        let last = b.len() - 1;
        b[last] ^= 0xff;
        let e = split_and_validate(&b, 1 << 20).unwrap_err();
        assert_eq!(e.kafka_code(), 2, "{e}");

        let mut b = sample();
        b[16] = 7;
        assert_eq!(split_and_validate(&b, 1 << 20).unwrap_err().kafka_code(), 2);
        b[16] = 1;
        assert_eq!(
            split_and_validate(&b, 1 << 20).unwrap_err().kafka_code(),
            43
        );

        let b = sample();
        assert_eq!(
            split_and_validate(&b[..b.len() - 3], 1 << 20)
                .unwrap_err()
                .kafka_code(),
            2
        );
        let e = split_and_validate(&b, 20).unwrap_err();
        assert_eq!(e.kafka_code(), 10, "{e}");

        let mut b = sample();
        b[23..27].copy_from_slice(&5i32.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            split_and_validate(&b, 1 << 20).unwrap_err().kafka_code(),
            87
        );
    }

    #[test]
    fn log_append_time_stamp_rewrites_crc() {
        let mut b = sample();
        stamp_log_append_time(&mut b, 99_999);
        let h = BatchHeader::parse(&b).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 99_999);
        h.validate(&b).unwrap();
    }

    #[test]
    fn several_batches_split() {
        let mut two = sample();
        two.extend(sample());
        let located = split_and_validate(&two, 1 << 20).unwrap();
        assert_eq!(located.len(), 2);
        assert_eq!(located[1].position, two.len() / 2);
    }
}
