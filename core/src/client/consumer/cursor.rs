//! The delivery cursor: per assigned partition, the records fetched and not yet handed out,
//! the position (the next offset handed out, which is what a commit covers), and whether it is
//! paused. `take` hands out at most N records in fetch order; a paused partition keeps its
//! records but withholds them until resumed; a seek drops only that partition's records.
//! Seeks and pauses of partitions the group has not assigned yet are queued and applied when
//! an assignment brings them, so bindings never rewind or re-fetch to keep positions right.

use super::types::{ConsumerRecord, TopicPartition};
use crate::client::error::{ClientError, ClientResult};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The consumer's state of one assigned partition.
#[derive(Debug, Clone, Default)]
pub struct PartitionState {
    /// Next offset handed out; `None` until initialised from a commit or the reset policy.
    pub position: Option<i64>,
    /// Next offset to fetch (after the records buffered).
    pub(super) fetch_position: i64,
    pub paused: bool,
    /// Fetched, not handed out yet, in offset order.
    pub(super) buffer: VecDeque<ConsumerRecord>,
    pub high_watermark: i64,
    /// Set when the broker said OFFSET_OUT_OF_RANGE: the position must be reset.
    pub out_of_range: bool,
}

impl PartitionState {
    /// Moves to `offset`, dropping what was fetched from elsewhere.
    fn seek(&mut self, offset: i64) {
        self.position = Some(offset);
        self.fetch_position = offset;
        self.out_of_range = false;
        self.buffer.clear();
    }

    /// How many records wait to be handed out.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}

/// What to do to a partition once an assignment brings it.
#[derive(Debug, Default)]
struct Queued {
    seeks: BTreeMap<TopicPartition, i64>,
    pauses: BTreeSet<TopicPartition>,
}

#[derive(Debug, Default)]
pub struct Cursor {
    partitions: BTreeMap<TopicPartition, PartitionState>,
    /// Partitions that had records buffered, in the order their records arrived. Entries
    /// whose partition has since been drained, sought or revoked are skipped lazily.
    ready: VecDeque<TopicPartition>,
    queued: Queued,
}

fn not_assigned(tp: &TopicPartition) -> ClientError {
    ClientError::IllegalState(format!("{tp} is not assigned to this consumer"))
}

impl Cursor {
    /// Replaces the assignment, keeping the state (and records) of partitions that stay and
    /// applying what was queued for partitions that arrive.
    pub fn set_assignment(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let mut next = BTreeMap::new();
        for tp in partitions {
            let mut state = self.partitions.remove(&tp).unwrap_or_default();
            if let Some(offset) = self.queued.seeks.remove(&tp) {
                state.seek(offset);
            }
            if self.queued.pauses.remove(&tp) {
                state.paused = true;
            }
            next.insert(tp, state);
        }
        self.partitions = next;
    }

    /// Forgets seeks and pauses queued for partitions not assigned yet.
    pub fn clear_queued(&mut self) {
        self.queued = Queued::default();
    }

    pub fn assigned(&self) -> impl Iterator<Item = &TopicPartition> {
        self.partitions.keys()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&TopicPartition, &PartitionState)> {
        self.partitions.iter()
    }

    pub fn is_assigned(&self, tp: &TopicPartition) -> bool {
        self.partitions.contains_key(tp)
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<&PartitionState> {
        self.partitions.get(tp)
    }

    pub(super) fn get_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionState> {
        self.partitions.get_mut(tp)
    }

    /// Moves `tp` to `offset`; `queue` allows remembering it for when `tp` is assigned.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64, queue: bool) -> ClientResult<()> {
        match self.partitions.get_mut(tp) {
            Some(state) => {
                state.seek(offset);
                Ok(())
            }
            None if queue => {
                self.queued.seeks.insert(tp.clone(), offset);
                Ok(())
            }
            None => Err(not_assigned(tp)),
        }
    }

    /// Pauses or resumes `tp`; `queue` allows remembering it for when `tp` is assigned.
    /// Paused records stay buffered: resuming hands them out without fetching them again.
    pub fn pause(&mut self, tp: &TopicPartition, paused: bool, queue: bool) -> ClientResult<()> {
        match self.partitions.get_mut(tp) {
            Some(state) => {
                state.paused = paused;
                if !paused && !state.buffer.is_empty() && !self.ready.contains(tp) {
                    self.ready.push_back(tp.clone());
                }
                Ok(())
            }
            None if queue => {
                if paused {
                    self.queued.pauses.insert(tp.clone());
                } else {
                    self.queued.pauses.remove(tp);
                }
                Ok(())
            }
            None => Err(not_assigned(tp)),
        }
    }

