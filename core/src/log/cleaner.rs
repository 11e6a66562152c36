//! Log compaction for `cleanup.policy=compact`: the latest record per key wins, tombstones
//! (null values) disappear once older than `delete.retention.ms`, and every surviving record
//! keeps its offset. Works on any codec: batches are decoded, filtered and re-encoded with the
//! codec they had; batches that lose nothing are copied byte for byte.
//!
//! The key map holds digests of keys, not keys, within `log.cleaner.dedupe.buffer.size`
//! (see [`OffsetMap`]); the batches themselves are read one at a time.
//!
//! A pass runs only when the log is dirty enough (`min.cleanable.dirty.ratio`, measured from
//! the `cleaner-offset-checkpoint` file each pass leaves in the partition directory) or has
//! dirty records older than `max.compaction.lag.ms`; it then cleans the whole log, as Kafka's
//! cleaner does, so older tombstones and duplicates go too.
//!
//! Sealed segments older than `min.compaction.lag.ms` are rewritten one at a time into a
//! `.cleaned` file that replaces the segment with a rename; a crash leaves either the old or
//! the new segment, and recovery removes a stray `.cleaned`.

use crate::error::{Error, Result};
use crate::log::checkpoint;
use crate::log::config::LogConfig;
use crate::log::partition_log::PartitionLog;
use crate::log::segment::{file_stem, Segment};
use crate::records::batch::{self, BatchHeader, HEADER_LEN};
use crate::records::stored::{self, Filtered};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::io::Write;

/// What a cleaning pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanOutcome {
    pub segments_rewritten: usize,
    pub records_removed: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Bytes read per step while walking a segment.
const READ_CHUNK: usize = 4 << 20;

/// Kafka's default `log.cleaner.dedupe.buffer.size`: 128 MiB for the key map.
pub const DEFAULT_DEDUPE_BUFFER_BYTES: usize = 128 * 1024 * 1024;
/// What one key map entry costs in the hash table: a 32-byte bucket (u128 digest aligned to 16,
/// i64 offset) plus its control byte, at most 7/8 full, and doubling as it grows: up to about
/// 2.3 buckets per entry, so ~75 bytes, rounded up.
pub const BYTES_PER_ENTRY: usize = 80;

/// The latest offset of every key, by a 128-bit keyed digest of the key, never the key bytes:
/// its size follows the number of keys, bounded by the dedupe buffer, not the data.
///
/// The digest is two independently keyed SipHash-1-3 halves (std's `RandomState`, secret keys
/// per process), so a producer cannot craft a key that collides with another's to get it
/// compacted away.
struct OffsetMap {
    halves: (RandomState, RandomState),
    latest: HashMap<u128, i64>,
    capacity: usize,
    /// The first offset the map does not cover, once it filled up: records from here on are
    /// kept whatever their key, since a newer value of theirs may not be in the map.
    full_at: Option<i64>,
}

impl OffsetMap {
    fn new(budget_bytes: usize) -> OffsetMap {
        OffsetMap {
            halves: (RandomState::new(), RandomState::new()),
            latest: HashMap::new(),
            capacity: (budget_bytes / BYTES_PER_ENTRY).max(1),
            full_at: None,
        }
    }

    fn digest(&self, key: &[u8]) -> u128 {
        let a = self.halves.0.hash_one(key);
        let b = self.halves.1.hash_one(key);
        (u128::from(a) << 64) | u128::from(b)
    }

    /// Records `offset` as the latest of `key`; false once the map is full.
    fn insert(&mut self, key: &[u8], offset: i64) -> bool {
        let d = self.digest(key);
        if self.latest.len() >= self.capacity && !self.latest.contains_key(&d) {
            self.full_at = Some(offset);
            return false;
        }
        // Offsets grow along the log, but a batch's deltas need not: keep the largest.
        let latest = self.latest.entry(d).or_insert(offset);
        *latest = (*latest).max(offset);
        true
    }

    /// Whether the map covers `offset` and knows a newer record with the same key.
    fn superseded(&self, key: &[u8], offset: i64) -> bool {
        self.covers(offset)
            && self
                .latest
                .get(&self.digest(key))
                .is_some_and(|&latest| latest > offset)
    }

    fn covers(&self, offset: i64) -> bool {
        self.full_at.is_none_or(|end| offset < end)
    }
}

/// A sealed segment old enough to compact.
#[derive(Debug, Clone, Copy)]
struct Cleanable {
    base: i64,
    size: u64,
    /// The offset after its last record.
    end: i64,
    /// The max timestamp of its first batch (-1 if none), what Kafka measures
    /// `max.compaction.lag.ms` from.
    first_batch_timestamp: i64,
}

