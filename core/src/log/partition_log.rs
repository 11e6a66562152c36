//! The log of one partition: an ordered set of segments, the last one active. Owns offset
//! assignment, rolling, reads, truncation, the log start offset, durability and recovery.
//! Retention lives in `retention.rs` and compaction in `cleaner.rs`, as further `impl` blocks.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::log::checkpoint;
use crate::log::config::{LogConfig, TopicCompression};
use crate::log::durability::GroupCommit;
use crate::log::producer_state::{self, Prepared, ProducerState};
use crate::log::recovery;
use crate::log::segment::{PendingBatch, Segment, SegmentSettings};
use crate::log::validate;
use crate::records::batch::{self, Codec, LocatedBatch};
use crate::records::recompress;
use crate::records::stored;
use bytes::Bytes;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::io::IoSlice;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// The leader epoch of every partition while strom runs a single node: Metadata reports it,
/// appends stamp it into each batch, OffsetForLeaderEpoch answers for it.
pub const LEADER_EPOCH: i32 = 0;

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The time stamped into the batches for LogAppendTime topics, else -1 (Kafka's convention).
    pub log_append_time: i64,
    pub log_start_offset: i64,
    pub record_count: i64,
}

/// What a read returned.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole batches; the first may start before the requested offset.
    pub records: Bytes,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// Options for opening a log.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub config: LogConfig,
    pub clock: Arc<dyn Clock>,
    /// The broker shut down cleanly last time: trust indexes and skip the CRC rescan.
    pub clean_shutdown: bool,
}

#[derive(Debug)]
pub(crate) struct LogState {
    pub(crate) config: LogConfig,
    pub(crate) segments: BTreeMap<i64, Segment>,
    pub(crate) log_start_offset: i64,
    pub(crate) producers: ProducerState,
}

impl LogState {
    pub(crate) fn active(&self) -> &Segment {
        // A log always has at least one segment: open and every deletion path keep one.
        self.segments
            .values()
            .next_back()
            .unwrap_or_else(|| unreachable!("a log always has an active segment"))
    }

    pub(crate) fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .unwrap_or_else(|| unreachable!("a log always has an active segment"))
    }

    pub(crate) fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    pub(crate) fn settings(&self) -> SegmentSettings {
        settings_of(&self.config)
    }
}

pub(crate) fn settings_of(config: &LogConfig) -> SegmentSettings {
    SegmentSettings {
        index_max_bytes: config.segment_index_bytes,
        index_interval_bytes: config.index_interval_bytes,
    }
}

/// A partition's log. Cheap to share behind an `Arc`; appends serialize on a write lock,
/// reads share a read lock.
#[derive(Debug)]
pub struct PartitionLog {
    pub(crate) dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) state: RwLock<LogState>,
    durability: GroupCommit,
    /// Messages appended since the last flush, and when that flush was (for `flush.messages`
    /// and `flush.ms`). Atomics, so a flush does not need the log's write lock.
    messages_since_flush: AtomicI64,
    /// Set once the log's files are deleted (its topic went): a topic of the same name may
    /// already own the directory, so nothing may touch files by path any more.
    retired: AtomicBool,
    last_flush_ms: AtomicI64,
    /// The log end offset, published after every change so long-polling fetches can wait
    /// for appends instead of sleeping.
    end_offset: tokio::sync::watch::Sender<i64>,
}

