//! Group membership with the consumer group protocol (KIP-848, `group.protocol=consumer`):
//! the coordinator assigns; the member heartbeats with ConsumerGroupHeartbeat. A *full*
//! heartbeat (subscription and owned partitions) is what a join is: the poll sends one when a
//! rejoin is needed and gets the member's assignment back. Revoking first and reporting what
//! it still owns in the next full heartbeat is how the member moves along (`Consumer`'s
//! cooperative path does both). The background task sends light heartbeats; an assignment in
//! their answer, or a fenced epoch, asks the poll for a full one.

use super::{Generation, Joined, Membership};
use crate::client::assignor::RebalanceProtocol;
use crate::client::cluster::Cluster;
use crate::client::consumer::types::TopicPartition;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::consumer_group_heartbeat_response::Assignment;
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const UNKNOWN_MEMBER_ID: i16 = 25;
const FENCED_MEMBER_EPOCH: i16 = 110;
const STALE_MEMBER_EPOCH: i16 = 113;
const LEAVE_EPOCH: i32 = -1;
const STATIC_LEAVE_EPOCH: i32 = -2;

/// The error codes after which the member starts over with epoch 0 (keeping its id).
pub(super) fn starts_over(code: i16) -> bool {
    matches!(
        code,
        UNKNOWN_MEMBER_ID | FENCED_MEMBER_EPOCH | STALE_MEMBER_EPOCH
    )
}

/// A member's identity before it ever joined: its own id (KIP-1082: clients generate it) and
/// epoch 0.
pub(super) fn fresh_generation() -> Generation {
    Generation {
        member_id: uuid::Uuid::new_v4().to_string(),
        generation: 0,
        protocol: Some("consumer".into()),
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The owned partitions as the heartbeat names them (by topic id).
fn owned_by_id(cluster: &Cluster, owned: &BTreeSet<TopicPartition>) -> Vec<TopicPartitions> {
    let mut out: Vec<TopicPartitions> = Vec::new();
    for (topic, partitions) in super::by_topic(owned) {
        if let Some(info) = cluster.topic(&topic) {
            out.push(
                TopicPartitions::default()
                    .with_topic_id(info.id)
                    .with_partitions(partitions),
            );
        }
    }
    out
}

/// The assignment by topic name; topic ids the metadata does not know yet are looked up.
async fn by_name(cluster: &Cluster, a: &Assignment) -> ClientResult<BTreeSet<TopicPartition>> {
    let known = |cluster: &Cluster| {
        let topics = cluster.topics();
        a.topic_partitions
            .iter()
            .map(|tp| {
                topics
                    .iter()
                    .find(|t| t.id == tp.topic_id)
                    .map(|t| (t.name.clone(), tp.partitions.clone()))
            })
            .collect::<Option<Vec<_>>>()
    };
    let named = match known(cluster) {
        Some(n) => n,
        None => {
            cluster.refresh(&[]).await?;
            known(cluster).ok_or_else(|| {
                ClientError::Protocol("the coordinator assigned a topic id no broker knows".into())
            })?
        }
    };
    Ok(named
        .into_iter()
        .flat_map(|(t, ps)| ps.into_iter().map(move |p| TopicPartition::new(&t, p)))
        .collect())
}

/// A light heartbeat: identity and epoch, every optional field left unchanged (-1 / null).
fn light_heartbeat(
    group_id: &str,
    member_id: &str,
    epoch: i32,
    instance: Option<&str>,
) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group_id)))
        .with_member_id(s(member_id))
        .with_member_epoch(epoch)
        .with_instance_id(instance.map(s))
        .with_rebalance_timeout_ms(-1)
        .with_subscribed_topic_names(None)
        .with_topic_partitions(None)
}

impl Membership {
    fn heartbeat_request(&self, epoch: i32) -> ConsumerGroupHeartbeatRequest {
        light_heartbeat(
            &self.group_id,
            &self.current().member_id,
            epoch,
            self.config.group_instance_id.as_deref(),
        )
    }

