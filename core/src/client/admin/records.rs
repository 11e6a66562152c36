//! Partition data: offsets by position or time (ListOffsets) and deleting the records before
//! an offset (DeleteRecords). Both go to each partition's leader; [`Admin::by_leader`] routes
//! them and sends a partition again when its leader moved.

use super::call::{by_topic, should_retry, topic_name, Backoff, FromKind, Target, TopicPartition};
use super::Admin;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, DeleteRecordsRequest, ListOffsetsRequest, RequestKind};
use kafka_protocol::protocol::Request;
use std::collections::{BTreeMap, BTreeSet};

/// ListOffsets' special timestamps.
const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
/// ListOffsets learned MAX_TIMESTAMP (KIP-734) in v7.
const MAX_TIMESTAMP_VERSION: i16 = 7;
/// The `replica_id` of a client (not a follower).
const CONSUMER_REPLICA_ID: i32 = -1;

/// Which offset of a partition to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the next offset to be written).
    Latest,
    /// The record with the largest timestamp.
    MaxTimestamp,
    /// The first record with a timestamp at or after this one (ms since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> ClientResult<i64> {
        match self {
            OffsetSpec::Earliest => Ok(EARLIEST),
            OffsetSpec::Latest => Ok(LATEST),
            OffsetSpec::MaxTimestamp => Ok(MAX_TIMESTAMP),
            OffsetSpec::Timestamp(t) if t >= 0 => Ok(t),
            OffsetSpec::Timestamp(t) => Err(ClientError::InvalidArgument(format!(
                "timestamp {t} is negative: use OffsetSpec::Earliest/Latest for the ends"
            ))),
        }
    }
}

/// An answer of ListOffsets. A timestamp lookup past the last record gives offset -1, as in
/// Kafka; `timestamp` is -1 unless the lookup found a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: Option<i32>,
}

