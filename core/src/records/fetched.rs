//! Zero-copy reading of fetched record data: splitting a fetch response's records into
//! batches, and decoding a batch's records as slices of the fetched (or decompressed) buffer.
//!
//! Everything here reads bytes from the network, so every length is checked against the bytes
//! actually present before it is used to slice or reserve, and malformed input is an
//! [`Error::CorruptBatch`], never a panic.

use crate::error::{Error, Result};
use crate::records::batch::{crc_matches, BatchHeader, Codec, HEADER_LEN, LOG_OVERHEAD, MAGIC_V2};
use crate::records::reader::{self, decompress, MIN_RECORD_BYTES};
use bytes::Bytes;

/// Position of the magic byte, the one field every message format version has in one place.
const MAGIC_OFFSET: usize = 16;

/// Which clock a record's timestamp is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// Set by the producer.
    Create,
    /// Set by the broker when it appended the batch (`message.timestamp.type=LogAppendTime`).
    LogAppend,
}

/// One record of a fetched batch, its key and value sharing the fetched buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Header keys are decoded lossily (invalid UTF-8 becomes U+FFFD), as Java's client does.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// The partition leader epoch the batch was written in; `None` when the batch has none (-1).
    pub leader_epoch: Option<i32>,
}

/// One whole batch of fetched data. `bytes` is exactly the batch, a slice of the fetch buffer.
#[derive(Debug, Clone)]
pub struct RawBatch {
    pub header: BatchHeader,
    pub bytes: Bytes,
}

/// Splits fetched record data into whole batches; see [`Batches`].
pub fn split_batches(data: &Bytes) -> Batches {
    Batches {
        data: data.clone(),
        pos: 0,
        done: false,
    }
}

/// Iterator over the whole batches in fetched record data.
///
/// A fetch response may end with a partial batch (the broker cuts at the fetch's max bytes):
/// iteration ends there without error and [`Batches::partial_bytes`] says how many bytes were
/// left. A batch in another format than v2 or with an impossible length yields one error, after
/// which the iterator ends.
#[derive(Debug)]
pub struct Batches {
    data: Bytes,
    pos: usize,
    done: bool,
}

impl Batches {
    /// Bytes not yet yielded as batches: after iteration ended without error, the size of the
    /// trailing partial batch (0 if the data ended on a batch boundary).
    pub fn partial_bytes(&self) -> usize {
        self.data.len() - self.pos
    }

    fn next_batch(&mut self) -> Option<Result<RawBatch>> {
        let rest = &self.data[self.pos..];
        if rest.len() <= MAGIC_OFFSET {
            return None;
        }
        let magic = rest[MAGIC_OFFSET] as i8;
        if magic != MAGIC_V2 {
            return Some(Err(Error::CorruptBatch(format!(
                "batch at byte {} has magic {magic}; only RecordBatch v2 is supported",
                self.pos
            ))));
        }
        let batch_length = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let Some(total) = usize::try_from(batch_length)
            .ok()
            .filter(|&n| n >= HEADER_LEN - LOG_OVERHEAD)
            .map(|n| n + LOG_OVERHEAD)
        else {
            return Some(Err(Error::CorruptBatch(format!(
                "batch at byte {} has impossible batchLength {batch_length}",
                self.pos
            ))));
        };
        if total > rest.len() {
            return None;
        }
        let header = match BatchHeader::parse(&rest[..total]) {
            Ok(h) => h,
            Err(e) => return Some(Err(e)),
        };
        let bytes = self.data.slice(self.pos..self.pos + total);
        self.pos += total;
        Some(Ok(RawBatch { header, bytes }))
    }
}

impl Iterator for Batches {
    type Item = Result<RawBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_batch();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

impl RawBatch {
    /// Whether the CRC-32C over the batch matches its header.
    pub fn crc_ok(&self) -> bool {
        self.check_extent().is_ok() && crc_matches(&self.header, &self.bytes)
    }

    /// `bytes` must be exactly the batch the header describes. Batches from [`split_batches`]
    /// always are; the fields are public, so a hand-made one is checked before slicing.
    fn check_extent(&self) -> Result<()> {
        let expected = usize::try_from(self.header.batch_length)
            .ok()
            .and_then(|n| n.checked_add(LOG_OVERHEAD));
        if expected != Some(self.bytes.len()) || self.bytes.len() < HEADER_LEN {
            return Err(Error::CorruptBatch(format!(
                "batchLength {} does not describe a {}-byte batch",
                self.header.batch_length,
                self.bytes.len()
            )));
        }
        Ok(())
    }

    /// A transaction marker batch (commit/abort), not user records.
    pub fn is_control(&self) -> bool {
        self.header.is_control()
    }

    pub fn is_transactional(&self) -> bool {
        self.header.is_transactional()
    }

    pub fn producer_id(&self) -> i64 {
        self.header.producer_id
    }

    /// Decodes every record with the log's bounded [`record_reader`]. Uncompressed batches
    /// yield slices of `self.bytes`; compressed ones are decompressed once (bounded by the
    /// log's 64 MiB limit) and sliced from that buffer. Does not check the CRC: call
    /// [`Self::crc_ok`] for that (`check.crcs`).
    pub fn records(&self) -> Result<Vec<FetchedRecord>> {
        self.check_extent()?;
        let h = &self.header;
        let codec = h.codec().ok_or_else(|| {
            Error::CorruptBatch(format!("unknown compression codec id {}", h.attributes & 7))
        })?;
        let section = match codec {
            Codec::None => self.bytes.slice(HEADER_LEN..),
            c => Bytes::from(decompress(c, &self.bytes[HEADER_LEN..])?),
        };
        let count = usize::try_from(h.record_count)
            .map_err(|_| Error::CorruptBatch(format!("record count {}", h.record_count)))?;
        // The header's count is untrusted: never reserve more than the bytes could hold.
        let mut out = Vec::with_capacity(count.min(section.len() / MIN_RECORD_BYTES + 1));
        let leader_epoch = (h.partition_leader_epoch != -1).then_some(h.partition_leader_epoch);
        let found = reader::walk_section(&section, |_, r| {
            let field = |f: Option<&[u8]>| f.map(|f| section.slice_ref(f));
            let (timestamp, timestamp_type) = if h.is_log_append_time() {
                (h.max_timestamp, TimestampType::LogAppend)
            } else {
                (
                    h.base_timestamp.wrapping_add(r.timestamp_delta),
                    TimestampType::Create,
                )
            };
            out.push(FetchedRecord {
                offset: h.base_offset.wrapping_add(i64::from(r.offset_delta)),
                timestamp,
                timestamp_type,
                key: field(r.key),
                value: field(r.value),
                headers: r
                    .headers()
                    .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), field(v)))
                    .collect(),
                leader_epoch,
            });
            Ok(())
        })?;
        if found != count {
            return Err(Error::CorruptBatch(format!(
                "batch header counts {count} records, {found} found"
            )));
        }
        Ok(out)
    }
}