impl PartitionLog {
    /// Opens the log in `dir`, creating it if needed. Without a clean shutdown, every segment
    /// from the one holding the recovery point on is rescanned; a torn or corrupt batch cuts
    /// its segment there and removes every later segment, each cut logged.
    pub fn open(dir: impl AsRef<Path>, options: OpenOptions) -> Result<PartitionLog> {
        let dir = dir.as_ref().to_path_buf();
        let now = options.clock.now_ms();
        let loaded = recovery::load(&dir, &options.config, options.clean_shutdown, now)?;
        let log_end = loaded.log_end;
        let state = LogState {
            config: options.config,
            segments: loaded.segments,
            log_start_offset: loaded.log_start_offset,
            producers: loaded.producers,
        };
        Ok(PartitionLog {
            dir,
            clock: options.clock,
            state: RwLock::new(state),
            durability: GroupCommit::new(loaded.durable),
            messages_since_flush: AtomicI64::new(0),
            retired: AtomicBool::new(false),
            last_flush_ms: AtomicI64::new(now),
            end_offset: tokio::sync::watch::Sender::new(log_end),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> LogConfig {
        self.state.read().config.clone()
    }

    /// Replaces the config; applies to the next append, roll and housekeeping pass.
    pub fn set_config(&self, config: LogConfig) {
        let mut st = self.state.write();
        let settings = settings_of(&config);
        for seg in st.segments.values_mut() {
            seg.set_settings(settings);
        }
        st.config = config;
    }

    /// A receiver that sees the log end offset change (appends and truncations).
    pub fn watch_end_offset(&self) -> tokio::sync::watch::Receiver<i64> {
        self.end_offset.subscribe()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.state.read().log_start_offset
    }

    pub fn log_end_offset(&self) -> i64 {
        self.state.read().log_end_offset()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.state.read().segments.values().map(Segment::size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.state.read().segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_bases(&self) -> Vec<i64> {
        self.state.read().segments.keys().copied().collect()
    }

    /// Appends one or more producer batches. All are validated before any byte is written
    /// (header: length, CRC, magic, offset deltas, `max.message.bytes`; then every record, see
    /// [`validate`]); on any error nothing changes. Offsets are assigned by patching each
    /// batch's `baseOffset` on its way to the file.
    pub fn append(&self, batches: &[u8]) -> Result<AppendInfo> {
        let (max, rules, target) = {
            let st = self.state.read();
            let rules = validate::Rules::of(&st.config, self.clock.now_ms());
            (
                st.config.max_message_bytes,
                rules,
                topic_codec(&st.config.compression),
            )
        };
        let located = batch::split_and_validate(batches, max)?;
        // Outside the lock: walking records is the expensive part, and needs no log state.
        let checked = located
            .iter()
            .map(|b| {
                let bytes = &batches[b.position..b.position + b.header.total_len()];
                validate::check_batch(&b.header, bytes, &rules)
            })
            .collect::<Result<Vec<_>>>()?;
        // A topic `compression.type` other than `producer`: batches in another codec are
        // stored in the topic's, as Kafka's log validator recompresses them; the rewritten
        // batches are checked against max.message.bytes again.
        if let Some((codec, level)) = target {
            if let Some(rewritten) = recompressed(batches, &located, codec, level)? {
                let located = batch::split_and_validate(&rewritten, max)?;
                return self.append_checked(&rewritten, &located, &checked);
            }
        }
        self.append_checked(batches, &located, &checked)
    }

    /// The append of validated batches.
    fn append_checked(
        &self,
        batches: &[u8],
        located: &[LocatedBatch],
        checked: &[validate::Checked],
    ) -> Result<AppendInfo> {
        let info = {
            let mut st = self.state.write();
            let info = self.append_locked(&mut st, batches, located, checked)?;
            self.end_offset.send_replace(info.last_offset + 1);
            info
        };
        self.maybe_flush_by_count(info.last_offset + 1)?;
        Ok(info)
    }

    fn append_locked(
        &self,
        st: &mut LogState,
        batches: &[u8],
        located: &[LocatedBatch],
        checked: &[validate::Checked],
    ) -> Result<AppendInfo> {
        let now = self.clock.now_ms();
        let base_offset = st.log_end_offset();
        let stamp = st.config.log_append_time;
        let mut next = base_offset;
        let mut pending = Vec::with_capacity(located.len());
        let mut records = 0i64;
        for (b, c) in located.iter().zip(checked) {
            let h = &b.header;
            pending.push(PendingBatch {
                len: h.total_len(),
                base_offset: next,
                last_offset: next + h.last_offset_delta as i64,
                max_timestamp: if stamp { now } else { c.max_timestamp },
            });
            records += h.record_count as i64;
            next += h.last_offset_delta as i64 + 1;
        }
        let last_offset = next - 1;
        // Idempotence is decided before a byte is written (prepare) and recorded after the
        // write succeeded (commit).
        let producers = st.producers.prepare(
            located
                .iter()
                .zip(&pending)
                .map(|(b, p)| (&b.header, p.base_offset)),
            now,
        )?;
        let producers = match producers {
            Prepared::Append(producers) => producers,
            Prepared::Duplicate(m) => {
                return Ok(AppendInfo {
                    base_offset: m.base_offset,
                    last_offset: m.last_offset,
                    log_append_time: -1,
                    log_start_offset: st.log_start_offset,
                    record_count: located.iter().map(|b| b.header.record_count as i64).sum(),
                });
            }
        };
        let incoming_ts = pending.iter().map(|p| p.max_timestamp).max().unwrap_or(now);
        self.maybe_roll(st, batches.len() as u64, last_offset, incoming_ts)?;
        let epoch = LEADER_EPOCH.to_be_bytes();

        // baseOffset and partitionLeaderEpoch sit outside the CRC; the leader stamps both, as
        // Kafka does, so consumers validating epochs see the epoch Metadata reports.
        let headers: Vec<[u8; 16]> = located
            .iter()
            .zip(&pending)
            .map(|(b, p)| {
                let mut h = [0u8; 16];
                h[..8].copy_from_slice(&p.base_offset.to_be_bytes());
                h[8..12].copy_from_slice(&batches[b.position + 8..b.position + 12]);
                h[12..].copy_from_slice(&epoch);
                h
            })
            .collect();
        let stamped;
        let mut slices = Vec::with_capacity(located.len() * 2);
        if stamp || checked.iter().any(|c| c.fix_header) {
            // Timestamps are CRC-covered bytes, so rewriting them needs a copy: LogAppendTime
            // topics always, CreateTime ones when a header's maxTimestamp lies (Kafka fixes it
            // in place the same way).
            let mut copy = batches.to_vec();
            for ((b, p), c) in located.iter().zip(&pending).zip(checked) {
                let one = &mut copy[b.position..b.position + p.len];
                batch::patch_base_offset(one, p.base_offset);
                one[12..16].copy_from_slice(&epoch);
                if stamp {
                    batch::stamp_log_append_time(one, now);
                } else if c.fix_header {
                    batch::stamp_create_time(one, c.max_timestamp);
                }
            }
            stamped = copy;
            slices.push(IoSlice::new(&stamped));
        } else {
            for (b, h) in located.iter().zip(&headers) {
                slices.push(IoSlice::new(h));
                slices.push(IoSlice::new(
                    &batches[b.position + 16..b.position + b.header.total_len()],
                ));
            }
        }
        st.active_mut().append(&slices, &pending)?;
        st.producers.commit(producers);
        self.messages_since_flush
            .fetch_add(records, Ordering::Relaxed);
        Ok(AppendInfo {
            base_offset,
            last_offset,
            log_append_time: if stamp { now } else { -1 },
            log_start_offset: st.log_start_offset,
            record_count: records,
        })
    }

    /// Rolls to a new active segment when the next append would overflow it by size, its
    /// indexes are full, it spans more than `segment.ms`, or relative offsets would overflow.
    fn maybe_roll(
        &self,
        st: &mut LogState,
        incoming: u64,
        last_offset: i64,
        incoming_ts: i64,
    ) -> Result<()> {
        let cfg = st.config.clone();
        let active = st.active();
        if active.is_empty() {
            return Ok(());
        }
        let too_big = active.size() + incoming > cfg.segment_bytes;
        // As Kafka: the incoming batch's timestamp against the first batch's, so a producer
        // whose clock is far behind does not roll a segment on every append.
        // `segment.jitter.ms` takes a per-segment amount off segment.ms, so logs created
        // together do not all roll at once (Kafka draws it at random per segment; here it
        // comes from the segment's base offset, so it survives a restart).
        let roll_after = cfg.segment_ms
            - roll_jitter(active.base_offset(), cfg.segment_jitter_ms, cfg.segment_ms);
        let too_old = active
            .rolling_timestamp()
            .is_some_and(|t| incoming_ts.saturating_sub(t) > roll_after);
        let offsets_overflow = last_offset - active.base_offset() > u32::MAX as i64;
        if too_big || too_old || offsets_overflow || active.indexes_full() {
            self.roll(st)?;
        }
        Ok(())
    }

    /// Seals the active segment and starts a new one at the log end offset.
    pub(crate) fn roll(&self, st: &mut LogState) -> Result<()> {
        let base = st.log_end_offset();
        let settings = st.settings();
        // Sealing flushes the indexes of the old segment: once the recovery point passes it,
        // recovery will trust them without a rescan.
        let active = st.active_mut();
        active.seal()?;
        active.flush()?;
        st.segments
            .insert(base, Segment::create(&self.dir, base, settings)?);
        Ok(())
    }

    /// Reads whole batches starting with the one holding `offset`, up to `max_bytes` (but
    /// always at least one batch). Reading at the log end returns empty records.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult> {
        let st = self.state.read();
        self.refuse_if_retired()?;
        let log_end = st.log_end_offset();
        let log_start = st.log_start_offset;
        if offset < log_start || offset > log_end {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start,
                log_end,
            });
        }
        let mut records = Bytes::new();
        if offset < log_end {
            let floor = st
                .segments
                .range(..=offset)
                .next_back()
                .map_or(i64::MIN, |(b, _)| *b);
            for seg in st.segments.range(floor..).map(|(_, s)| s) {
                if let Some((pos, first)) = seg.find(offset)? {
                    records = seg.read_batches(pos, max_bytes, first.total_len())?;
                    break;
                }
            }
        }
        Ok(ReadResult {
            records,
            log_start_offset: log_start,
            log_end_offset: log_end,
        })
    }

    /// Decodes every record from the log start to the current end, in order, and hands each to
    /// `f`. For the internal logs (metadata, group offsets) that are replayed at start; the
    /// data path never decodes records. A batch that cannot be decoded is logged and skipped,
    /// and after unreadable bytes the replay goes on at the next segment: damaged bytes on
    /// disk must not stop the broker from starting.
    pub fn replay_records(
        &self,
        mut f: impl FnMut(kafka_protocol::records::Record) -> Result<()>,
    ) -> Result<()> {
        let mut offset = self.log_start_offset();
        let end = self.log_end_offset();
        // Past damage the replay goes on at the next segment, so one bad spot loses only
        // what it covers.
        let skip_to_next_segment = |offset: i64, why: &dyn std::fmt::Display| -> Option<i64> {
            let next = self.segment_bases().into_iter().find(|&b| b > offset);
            tracing::error!(dir = %self.dir.display(), offset, next_segment = ?next, "replay skips unreadable data: {why}");
            next
        };
        'replay: while offset < end {
            let chunk = match self.read(offset, 1 << 20) {
                Ok(r) => r.records,
                Err(e) => match skip_to_next_segment(offset, &e) {
                    Some(next) => {
                        offset = next;
                        continue;
                    }
                    None => break,
                },
            };
            if chunk.is_empty() {
                break;
            }
            let mut at = 0;
            while at < chunk.len() {
                let h = match batch::BatchHeader::parse(&chunk[at..]) {
                    Ok(h) if at + h.total_len() <= chunk.len() => h,
                    Ok(_) | Err(_) => match skip_to_next_segment(offset, &"a batch header") {
                        Some(next) => {
                            offset = next;
                            continue 'replay;
                        }
                        None => break 'replay,
                    },
                };
                match stored::decode_batch(&chunk[at..at + h.total_len()]) {
                    Ok(recs) => {
                        for r in recs.into_iter().filter(|r| r.offset >= offset) {
                            f(r)?;
                        }
                    }
                    Err(e) => tracing::error!(
                        dir = %self.dir.display(),
                        base_offset = h.base_offset,
                        "skipping a batch that cannot be decoded: {e}"
                    ),
                }
                offset = offset.max(h.last_offset() + 1);
                at += h.total_len();
            }
        }
        Ok(())
    }

    /// The first record with a timestamp ≥ `timestamp`: its offset and timestamp.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let st = self.state.read();
        for seg in st.segments.values() {
            if seg.max_timestamp() < timestamp {
                continue;
            }
            if let Some((pos, h)) = seg.find_by_timestamp(timestamp)? {
                let bytes = seg.read(pos, h.total_len())?;
                let batch = bytes.get(..h.total_len()).unwrap_or(&bytes);
                // Walked, not decoded: a batch of millions of tiny records costs no memory.
                let mut hit = None;
                let walked = stored::walk_stored(&h, batch, |r| {
                    let offset = h.base_offset + i64::from(r.offset_delta);
                    let ts = if h.is_log_append_time() {
                        h.max_timestamp
                    } else {
                        h.base_timestamp.wrapping_add(r.timestamp_delta)
                    };
                    if hit.is_none() && ts >= timestamp && offset >= st.log_start_offset {
                        hit = Some((offset, ts));
                    }
                    Ok(())
                });
                if let Err(e) = walked {
                    // The header says the batch reaches the timestamp: its first offset is
                    // the best answer the damaged batch allows.
                    tracing::error!(dir = %self.dir.display(), base_offset = h.base_offset, "offset by time: batch cannot be decoded: {e}");
                    return Ok(Some((
                        h.base_offset.max(st.log_start_offset),
                        h.max_timestamp,
                    )));
                }
                if hit.is_some() {
                    return Ok(hit);
                }
            }
        }
        Ok(None)
    }

