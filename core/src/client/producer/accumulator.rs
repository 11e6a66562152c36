//! The record accumulator: one queue of batches per partition. `send` appends a record to
//! its partition's open batch (records are encoded straight into the batch's bytes); a batch
//! is sealed when the next record would overflow `batch.size`, and drained by the sender when
//! sealed, when `linger.ms` has passed, on `flush`, or on close. Per partition it keeps the
//! batches in flight (at most `max.in.flight.requests.per.connection`) and, for idempotence,
//! the next sequence number; a batch that must be retried goes back in sequence order and
//! nothing more is sent for that partition until its in-flight batches have come back, so
//! retried batches land in order.

use super::config::ProducerConfig;
use super::delivery::{Appended, BatchOutcome, DeliveryFuture};
use crate::client::cluster::Cluster;
use crate::client::error::{ClientError, ClientResult};
use crate::records::batch::HEADER_LEN;
use crate::records::builder::{BatchBuilder, ProducerFields};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};

/// Topic lookups happen once per record; names come from the application, not the network,
/// so a fast non-keyed hash is safe here.
type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<rustc_hash::FxHasher>>;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

/// A record to send.
#[derive(Debug, Clone, Default)]
pub struct ProducerRecord {
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Milliseconds since the epoch; `None` stamps the current time.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    pub fn new(topic: impl Into<String>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            ..ProducerRecord::default()
        }
    }

    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    pub fn header(mut self, key: impl Into<String>, value: Option<Bytes>) -> Self {
        self.headers.push((key.into(), value));
        self
    }

    pub fn timestamp(mut self, ms: i64) -> Self {
        self.timestamp = Some(ms);
        self
    }
}

/// A record by reference, for appending many without building a [`ProducerRecord`] each.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordRef<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub partition: Option<i32>,
    pub timestamp: Option<i64>,
    pub headers: &'a [(String, Option<Bytes>)],
}

impl ProducerRecord {
    /// The record's fields by reference.
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            partition: self.partition,
            timestamp: self.timestamp,
            headers: &self.headers,
        }
    }
}

/// Why a record could not be appended right now.
#[derive(Debug)]
pub enum AppendBlocked {
    /// The topic's partition count is not known yet.
    NeedMetadata,
    /// `buffer.memory` is used up; wait for deliveries.
    BufferFull,
    Failed(ClientError),
}

/// A batch on its way.
#[derive(Debug)]
pub struct Batch {
    builder: BatchBuilder,
    pub outcome: Arc<BatchOutcome>,
    created: Instant,
    base_sequence: Option<i32>,
    built: Option<Bytes>,
    pub attempts: u32,
    retry_after: Option<Instant>,
    /// Bytes counted against `buffer.memory`.
    reserved: usize,
}

impl Batch {
    /// The wire bytes, built once (with the producer fields) and reused for retries.
    pub fn bytes(&mut self, producer: ProducerFields) -> ClientResult<Bytes> {
        if let Some(b) = &self.built {
            return Ok(b.clone());
        }
        let fields = ProducerFields {
            base_sequence: self.base_sequence.unwrap_or(-1),
            ..producer
        };
        let bytes = self
            .builder
            .build(fields)
            .map_err(|e| ClientError::InvalidArgument(format!("cannot build batch: {e}")))?;
        self.built = Some(bytes.clone());
        Ok(bytes)
    }
}

#[derive(Debug, Default)]
struct PartitionQueue {
    open: Option<Batch>,
    ready: VecDeque<Batch>,
    in_flight: VecDeque<Arc<BatchOutcome>>,
    next_sequence: i32,
    /// A batch came back for a retry: send nothing until the in-flight ones are back.
    retry_barrier: bool,
}

#[derive(Debug)]
struct TopicQueues {
    name: Arc<str>,
    partitions: Vec<PartitionQueue>,
}

#[derive(Debug, Default)]
struct State {
    topics: FastMap<Arc<str>, TopicQueues>,
    buffered: usize,
    flushing: usize,
    closed: bool,
}

/// Batches drained for one broker: one batch per partition (Kafka accepts one per partition
/// per request).
#[derive(Debug)]
pub struct Drained {
    pub node: i32,
    pub batches: Vec<(Arc<str>, i32, Batch)>,
}

type Round = Vec<(Arc<str>, i32, Batch)>;

/// What a drain found.
#[derive(Debug, Default)]
pub struct DrainResult {
    pub requests: Vec<Drained>,
    /// When something will become sendable without a new record (linger, retry backoff).
    pub next_deadline: Option<Instant>,
    /// Some partition has no known leader.
    pub need_metadata: bool,
}

