//! Persistence of groups in the internal compacted topic `__consumer_offsets`: one record per
//! committed offset (key: group, topic, partition) and one per group's membership (key:
//! group), JSON-encoded; a null value deletes. Replayed in order at start; compaction keeps
//! the latest record per key.

use crate::broker::Broker;
use crate::error::{Error, Result};
use crate::group::state::Committed;
use crate::log::PartitionLog;
use crate::log_safe;
use crate::records::stored::{self, SimpleRecord};
use kafka_protocol::records::Compression;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
}

/// A member as persisted with its group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocols: Vec<(String, Vec<u8>)>,
    pub assignment: Vec<u8>,
}

/// A group's membership after a completed rebalance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGroup {
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: Vec<StoredMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreValue {
    Offset(Committed),
    Group(StoredGroup),
}

#[derive(Debug)]
pub struct OffsetStore {
    log: Arc<PartitionLog>,
}

impl OffsetStore {
    /// Opens the internal topic, creating it (compacted, one partition) on first use.
    pub fn open(broker: &Broker) -> Result<OffsetStore> {
        if broker.topic(OFFSETS_TOPIC).is_none() {
            let configs: BTreeMap<String, String> =
                [("cleanup.policy".to_string(), "compact".to_string())].into();
            match broker.create_topic(OFFSETS_TOPIC, Some(1), configs) {
                Ok(_) | Err(Error::TopicExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(OffsetStore {
            log: broker.partition(OFFSETS_TOPIC, 0)?,
        })
    }

    /// Appends changes as one batch; returns the end offset to wait on for durability.
    pub fn append(&self, changes: &[(StoreKey, Option<StoreValue>)], now: i64) -> Result<i64> {
        let recs: Vec<SimpleRecord> = changes
            .iter()
            .map(|(k, v)| -> Result<SimpleRecord> {
                let key = serde_json::to_vec(k).map_err(encode_error)?;
                let value = v
                    .as_ref()
                    .map(serde_json::to_vec)
                    .transpose()
                    .map_err(encode_error)?;
                Ok(SimpleRecord::new(Some(key), value, now))
            })
            .collect::<Result<_>>()?;
        let batch = stored::encode_batch(&recs, Compression::None)?;
        Ok(self.log.append(&batch)?.last_offset + 1)
    }

    /// Blocks until offsets below `end` are on disk.
    pub fn wait_durable(&self, end: i64) -> Result<()> {
        self.log.wait_durable(end)
    }

    /// Every stored change in log order (a later one replaces an earlier one with its key).
    pub fn replay(&self) -> Result<Vec<(StoreKey, Option<StoreValue>)>> {
        let mut out = Vec::new();
        self.log.replay_records(|r| {
            let Some(k) = r.key else { return Ok(()) };
            let Ok(key) = serde_json::from_slice::<StoreKey>(&k) else {
                tracing::warn!(
                    offset = r.offset,
                    "skipping unreadable __consumer_offsets key"
                );
                return Ok(());
            };
            let value = match r.value {
                None => None,
                Some(v) => match serde_json::from_slice::<StoreValue>(&v) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!(
                            offset = r.offset,
                            "skipping unreadable __consumer_offsets value: {}",
                            log_safe::escape(&e)
                        );
                        return Ok(());
                    }
                },
            };
            out.push((key, value));
            Ok(())
        })?;
        Ok(out)
    }
}

fn encode_error(e: serde_json::Error) -> Error {
    Error::InvalidRequest(format!("cannot encode group state: {e}"))
}