    /// The record with the largest timestamp (the earliest such, as Kafka answers
    /// ListOffsets MAX_TIMESTAMP): its offset and timestamp.
    pub fn max_timestamp_record(&self) -> Result<Option<(i64, i64)>> {
        let max = self
            .state
            .read()
            .segments
            .values()
            .map(Segment::max_timestamp)
            .max()
            .unwrap_or(-1);
        if max < 0 {
            return Ok(None);
        }
        self.offset_for_timestamp(max)
    }

    /// Removes every record at or after `offset` (whole batches: the batch holding `offset`
    /// goes too). Used by replication to cut a diverged tail.
    pub fn truncate_to(&self, offset: i64) -> Result<()> {
        let mut st = self.state.write();
        if offset >= st.log_end_offset() {
            return Ok(());
        }
        let doomed: Vec<i64> = st
            .segments
            .range(offset.saturating_add(1)..)
            .map(|(b, _)| *b)
            .collect();
        for base in doomed {
            if st.segments.len() == 1 {
                break;
            }
            if let Some(seg) = st.segments.remove(&base) {
                seg.delete()?;
            }
        }
        let settings = st.settings();
        if st.segments.is_empty() {
            st.segments
                .insert(offset, Segment::create(&self.dir, offset, settings)?);
        }
        let active = st.active_mut();
        active.truncate_to(offset)?;
        active.activate()?;
        let end = st.log_end_offset();
        st.producers.truncate_to(end);
        if st.log_start_offset > end {
            st.log_start_offset = end;
            checkpoint::write(&self.dir, checkpoint::LOG_START_OFFSET, end)?;
        }
        self.durability.lower_to(end);
        self.end_offset.send_replace(end);
        if checkpoint::read(&self.dir, checkpoint::RECOVERY_POINT).is_some_and(|rp| rp > end) {
            checkpoint::write(&self.dir, checkpoint::RECOVERY_POINT, end)?;
        }
        Ok(())
    }

