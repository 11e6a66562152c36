//! The in-memory view of one topic: its identity, its config overrides and its partition logs.
//! A `Topic` is immutable; changes publish a new one, so readers never see half an update.
//!
//! [`NewPartitions`] makes creating partitions all or nothing: their logs are opened before the
//! metadata record that creates them is written, and undone if anything fails on the way.

use crate::error::Result;
use crate::log::checkpoint::sync_dir;
use crate::log::{PartitionLog, TopicConfigs};
use std::ops::Range;
use std::path::{Path, PathBuf};
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

/// Partition logs opened for a change the metadata log does not hold yet (a new topic, or
/// more partitions). Dropped without [`NewPartitions::commit`], it closes them and removes
/// their directories: a change that fails half-way (a full disk, no descriptors left, a
/// failed metadata write) leaves nothing behind. A crash before the commit leaves
/// directories that no topic in the metadata log owns, and start-up removes those.
#[derive(Debug)]
pub(crate) struct NewPartitions {
    base: PathBuf,
    dirs: Vec<PathBuf>,
    logs: Vec<Arc<PartitionLog>>,
    committed: bool,
}

impl NewPartitions {
    /// Opens partitions `range` of `topic` in `base` with `open` (given each partition's
    /// directory), first removing any leftover directory of the same name: these partitions
    /// do not exist yet, so whatever is there belongs to no live topic.
    pub(crate) fn create(
        base: &Path,
        topic: &str,
        range: Range<i32>,
        mut open: impl FnMut(&Path, i32) -> Result<Arc<PartitionLog>>,
    ) -> Result<NewPartitions> {
        let mut this = NewPartitions {
            base: base.to_path_buf(),
            dirs: Vec::with_capacity(range.len()),
            logs: Vec::with_capacity(range.len()),
            committed: false,
        };
        for p in range {
            let dir = base.join(partition_dir_name(topic, p));
            remove_dir(&dir)?;
            this.dirs.push(dir.clone());
            this.logs.push(open(&dir, p)?);
        }
        Ok(this)
    }

    /// The change is in the metadata log: the logs are the topic's now.
    pub(crate) fn commit(mut self) -> Vec<Arc<PartitionLog>> {
        self.committed = true;
        std::mem::take(&mut self.logs)
    }
}

impl Drop for NewPartitions {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // Closes the files (nothing else holds these logs) before their directories go.
        self.logs.clear();
        for dir in &self.dirs {
            if let Err(e) = remove_dir(dir) {
                tracing::warn!(dir = %dir.display(), "undoing a failed partition creation: {e}");
            }
        }
        if !self.dirs.is_empty() {
            let _ = sync_dir(&self.base);
        }
    }
}

/// Removes a directory and everything in it; one that is not there is fine.
fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(crate::error::Error::io(dir, e)),
    }
}
