//! The metadata log (`__cluster_metadata-0`): every change to topics is a record in an
//! ordinary partition log, appended and fsync'd before it takes effect, and replayed on start.
//! A cluster will later replicate this same log through its controller quorum.
//!
//! Each record's key names the change and its value is the change as JSON; an unknown change
//! type stops the start-up with a clear error instead of silently dropping topics.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::log::config::TopicConfigs;
use crate::log::{LogConfig, OpenOptions, PartitionLog};
use crate::records::stored::{self, SimpleRecord};
use bytes::Bytes;
use kafka_protocol::records::Compression;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

/// Directory of the metadata log inside the data directory.
pub const METADATA_DIR: &str = "__cluster_metadata-0";

/// One change to the cluster's topics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    TopicCreated {
        name: String,
        topic_id: Uuid,
        partitions: i32,
        configs: TopicConfigs,
    },
    PartitionsCreated {
        name: String,
        total: i32,
    },
    TopicConfigsReplaced {
        name: String,
        configs: TopicConfigs,
    },
    TopicDeleted {
        name: String,
        topic_id: Uuid,
    },
    /// Producer ids below `end` have been handed out (ids are reserved in blocks).
    ProducerIdsReserved {
        end: i64,
    },
}

impl MetadataRecord {
    fn kind(&self) -> &'static str {
        match self {
            MetadataRecord::TopicCreated { .. } => "TopicCreated",
            MetadataRecord::PartitionsCreated { .. } => "PartitionsCreated",
            MetadataRecord::TopicConfigsReplaced { .. } => "TopicConfigsReplaced",
            MetadataRecord::TopicDeleted { .. } => "TopicDeleted",
            MetadataRecord::ProducerIdsReserved { .. } => "ProducerIdsReserved",
        }
    }
}

/// The metadata log itself.
#[derive(Debug)]
pub struct MetadataLog {
    log: PartitionLog,
    clock: Arc<dyn Clock>,
}

impl MetadataLog {
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>, clean_shutdown: bool) -> Result<Self> {
        let log = PartitionLog::open(
            data_dir.join(METADATA_DIR),
            OpenOptions {
                config: LogConfig::default(),
                clock: Arc::clone(&clock),
                clean_shutdown,
            },
        )?;
        Ok(MetadataLog { log, clock })
    }

    /// Appends a change and waits until it is on disk.
    pub fn append(&self, record: &MetadataRecord) -> Result<i64> {
        let value = serde_json::to_vec(record)
            .map_err(|e| Error::InvalidRequest(format!("cannot encode metadata: {e}")))?;
        let rec = SimpleRecord::new(
            Some(record.kind().as_bytes()),
            Some(&value),
            self.clock.now_ms(),
        );
        let batch = stored::encode_batch(&[rec], Compression::None)?;
        let info = self.log.append(&batch)?;
        if let Err(e) = self.log.wait_durable(info.last_offset + 1) {
            // The caller is told the change failed, so it must not take effect at the next
            // start either: cut the record back out (a half-created topic used to come back).
            if let Err(undo) = self.log.truncate_to(info.base_offset) {
                tracing::error!("cannot undo a metadata record whose fsync failed: {undo}");
            }
            return Err(e);
        }
        Ok(info.base_offset)
    }

    /// Every change in order.
    pub fn replay(&self) -> Result<Vec<MetadataRecord>> {
        let mut out = Vec::new();
        self.log.replay_records(|r| {
            out.push(parse(r.offset, r.value)?);
            Ok(())
        })?;
        Ok(out)
    }

    pub fn checkpoint(&self) -> Result<()> {
        self.log.checkpoint()
    }

    pub fn close(&self) -> Result<()> {
        self.log.close()
    }
}

fn parse(offset: i64, value: Option<Bytes>) -> Result<MetadataRecord> {
    let value = value.ok_or_else(|| Error::Metadata {
        offset,
        reason: "record has no value".into(),
    })?;
    serde_json::from_slice(&value).map_err(|e| Error::Metadata {
        offset,
        reason: format!("cannot parse ({e}); was it written by a newer strom?"),
    })
}