    /// Closes the `.log` descriptors of sealed, fully durable segments that nothing read since
    /// the last call (housekeeping calls it every pass); they reopen on the next read.
    /// Returns how many were closed.
    pub fn close_idle_files(&self) -> usize {
        let durable = self.durability.durable();
        let st = self.state.read();
        if self.is_retired() {
            return 0;
        }
        let active = st.active().base_offset();
        st.segments
            .values()
            .filter(|s| s.base_offset() != active && s.next_offset() <= durable)
            .filter(|s| s.close_file_if_idle())
            .count()
    }

    /// `.log` descriptors this partition holds open now.
    pub fn open_files(&self) -> usize {
        let st = self.state.read();
        st.segments.values().filter(|s| s.file_is_open()).count()
    }

    /// Blocks until every offset below `end` is fsync'd; concurrent callers share fsyncs.
    pub fn wait_durable(&self, end: i64) -> Result<()> {
        self.durability.wait_durable(end, || self.flush_appended())
    }

    /// The offset below which everything is known to be on disk.
    pub fn durable_offset(&self) -> i64 {
        self.durability.durable()
    }

    /// fsyncs every segment that may hold unflushed data and returns the log end offset it
    /// covered. Runs without the log lock: appends continue during the fsync.
    fn flush_appended(&self) -> Result<i64> {
        let durable = self.durability.durable();
        let (end, files) = {
            let st = self.state.read();
            self.messages_since_flush.store(0, Ordering::Relaxed);
            self.last_flush_ms
                .store(self.clock.now_ms(), Ordering::Relaxed);
            let files: Vec<_> = st
                .segments
                .values()
                .filter(|s| s.next_offset() > durable || s.base_offset() >= durable)
                .map(|s| (s.log_file(), s.log_path().to_path_buf()))
                .collect();
            (st.log_end_offset(), files)
        };
        for (file, path) in files {
            file?.sync_data().map_err(|e| Error::io(path, e))?;
        }
        Ok(end)
    }