#[derive(Debug)]
pub struct Accumulator {
    state: Mutex<State>,
    config: Arc<ProducerConfig>,
    /// Wakes the sender: a batch was sealed or created, a flush or close started, a batch
    /// came back.
    pub wake: Notify,
    /// Wakes senders blocked on `buffer.memory`.
    space: Notify,
}

/// Kafka's sequence arithmetic: sequences wrap from `i32::MAX` to 0.
fn next_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

impl Accumulator {
    pub fn new(config: Arc<ProducerConfig>) -> Self {
        Accumulator {
            state: Mutex::new(State::default()),
            config,
            wake: Notify::new(),
            space: Notify::new(),
        }
    }

    /// Makes `topic` known with `partitions` partitions (grows only: partitions can be added,
    /// never removed).
    pub fn add_topic(&self, topic: &str, partitions: usize) {
        let mut st = self.state.lock();
        let entry = st
            .topics
            .entry(Arc::from(topic))
            .or_insert_with_key(|name| TopicQueues {
                name: Arc::clone(name),
                partitions: Vec::new(),
            });
        while entry.partitions.len() < partitions {
            entry.partitions.push(PartitionQueue::default());
        }
    }

    /// Names of the topics records were sent to.
    pub fn topic_names(&self) -> Vec<String> {
        self.state
            .lock()
            .topics
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    /// Appends `record` to its partition's open batch.
    pub fn try_append(&self, record: &ProducerRecord) -> Result<DeliveryFuture, AppendBlocked> {
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let mut st = self.state.lock();
        let appended = self.append_locked(&mut st, &record.topic, &record.as_ref(), timestamp);
        drop(st);
        let (delivery, wake) = appended?;
        if wake {
            self.wake.notify_one();
        }
        Ok(delivery)
    }

    /// Appends records of one topic under a single lock (one clock read for those without a
    /// timestamp), pushing a delivery per record onto `out`. Stops early when blocked; the
    /// records before that are appended and in `out`.
    pub fn try_append_batch(
        &self,
        topic: &str,
        records: &[RecordRef<'_>],
        out: &mut Vec<DeliveryFuture>,
    ) -> Result<(), AppendBlocked> {
        let now = now_ms();
        let mut wake = false;
        let mut st = self.state.lock();
        let mut result = Ok(());
        for record in records {
            match self.append_locked(&mut st, topic, record, record.timestamp.unwrap_or(now)) {
                Ok((delivery, w)) => {
                    out.push(delivery);
                    wake |= w;
                }
                Err(blocked) => {
                    result = Err(blocked);
                    break;
                }
            }
        }
        drop(st);
        if wake {
            self.wake.notify_one();
        }
        result
    }

    /// One record into its partition's open batch. Returns its delivery and whether the
    /// sender should be woken (a batch was sealed or created, or there is no linger).
    fn append_locked(
        &self,
        st: &mut State,
        topic: &str,
        record: &RecordRef<'_>,
        timestamp: i64,
    ) -> Result<(DeliveryFuture, bool), AppendBlocked> {
        let config = &self.config;
        if st.closed {
            return Err(AppendBlocked::Failed(ClientError::Closed("producer")));
        }
        let buffered = st.buffered;
        let Some(tq) = st.topics.get_mut(topic) else {
            return Err(AppendBlocked::NeedMetadata);
        };
        let count = tq.partitions.len();
        let count_i32 = i32::try_from(count).unwrap_or(i32::MAX);
        let partition = match record.partition {
            Some(p) => p,
            None => config.partitioner.partition(topic, record.key, count_i32),
        };
        let Some(pq) = usize::try_from(partition)
            .ok()
            .and_then(|p| tq.partitions.get_mut(p))
        else {
            return Err(AppendBlocked::Failed(ClientError::kafka(
                3,
                format!("partition {partition} of topic {topic:?}, which has {count} partitions"),
                None,
            )));
        };
        let (key, value, headers) = (record.key, record.value, record.headers);
        let (key_len, value_len) = (key.map(<[u8]>::len), value.map(<[u8]>::len));
        // One size computation per record: with an open batch, the record alone is what it
        // adds to that batch plus a header.
        let after = pq
            .open
            .as_ref()
            .map(|open| (open.builder.size_with(key_len, value_len, headers), open));
        let alone = match &after {
            Some((size, open)) => size - open.builder.estimated_size() + HEADER_LEN,
            None => BatchBuilder::new(config.compression, 0).size_with(key_len, value_len, headers),
        };
        let seal =
            after.is_some_and(|(size, open)| size > config.batch_size && !open.builder.is_empty());
        if alone > config.max_request_size {
            return Err(AppendBlocked::Failed(ClientError::kafka(
                10,
                format!(
                    "a record of {alone} bytes is larger than max.request.size={}",
                    config.max_request_size
                ),
                None,
            )));
        }
        if buffered + alone > config.buffer_memory && buffered > 0 {
            return Err(AppendBlocked::BufferFull);
        }
        let mut sealed = false;
        if seal {
            if let Some(full) = pq.open.take() {
                pq.ready.push_back(full);
                sealed = true;
            }
        }
        let created = pq.open.is_none();
        let open = pq.open.get_or_insert_with(|| Batch {
            builder: BatchBuilder::new(config.compression, config.batch_size.max(alone)),
            outcome: BatchOutcome::new(Arc::clone(&tq.name), partition),
            created: Instant::now(),
            base_sequence: None,
            built: None,
            attempts: 0,
            retry_after: None,
            reserved: 0,
        });
        let before = open.builder.estimated_size();
        open.builder.append(timestamp, key, value, headers);
        let grown = open.builder.estimated_size().saturating_sub(before);
        open.reserved += grown;
        let index = open.builder.record_count() - 1;
        let outcome = Arc::clone(&open.outcome);
        st.buffered += grown;
        if sealed && record.partition.is_none() {
            // Sticky partitioning moves on when its batch is full (KIP-480).
            config.partitioner.on_new_batch(topic, count_i32, partition);
        }
        let delivery = DeliveryFuture {
            outcome,
            index,
            timestamp,
        };
        Ok((delivery, sealed || created || config.linger.is_zero()))
    }

    /// Waits until some `buffer.memory` is freed (or a short while passes).
    pub async fn wait_for_space(&self) {
        let _ =
            tokio::time::timeout(std::time::Duration::from_millis(50), self.space.notified()).await;
    }

    /// Takes every batch that may be sent now, grouped by leader, and assigns sequence numbers.
    pub fn drain(&self, cluster: &Cluster, idempotent: bool) -> DrainResult {
        let config = &self.config;
        let now = Instant::now();
        let mut result = DrainResult::default();
        // Per leader, rounds of at most one batch per partition: one request each.
        let mut by_node: HashMap<i32, Vec<Round>> = HashMap::new();
        let mut st = self.state.lock();
        let force = st.flushing > 0 || st.closed;
        let mut expired = Vec::new();
        let mut freed = 0;
        for tq in st.topics.values_mut() {
            for (index, pq) in tq.partitions.iter_mut().enumerate() {
                let partition = index as i32;
                // Batches that waited longer than delivery.timeout.ms fail; ones in flight
                // are left to their response.
                while let Some(front) = pq.ready.front() {
                    if now.duration_since(front.created) < config.delivery_timeout {
                        break;
                    }
                    if let Some(b) = pq.ready.pop_front() {
                        freed += b.reserved;
                        expired.push(b);
                    }
                }
                if let Some(open) = &pq.open {
                    let due = open.created + config.linger;
                    if force || due <= now {
                        if let Some(b) = pq.open.take() {
                            pq.ready.push_back(b);
                        }
                    } else {
                        result.next_deadline =
                            Some(result.next_deadline.map_or(due, |d: Instant| d.min(due)));
                    }
                }
                if pq.ready.is_empty() {
                    continue;
                }
                if pq.retry_barrier {
                    if !pq.in_flight.is_empty() {
                        continue;
                    }
                    pq.retry_barrier = false;
                }
                let Some(leader) = cluster.leader(&tq.name, partition) else {
                    result.need_metadata = true;
                    continue;
                };
                let rounds = by_node.entry(leader).or_default();
                let mut round = 0;
                while pq.in_flight.len() < config.max_in_flight {
                    let Some(front) = pq.ready.front() else { break };
                    if let Some(after) = front.retry_after {
                        if after > now {
                            result.next_deadline = Some(
                                result
                                    .next_deadline
                                    .map_or(after, |d: Instant| d.min(after)),
                            );
                            break;
                        }
                    }
                    let Some(mut batch) = pq.ready.pop_front() else {
                        break;
                    };
                    if idempotent && batch.base_sequence.is_none() {
                        batch.base_sequence = Some(pq.next_sequence);
                        pq.next_sequence =
                            next_sequence(pq.next_sequence, batch.builder.record_count());
                    }
                    batch.attempts += 1;
                    pq.in_flight.push_back(Arc::clone(&batch.outcome));
                    if rounds.len() <= round {
                        rounds.push(Vec::new());
                    }
                    rounds[round].push((Arc::clone(&tq.name), partition, batch));
                    round += 1;
                }
            }
        }
        st.buffered -= freed.min(st.buffered);
        drop(st);
        for batch in expired {
            batch.outcome.complete(Err(ClientError::Timeout(format!(
                "{} records for {}-{} not sent within delivery.timeout.ms={:?}",
                batch.builder.record_count(),
                batch.outcome.topic,
                batch.outcome.partition,
                config.delivery_timeout
            ))));
        }
        if freed > 0 {
            self.space.notify_waiters();
        }
        for (node, rounds) in by_node {
            for batches in rounds {
                result.requests.push(Drained { node, batches });
            }
        }
        result
    }

    /// Handles the broker's answer for one batch: done, failed, or back in the queue.
    pub fn complete(&self, mut batch: Batch, result: ClientResult<Appended>) {
        let outcome = Arc::clone(&batch.outcome);
        let retry = match &result {
            Err(e) => {
                e.is_retriable()
                    && batch.attempts <= self.config.retries
                    && batch.created.elapsed() < self.config.delivery_timeout
            }
            Ok(_) => false,
        };
        let mut st = self.state.lock();
        let pq = st.topics.get_mut(outcome.topic.as_ref()).and_then(|t| {
            t.partitions
                .get_mut(usize::try_from(outcome.partition).ok()?)
        });
        let mut freed = 0;
        if let Some(pq) = pq {
            pq.in_flight.retain(|o| !Arc::ptr_eq(o, &outcome));
            if retry {
                batch.retry_after = Some(Instant::now() + self.config.cluster.retry_backoff);
                pq.retry_barrier = true;
                // Back in sequence order, before anything not sent yet.
                let at = pq
                    .ready
                    .iter()
                    .position(|b| match (b.base_sequence, batch.base_sequence) {
                        (Some(other), Some(mine)) => other > mine,
                        _ => true,
                    })
                    .unwrap_or(pq.ready.len());
                pq.ready.insert(at, batch);
            } else {
                freed = batch.reserved;
            }
        } else {
            freed = batch.reserved;
        }
        st.buffered -= freed.min(st.buffered);
        drop(st);
        if !retry {
            outcome.complete(result);
            self.space.notify_waiters();
        }
        self.wake.notify_one();
    }

    /// The outcomes of every batch not completed yet, for `flush`.
    pub fn begin_flush(&self) -> Vec<Arc<BatchOutcome>> {
        let mut st = self.state.lock();
        st.flushing += 1;
        let mut all = Vec::new();
        for tq in st.topics.values() {
            for pq in &tq.partitions {
                all.extend(pq.open.iter().map(|b| Arc::clone(&b.outcome)));
                all.extend(pq.ready.iter().map(|b| Arc::clone(&b.outcome)));
                all.extend(pq.in_flight.iter().cloned());
            }
        }
        drop(st);
        self.wake.notify_one();
        all
    }

    pub fn end_flush(&self) {
        let mut st = self.state.lock();
        st.flushing = st.flushing.saturating_sub(1);
    }

    /// Refuses new records; the sender drains what is queued and stops.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.wake.notify_one();
    }

    /// Closed and nothing left to send or wait for.
    pub fn is_finished(&self) -> bool {
        let st = self.state.lock();
        st.closed
            && st.topics.values().all(|t| {
                t.partitions
                    .iter()
                    .all(|p| p.open.is_none() && p.ready.is_empty() && p.in_flight.is_empty())
            })
    }

    /// Fails every queued batch (the sender cannot go on, e.g. no producer id).
    pub fn fail_all(&self, error: &ClientError) {
        let mut failed = Vec::new();
        let mut st = self.state.lock();
        for tq in st.topics.values_mut() {
            for pq in &mut tq.partitions {
                failed.extend(pq.open.take());
                failed.extend(pq.ready.drain(..));
            }
        }
        st.buffered = 0;
        drop(st);
        for b in failed {
            b.outcome.complete(Err(error.clone()));
        }
        self.space.notify_waiters();
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::next_sequence;

    #[test]
    fn sequences_wrap_like_kafkas() {
        assert_eq!(next_sequence(0, 5), 5);
        assert_eq!(next_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(next_sequence(i32::MAX, 1), 0);
        assert_eq!(next_sequence(i32::MAX - 2, 5), 2);
    }
}