impl Admin {
    /// Looks up an offset of each partition.
    pub async fn list_offsets(
        &self,
        partitions: &[(String, i32, OffsetSpec)],
    ) -> ClientResult<BTreeMap<TopicPartition, ListedOffset>> {
        let items = partitions
            .iter()
            .map(|(t, p, spec)| Ok(((t.clone(), *p), spec.timestamp()?)))
            .collect::<ClientResult<Vec<_>>>()?;
        let build = |items: &[(TopicPartition, i64)], version: i16| {
            if version < MAX_TIMESTAMP_VERSION && items.iter().any(|(_, t)| *t == MAX_TIMESTAMP) {
                return Err(ClientError::Unsupported(format!(
                    "OffsetSpec::MaxTimestamp needs ListOffsets v7 (the broker speaks v{version})"
                )));
            }
            let topics = by_topic(items.iter().cloned())
                .into_iter()
                .map(|(topic, partitions)| {
                    ListOffsetsTopic::default()
                        .with_name(topic_name(&topic))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|(p, timestamp)| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(p)
                                        .with_timestamp(timestamp)
                                })
                                .collect(),
                        )
                })
                .collect();
            Ok(ListOffsetsRequest::default()
                .with_replica_id(BrokerId(CONSUMER_REPLICA_ID))
                .with_topics(topics))
        };
        self.by_leader("listing the offsets of", items, build, |response| {
            response
                .topics
                .into_iter()
                .flat_map(|t| {
                    let topic = t.name.0.to_string();
                    t.partitions.into_iter().map(move |p| {
                        let listed = ListedOffset {
                            offset: p.offset,
                            timestamp: p.timestamp,
                            leader_epoch: Some(p.leader_epoch).filter(|e| *e >= 0),
                        };
                        ((topic.clone(), p.partition_index), p.error_code, listed)
                    })
                })
                .collect()
        })
        .await
    }

    /// Deletes the records of each partition before the given offset (-1: up to the high
    /// watermark); answers each partition's new log start offset (low watermark).
    pub async fn delete_records(
        &self,
        partitions: &[(String, i32, i64)],
    ) -> ClientResult<BTreeMap<TopicPartition, i64>> {
        let items = partitions
            .iter()
            .map(|(t, p, offset)| ((t.clone(), *p), *offset))
            .collect();
        let timeout_ms = self.request_timeout_ms();
        let build = |items: &[(TopicPartition, i64)], _version: i16| {
            let topics = by_topic(items.iter().cloned())
                .into_iter()
                .map(|(topic, partitions)| {
                    DeleteRecordsTopic::default()
                        .with_name(topic_name(&topic))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|(p, offset)| {
                                    DeleteRecordsPartition::default()
                                        .with_partition_index(p)
                                        .with_offset(offset)
                                })
                                .collect(),
                        )
                })
                .collect();
            Ok(DeleteRecordsRequest::default()
                .with_topics(topics)
                .with_timeout_ms(timeout_ms))
        };
        self.by_leader("deleting records of", items, build, |response| {
            response
                .topics
                .into_iter()
                .flat_map(|t| {
                    let topic = t.name.0.to_string();
                    t.partitions.into_iter().map(move |p| {
                        (
                            (topic.clone(), p.partition_index),
                            p.error_code,
                            p.low_watermark,
                        )
                    })
                })
                .collect()
        })
        .await
    }

    /// Sends each item to its partition's leader (one request per leader, made by `build`
    /// for the version that leader speaks) and collects `parse`'s per-partition answers.
    /// Partitions whose leader moved or is not elected yet are routed again after a
    /// metadata refresh until `default.api.timeout.ms`; any other error code fails the call.
    async fn by_leader<V, Q, R>(
        &self,
        what: &str,
        items: Vec<(TopicPartition, V)>,
        build: impl Fn(&[(TopicPartition, V)], i16) -> ClientResult<Q>,
        parse: impl Fn(Q::Response) -> Vec<(TopicPartition, i16, R)>,
    ) -> ClientResult<BTreeMap<TopicPartition, R>>
    where
        V: Clone,
        Q: Request + Into<RequestKind>,
        Q::Response: FromKind,
    {
        let error = |code: i16, (topic, partition): &TopicPartition| {
            ClientError::kafka(code, format!("{what} {topic}-{partition}"), None)
        };
        let mut backoff = Backoff::new(self);
        let mut pending: BTreeMap<TopicPartition, V> = items.into_iter().collect();
        let mut done = BTreeMap::new();
        while !pending.is_empty() {
            let topics: BTreeSet<String> = pending.keys().map(|(t, _)| t.clone()).collect();
            self.refresh(&topics.into_iter().collect::<Vec<_>>(), backoff.deadline())
                .await?;
            let mut last_retriable = None;
            let mut by_node: BTreeMap<i32, Vec<(TopicPartition, V)>> = BTreeMap::new();
            for (tp, v) in &pending {
                match self.cluster.leader(&tp.0, tp.1) {
                    Some(node) => by_node
                        .entry(node)
                        .or_default()
                        .push((tp.clone(), v.clone())),
                    None => match self.no_leader_code(tp) {
                        code if should_retry(code) => last_retriable = Some(error(code, tp)),
                        code => return Err(error(code, tp)),
                    },
                }
            }
            for (node, sent) in by_node {
                let response = self
                    .call_until(
                        Target::Node(node),
                        |version| build(&sent, version),
                        |_| None,
                        &mut backoff,
                    )
                    .await?;
                let mut answers: BTreeMap<TopicPartition, (i16, R)> = parse(response)
                    .into_iter()
                    .map(|(tp, code, answer)| (tp, (code, answer)))
                    .collect();
                for (tp, _) in &sent {
                    let (code, answer) = answers.remove(tp).ok_or_else(|| {
                        ClientError::Protocol(format!(
                            "broker {node} did not answer for {}-{}",
                            tp.0, tp.1
                        ))
                    })?;
                    match code {
                        0 => {
                            pending.remove(tp);
                            done.insert(tp.clone(), answer);
                        }
                        code if should_retry(code) => last_retriable = Some(error(code, tp)),
                        code => return Err(error(code, tp)),
                    }
                }
            }
            if !pending.is_empty() && !backoff.wait().await {
                // Only retriable errors leave partitions pending.
                return Err(last_retriable
                    .unwrap_or_else(|| ClientError::Timeout(format!("{what} partitions"))));
            }
        }
        Ok(done)
    }

    /// Why metadata names no leader for a partition: the topic's own error, an unknown
    /// partition, or no leader elected yet.
    fn no_leader_code(&self, (topic, partition): &TopicPartition) -> i16 {
        match self.cluster.topic(topic) {
            None => self
                .cluster
                .topic_error(topic)
                .unwrap_or(ResponseError::UnknownTopicOrPartition.code()),
            Some(t) if !t.partitions.iter().any(|p| p.partition == *partition) => {
                ResponseError::UnknownTopicOrPartition.code()
            }
            Some(_) => ResponseError::LeaderNotAvailable.code(),
        }
    }
}