    /// Paused partitions, assigned or queued.
    pub fn paused(&self) -> Vec<TopicPartition> {
        let mut out: BTreeSet<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, s)| s.paused)
            .map(|(tp, _)| tp.clone())
            .collect();
        out.extend(self.queued.pauses.iter().cloned());
        out.into_iter().collect()
    }

    /// Files fetched records of `tp` (already checked to start at its fetch position).
    pub(super) fn buffer(&mut self, tp: &TopicPartition, records: Vec<ConsumerRecord>) {
        let Some(state) = self.partitions.get_mut(tp) else {
            return;
        };
        if records.is_empty() {
            if state.buffer.is_empty() {
                state.position = Some(state.fetch_position);
            }
            return;
        }
        if state.buffer.is_empty() {
            self.ready.push_back(tp.clone());
        }
        state.buffer.extend(records);
    }

    /// Whether `take` would hand out a record now.
    pub fn has_deliverable(&self) -> bool {
        self.ready.iter().any(|tp| {
            self.partitions
                .get(tp)
                .is_some_and(|s| !s.paused && !s.buffer.is_empty())
        })
    }

    /// Hands out up to `max` records, advancing the positions past them.
    pub fn take(&mut self, max: usize) -> Vec<ConsumerRecord> {
        // Sized for the common case: the first ready partition holds enough.
        let first = self
            .ready
            .front()
            .and_then(|tp| self.partitions.get(tp))
            .map_or(0, PartitionState::buffered);
        let mut out = Vec::with_capacity(max.min(first));
        let mut skipped = Vec::new();
        while out.len() < max {
            let Some(tp) = self.ready.pop_front() else {
                break;
            };
            let Some(state) = self.partitions.get_mut(&tp) else {
                continue;
            };
            if state.buffer.is_empty() {
                continue;
            }
            if state.paused {
                skipped.push(tp);
                continue;
            }
            let n = (max - out.len()).min(state.buffer.len());
            out.extend(state.buffer.drain(..n));
            if let Some(last) = out.last() {
                state.position = Some(last.offset + 1);
            }
            if state.buffer.is_empty() {
                // Control batches and aborted records after the last record handed out were
                // fetched too: the position moves past them.
                state.position = state.position.max(Some(state.fetch_position));
            } else {
                // More waits: it goes on where it was, ahead of partitions behind it.
                self.ready.push_front(tp);
            }
        }
        // Paused partitions keep their place for when they are resumed.
        for tp in skipped.into_iter().rev() {
            self.ready.push_front(tp);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::fetched::TimestampType;
    use std::sync::Arc;

    fn records(
        topic: &Arc<str>,
        partition: i32,
        offsets: std::ops::Range<i64>,
    ) -> Vec<ConsumerRecord> {
        offsets
            .map(|offset| ConsumerRecord {
                topic: Arc::clone(topic),
                partition,
                offset,
                timestamp: 0,
                timestamp_type: TimestampType::Create,
                key: None,
                value: None,
                headers: Vec::new(),
                leader_epoch: None,
            })
            .collect()
    }

    fn cursor_with(parts: &[TopicPartition]) -> Cursor {
        let mut c = Cursor::default();
        c.set_assignment(parts.iter().cloned());
        for tp in parts {
            c.seek(tp, 0, false).expect("assigned");
        }
        c
    }

    #[test]
    fn take_hands_out_at_most_max_and_positions_follow() {
        let t: Arc<str> = Arc::from("t");
        let tp = TopicPartition::new("t", 0);
        let mut c = cursor_with(std::slice::from_ref(&tp));
        c.get_mut(&tp).expect("assigned").fetch_position = 10;
        c.buffer(&tp, records(&t, 0, 0..10));
        let first = c.take(3);
        assert_eq!(
            first.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(c.get(&tp).and_then(|s| s.position), Some(3));
        let rest = c.take(100);
        assert_eq!(rest.len(), 7);
        assert_eq!(c.get(&tp).and_then(|s| s.position), Some(10));
        assert!(!c.has_deliverable());
    }

    #[test]
    fn paused_records_are_withheld_then_handed_out_without_refetch() {
        let t: Arc<str> = Arc::from("t");
        let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
        let mut c = cursor_with(&[a.clone(), b.clone()]);
        c.buffer(&a, records(&t, 0, 0..5));
        c.buffer(&b, records(&t, 1, 0..5));
        c.pause(&a, true, false).expect("assigned");
        let got = c.take(100);
        assert!(
            got.iter().all(|r| r.partition == 1),
            "paused partition withheld"
        );
        assert_eq!(got.len(), 5);
        assert_eq!(c.get(&a).and_then(|s| s.position), Some(0));
        c.pause(&a, false, false).expect("assigned");
        let got = c.take(100);
        assert_eq!(
            got.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        assert!(got.iter().all(|r| r.partition == 0));
    }

    #[test]
    fn seek_drops_only_that_partitions_records() {
        let t: Arc<str> = Arc::from("t");
        let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
        let mut c = cursor_with(&[a.clone(), b.clone()]);
        c.buffer(&a, records(&t, 0, 0..5));
        c.buffer(&b, records(&t, 1, 0..5));
        c.seek(&a, 42, false).expect("assigned");
        let got = c.take(100);
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|r| r.partition == 1));
        assert_eq!(c.get(&a).and_then(|s| s.position), Some(42));
    }

    #[test]
    fn seeks_and_pauses_wait_for_the_assignment_when_queued() {
        let tp = TopicPartition::new("t", 3);
        let mut c = Cursor::default();
        assert!(
            c.seek(&tp, 7, false).is_err(),
            "unqueued seek of an unassigned partition"
        );
        c.seek(&tp, 7, true).expect("queued");
        c.pause(&tp, true, true).expect("queued");
        assert_eq!(c.paused(), vec![tp.clone()]);
        c.set_assignment([tp.clone()]);
        let state = c.get(&tp).expect("assigned");
        assert_eq!(state.position, Some(7));
        assert!(state.paused);
    }
}