    /// A full heartbeat: the subscription and what the member owns; the answer is its
    /// assignment (unchanged when the coordinator sends none).
    pub(super) async fn join_consumer_protocol(
        &mut self,
        topics: &[String],
        owned: &BTreeSet<TopicPartition>,
    ) -> ClientResult<Joined> {
        let epoch = self.current().generation.max(0);
        let owned_list = if epoch == 0 {
            // A (re)join owns nothing: whatever it held is given up.
            Vec::new()
        } else {
            owned_by_id(&self.cluster, owned)
        };
        let request = self
            .heartbeat_request(epoch)
            .with_rebalance_timeout_ms(super::millis_i32(self.config.max_poll_interval))
            .with_subscribed_topic_names(Some(topics.iter().map(|t| TopicName(s(t))).collect()))
            .with_server_assignor(self.config.group_remote_assignor.as_deref().map(s))
            .with_topic_partitions(Some(owned_list));
        let r = self
            .cluster
            .send_to_coordinator(&self.group_id, request)
            .await?;
        if r.error_code != 0 {
            return Err(ClientError::kafka(
                r.error_code,
                format!("heartbeating group {:?}", self.group_id),
                r.error_message.map(|m| m.to_string()),
            ));
        }
        {
            let mut g = self.generation.lock();
            if let Some(id) = &r.member_id {
                g.member_id = id.to_string();
            }
            g.generation = r.member_epoch;
        }
        if r.heartbeat_interval_ms > 0 {
            self.interval_ms
                .store(r.heartbeat_interval_ms as u64, Ordering::Release);
        }
        let assigned = match &r.assignment {
            Some(a) => by_name(&self.cluster, a).await?,
            None if epoch == 0 => BTreeSet::new(),
            None => owned.clone(),
        };
        Ok(Joined {
            assigned,
            protocol: RebalanceProtocol::Cooperative,
        })
    }

    /// The background heartbeats of the consumer protocol, at the coordinator's interval.
    pub(super) fn start_consumer_heartbeat(&mut self) {
        if self.heartbeat.is_some() {
            return;
        }
        let cluster = Arc::clone(&self.cluster);
        let group_id = self.group_id.clone();
        let generation = Arc::clone(&self.generation);
        let rejoin = Arc::clone(&self.rejoin_needed);
        let active = Arc::clone(&self.active);
        let interval: Arc<AtomicU64> = Arc::clone(&self.interval_ms);
        let instance = self.config.group_instance_id.clone();
        self.heartbeat = Some(tokio::spawn(async move {
            loop {
                let wait = interval.load(Ordering::Acquire).max(10);
                tokio::time::sleep(Duration::from_millis(wait)).await;
                if !active.load(Ordering::Acquire) || rejoin.load(Ordering::Acquire) {
                    continue;
                }
                let g = generation.lock().clone();
                let request =
                    light_heartbeat(&group_id, &g.member_id, g.generation, instance.as_deref());
                match cluster.send_to_coordinator(&group_id, request).await {
                    Ok(r) if r.error_code == 0 => {
                        if r.heartbeat_interval_ms > 0 {
                            interval.store(r.heartbeat_interval_ms as u64, Ordering::Release);
                        }
                        // An assignment is sent only when it changed: the poll reconciles it
                        // with a full heartbeat.
                        if r.assignment.is_some() {
                            rejoin.store(true, Ordering::Release);
                        } else {
                            generation.lock().generation = r.member_epoch;
                        }
                    }
                    Ok(r) if starts_over(r.error_code) => {
                        generation.lock().generation = 0;
                        rejoin.store(true, Ordering::Release);
                    }
                    Ok(r) => {
                        tracing::debug!(code = r.error_code, "consumer group heartbeat failed");
                        cluster.forget_coordinator(&group_id);
                    }
                    Err(e) => tracing::debug!(
                        "consumer group heartbeat failed: {}",
                        crate::log_safe::escape(&e)
                    ),
                }
            }
        }));
    }

    /// Leaves with epoch -1 (a static member with -2: its partitions wait for it).
    pub(super) async fn leave_consumer_protocol(&mut self) {
        let epoch = if self.config.group_instance_id.is_some() {
            STATIC_LEAVE_EPOCH
        } else {
            LEAVE_EPOCH
        };
        let request = self.heartbeat_request(epoch);
        if let Err(e) = self
            .cluster
            .send_to_coordinator(&self.group_id, request)
            .await
        {
            tracing::debug!(
                "leaving group {} failed: {}",
                crate::log_safe::escape(&self.group_id),
                crate::log_safe::escape(&e)
            );
        }
        self.generation.lock().generation = 0;
    }
}