/// Kafka's choice of a log to clean (`LogCleanerManager.grabFilthiestCompactedLog`): its dirty
/// ratio — bytes written since the last cleaning over all cleanable bytes — exceeds
/// `min.cleanable.dirty.ratio`, or some dirty record is older than `max.compaction.lag.ms`.
/// Either way there must be dirty bytes: a log with nothing new is left alone.
fn worth_cleaning(cfg: &LogConfig, cleanable: &[Cleanable], first_dirty: i64, now: i64) -> bool {
    let (clean, dirty): (Vec<&Cleanable>, Vec<&Cleanable>) =
        cleanable.iter().partition(|s| s.end <= first_dirty);
    let clean_bytes: u64 = clean.iter().map(|s| s.size).sum();
    let dirty_bytes: u64 = dirty.iter().map(|s| s.size).sum();
    if dirty_bytes == 0 {
        return false;
    }
    let overdue = dirty.iter().any(|s| {
        s.first_batch_timestamp > 0
            && now.saturating_sub(s.first_batch_timestamp) > cfg.max_compaction_lag_ms
    });
    let ratio = dirty_bytes as f64 / (clean_bytes + dirty_bytes) as f64;
    overdue || ratio > cfg.min_cleanable_dirty_ratio
}

impl PartitionLog {
    /// One compaction pass over the sealed segments with Kafka's default key map budget.
    pub fn clean(&self) -> Result<CleanOutcome> {
        self.clean_within(DEFAULT_DEDUPE_BUFFER_BYTES)
    }