    fn maybe_flush_by_count(&self, end: i64) -> Result<()> {
        let due = {
            let st = self.state.read();
            self.messages_since_flush.load(Ordering::Relaxed) >= st.config.flush_messages
        };
        if due {
            self.wait_durable(end)?;
        }
        Ok(())
    }

    /// Flushes when `flush.ms` has passed since the last flush (called by housekeeping).
    pub fn flush_if_due(&self) -> Result<()> {
        let (due, end) = {
            let st = self.state.read();
            let idle = self
                .clock
                .now_ms()
                .saturating_sub(self.last_flush_ms.load(Ordering::Relaxed));
            (
                self.messages_since_flush.load(Ordering::Relaxed) > 0 && idle >= st.config.flush_ms,
                st.log_end_offset(),
            )
        };
        if due {
            self.wait_durable(end)?;
        }
        Ok(())
    }

    /// Flushes everything and records the recovery point, so a restart after a crash rescans
    /// only what came later.
    pub fn checkpoint(&self) -> Result<()> {
        if self.is_retired() {
            return Ok(());
        }
        let end = self.log_end_offset();
        self.wait_durable(end)?;
        checkpoint::write(&self.dir, checkpoint::RECOVERY_POINT, self.durable_offset())?;
        let (end, producers) = {
            let mut st = self.state.write();
            st.producers.expire(self.clock.now_ms());
            (st.log_end_offset(), st.producers.clone())
        };
        producer_state::write_snapshot(&self.dir, end, &producers)
    }

