//! Retention: deleting whole segments by `retention.ms` and `retention.bytes`, and advancing
//! the log start offset (DeleteRecords). Kept apart from the append/read path it never touches.

use crate::error::{Error, Result};
use crate::log::checkpoint;
use crate::log::partition_log::{LogState, PartitionLog};

/// What a retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub deleted_segments: usize,
    pub deleted_bytes: u64,
    pub log_start_offset: i64,
}

impl PartitionLog {
    /// Deletes segments past `retention.ms` (by their newest timestamp) or beyond
    /// `retention.bytes`, and segments wholly below the log start offset. An expired active
    /// segment is rolled first so it can go too, as Kafka does.
    pub fn enforce_retention(&self) -> Result<RetentionOutcome> {
        let now = self.clock.now_ms();
        let mut st = self.state.write();
        let mut outcome = RetentionOutcome::default();
        if self.is_retired() {
            return Ok(outcome);
        }
        if st.config.delete_enabled {
            let retention_ms = st.config.retention_ms;
            if retention_ms >= 0 {
                let expired = |ts: i64| ts >= 0 && now.saturating_sub(ts) > retention_ms;
                let active = st.active();
                if !active.is_empty() && expired(active.max_timestamp()) {
                    self.roll(&mut st)?;
                }
                while st.segments.len() > 1 {
                    match st.segments.values().next() {
                        Some(first) if expired(first.max_timestamp()) => {}
                        _ => break,
                    }
                    self.delete_oldest(&mut st, &mut outcome, "retention.ms")?;
                }
            }
            let retention_bytes = st.config.retention_bytes;
            if retention_bytes >= 0 {
                let mut total: u64 = st.segments.values().map(|s| s.size()).sum();
                while st.segments.len() > 1 {
                    let first = st.segments.values().next().map_or(0, |s| s.size());
                    if total.saturating_sub(first) < retention_bytes as u64 {
                        break;
                    }
                    total -= first;
                    self.delete_oldest(&mut st, &mut outcome, "retention.bytes")?;
                }
            }
        }
        self.delete_below_start(&mut st, &mut outcome)?;
        outcome.log_start_offset = st.log_start_offset;
        Ok(outcome)
    }

    fn delete_oldest(
        &self,
        st: &mut LogState,
        outcome: &mut RetentionOutcome,
        why: &str,
    ) -> Result<()> {
        if let Some((&base, _)) = st.segments.iter().next() {
            if let Some(seg) = st.segments.remove(&base) {
                outcome.deleted_segments += 1;
                outcome.deleted_bytes += seg.size();
                tracing::info!(dir = %self.dir.display(), base, bytes = seg.size(), "deleting segment ({why})");
                seg.delete()?;
            }
        }
        let new_start = st.segments.keys().next().copied().unwrap_or(0);
        if new_start > st.log_start_offset {
            st.log_start_offset = new_start;
            checkpoint::write(&self.dir, checkpoint::LOG_START_OFFSET, new_start)?;
        }
        Ok(())
    }

    fn delete_below_start(&self, st: &mut LogState, outcome: &mut RetentionOutcome) -> Result<()> {
        loop {
            let mut bases = st.segments.keys();
            let (Some(_), Some(&second)) = (bases.next(), bases.next()) else {
                return Ok(());
            };
            if second > st.log_start_offset {
                return Ok(());
            }
            self.delete_oldest(st, outcome, "below the log start offset")?;
        }
    }

    /// Moves the log start offset forward (DeleteRecords). Offsets below it are no longer
    /// readable; segments wholly below it are deleted. `offset` may be at most the log end.
    pub fn advance_log_start_offset(&self, offset: i64) -> Result<i64> {
        let mut st = self.state.write();
        let end = st.log_end_offset();
        if offset > end || offset < 0 {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start: st.log_start_offset,
                log_end: end,
            });
        }
        if offset <= st.log_start_offset {
            return Ok(st.log_start_offset);
        }
        checkpoint::write(&self.dir, checkpoint::LOG_START_OFFSET, offset)?;
        st.log_start_offset = offset;
        if offset == end && !st.active().is_empty() {
            // Everything is gone: roll so the old active segment can be deleted too.
            self.roll(&mut st)?;
        }
        let mut outcome = RetentionOutcome::default();
        self.delete_below_start(&mut st, &mut outcome)?;
        Ok(st.log_start_offset)
    }
}
