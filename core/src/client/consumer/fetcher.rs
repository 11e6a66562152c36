//! The fetcher: Fetch requests to each leader for the partitions of the [`Cursor`], at most
//! one in flight per broker, sent ahead while fewer than [`FETCH_AHEAD_RECORDS`] records of a
//! partition wait (prefetch); responses decoded in the fetch task, off the polling task, and
//! filed into the cursor. An answer to a fetch from before a seek is dropped.

use super::config::ConsumerConfig;
use super::cursor::Cursor;
use super::types::{ConsumerRecord, TopicPartition};
use crate::client::cluster::Cluster;
use crate::client::error::{ClientError, ClientResult};
use crate::records::fetched::split_batches;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tokio::task::JoinSet;

const OFFSET_OUT_OF_RANGE: i16 = 1;
/// A partition is fetched again while fewer records than this wait in the buffer.
const FETCH_AHEAD_RECORDS: usize = 20_000;

/// One partition's part of a fetch answer, decoded.
#[derive(Debug)]
struct Fetched {
    tp: TopicPartition,
    fetch_offset: i64,
    error_code: i16,
    records: Vec<ConsumerRecord>,
    next_fetch_offset: i64,
    high_watermark: i64,
}

#[derive(Debug)]
pub struct Fetcher {
    cluster: Arc<Cluster>,
    config: Arc<ConsumerConfig>,
    /// Positions and fetched records per assigned partition.
    pub cursor: Cursor,
    in_flight: JoinSet<(i32, ClientResult<Vec<Fetched>>)>,
    busy_nodes: HashSet<i32>,
    /// An error to hand to the next `poll` (e.g. a corrupt batch).
    pending_error: Option<ClientError>,
}

impl Fetcher {
    pub fn new(cluster: Arc<Cluster>, config: Arc<ConsumerConfig>) -> Self {
        Fetcher {
            cluster,
            config,
            cursor: Cursor::default(),
            in_flight: JoinSet::new(),
            busy_nodes: HashSet::new(),
            pending_error: None,
        }
    }

    /// New settings for the fetches sent from now on.
    pub fn set_config(&mut self, config: Arc<ConsumerConfig>) {
        self.config = config;
    }

    /// Partitions whose position must be initialised (or reset after OFFSET_OUT_OF_RANGE).
    pub fn needing_position(&self) -> Vec<TopicPartition> {
        self.cursor
            .iter()
            .filter(|(_, s)| s.position.is_none() || s.out_of_range)
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    pub fn take_error(&mut self) -> Option<ClientError> {
        self.pending_error.take()
    }

    pub fn has_pending_error(&self) -> bool {
        self.pending_error.is_some()
    }

    pub fn has_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Sends a Fetch to every leader that has fetchable partitions and none in flight.
    pub fn send_fetches(&mut self) {
        let mut by_node: BTreeMap<i32, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        let mut need_metadata = false;
        for (tp, s) in self.cursor.iter() {
            // Fetch ahead while few records are waiting, as librdkafka's queued.min.messages:
            // the next fetch overlaps the application's work on the buffered ones.
            if s.paused
                || s.buffered() >= FETCH_AHEAD_RECORDS
                || s.out_of_range
                || s.position.is_none()
            {
                continue;
            }
            match self.cluster.leader(&tp.topic, tp.partition) {
                Some(node) if !self.busy_nodes.contains(&node) => by_node
                    .entry(node)
                    .or_default()
                    .push((tp.clone(), s.fetch_position)),
                Some(_) => {}
                None => need_metadata = true,
            }
        }
        if need_metadata {
            let cluster = Arc::clone(&self.cluster);
            let topics: Vec<String> = self
                .cursor
                .assigned()
                .map(|tp| tp.topic.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            self.in_flight.spawn(async move {
                let result = cluster.refresh(&topics).await.map(|()| Vec::new());
                (-1, result)
            });
            self.busy_nodes.insert(-1);
        }
        for (node, partitions) in by_node {
            self.busy_nodes.insert(node);
            let cluster = Arc::clone(&self.cluster);
            let config = Arc::clone(&self.config);
            self.in_flight.spawn(async move {
                let result = fetch(&cluster, &config, node, partitions).await;
                (node, result)
            });
        }
    }

    /// Waits up to `timeout` for one fetch to finish and files its records. Returns whether
    /// one finished.
    pub async fn wait_for_fetch(&mut self, timeout: std::time::Duration) -> bool {
        let joined = match tokio::time::timeout(timeout, self.in_flight.join_next()).await {
            Ok(Some(joined)) => joined,
            Ok(None) | Err(_) => return false,
        };
        let (node, result) = match joined {
            Ok(done) => done,
            Err(e) => {
                self.pending_error = Some(ClientError::Protocol(format!("fetch task failed: {e}")));
                self.busy_nodes.clear();
                return true;
            }
        };
        self.busy_nodes.remove(&node);
        match result {
            Ok(parts) => self.file(parts),
            Err(e) => {
                tracing::debug!(node, "fetch failed: {}", crate::log_safe::escape(&e));
                if e.is_retriable() {
                    let cluster = Arc::clone(&self.cluster);
                    // Leaders may have moved: learn before the next fetch.
                    let _ = cluster.refresh(&[]).await;
                    tokio::time::sleep(self.config.cluster.retry_backoff).await;
                } else {
                    self.pending_error = Some(e);
                }
            }
        }
        true
    }

    fn file(&mut self, parts: Vec<Fetched>) {
        for f in parts {
            let Some(state) = self.cursor.get_mut(&f.tp) else {
                continue;
            };
            // Sought or reassigned while the fetch was out: the answer is stale. (A pause
            // does not make it stale: its records wait in the cursor until the resume.)
            if state.fetch_position != f.fetch_offset {
                continue;
            }
            match f.error_code {
                0 => {
                    state.high_watermark = f.high_watermark;
                    state.fetch_position = f.next_fetch_offset.max(f.fetch_offset);
                    self.cursor.buffer(&f.tp, f.records);
                }
                OFFSET_OUT_OF_RANGE => state.out_of_range = true,
                code => {
                    let e = ClientError::kafka(code, format!("fetching {}", f.tp), None);
                    if !e.is_retriable() {
                        self.pending_error = Some(e);
                    }
                }
            }
        }
    }
}

/// One Fetch request to `node`, decoded into records per partition.
async fn fetch(
    cluster: &Cluster,
    config: &ConsumerConfig,
    node: i32,
    partitions: Vec<(TopicPartition, i64)>,
) -> ClientResult<Vec<Fetched>> {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for (tp, offset) in &partitions {
        let p = FetchPartition::default()
            .with_partition(tp.partition)
            .with_fetch_offset(*offset)
            .with_log_start_offset(-1)
            .with_current_leader_epoch(-1)
            .with_partition_max_bytes(config.max_partition_fetch_bytes);
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == tp.topic => t.partitions.push(p),
            _ => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![p]),
            ),
        }
    }
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(super::group::millis_i32(config.fetch_max_wait))
        .with_min_bytes(config.fetch_min_bytes)
        .with_max_bytes(config.fetch_max_bytes)
        .with_isolation_level(i8::from(config.read_committed))
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics);
    let response = cluster.send_to(node, request).await?;
    if response.error_code != 0 {
        return Err(ClientError::kafka(
            response.error_code,
            format!("fetching from node {node}"),
            None,
        ));
    }
    let offsets: HashMap<(&str, i32), i64> = partitions
        .iter()
        .map(|(tp, o)| ((tp.topic.as_str(), tp.partition), *o))
        .collect();
    let mut out = Vec::new();
    for t in &response.responses {
        let topic: Arc<str> = Arc::from(t.topic.0.as_str());
        for p in &t.partitions {
            let Some(fetch_offset) = offsets.get(&(topic.as_ref(), p.partition_index)).copied()
            else {
                continue;
            };
            out.push(decode_partition(&topic, p, fetch_offset, config)?);
        }
    }
    Ok(out)
}