    /// The idempotent producer state (a copy), for inspection.
    pub fn producer_state(&self) -> ProducerState {
        self.state.read().producers.clone()
    }

    /// Flushes, checkpoints and trims the active segment's indexes: the state a clean
    /// shutdown leaves behind.
    pub fn close(&self) -> Result<()> {
        self.checkpoint()?;
        let mut st = self.state.write();
        let active = st.active_mut();
        active.seal()?;
        active.flush()
    }

    /// Removes the log's directory (topic deletion).
    pub fn delete_files(&self) -> Result<()> {
        // Under the write lock: a reader or housekeeping step either finished before, or sees
        // the flag and stops, before the directory can be reused by a new topic.
        let _st = self.state.write();
        self.retired.store(true, Ordering::SeqCst);
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }

    /// Whether the log's files were deleted ([`Self::delete_files`]).
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::SeqCst)
    }

    pub(crate) fn refuse_if_retired(&self) -> Result<()> {
        if self.is_retired() {
            return Err(Error::UnknownTopicOrPartition {
                topic: self.dir.display().to_string(),
                partition: -1,
            });
        }
        Ok(())
    }
}

/// The codec (and level) a topic's `compression.type` stores batches in; `None` for
/// `producer`. Gzip's level -1 is its default.
fn topic_codec(c: &TopicCompression) -> Option<(Codec, Option<i32>)> {
    match *c {
        TopicCompression::Producer => None,
        TopicCompression::Uncompressed => Some((Codec::None, None)),
        TopicCompression::Gzip { level } => Some((Codec::Gzip, Some(level).filter(|l| *l > 0))),
        TopicCompression::Snappy => Some((Codec::Snappy, None)),
        TopicCompression::Lz4 { level } => Some((Codec::Lz4, Some(level))),
        TopicCompression::Zstd { level } => Some((Codec::Zstd, Some(level))),
    }
}

