//! The one error type of the storage and broker core, and its single mapping to Kafka error codes.
//!
//! Every refusal a client can see carries a structured variant with a real message; the wire
//! layer and the language bindings turn it into a Kafka error code through [`Error::kafka_error`]
//! and nowhere else.

use kafka_protocol::error::ResponseError;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in strom's core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A record batch whose bytes do not check out: CRC mismatch, impossible length, bad magic.
    #[error("corrupt record batch: {0}")]
    CorruptBatch(String),
    /// A well-formed batch the broker refuses on semantic grounds (offset deltas, record count).
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),
    /// Records of a produced batch that break a rule (a missing key on a compacted topic, an
    /// offset delta out of sequence), each named by its index in the batch.
    #[error("invalid records: {}", .0.message)]
    InvalidRecords(RecordErrors),
    /// Records whose CreateTime is outside `message.timestamp.before/after.max.ms`.
    #[error("invalid timestamps: {}", .0.message)]
    InvalidTimestamp(RecordErrors),
    /// A batch in a message format older than v2 (magic 0 or 1).
    #[error("record batch magic {0} is not supported: strom stores only RecordBatch v2")]
    UnsupportedMagic(i8),
    /// A batch larger than the topic's `max.message.bytes`.
    #[error("record batch of {size} bytes exceeds max.message.bytes={limit}")]
    MessageTooLarge { size: usize, limit: usize },
    /// acks=all to a partition with fewer in-sync replicas than its `min.insync.replicas`
    /// (on one node there is one, so a setting above 1 refuses acks=all, as Kafka does).
    #[error(
        "partition {topic}-{partition} has {in_sync} in-sync replica(s), fewer than its \
         min.insync.replicas={required}"
    )]
    NotEnoughReplicas {
        topic: String,
        partition: i32,
        required: i32,
        in_sync: i32,
    },
    /// An offset below the log start or above the log end.
    #[error("offset {offset} is out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    /// A topic name Kafka would refuse.
    #[error("invalid topic name {name:?}: {reason}")]
    InvalidTopic { name: String, reason: &'static str },
    /// Creating a topic that exists already.
    #[error("topic {0:?} already exists")]
    TopicExists(String),
    /// An idempotent producer batch whose sequence does not follow the last one.
    #[error("out of order sequence number: {0}")]
    OutOfOrderSequence(String),
    /// An idempotent producer batch from an epoch older than the partition has seen.
    #[error("producer {producer_id} epoch {epoch} is older than the current epoch {current}")]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    /// A topic or partition that does not exist.
    #[error("unknown topic or partition: {topic}-{partition}")]
    UnknownTopicOrPartition { topic: String, partition: i32 },
    /// A partition count that is not allowed (zero, negative, or a decrease).
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
    /// A request that is well-formed but exceeds a limit of this broker (as Kafka answers a
    /// CreateTopics over its per-request partition cap).
    #[error("policy violation: {0}")]
    PolicyViolation(String),
    /// A replication factor this cluster cannot provide.
    #[error("replication factor {0} is not possible: this cluster has one broker")]
    InvalidReplicationFactor(i32),
    /// A manual replica assignment naming brokers that do not exist.
    #[error("invalid replica assignment: {0}")]
    InvalidReplicaAssignment(String),
    /// A topic config name or value Kafka would refuse. A reason in Kafka's own wording (a
    /// capitalised sentence) is the whole message, so clients see exactly what Kafka sends.
    #[error("{}", invalid_config_message(name, reason))]
    InvalidConfig { name: String, reason: String },
    /// A request that is malformed in a way no other variant describes.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The broker was closed while the operation was in flight.
    #[error("the broker is shut down")]
    ShutDown,
    /// A metadata log record that cannot be understood (written by a newer strom, or damaged).
    #[error("metadata log record at offset {offset}: {reason}")]
    Metadata { offset: i64, reason: String },
    /// A listener that cannot be bound (address in use, unknown host, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// Disk trouble. Kafka reports these as KAFKA_STORAGE_ERROR.
    #[error("storage error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One rejected record of a produced batch, as Produce v8+ reports it (`record_errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The record's position in its batch.
    pub index: i32,
    pub message: String,
}

/// The rejected records of one batch and the summary Kafka puts in the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordErrors {
    pub message: String,
    pub records: Vec<RecordError>,
}

