//! OffsetCommit, OffsetFetch and OffsetDelete.

use super::state::{Committed, Group, GroupState};
use super::store::StoreKey;
use super::store::StoreValue;
use super::GroupCoordinator;
use crate::log_safe;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

impl GroupCoordinator {
    /// Validates and appends a commit in request order (the in-memory view is updated at
    /// once, so later requests on the connection see it); the returned [`CommitInFlight`]
    /// resolves to the response once the records are durable.
    pub fn offset_commit(&self, req: OffsetCommitRequest) -> CommitInFlight {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let group_id = req.group_id.0.to_string();
        let mut groups = inner.groups.lock();
        let g = groups
            .entry(group_id.clone())
            .or_insert_with(|| Group::new(&group_id, now));
        let group_error = check_commit(g, &req);
        if group_error.is_ok() {
            // A commit is a sign of life: it resets the member's session timer, as in Kafka.
            if let Some(m) = g.member_mut(req.member_id.as_str()) {
                m.last_heartbeat_ms = now;
            }
        }
        let mut response = OffsetCommitResponse::default();
        let mut changes = Vec::new();
        let mut accepted: Vec<((String, i32), Committed)> = Vec::new();
        for t in &req.topics {
            let topic = t.name.0.to_string();
            let partitions = inner.broker.topic(&topic).map(|d| d.partitions);
            let mut rt = OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_topic_id(t.topic_id);
            for p in &t.partitions {
                let code = if let Err(e) = group_error {
                    e.code()
                } else if partitions.is_none_or(|n| p.partition_index < 0 || p.partition_index >= n)
                {
                    ResponseError::UnknownTopicOrPartition.code()
                } else if p
                    .committed_metadata
                    .as_ref()
                    .is_some_and(|m| m.len() > inner.config.offset_metadata_max_bytes)
                {
                    ResponseError::OffsetMetadataTooLarge.code()
                } else {
                    let c = Committed {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                        commit_ms: now,
                    };
                    changes.push((
                        StoreKey::Offset {
                            group: group_id.clone(),
                            topic: topic.clone(),
                            partition: p.partition_index,
                        },
                        Some(StoreValue::Offset(c.clone())),
                    ));
                    accepted.push(((topic.clone(), p.partition_index), c));
                    0
                };
                rt.partitions.push(
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code),
                );
            }
            response.topics.push(rt);
        }
        let durable_end = if changes.is_empty() {
            Ok(None)
        } else {
            inner.store.append(&changes, now).map(Some)
        };
        if let Ok(Some(_)) = durable_end {
            g.offsets.extend(accepted);
        }
        CommitInFlight {
            coordinator: self.clone(),
            response,
            durable_end,
            group_id,
        }
    }

    pub fn offset_fetch(&self, req: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
        let groups = self.inner.groups.lock();
        let mut out = OffsetFetchResponse::default();
        if version >= 8 {
            for rg in &req.groups {
                let wanted: Option<Vec<(String, Vec<i32>)>> = rg.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                let group = groups.get(rg.group_id.0.as_str());
                let mut g = OffsetFetchResponseGroup::default().with_group_id(rg.group_id.clone());
                // v9: a consumer-protocol member fetches with its id and epoch, checked as
                // Kafka checks them.
                if let Err(code) = check_fetch_member(group, rg.member_id.as_ref(), rg.member_epoch)
                {
                    out.groups.push(g.with_error_code(code.code()));
                    continue;
                }
                let found = lookup(group, wanted);
                for (topic, parts) in found {
                    g.topics.push(
                        OffsetFetchResponseTopics::default()
                            .with_name(TopicName(s(&topic)))
                            .with_partitions(
                                parts
                                    .into_iter()
                                    .map(|(p, c)| {
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(
                                                c.as_ref().map_or(-1, |c| c.offset),
                                            )
                                            .with_committed_leader_epoch(
                                                c.as_ref().map_or(-1, |c| c.leader_epoch),
                                            )
                                            .with_metadata(Some(s(c
                                                .as_ref()
                                                .and_then(|c| c.metadata.as_deref())
                                                .unwrap_or(""))))
                                    })
                                    .collect(),
                            ),
                    );
                }
                out.groups.push(g);
            }
            return out;
        }
        let wanted: Option<Vec<(String, Vec<i32>)>> = req.topics.as_ref().map(|ts| {
            ts.iter()
                .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                .collect()
        });
        for (topic, parts) in lookup(groups.get(req.group_id.0.as_str()), wanted) {
            out.topics.push(
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(s(&topic)))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|(p, c)| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(c.as_ref().map_or(-1, |c| c.offset))
                                    .with_committed_leader_epoch(
                                        c.as_ref().map_or(-1, |c| c.leader_epoch),
                                    )
                                    .with_metadata(Some(s(c
                                        .as_ref()
                                        .and_then(|c| c.metadata.as_deref())
                                        .unwrap_or(""))))
                            })
                            .collect(),
                    ),
            );
        }
        out
    }

    pub fn offset_delete(&self, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
        let now = self.inner.clock.now_ms();
        let mut out = OffsetDeleteResponse::default();
        let mut changes = Vec::new();
        {
            let mut groups = self.inner.groups.lock();
            let Some(g) = groups.get_mut(req.group_id.0.as_str()) else {
                return out.with_error_code(ResponseError::GroupIdNotFound.code());
            };
            let subscribed = if g.state == GroupState::Empty {
                Vec::new()
            } else {
                g.subscribed_topics()
            };
            for t in &req.topics {
                let topic = t.name.0.to_string();
                let mut rt = OffsetDeleteResponseTopic::default().with_name(t.name.clone());
                for p in &t.partitions {
                    let code = if subscribed.contains(&topic) {
                        ResponseError::GroupSubscribedToTopic.code()
                    } else {
                        if g.offsets
                            .remove(&(topic.clone(), p.partition_index))
                            .is_some()
                        {
                            changes.push((
                                StoreKey::Offset {
                                    group: g.id.clone(),
                                    topic: topic.clone(),
                                    partition: p.partition_index,
                                },
                                None,
                            ));
                        }
                        0
                    };
                    rt.partitions.push(
                        OffsetDeleteResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(code),
                    );
                }
                out.topics.push(rt);
            }
        }
        if !changes.is_empty() {
            if let Err(e) = self.inner.store.append(&changes, now) {
                tracing::warn!("could not record offset deletion: {}", log_safe::escape(&e));
            }
        }
        out
    }
}

