//! What a producer's batch must pass, record by record, before the log stores it: the checks
//! of Kafka's log validator for RecordBatch v2. The header checks (length, CRC, magic, codec,
//! count against lastOffsetDelta) are [`BatchHeader::validate`]; this walks the records inside,
//! decompressing as a stream within [`reader::MAX_DECOMPRESSED_BYTES`].
//!
//! Nothing is re-encoded: the log stores the producer's bytes. The one header field Kafka
//! rewrites in place, the batch's maxTimestamp on CreateTime topics, is reported back in
//! [`Checked`] so the log can patch it, as Kafka does.
//!
//! Errors follow Kafka's split: a CRC mismatch (in [`BatchHeader::validate`]) is
//! CORRUPT_MESSAGE, which producers retry; records behind a valid CRC that do not parse or
//! break a rule are INVALID_RECORD, or INVALID_TIMESTAMP when any timestamp is out of range,
//! naming each record by its index in the batch (Produce v8+ `record_errors`).

use crate::error::{Error, RecordError, Result};
use crate::log::config::LogConfig;
use crate::records::batch::BatchHeader;
use crate::records::reader;

/// A record's timestamp when it has none (Kafka's `RecordBatch.NO_TIMESTAMP`).
const NO_TIMESTAMP: i64 = -1;

/// The per-topic rules a batch is checked against, read once per append.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `cleanup.policy` includes compact: every record needs a key.
    pub compacted: bool,
    /// `message.timestamp.type=LogAppendTime`: producer timestamps are replaced, not checked.
    pub log_append_time: bool,
    /// `message.timestamp.before.max.ms`: how far in the past a CreateTime may be.
    pub before_max_ms: i64,
    /// `message.timestamp.after.max.ms`: how far in the future a CreateTime may be.
    pub after_max_ms: i64,
    /// The broker's clock for this append.
    pub now_ms: i64,
}

impl Rules {
    pub fn of(config: &LogConfig, now_ms: i64) -> Rules {
        Rules {
            compacted: config.compact_enabled,
            log_append_time: config.log_append_time,
            before_max_ms: config.timestamp_before_max_ms,
            after_max_ms: config.timestamp_after_max_ms,
            now_ms,
        }
    }
}

/// What the records of an accepted batch say about its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The largest record timestamp (CreateTime), or the header's own on LogAppendTime topics.
    pub max_timestamp: i64,
    /// The header's maxTimestamp or timestamp type disagrees with the records on a CreateTime
    /// topic, and the log must rewrite them (and the CRC) before storing.
    pub fix_header: bool,
}

/// Kafka shows at most this many record errors in the response's error message.
const ERRORS_IN_MESSAGE: usize = 3;
/// Record errors kept per batch: the response lists each, so a batch of a million bad
/// records must not become a million-entry response.
const ERRORS_KEPT: usize = 100;

/// Checks every record of a producer's batch (`bytes` is exactly the batch, header already
/// validated) against `rules`.
pub fn check_batch(h: &BatchHeader, bytes: &[u8], rules: &Rules) -> Result<Checked> {
    if h.is_control() {
        return Err(Error::InvalidRecord(
            "clients may not write control batches (transaction markers)".into(),
        ));
    }
    if h.is_transactional() {
        return Err(Error::InvalidRecord(
            "transactional batches need a transaction coordinator, which this strom broker \
             does not have yet"
                .into(),
        ));
    }
    if h.is_log_append_time() && !rules.log_append_time {
        // Kafka: "Producer should not set timestamp type to LogAppendTime".
        return Err(Error::InvalidTimestamp(crate::error::RecordErrors {
            message: "a producer may not set the LogAppendTime timestamp type".into(),
            records: Vec::new(),
        }));
    }
    if h.producer_id >= 0 && h.base_sequence < 0 {
        return Err(Error::InvalidRecord(format!(
            "batch of producer id {} has no sequence number ({})",
            h.producer_id, h.base_sequence
        )));
    }
    let mut invalid = Vec::new();
    let mut timestamps = Vec::new();
    let mut max_timestamp = i64::MIN;
    let earliest = rules.now_ms.saturating_sub(rules.before_max_ms);
    let latest = rules.now_ms.saturating_add(rules.after_max_ms);
    let note = |list: &mut Vec<RecordError>, index: usize, message: String| {
        if list.len() <= ERRORS_KEPT {
            list.push(RecordError {
                index: i32::try_from(index).unwrap_or(i32::MAX),
                message,
            });
        }
    };
    // Bytes past a valid CRC that do not parse are Kafka's InvalidRecordException
    // (INVALID_RECORD, not retried by producers), not CORRUPT_MESSAGE (retriable, for CRCs).
    let found = reader::for_each_record(h, bytes, |i, r| {
        if usize::try_from(r.offset_delta) != Ok(i) {
            note(
                &mut invalid,
                i,
                format!(
                    "inner record has offset delta {}, expected {i}",
                    r.offset_delta
                ),
            );
        }
        if rules.compacted && r.key.is_none() {
            note(
                &mut invalid,
                i,
                "compacted topic cannot accept a record without a key".into(),
            );
        }
        let ts = h.base_timestamp.saturating_add(r.timestamp_delta);
        max_timestamp = max_timestamp.max(ts);
        // Kafka does not range-check a record without a timestamp (-1).
        if !rules.log_append_time && ts != NO_TIMESTAMP && (ts < earliest || ts > latest) {
            note(
                &mut timestamps,
                i,
                format!(
                    "timestamp {ts} is out of range: it must be within [{earliest}, {latest}] \
                     (message.timestamp.before.max.ms / after.max.ms)"
                ),
            );
        }
        Ok(())
    })
    .map_err(|e| match e {
        Error::CorruptBatch(why) => Error::InvalidRecord(why),
        e => e,
    })?;
    if i64::try_from(found) != Ok(i64::from(h.record_count)) {
        return Err(Error::InvalidRecord(format!(
            "incorrect declared batch size: the header counts {} records, {found} found",
            h.record_count
        )));
    }
    // As Kafka: any timestamp error makes the answer INVALID_TIMESTAMP, and every record
    // error is listed either way.
    let any_timestamp = !timestamps.is_empty();
    invalid.extend(timestamps);
    if any_timestamp {
        invalid.sort_by_key(|r| r.index);
        return Err(Error::InvalidTimestamp(summary(invalid)));
    }
    if !invalid.is_empty() {
        return Err(Error::InvalidRecords(summary(invalid)));
    }
    if rules.log_append_time {
        return Ok(Checked {
            max_timestamp: h.max_timestamp,
            fix_header: false,
        });
    }
    Ok(Checked {
        max_timestamp,
        fix_header: max_timestamp != h.max_timestamp,
    })
}

/// Kafka's message for rejected records: how many, and the first few.
fn summary(records: Vec<RecordError>) -> crate::error::RecordErrors {
    let shown: Vec<String> = records
        .iter()
        .take(ERRORS_IN_MESSAGE)
        .map(|r| format!("record {}: {}", r.index, r.message))
        .collect();
    crate::error::RecordErrors {
        message: format!(
            "{} record error(s) in the batch{}: {}",
            records.len(),
            if records.len() > ERRORS_KEPT {
                " (counting stopped)"
            } else {
                ""
            },
            shown.join("; ")
        ),
        records,
    }
}
