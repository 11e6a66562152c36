//! The background pass over every partition log: retention, compaction, `flush.ms` flushes and
//! recovery-point checkpoints. Runs on its own thread every `log.retention.check.interval.ms`
//! (embedding must not require a tokio runtime), and can be run directly by tests.
//!
//! Each partition's steps are isolated: a failure is logged, counted
//! ([`HousekeepingReport::partition_failures`], and in total for the metrics) and the pass goes
//! on; a partition whose compaction keeps failing is retried after a growing number of passes.

use crate::broker::embedded::BrokerInner;
use crate::broker::topics::Topic;
use crate::error::{Error, Result};
use crate::log::PartitionLog;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

/// Totals of one housekeeping pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HousekeepingReport {
    pub segments_deleted: usize,
    pub bytes_deleted: u64,
    pub segments_compacted: usize,
    pub records_compacted_away: u64,
    /// Partition steps (retention, compaction, flush, checkpoint) that failed this pass. Each
    /// failure is logged and the rest of the pass goes on.
    pub partition_failures: u64,
    /// Partitions whose compaction was skipped this pass because it failed recently.
    pub compactions_backed_off: u64,
    /// Segment descriptors closed because nothing read them for a whole pass.
    pub files_closed: u64,
}

/// Passes a partition's compaction waits after its n-th failure in a row: 1, 2, 4, … 32.
const MAX_BACKOFF_PASSES: u64 = 32;

/// What housekeeping remembers between passes; held for the whole pass, so the background
/// thread and an explicit call never interleave.
#[derive(Debug, Default)]
pub(crate) struct HousekeepingState {
    passes: u64,
    /// Per partition directory: failures in a row and the pass before which it is skipped.
    compaction_backoff: HashMap<PathBuf, (u32, u64)>,
}

impl BrokerInner {
    pub(crate) fn housekeeping(&self) -> Result<HousekeepingReport> {
        let mut state = self.housekeeping_pass.lock();
        state.passes += 1;
        let mut report = HousekeepingReport::default();
        let mut visited = HashSet::new();
        for topic in self.topic_snapshot() {
            for (partition, log) in topic.partitions.iter().enumerate() {
                visited.insert(log.dir().to_path_buf());
                self.housekeep_partition(&topic, partition, log, &mut state, &mut report);
            }
        }
        // Deleted partitions leave no backoff behind for a later topic of the same name.
        state
            .compaction_backoff
            .retain(|dir, _| visited.contains(dir));
        self.housekeeping_failures
            .fetch_add(report.partition_failures, Ordering::Relaxed);
        self.metadata_checkpoint()?;
        Ok(report)
    }

    /// Every step of one partition, each isolated: one failing step (a damaged batch, a full
    /// disk) neither stops this partition's other steps nor any other partition's.
    fn housekeep_partition(
        &self,
        topic: &Arc<Topic>,
        partition: usize,
        log: &PartitionLog,
        state: &mut HousekeepingState,
        report: &mut HousekeepingReport,
    ) {
        if log.is_retired() {
            return;
        }
        let mut failed = |step: &str, e: Error| {
            if log.is_retired() || !self.still_serves(topic) {
                // Deleted during the pass: its files went away under us, nothing is wrong.
                return;
            }
            report.partition_failures += 1;
            tracing::error!(topic = %topic.name, partition, "housekeeping {step} failed: {e}");
        };
        match log.enforce_retention() {
            Ok(r) => {
                report.segments_deleted += r.deleted_segments;
                report.bytes_deleted += r.deleted_bytes;
            }
            Err(e) => failed("retention", e),
        }
        let dir = log.dir().to_path_buf();
        let backoff = state.compaction_backoff.get(&dir).copied();
        if backoff.is_some_and(|(_, until)| state.passes < until) {
            report.compactions_backed_off += 1;
        } else {
            match log.clean_within(self.config.cleaner_dedupe_buffer_size) {
                Ok(c) => {
                    report.segments_compacted += c.segments_rewritten;
                    report.records_compacted_away += c.records_removed;
                    state.compaction_backoff.remove(&dir);
                }
                Err(e) => {
                    let n = backoff.map_or(1, |(n, _)| n.saturating_add(1));
                    let wait = (1u64 << (n - 1).min(5)).min(MAX_BACKOFF_PASSES);
                    state
                        .compaction_backoff
                        .insert(dir, (n, state.passes + 1 + wait));
                    failed("compaction", e);
                }
            }
        }
        if let Err(e) = log.flush_if_due() {
            failed("flush", e);
        }
        if let Err(e) = log.checkpoint() {
            failed("checkpoint", e);
        }
        report.files_closed += log.close_idle_files() as u64;
    }

    /// Whether `topic` is still the live topic of its name (not deleted or replaced).
    fn still_serves(&self, topic: &Arc<Topic>) -> bool {
        self.topic_id(&topic.name) == Some(topic.id)
    }
}

/// The thread body: a pass every `interval` until the broker is gone or the channel closes.
pub(crate) fn run(inner: Weak<BrokerInner>, stop: Receiver<()>, interval: Duration) {
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(broker) = inner.upgrade() else {
            return;
        };
        if let Err(e) = broker.housekeeping() {
            tracing::error!("housekeeping pass failed: {e}");
        }
    }
}