/// `batches` with every batch not in `codec` recompressed into it, or `None` when all were.
fn recompressed(
    batches: &[u8],
    located: &[LocatedBatch],
    codec: Codec,
    level: Option<i32>,
) -> Result<Option<Vec<u8>>> {
    let mut out: Option<Vec<u8>> = None;
    for (i, b) in located.iter().enumerate() {
        let bytes = &batches[b.position..b.position + b.header.total_len()];
        match recompress::recompress(&b.header, bytes, codec, level)? {
            Some(new) => {
                let buf = out.get_or_insert_with(|| {
                    // The batches before this one, as they were.
                    let mut buf = Vec::with_capacity(batches.len());
                    for earlier in &located[..i] {
                        buf.extend_from_slice(
                            &batches
                                [earlier.position..earlier.position + earlier.header.total_len()],
                        );
                    }
                    buf
                });
                buf.extend_from_slice(&new);
            }
            None => {
                if let Some(buf) = out.as_mut() {
                    buf.extend_from_slice(bytes);
                }
            }
        }
    }
    Ok(out)
}

/// A segment's `segment.jitter.ms` share: in `0..min(jitter, segment.ms)`, spread by a hash
/// of its base offset (splitmix64).
fn roll_jitter(base_offset: i64, jitter_ms: i64, segment_ms: i64) -> i64 {
    let bound = jitter_ms.min(segment_ms);
    if bound <= 0 {
        return 0;
    }
    let mut z = (base_offset as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % bound as u64) as i64
}

#[cfg(test)]
mod jitter_tests {
    use super::roll_jitter;

    #[test]
    fn jitter_stays_below_its_bound_and_varies() {
        assert_eq!(roll_jitter(7, 0, 1000), 0);
        let values: Vec<i64> = (0..50).map(|b| roll_jitter(b * 1000, 600, 1000)).collect();
        assert!(values.iter().all(|j| (0..600).contains(j)));
        assert!(values.windows(2).any(|w| w[0] != w[1]), "{values:?}");
        assert!(
            (0..50).all(|b| roll_jitter(b, 5000, 1000) < 1000),
            "bounded by segment.ms"
        );
    }
}