/// A commit that is in the log and waits to be durable before it is acknowledged.
#[derive(Debug)]
pub struct CommitInFlight {
    coordinator: GroupCoordinator,
    response: OffsetCommitResponse,
    durable_end: crate::Result<Option<i64>>,
    group_id: String,
}

impl CommitInFlight {
    /// Waits for durability (off the async workers) and returns the response.
    pub async fn finish(self) -> OffsetCommitResponse {
        let CommitInFlight {
            coordinator,
            mut response,
            durable_end,
            group_id,
        } = self;
        let outcome = match durable_end {
            Ok(None) => return response,
            Ok(Some(end)) => {
                tokio::task::spawn_blocking(move || coordinator.inner.store.wait_durable(end))
                    .await
                    .map_err(|e| crate::Error::InvalidRequest(format!("commit task failed: {e}")))
                    .and_then(|r| r)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::error!(
                group = %log_safe::escape(&group_id),
                "offset commit not stored: {}",
                log_safe::escape(&e)
            );
            for t in &mut response.topics {
                for p in &mut t.partitions {
                    if p.error_code == 0 {
                        p.error_code = e.kafka_code();
                    }
                }
            }
        }
        response
    }
}

/// A consumer-protocol member's OffsetFetch (member id and epoch set): it must be a member
/// at that epoch.
fn check_fetch_member(
    g: Option<&Group>,
    member_id: Option<&kafka_protocol::protocol::StrBytes>,
    member_epoch: i32,
) -> Result<(), ResponseError> {
    let Some(member_id) = member_id.filter(|_| member_epoch >= 0) else {
        return Ok(());
    };
    let Some(cg) = g.and_then(|g| g.consumer.as_deref()) else {
        return Err(ResponseError::UnknownMemberId);
    };
    match cg.members.get(member_id.as_str()) {
        None => Err(ResponseError::UnknownMemberId),
        Some(m) if m.reconciled.epoch != member_epoch => Err(ResponseError::StaleMemberEpoch),
        Some(_) => Ok(()),
    }
}

/// A commit to a consumer-protocol group: by a member at its current epoch (Kafka answers
/// STALE_MEMBER_EPOCH otherwise), or from outside the group (no member id, epoch < 0)
/// while it has no members.
fn check_consumer_commit(
    cg: &crate::group::consumer::ConsumerGroup,
    req: &OffsetCommitRequest,
) -> Result<(), ResponseError> {
    let epoch = req.generation_id_or_member_epoch;
    let member = req.member_id.as_str();
    if epoch < 0 && member.is_empty() {
        return if cg.members.is_empty() {
            Ok(())
        } else {
            Err(ResponseError::UnknownMemberId)
        };
    }
    match cg.members.get(member) {
        None => Err(ResponseError::UnknownMemberId),
        Some(m) if m.reconciled.epoch != epoch => Err(ResponseError::StaleMemberEpoch),
        Some(_) => Ok(()),
    }
}

/// Is this commit from someone allowed to commit for the group?
fn check_commit(g: &Group, req: &OffsetCommitRequest) -> Result<(), ResponseError> {
    if let Some(cg) = g.consumer.as_deref() {
        return check_consumer_commit(cg, req);
    }
    let generation = req.generation_id_or_member_epoch;
    let member = req.member_id.as_str();
    if generation < 0 && member.is_empty() {
        // A consumer outside group management (assign + commit): only while nobody is in it.
        return if g.members.is_empty() {
            Ok(())
        } else {
            Err(ResponseError::UnknownMemberId)
        };
    }
    if let Some(i) = &req.group_instance_id {
        if g.static_members
            .get(i.as_str())
            .is_some_and(|cur| cur != member)
        {
            return Err(ResponseError::FencedInstanceId);
        }
    }
    if g.member(member).is_none() {
        return Err(ResponseError::UnknownMemberId);
    }
    if generation != g.generation {
        return Err(ResponseError::IllegalGeneration);
    }
    // During PreparingRebalance members of the current generation may still commit what they
    // processed (consumers commit on revoke before rejoining); once the join phase is over and
    // a new generation awaits its assignment, commits of the old one are refused.
    if g.state == GroupState::CompletingRebalance {
        return Err(ResponseError::RebalanceInProgress);
    }
    Ok(())
}

type Found = Vec<(String, Vec<(i32, Option<Committed>)>)>;

/// Committed offsets for the wanted topics/partitions (`None`: everything committed).
fn lookup(g: Option<&Group>, wanted: Option<Vec<(String, Vec<i32>)>>) -> Found {
    match wanted {
        Some(ts) => ts
            .into_iter()
            .map(|(topic, parts)| {
                let found = parts
                    .into_iter()
                    .map(|p| {
                        (
                            p,
                            g.and_then(|g| g.offsets.get(&(topic.clone(), p)).cloned()),
                        )
                    })
                    .collect();
                (topic, found)
            })
            .collect(),
        None => {
            let mut by_topic: BTreeMap<String, Vec<(i32, Option<Committed>)>> = BTreeMap::new();
            if let Some(g) = g {
                for ((t, p), c) in &g.offsets {
                    by_topic
                        .entry(t.clone())
                        .or_default()
                        .push((*p, Some(c.clone())));
                }
            }
            by_topic.into_iter().collect()
        }
    }
}