impl Error {
    /// The records this error names (Produce v8+ `record_errors`); empty for batch-level errors.
    pub fn record_errors(&self) -> &[RecordError] {
        match self {
            Error::InvalidRecords(e) | Error::InvalidTimestamp(e) => &e.records,
            _ => &[],
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The Kafka error this maps to on the wire. This is the only place that mapping lives.
    pub fn kafka_error(&self) -> ResponseError {
        match self {
            Error::CorruptBatch(_) => ResponseError::CorruptMessage,
            Error::InvalidRecord(_) | Error::InvalidRecords(_) => ResponseError::InvalidRecord,
            Error::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
            Error::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
            Error::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
            Error::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
            Error::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            Error::InvalidTopic { .. } => ResponseError::InvalidTopicException,
            Error::TopicExists(_) => ResponseError::TopicAlreadyExists,
            Error::UnknownTopicOrPartition { .. } => ResponseError::UnknownTopicOrPartition,
            Error::InvalidPartitions(_) => ResponseError::InvalidPartitions,
            Error::PolicyViolation(_) => ResponseError::PolicyViolation,
            Error::InvalidConfig { .. } => ResponseError::InvalidConfig,
            Error::OutOfOrderSequence(_) => ResponseError::OutOfOrderSequenceNumber,
            Error::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            Error::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
            Error::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
            Error::InvalidRequest(_) => ResponseError::InvalidRequest,
            Error::ShutDown => ResponseError::BrokerNotAvailable,
            Error::Listen { .. } => ResponseError::UnknownServerError,
            Error::Metadata { .. } | Error::Io { .. } => ResponseError::KafkaStorageError,
        }
    }

    /// The numeric Kafka error code a client is answered with. Every handler and binding
    /// turns errors into codes here, so this is the one spot where a storage error leaves for
    /// a client: it is counted and logged (rate-limited) on the way.
    pub fn kafka_code(&self) -> i16 {
        let e = self.kafka_error();
        if e == ResponseError::KafkaStorageError {
            report_storage_error(self);
        }
        e.code()
    }
}

/// Storage errors answered to clients since the process started.
static STORAGE_ERRORS: AtomicU64 = AtomicU64::new(0);
/// At most one storage error WARN per this many milliseconds: a full disk fails every
/// request, and one line per request would bury the log (and fill what is left of the disk).
const STORAGE_WARN_INTERVAL_MS: u64 = 10_000;
static STORAGE_WARNS: RateLimit = RateLimit::new(STORAGE_WARN_INTERVAL_MS);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Storage errors (KAFKA_STORAGE_ERROR) answered to clients since the process started, for
/// the `strom_storage_errors_total` metric.
pub fn storage_errors_total() -> u64 {
    STORAGE_ERRORS.load(Ordering::Relaxed)
}

/// Lets one event through per interval and counts the ones it holds back. Lock-free: the
/// callers are request handlers on every thread.
#[derive(Debug)]
struct RateLimit {
    interval_ms: u64,
    /// When the last event was let through, in milliseconds plus one (0: never).
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimit {
    const fn new(interval_ms: u64) -> Self {
        RateLimit {
            interval_ms,
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(events held back since the last one let through)` when this one may go.
    fn admit(&self, now_ms: u64) -> Option<u64> {
        let now = now_ms.saturating_add(1);
        let last = self.last.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= self.interval_ms;
        // One winner per interval, even when many requests fail at once.
        if due
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

fn report_storage_error(e: &Error) {
    let total = STORAGE_ERRORS.fetch_add(1, Ordering::Relaxed) + 1;
    let now = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX);
    let Some(suppressed) = STORAGE_WARNS.admit(now) else {
        return;
    };
    // Debug-formatted: paths carry topic names, which clients choose; quoting keeps a name
    // with a newline from forging a log line.
    tracing::warn!(
        error = ?e.to_string(),
        total,
        suppressed,
        "storage error answered as KAFKA_STORAGE_ERROR (at most one line per {}s)",
        STORAGE_WARN_INTERVAL_MS / 1000
    );
}

/// Kafka's messages are whole sentences that start with a capital (`Invalid value 1024 for
/// configuration segment.bytes: ...`, `Tiered Storage functionality is disabled ...`) and are
/// sent as they are; strom's own reasons are lowercase fragments that need the name before them.
fn invalid_config_message(name: &str, reason: &str) -> String {
    if reason.starts_with(|c: char| c.is_ascii_uppercase()) {
        reason.to_string()
    } else {
        format!("invalid config {name}: {reason}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka_protocol_guide() {
        assert_eq!(Error::CorruptBatch("crc".into()).kafka_code(), 2);
        assert_eq!(
            Error::MessageTooLarge { size: 2, limit: 1 }.kafka_code(),
            10
        );
        assert_eq!(Error::InvalidRecord("x".into()).kafka_code(), 87);
        assert_eq!(Error::TopicExists("t".into()).kafka_code(), 36);
        assert_eq!(
            Error::InvalidTopic {
                name: "..".into(),
                reason: "x"
            }
            .kafka_code(),
            17
        );
        assert_eq!(
            Error::io("/x", std::io::Error::other("disk")).kafka_code(),
            56
        );
        assert_eq!(Error::PolicyViolation("x".into()).kafka_code(), 44);
    }

    #[test]
    fn storage_warnings_are_rate_limited() {
        let r = RateLimit::new(10_000);
        assert_eq!(r.admit(5), Some(0), "the first one goes");
        assert_eq!(r.admit(6), None);
        assert_eq!(r.admit(10_004), None, "still inside the interval");
        assert_eq!(
            r.admit(10_005),
            Some(2),
            "the next one says how many were held back"
        );
        assert_eq!(r.admit(10_006), None);
        let r = RateLimit::new(10_000);
        assert_eq!(r.admit(0), Some(0), "time zero is not mistaken for never");
        assert_eq!(r.admit(1), None);
    }

    #[test]
    fn storage_errors_answered_are_counted() {
        let before = storage_errors_total();
        for _ in 0..3 {
            Error::io("/x", std::io::Error::other("disk")).kafka_code();
        }
        let _ = Error::TopicExists("t".into()).kafka_code();
        // Other tests may count theirs at the same time: at least these three.
        assert!(storage_errors_total() >= before + 3);
    }
}