    /// One compaction pass over the sealed segments, its key map bounded by `dedupe_bytes`
    /// (`log.cleaner.dedupe.buffer.size`). A no-op unless the topic compacts. When the map
    /// fills, only the records before that point are compacted this pass.
    pub fn clean_within(&self, dedupe_bytes: usize) -> Result<CleanOutcome> {
        let now = self.clock.now_ms();
        let mut outcome = CleanOutcome::default();
        if !self.state.read().config.compact_enabled {
            return Ok(outcome);
        }
        let checkpointed = checkpoint::read(&self.dir, checkpoint::CLEANER_OFFSET);
        let (cfg, cleanable, all, first_dirty) = {
            let st = self.state.read();
            let active_base = st.active().base_offset();
            let lag = st.config.min_compaction_lag_ms;
            let log_start = st.segments.keys().next().copied().unwrap_or(0);
            // As Kafka: a checkpoint outside the log (truncated, or below its start) is reset
            // to the log start.
            let first_dirty = checkpointed
                .filter(|&c| c >= log_start && c <= st.log_end_offset())
                .unwrap_or(log_start);
            // A prefix, as Kafka cleans: stopping at the first segment too young to clean keeps
            // a tombstone after it from being dropped while an older value sits before it.
            let cleanable: Vec<Cleanable> = st
                .segments
                .values()
                .take_while(|s| s.base_offset() != active_base)
                .take_while(|s| s.is_empty() || now.saturating_sub(s.max_timestamp()) >= lag)
                .filter(|s| !s.is_empty())
                .map(|s| Cleanable {
                    base: s.base_offset(),
                    size: s.size(),
                    end: s.next_offset(),
                    first_batch_timestamp: s.rolling_timestamp().unwrap_or(-1),
                })
                .collect();
            let all: Vec<i64> = st.segments.keys().copied().collect();
            (st.config.clone(), cleanable, all, first_dirty)
        };
        if cleanable.is_empty() || !worth_cleaning(&cfg, &cleanable, first_dirty, now) {
            return Ok(outcome);
        }
        // Latest offset of every key across the whole log, active segment included: a newer
        // value anywhere makes older ones obsolete.
        let mut map = OffsetMap::new(dedupe_bytes);
        'segments: for &base in &all {
            let mut full = false;
            self.for_each_batch(base, |_, h, bytes| {
                if h.is_control() || full {
                    return Ok(());
                }
                // Only a batch every reader accepts may speak for its keys: one that fails
                // is kept byte for byte below, so its keys must not make older values go.
                // Checked in a first walk, so no batch's keys are held in memory.
                if let Err(e) = stored::walk_stored(h, bytes, |_| Ok(())) {
                    tracing::error!(dir = %self.dir.display(), base_offset = h.base_offset, "compaction keeps a batch that cannot be decoded as it is: {e}");
                    return Ok(());
                }
                stored::walk_stored(h, bytes, |r| {
                    if let Some(k) = r.key {
                        let offset = h.base_offset + i64::from(r.offset_delta);
                        if !full && !map.insert(k, offset) {
                            full = true;
                        }
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
            if full {
                break 'segments;
            }
        }
        if let Some(end) = map.full_at {
            tracing::info!(dir = %self.dir.display(), keys = map.latest.len(), end, "compaction key map full (log.cleaner.dedupe.buffer.size): cleaning up to this offset");
        }
        // Where the next pass's dirty part starts: after the last segment this pass cleaned
        // whole, i.e. one the key map covered entirely and that was still there to rewrite.
        let mut cleaned_to = first_dirty;
        for &Cleanable {
            base, size, end, ..
        } in &cleanable
        {
            if !map.covers(base) {
                break;
            }
            let whole = map.full_at.is_none_or(|full| end <= full);
            let mut out = Vec::with_capacity(size as usize / 2);
            let mut removed = 0u64;
            let mut last: Option<BatchHeader> = None;
            let mut out_end = i64::MIN;
            self.for_each_batch(base, |_, h, bytes| {
                last = Some(*h);
                let filtered = match h.is_control() {
                    true => Ok(Filtered::Unchanged),
                    false => stored::filter_batch(h, bytes, |r| {
                        let Some(k) = r.key else { return true };
                        let offset = h.base_offset + i64::from(r.offset_delta);
                        if map.superseded(k, offset) {
                            return false;
                        }
                        let timestamp = if h.is_log_append_time() {
                            h.max_timestamp
                        } else {
                            h.base_timestamp.saturating_add(r.timestamp_delta)
                        };
                        let tombstone_expired = r.value.is_none()
                            && map.covers(offset)
                            && now.saturating_sub(timestamp) > cfg.delete_retention_ms;
                        !tombstone_expired
                    }),
                };
                match filtered {
                    // Control batches, untouched batches and (logged in the scan) batches that
                    // cannot be decoded are kept as they are.
                    Ok(Filtered::Unchanged) | Err(_) => {
                        out.extend_from_slice(bytes);
                        out_end = h.last_offset();
                    }
                    Ok(Filtered::Empty) => removed += u64::try_from(h.record_count).unwrap_or(0),
                    Ok(Filtered::Rewritten { batch, removed: n }) => {
                        out.extend_from_slice(&batch);
                        out_end = h.last_offset();
                        removed += n as u64;
                    }
                }
                Ok(())
            })?;
            if removed == 0 {
                if whole {
                    cleaned_to = cleaned_to.max(end);
                }
                continue;
            }
            // Keep the segment's last offset in place, so its end still meets the next
            // segment's base and recovery can tell compaction from lost data.
            if let Some(h) = last.filter(|h| h.last_offset() > out_end) {
                out.extend_from_slice(&batch::empty_batch(
                    h.last_offset(),
                    h.max_timestamp,
                    h.partition_leader_epoch,
                ));
            }
            if self.replace_segment(base, size, &out)? {
                outcome.segments_rewritten += 1;
                outcome.records_removed += removed;
                outcome.bytes_before += size;
                outcome.bytes_after += out.len() as u64;
                if whole {
                    cleaned_to = cleaned_to.max(end);
                }
            } else {
                // Changed under us (retention, truncation): the rest waits for the next pass.
                break;
            }
        }
        if checkpointed != Some(cleaned_to) && !self.is_retired() {
            checkpoint::write(&self.dir, checkpoint::CLEANER_OFFSET, cleaned_to)?;
        }
        Ok(outcome)
    }

    /// Calls `f(position, header, batch bytes)` for each batch of the segment at `base`.
    fn for_each_batch(
        &self,
        base: i64,
        mut f: impl FnMut(u64, &BatchHeader, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut pos = 0u64;
        loop {
            // At least one whole batch per read, however large (see `Segment::read`).
            let chunk = {
                let st = self.state.read();
                self.refuse_if_retired()?;
                let Some(seg) = st.segments.get(&base) else {
                    return Ok(());
                };
                seg.read(pos, READ_CHUNK)?
            };
            if chunk.is_empty() {
                return Ok(());
            }
            let mut at = 0usize;
            while at + HEADER_LEN <= chunk.len() {
                let h = BatchHeader::parse(&chunk[at..])?;
                let end = at + h.total_len();
                if end > chunk.len() {
                    break;
                }
                f(pos + at as u64, &h, &chunk[at..end])?;
                at = end;
            }
            if at == 0 {
                // Not even one whole batch: a cut-off tail, which recovery should have removed.
                return Err(Error::CorruptBatch(format!(
                    "segment {base} of {} ends in a partial batch at byte {pos}",
                    self.dir.display()
                )));
            }
            pos += at as u64;
        }
    }

    /// Swaps in the cleaned bytes for the segment at `base`, if it is still there unchanged.
    fn replace_segment(&self, base: i64, expected_size: u64, cleaned: &[u8]) -> Result<bool> {
        let stem = file_stem(base);
        let tmp = self.dir.join(format!("{stem}.log.cleaned"));
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(cleaned)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        drop(f);
        let mut st = self.state.write();
        let still_there = !self.is_retired()
            && st
                .segments
                .get(&base)
                .is_some_and(|s| s.size() == expected_size)
            && st.active().base_offset() != base;
        if !still_there {
            let _ = std::fs::remove_file(&tmp);
            return Ok(false);
        }
        let settings = st.settings();
        // Indexes first, then an atomic rename over the .log: a crash in between leaves the
        // old or the new data, never neither, and missing indexes are rebuilt on open.
        let old = st.segments.remove(&base);
        for ext in ["index", "timeindex"] {
            let p = self.dir.join(format!("{stem}.{ext}"));
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
        }
        let log_path = self.dir.join(format!("{stem}.log"));
        std::fs::rename(&tmp, &log_path).map_err(|e| Error::io(&log_path, e))?;
        checkpoint::sync_dir(&self.dir)?;
        drop(old);
        let (seg, _) = Segment::open(&self.dir, base, settings, false, true)?;
        seg.flush()?;
        st.segments.insert(base, seg);
        tracing::info!(dir = %self.dir.display(), base, before = expected_size, after = cleaned.len(), "compacted segment");
        Ok(true)
    }
}
