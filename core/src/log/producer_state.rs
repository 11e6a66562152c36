//! Idempotent producer state of one partition: for each producer id, its epoch and the
//! sequence ranges and offsets of its last five batches, so a retried batch is acknowledged
//! with its original offsets instead of being appended twice, and a gap in sequences is
//! refused. Snapshotted at checkpoints (`producer-state.json`) and rebuilt past the snapshot
//! from batch headers, so dedup survives restarts.

use crate::error::{Error, Result};
use crate::records::batch::BatchHeader;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::path::Path;

/// Kafka keeps the last five batches per producer (max.in.flight.requests.per.connection).
pub const RETAINED_BATCHES: usize = 5;
pub const SNAPSHOT_FILE: &str = "producer-state.json";
/// `producer.id.expiration.ms`: a producer silent this long is forgotten.
pub const PRODUCER_EXPIRATION_MS: i64 = 86_400_000;

/// Where one batch of a producer landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub recent: VecDeque<BatchMeta>,
    /// Wall-clock time of the last append, for expiration.
    pub last_append_ms: i64,
    /// The max timestamp of the producer's last batch, as it sent it (DescribeProducers'
    /// `last_timestamp`); -1 in snapshots written before it was kept.
    #[serde(default = "no_timestamp")]
    pub last_timestamp: i64,
}

fn no_timestamp() -> i64 {
    -1
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not idempotent, or the next batch in sequence: append it.
    Append,
    /// A retry of a batch already in the log: answer with where it landed.
    Duplicate(BatchMeta),
}

/// The outcome of [`ProducerState::prepare`].
#[derive(Debug)]
pub enum Prepared {
    /// Write the batches, then [`ProducerState::commit`] this.
    Append(Pending),
    /// The lone batch is a retry of one in the log: answer with where it landed.
    Duplicate(BatchMeta),
}

/// Producer state an append will leave, applied by [`ProducerState::commit`] after the write.
#[derive(Debug)]
pub struct Pending {
    touched: HashMap<i64, ProducerEntry>,
}

impl ProducerEntry {
    fn new(epoch: i16, now_ms: i64) -> ProducerEntry {
        ProducerEntry {
            epoch,
            recent: VecDeque::new(),
            last_append_ms: now_ms,
            last_timestamp: -1,
        }
    }

    fn record(&mut self, h: &BatchHeader, base_offset: i64, now_ms: i64) {
        if h.producer_epoch != self.epoch {
            self.epoch = h.producer_epoch;
            self.recent.clear();
        }
        self.recent.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: last_seq(h),
            base_offset,
            last_offset: base_offset + h.last_offset_delta as i64,
        });
        while self.recent.len() > RETAINED_BATCHES {
            self.recent.pop_front();
        }
        self.last_append_ms = self.last_append_ms.max(now_ms);
        self.last_timestamp = h.max_timestamp;
    }

    /// The last sequence number the producer wrote (-1 when none is kept).
    pub fn last_sequence(&self) -> i32 {
        self.recent.back().map_or(-1, |b| b.last_seq)
    }
}

