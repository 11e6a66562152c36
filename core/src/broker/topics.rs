//! The in-memory view of one topic: its identity, its config overrides and its partition logs.
//! A `Topic` is immutable; changes publish a new one, so readers never see half an update.

use crate::log::{PartitionLog, TopicConfigs};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    /// Overrides only; defaults come from `log::config`.
    pub configs: TopicConfigs,
    pub partitions: Vec<Arc<PartitionLog>>,
}

/// What callers see of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub id: Uuid,
    pub partitions: i32,
    pub configs: TopicConfigs,
}

impl Topic {
    pub fn describe(&self) -> TopicDescription {
        TopicDescription {
            name: self.name.clone(),
            id: self.id,
            partitions: self.partitions.len() as i32,
            configs: self.configs.clone(),
        }
    }
}

/// `<topic>-<partition>`, Kafka's partition directory name.
pub fn partition_dir_name(topic: &str, partition: i32) -> String {
    format!("{topic}-{partition}")
}

/// Splits a partition directory name at its last `-` (topic names may contain dashes).
pub fn parse_partition_dir(name: &str) -> Option<(&str, i32)> {
    let (topic, p) = name.rsplit_once('-')?;
    let p: i32 = p.parse().ok()?;
    (!topic.is_empty() && p >= 0).then_some((topic, p))
}
