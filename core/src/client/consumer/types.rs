//! The consumer's value types: partitions, records, committed offsets, rebalance listeners.

use crate::records::fetched::TimestampType;
use bytes::Bytes;
use std::sync::Arc;

/// A topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A record returned by `poll`. Key and value share the fetched buffer (no copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub leader_epoch: Option<i32>,
}

/// A committed offset: the next offset to consume, with optional metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    pub metadata: Option<String>,
    pub leader_epoch: Option<i32>,
}

impl OffsetAndMetadata {
    pub fn new(offset: i64) -> Self {
        OffsetAndMetadata {
            offset,
            metadata: None,
            leader_epoch: None,
        }
    }
}

/// The answer of `offsets_for_times`: the first offset whose timestamp is at or after the one
/// asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetAndTimestamp {
    pub offset: i64,
    pub timestamp: i64,
}

/// Called on the polling task around rebalances, as Java's `ConsumerRebalanceListener`.
/// `Sync` so that a [`crate::client::Consumer`] is: its `&self` async methods (`committed`,
/// `end_offsets`, ...) can then run in spawned (`Send`) futures.
pub trait RebalanceListener: Send + Sync {
    /// Partitions taken away (before the rebalance with eager assignors; after it, for the
    /// moved ones only, with cooperative-sticky). Commit their progress here.
    fn on_partitions_revoked(&mut self, partitions: &[TopicPartition]);
    /// Partitions newly given.
    fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]);
    /// Partitions lost without a chance to commit (the member was fenced out of the group).
    fn on_partitions_lost(&mut self, partitions: &[TopicPartition]) {
        self.on_partitions_revoked(partitions);
    }
}