/// Decides whether `h` is appended, is a duplicate, or is refused, given its producer's entry.
fn check_against(entry: Option<&ProducerEntry>, h: &BatchHeader) -> Result<SequenceCheck> {
    if h.producer_id < 0 {
        return Ok(SequenceCheck::Append);
    }
    if h.base_sequence < 0 {
        return Err(Error::InvalidRecord(format!(
            "producer {} sent base sequence {}",
            h.producer_id, h.base_sequence
        )));
    }
    let Some(entry) = entry else {
        // Unknown here (new, or its state expired): any starting sequence is accepted.
        return Ok(SequenceCheck::Append);
    };
    if h.producer_epoch < entry.epoch {
        return Err(Error::InvalidProducerEpoch {
            producer_id: h.producer_id,
            epoch: h.producer_epoch,
            current: entry.epoch,
        });
    }
    if h.producer_epoch > entry.epoch {
        if h.base_sequence != 0 {
            return Err(Error::OutOfOrderSequence(format!(
                "producer {} starts epoch {} at sequence {}, not 0",
                h.producer_id, h.producer_epoch, h.base_sequence
            )));
        }
        return Ok(SequenceCheck::Append);
    }
    let last = last_seq(h);
    if let Some(dup) = entry
        .recent
        .iter()
        .find(|b| b.first_seq == h.base_sequence && b.last_seq == last)
    {
        return Ok(SequenceCheck::Duplicate(*dup));
    }
    let expected = entry.recent.back().map_or(0, |b| next_seq(b.last_seq));
    if entry.recent.is_empty() || h.base_sequence == expected {
        return Ok(SequenceCheck::Append);
    }
    Err(Error::OutOfOrderSequence(format!(
        "producer {} epoch {}: expected sequence {expected}, got {}",
        h.producer_id, h.producer_epoch, h.base_sequence
    )))
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerState {
    producers: HashMap<i64, ProducerEntry>,
}

/// The sequence after `seq`; Kafka wraps from i32::MAX to 0.
fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

fn last_seq(h: &BatchHeader) -> i32 {
    let last = h.base_sequence as i64 + h.last_offset_delta as i64;
    if last > i32::MAX as i64 {
        (last - i32::MAX as i64 - 1) as i32
    } else {
        last as i32
    }
}

impl ProducerState {
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer with state here, by producer id.
    pub fn producers(&self) -> impl Iterator<Item = (i64, &ProducerEntry)> {
        self.producers.iter().map(|(id, e)| (*id, e))
    }

    /// Decides whether `h` is appended, is a duplicate, or is refused.
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck> {
        check_against(self.producers.get(&h.producer_id), h)
    }

    /// Records a batch that was appended at `base_offset` (its header as the producer sent it).
    pub fn record(&mut self, h: &BatchHeader, base_offset: i64, now_ms: i64) {
        if h.producer_id < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry::new(h.producer_epoch, now_ms));
        entry.record(h, base_offset, now_ms);
    }

    /// The first step of an append: checks its batches in order, each against the state the
    /// earlier ones leave (kept for just the producers involved, not a copy of the whole
    /// state), before a byte is written. A lone batch that is a retry is
    /// [`Prepared::Duplicate`]; a retry among others is refused, as Kafka does.
    pub fn prepare<'a>(
        &self,
        batches: impl ExactSizeIterator<Item = (&'a BatchHeader, i64)>,
        now_ms: i64,
    ) -> Result<Prepared> {
        let alone = batches.len() == 1;
        let mut touched: HashMap<i64, ProducerEntry> = HashMap::new();
        for (h, base_offset) in batches {
            let entry = touched
                .get(&h.producer_id)
                .or_else(|| self.producers.get(&h.producer_id));
            match check_against(entry, h)? {
                SequenceCheck::Append => {}
                SequenceCheck::Duplicate(m) if alone => return Ok(Prepared::Duplicate(m)),
                SequenceCheck::Duplicate(_) => {
                    return Err(Error::InvalidRecord(
                        "a retried idempotent batch must be sent alone".into(),
                    ))
                }
            }
            if h.producer_id < 0 {
                continue;
            }
            let entry = touched.entry(h.producer_id).or_insert_with(|| {
                self.producers
                    .get(&h.producer_id)
                    .cloned()
                    .unwrap_or_else(|| ProducerEntry::new(h.producer_epoch, now_ms))
            });
            entry.record(h, base_offset, now_ms);
        }
        Ok(Prepared::Append(Pending { touched }))
    }

    /// The last step of an append, once its bytes are written: the producers' new state.
    pub fn commit(&mut self, pending: Pending) {
        self.producers.extend(pending.touched);
    }

    /// Forgets batches at or after `offset` (the log was truncated there).
    pub fn truncate_to(&mut self, offset: i64) {
        for entry in self.producers.values_mut() {
            entry.recent.retain(|b| b.last_offset < offset);
        }
        self.producers.retain(|_, e| !e.recent.is_empty());
    }

    /// Forgets producers silent for longer than `producer.id.expiration.ms`.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| now_ms.saturating_sub(e.last_append_ms) <= PRODUCER_EXPIRATION_MS);
        before - self.producers.len()
    }
}

/// The snapshot on disk: the state as of every offset below `end_offset`.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    end_offset: i64,
    state: ProducerState,
}

