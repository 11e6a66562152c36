//! Offset requests of the consumer: commit and fetch committed offsets (group coordinator),
//! and ListOffsets to partition leaders (resets, `seek_to_*`, `offsets_for_times`).

use super::group::Generation;
use super::types::{OffsetAndMetadata, OffsetAndTimestamp, TopicPartition};
use crate::client::cluster::Cluster;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    BrokerId, GroupId, ListOffsetsRequest, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// ListOffsets' special timestamps.
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_string()))
}

/// Commits `offsets` for `group` as member `generation` (generation -1 and no member id for
/// consumers outside a group, Kafka's "simple" commit).
pub async fn commit(
    cluster: &Cluster,
    group: &str,
    generation: &Generation,
    instance: Option<&str>,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
) -> ClientResult<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for (tp, om) in offsets {
        let p = OffsetCommitRequestPartition::default()
            .with_partition_index(tp.partition)
            .with_committed_offset(om.offset)
            .with_committed_leader_epoch(om.leader_epoch.unwrap_or(-1))
            .with_committed_metadata(Some(StrBytes::from_string(
                om.metadata.clone().unwrap_or_default(),
            )));
        match topics.last_mut() {
            Some(t) if t.name.0.as_str() == tp.topic => t.partitions.push(p),
            _ => topics.push(
                OffsetCommitRequestTopic::default()
                    .with_name(topic_name(&tp.topic))
                    .with_partitions(vec![p]),
            ),
        }
    }
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_generation_id_or_member_epoch(generation.generation)
        .with_member_id(StrBytes::from_string(generation.member_id.clone()))
        .with_group_instance_id(instance.map(|i| StrBytes::from_string(i.to_string())))
        .with_retention_time_ms(-1)
        .with_topics(topics);
    let r = cluster.send_to_coordinator(group, request).await?;
    for t in &r.topics {
        for p in &t.partitions {
            if p.error_code != 0 {
                if matches!(p.error_code, 14..=16) {
                    cluster.forget_coordinator(group);
                }
                return Err(ClientError::kafka(
                    p.error_code,
                    format!(
                        "committing the offset of {}-{} for group {group:?}",
                        t.name.0.as_str(),
                        p.partition_index
                    ),
                    None,
                ));
            }
        }
    }
    Ok(())
}

/// The committed offsets of `partitions` in `group` (absent: nothing committed).
pub async fn committed(
    cluster: &Cluster,
    group: &str,
    partitions: &[TopicPartition],
    require_stable: bool,
) -> ClientResult<BTreeMap<TopicPartition, OffsetAndMetadata>> {
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        topics.entry(&tp.topic).or_default().push(tp.partition);
    }
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_require_stable(require_stable)
        .with_topics(Some(
            topics
                .into_iter()
                .map(|(t, ps)| {
                    OffsetFetchRequestTopic::default()
                        .with_name(topic_name(t))
                        .with_partition_indexes(ps)
                })
                .collect(),
        ));
    let r = cluster.send_to_coordinator(group, request).await?;
    if r.error_code != 0 {
        if matches!(r.error_code, 14..=16) {
            cluster.forget_coordinator(group);
        }
        return Err(ClientError::kafka(
            r.error_code,
            format!("fetching committed offsets of group {group:?}"),
            None,
        ));
    }
    let mut out = BTreeMap::new();
    for t in &r.topics {
        for p in &t.partitions {
            if p.error_code != 0 {
                return Err(ClientError::kafka(
                    p.error_code,
                    format!(
                        "committed offset of {}-{}",
                        t.name.0.as_str(),
                        p.partition_index
                    ),
                    None,
                ));
            }
            if p.committed_offset >= 0 {
                out.insert(
                    TopicPartition::new(t.name.0.as_str(), p.partition_index),
                    OffsetAndMetadata {
                        offset: p.committed_offset,
                        metadata: p
                            .metadata
                            .as_ref()
                            .map(|m| m.to_string())
                            .filter(|m| !m.is_empty()),
                        leader_epoch: (p.committed_leader_epoch >= 0)
                            .then_some(p.committed_leader_epoch),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// ListOffsets for each partition at its timestamp (or [`EARLIEST`] / [`LATEST`]), sent to
/// each partition's leader. Partitions without an answer (no record at or after the time)
/// are left out.
pub async fn list_offsets(
    cluster: &Cluster,
    query: &[(TopicPartition, i64)],
    read_committed: bool,
    deadline: Instant,
) -> ClientResult<BTreeMap<TopicPartition, OffsetAndTimestamp>> {
    let mut by_leader: HashMap<i32, Vec<&(TopicPartition, i64)>> = HashMap::new();
    for q in query {
        cluster.topic_metadata(&q.0.topic, deadline).await?;
        let leader = cluster
            .leader(&q.0.topic, q.0.partition)
            .ok_or_else(|| ClientError::kafka(3, format!("no leader for {}", q.0), None))?;
        by_leader.entry(leader).or_default().push(q);
    }
    let mut out = BTreeMap::new();
    for (leader, queries) in by_leader {
        let mut topics: Vec<ListOffsetsTopic> = Vec::new();
        for (tp, ts) in queries {
            let p = ListOffsetsPartition::default()
                .with_partition_index(tp.partition)
                .with_timestamp(*ts)
                .with_current_leader_epoch(-1);
            match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
                Some(t) => t.partitions.push(p),
                None => topics.push(
                    ListOffsetsTopic::default()
                        .with_name(topic_name(&tp.topic))
                        .with_partitions(vec![p]),
                ),
            }
        }
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(i8::from(read_committed))
            .with_topics(topics);
        let r = cluster.send_to(leader, request).await?;
        for t in &r.topics {
            for p in &t.partitions {
                let tp = TopicPartition::new(t.name.0.as_str(), p.partition_index);
                if p.error_code != 0 {
                    return Err(ClientError::kafka(
                        p.error_code,
                        format!("listing offsets of {tp}"),
                        None,
                    ));
                }
                if p.offset >= 0 {
                    out.insert(
                        tp,
                        OffsetAndTimestamp {
                            offset: p.offset,
                            timestamp: p.timestamp,
                        },
                    );
                }
            }
        }
    }
    Ok(out)
}