/// Decodes one partition's records from `fetch_offset` on, skipping control batches and, with
/// read_committed, batches of aborted transactions.
fn decode_partition(
    topic: &Arc<str>,
    p: &PartitionData,
    fetch_offset: i64,
    config: &ConsumerConfig,
) -> ClientResult<Fetched> {
    let tp = TopicPartition::new(topic.as_ref(), p.partition_index);
    let mut fetched = Fetched {
        tp,
        fetch_offset,
        error_code: p.error_code,
        records: Vec::new(),
        next_fetch_offset: fetch_offset,
        high_watermark: p.high_watermark,
    };
    if p.error_code != 0 {
        return Ok(fetched);
    }
    let Some(data) = &p.records else {
        return Ok(fetched);
    };
    let aborted: Vec<(i64, i64)> = if config.read_committed {
        p.aborted_transactions
            .iter()
            .flatten()
            .map(|a| (a.producer_id.0, a.first_offset))
            .collect()
    } else {
        Vec::new()
    };
    let corrupt = |what: String| {
        ClientError::kafka(
            2,
            format!("fetching {}", fetched_name(topic, p)),
            Some(what),
        )
    };
    for batch in split_batches(data) {
        let batch = batch.map_err(|e| corrupt(e.to_string()))?;
        let last = batch.header.last_offset();
        if last < fetch_offset {
            continue;
        }
        fetched.next_fetch_offset = last + 1;
        if config.check_crcs && !batch.crc_ok() {
            return Err(corrupt(format!(
                "CRC mismatch in the batch at offset {}",
                batch.header.base_offset
            )));
        }
        if batch.is_control() {
            continue;
        }
        if batch.is_transactional()
            && aborted
                .iter()
                .any(|(pid, first)| *pid == batch.producer_id() && *first <= last)
        {
            continue;
        }
        for r in batch.records().map_err(|e| corrupt(e.to_string()))? {
            if r.offset < fetch_offset {
                continue;
            }
            fetched.records.push(ConsumerRecord {
                topic: Arc::clone(topic),
                partition: p.partition_index,
                offset: r.offset,
                timestamp: r.timestamp,
                timestamp_type: r.timestamp_type,
                key: r.key,
                value: r.value,
                headers: r.headers,
                leader_epoch: r.leader_epoch,
            });
        }
    }
    Ok(fetched)
}

fn fetched_name(topic: &str, p: &PartitionData) -> String {
    format!("{topic}-{}", p.partition_index)
}