/// Writes the snapshot atomically.
pub fn write_snapshot(dir: &Path, end_offset: i64, state: &ProducerState) -> Result<()> {
    let tmp = crate::log::checkpoint::temp_path(dir, SNAPSHOT_FILE);
    let path = dir.join(SNAPSHOT_FILE);
    let bytes = serde_json::to_vec(&Snapshot {
        end_offset,
        state: state.clone(),
    })
    .map_err(|e| Error::io(&tmp, std::io::Error::other(e)))?;
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

/// Loads the snapshot if it is readable and does not claim offsets beyond `log_end`.
pub fn read_snapshot(dir: &Path, log_end: i64) -> Option<(i64, ProducerState)> {
    let path = dir.join(SNAPSHOT_FILE);
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice::<Snapshot>(&bytes) {
        Ok(s) if s.end_offset <= log_end => Some((s.end_offset, s.state)),
        Ok(_) => {
            tracing::info!(path = %path.display(), "producer snapshot is past the log end; rebuilding");
            None
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), "ignoring unreadable producer snapshot: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32) -> BatchHeader {
        BatchHeader {
            base_offset: 0,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            record_count: count,
        }
    }

    #[test]
    fn prepare_sees_earlier_batches_and_changes_nothing_until_commit() {
        let mut s = ProducerState::default();
        s.record(&header(7, 0, 0, 5), 0, 0);
        let (b1, b2) = (header(7, 0, 5, 5), header(7, 0, 10, 5));
        let Prepared::Append(pending) = s.prepare([(&b1, 5), (&b2, 10)].into_iter(), 0).unwrap()
        else {
            panic!("two new batches in sequence are appended");
        };
        // Nothing recorded yet: a failed write would leave the state as it was.
        assert_eq!(s.check(&b1).unwrap(), SequenceCheck::Append);
        s.commit(pending);
        assert_eq!(s.get(7).unwrap().recent.len(), 3);
        assert!(matches!(s.check(&b1).unwrap(), SequenceCheck::Duplicate(m) if m.base_offset == 5));
        assert_eq!(
            s.check(&header(7, 0, 15, 1)).unwrap(),
            SequenceCheck::Append
        );

        // A retry among other batches is refused; a lone retry is answered as a duplicate.
        let before = s.clone();
        let fresh = header(7, 0, 15, 1);
        assert!(s.prepare([(&b2, 0), (&fresh, 1)].into_iter(), 0).is_err());
        assert!(matches!(
            s.prepare([(&b2, 0)].into_iter(), 0).unwrap(),
            Prepared::Duplicate(m) if m.base_offset == 10
        ));
        // A gap inside one request is caught against the earlier batch of the same request.
        let gap = header(7, 0, 30, 1);
        assert!(s
            .prepare([(&fresh, 15), (&gap, 16)].into_iter(), 0)
            .is_err());
        assert_eq!(s, before, "refused requests change nothing");
    }

    #[test]
    fn sequences_dedup_gaps_and_epochs() {
        let mut s = ProducerState::default();
        let b0 = header(7, 0, 0, 3);
        assert_eq!(s.check(&b0).unwrap(), SequenceCheck::Append);
        s.record(&b0, 100, 0);
        let b1 = header(7, 0, 3, 2);
        assert_eq!(s.check(&b1).unwrap(), SequenceCheck::Append);
        s.record(&b1, 103, 0);
        // A retry of b0 is a duplicate with its original offsets.
        match s.check(&b0).unwrap() {
            SequenceCheck::Duplicate(m) => assert_eq!((m.base_offset, m.last_offset), (100, 102)),
            other => panic!("{other:?}"),
        }
        // A gap is refused.
        assert_eq!(s.check(&header(7, 0, 9, 1)).unwrap_err().kafka_code(), 45);
        // An older epoch is fenced; a newer one must start at 0.
        s.record(&header(7, 1, 0, 1), 105, 0);
        assert_eq!(s.check(&header(7, 0, 6, 1)).unwrap_err().kafka_code(), 47);
        assert_eq!(s.check(&header(7, 2, 4, 1)).unwrap_err().kafka_code(), 45);
        assert_eq!(s.check(&header(7, 2, 0, 1)).unwrap(), SequenceCheck::Append);
        // Only the last five batches are remembered.
        for i in 1..=6 {
            s.record(&header(7, 1, i, 1), 105 + i as i64, 0);
        }
        assert_eq!(s.get(7).unwrap().recent.len(), RETAINED_BATCHES);
        // Non-idempotent batches are always appended.
        assert_eq!(
            s.check(&header(-1, -1, -1, 1)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn sequence_wraps_after_i32_max() {
        let mut s = ProducerState::default();
        let near = header(1, 0, i32::MAX - 1, 2);
        s.record(&near, 0, 0);
        assert_eq!(s.get(1).unwrap().recent[0].last_seq, i32::MAX);
        assert_eq!(s.check(&header(1, 0, 0, 1)).unwrap(), SequenceCheck::Append);
    }

    #[test]
    fn truncation_and_expiry_forget() {
        let mut s = ProducerState::default();
        s.record(&header(1, 0, 0, 1), 10, 0);
        s.record(&header(2, 0, 0, 1), 20, 1_000);
        s.truncate_to(15);
        assert!(s.get(2).is_none());
        assert_eq!(s.expire(PRODUCER_EXPIRATION_MS + 1), 1);
        assert!(s.is_empty());
    }
}
