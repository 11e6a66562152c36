//! The background pass over every partition log: retention, compaction, `flush.ms` flushes and
//! recovery-point checkpoints. Runs on its own thread every `log.retention.check.interval.ms`
//! (embedding must not require a tokio runtime), and can be run directly by tests.

use crate::broker::embedded::BrokerInner;
use crate::error::Result;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Weak;
use std::time::Duration;

/// Totals of one housekeeping pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HousekeepingReport {
    pub segments_deleted: usize,
    pub bytes_deleted: u64,
    pub segments_compacted: usize,
    pub records_compacted_away: u64,
}

impl BrokerInner {
    pub(crate) fn housekeeping(&self) -> Result<HousekeepingReport> {
        // One pass at a time: the background thread and an explicit call must not interleave.
        let _pass = self.housekeeping_pass.lock();
        let mut report = HousekeepingReport::default();
        for topic in self.topic_snapshot() {
            for log in &topic.partitions {
                let r = log.enforce_retention()?;
                report.segments_deleted += r.deleted_segments;
                report.bytes_deleted += r.deleted_bytes;
                let c = log.clean()?;
                report.segments_compacted += c.segments_rewritten;
                report.records_compacted_away += c.records_removed;
                log.flush_if_due()?;
                log.checkpoint()?;
            }
        }
        self.metadata_checkpoint()?;
        Ok(report)
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
