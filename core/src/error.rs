//! The one error type of the storage and broker core, and its single mapping to Kafka error codes.
//!
//! Every refusal a client can see carries a structured variant with a real message; the wire
//! layer and the language bindings turn it into a Kafka error code through [`Error::kafka_error`]
//! and nowhere else.

use kafka_protocol::error::ResponseError;
use std::path::PathBuf;

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
    /// A batch in a message format older than v2 (magic 0 or 1).
    #[error("record batch magic {0} is not supported: strom stores only RecordBatch v2")]
    UnsupportedMagic(i8),
    /// A batch larger than the topic's `max.message.bytes`.
    #[error("record batch of {size} bytes exceeds max.message.bytes={limit}")]
    MessageTooLarge { size: usize, limit: usize },
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
    /// A topic config name or value Kafka would refuse.
    #[error("invalid config {name}: {reason}")]
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
    /// Disk trouble. Kafka reports these as KAFKA_STORAGE_ERROR.
    #[error("storage error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
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
            Error::InvalidRecord(_) => ResponseError::InvalidRecord,
            Error::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
            Error::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
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
            Error::Metadata { .. } | Error::Io { .. } => ResponseError::KafkaStorageError,
        }
    }

    /// The numeric Kafka error code.
    pub fn kafka_code(&self) -> i16 {
        self.kafka_error().code()
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
}
