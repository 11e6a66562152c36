//! The background pass over every partition log: retention, compaction, `flush.ms` flushes and
//! recovery-point checkpoints. Runs on its own thread every `log.retention.check.interval.ms`
//! (embedding must not require a tokio runtime), and can be run directly by tests.
//!
//! Each partition's steps are isolated: a failure is logged, counted
//! ([`HousekeepingReport::partition_failures`], and in total for the metrics) and the pass goes
//! on; a partition whose compaction keeps failing is retried after a growing number of passes.
//!
//! It sees the broker only through [`Kept`] (the broker implements it), so this module does not
//! depend on the broker's internals and the broker depends on it, not the other way round.

use crate::broker::topics::Topic;
use crate::error::{Error, Result};
use crate::log::PartitionLog;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

/// What a pass needs from the broker whose logs it keeps.
pub(crate) trait Kept {
    /// The live topics now.
    fn topic_snapshot(&self) -> Vec<Arc<Topic>>;
    /// Whether `topic` is still the live topic of its name (not deleted or replaced).
    fn still_serves(&self, topic: &Arc<Topic>) -> bool;
    /// `log.cleaner.dedupe.buffer.size`.
    fn dedupe_buffer_size(&self) -> usize;
    /// Held for the whole pass, so the background thread and an explicit call never interleave.
    fn pass_state(&self) -> &parking_lot::Mutex<HousekeepingState>;
    /// Adds a pass's failed steps to the broker's total (a metric).
    fn count_failures(&self, failures: u64);
    /// Writes the metadata log's checkpoint after a pass.
    fn metadata_checkpoint(&self) -> Result<()>;
}

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

/// One pass over every partition of `broker`.
pub(crate) fn pass(broker: &impl Kept) -> Result<HousekeepingReport> {
    let mut state = broker.pass_state().lock();
    state.passes += 1;
    let mut report = HousekeepingReport::default();
    let mut visited = HashSet::new();
    for topic in broker.topic_snapshot() {
        for (partition, log) in topic.partitions.iter().enumerate() {
            visited.insert(log.dir().to_path_buf());
            housekeep_partition(broker, &topic, partition, log, &mut state, &mut report);
        }
    }
    // Deleted partitions leave no backoff behind for a later topic of the same name.
    state
        .compaction_backoff
        .retain(|dir, _| visited.contains(dir));
    broker.count_failures(report.partition_failures);
    broker.metadata_checkpoint()?;
    Ok(report)
}

/// Every step of one partition, each isolated: one failing step (a damaged batch, a full
/// disk) neither stops this partition's other steps nor any other partition's.
fn housekeep_partition(
    broker: &impl Kept,
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
        if log.is_retired() || !broker.still_serves(topic) {
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
        match log.clean_within(broker.dedupe_buffer_size()) {
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

/// The thread body: a pass every `interval` until the broker is gone or the channel closes.
pub(crate) fn run(inner: Weak<impl Kept>, stop: Receiver<()>, interval: Duration) {
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let Some(broker) = inner.upgrade() else {
            return;
        };
        if let Err(e) = pass(broker.as_ref()) {
            tracing::error!("housekeeping pass failed: {e}");
        }
    }
}
