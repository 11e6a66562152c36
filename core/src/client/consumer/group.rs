//! Group membership with Kafka's classic protocol: JoinGroup (with MEMBER_ID_REQUIRED),
//! SyncGroup (the leader runs the assignor), a background heartbeat task that flags a needed
//! rejoin, and LeaveGroup. The consumer drives joins from `poll`, as Java's does, so rebalance
//! callbacks run on the polling task. With `group.protocol=consumer` the same entry points
//! speak KIP-848's protocol instead ([`consumer_protocol`]).

mod consumer_protocol;

use super::config::ConsumerConfig;
use super::types::TopicPartition;
use crate::client::assignor::protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription,
};
use crate::client::assignor::{Assignor, RebalanceProtocol};
use crate::client::cluster::Cluster;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

const REBALANCE_IN_PROGRESS: i16 = 27;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;
const NOT_COORDINATOR: i16 = 16;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;

/// The member's identity in the group, shared with the heartbeat task.
#[derive(Debug, Clone)]
pub struct Generation {
    pub member_id: String,
    pub generation: i32,
    pub protocol: Option<String>,
}

impl Generation {
    fn none() -> Self {
        Generation {
            member_id: String::new(),
            generation: -1,
            protocol: None,
        }
    }
}

/// What a completed join gave the member.
#[derive(Debug)]
pub struct Joined {
    pub assigned: BTreeSet<TopicPartition>,
    pub protocol: RebalanceProtocol,
}

#[derive(Debug)]
pub struct Membership {
    pub group_id: String,
    cluster: Arc<Cluster>,
    config: Arc<ConsumerConfig>,
    pub generation: Arc<Mutex<Generation>>,
    /// Set by the heartbeat task (or a failed commit) when the group is rebalancing.
    pub rejoin_needed: Arc<AtomicBool>,
    /// Whether the heartbeat task should heartbeat (false while joining).
    active: Arc<AtomicBool>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    /// The consumer protocol's heartbeat interval, as the coordinator last said (ms).
    interval_ms: Arc<AtomicU64>,
}

impl Membership {
    pub fn new(group_id: String, cluster: Arc<Cluster>, config: Arc<ConsumerConfig>) -> Self {
        let generation = if config.consumer_protocol {
            consumer_protocol::fresh_generation()
        } else {
            Generation::none()
        };
        let interval = millis_i32(config.heartbeat_interval) as u64;
        Membership {
            group_id,
            cluster,
            config,
            generation: Arc::new(Mutex::new(generation)),
            rejoin_needed: Arc::new(AtomicBool::new(true)),
            active: Arc::new(AtomicBool::new(false)),
            heartbeat: None,
            interval_ms: Arc::new(AtomicU64::new(interval)),
        }
    }

    /// New settings, before the first join (see `Consumer::reconfigure`).
    pub fn set_config(&mut self, config: Arc<ConsumerConfig>) {
        if config.consumer_protocol != self.config.consumer_protocol {
            *self.generation.lock() = if config.consumer_protocol {
                consumer_protocol::fresh_generation()
            } else {
                Generation::none()
            };
        }
        self.config = config;
    }

    pub fn current(&self) -> Generation {
        self.generation.lock().clone()
    }

    /// Joins (or rejoins) the group subscribed to `topics`, owning `owned`, and returns the
    /// assignment. Retries coordinator moves and concurrent rebalances until `deadline`.
    pub async fn join(
        &mut self,
        topics: &[String],
        owned: &BTreeSet<TopicPartition>,
        deadline: Instant,
    ) -> ClientResult<Joined> {
        self.active.store(false, Ordering::Release);
        if self.config.consumer_protocol {
            self.start_consumer_heartbeat();
        } else {
            self.start_heartbeat();
        }
        loop {
            self.rejoin_needed.store(false, Ordering::Release);
            let attempt = if self.config.consumer_protocol {
                self.join_consumer_protocol(topics, owned).await
            } else {
                self.join_once(topics, owned).await
            };
            match attempt {
                Ok(joined) => {
                    self.active.store(true, Ordering::Release);
                    return Ok(joined);
                }
                Err(e) => {
                    let code = e.kafka_code().unwrap_or(-1);
                    match code {
                        // The consumer protocol: start over at epoch 0, same member id.
                        _ if self.config.consumer_protocol
                            && consumer_protocol::starts_over(code) =>
                        {
                            self.generation.lock().generation = 0;
                        }
                        UNKNOWN_MEMBER_ID | ILLEGAL_GENERATION | FENCED_INSTANCE_ID => {
                            if code == FENCED_INSTANCE_ID {
                                return Err(e);
                            }
                            *self.generation.lock() = Generation::none();
                        }
                        REBALANCE_IN_PROGRESS => {}
                        NOT_COORDINATOR
                        | COORDINATOR_NOT_AVAILABLE
                        | COORDINATOR_LOAD_IN_PROGRESS => {
                            self.cluster.forget_coordinator(&self.group_id)
                        }
                        _ if e.is_retriable() => self.cluster.forget_coordinator(&self.group_id),
                        _ => return Err(e),
                    }
                    if Instant::now() >= deadline {
                        return Err(e);
                    }
                    tokio::time::sleep(self.config.cluster.retry_backoff).await;
                }
            }
        }
    }

    async fn join_once(
        &mut self,
        topics: &[String],
        owned: &BTreeSet<TopicPartition>,
    ) -> ClientResult<Joined> {
        let config = Arc::clone(&self.config);
        let current = self.current();
        let owned_list = by_topic(owned);
        let mut protocols = Vec::new();
        for a in &config.assignors {
            let user_data = a.subscription_user_data(&owned_list, current.generation);
            let metadata = encode_subscription(
                topics,
                user_data.as_ref(),
                &owned_list,
                current.generation,
                None,
                1,
            )
            .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
            protocols.push(
                JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(a.name()))
                    .with_metadata(metadata),
            );
        }
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group_id.clone())))
            .with_session_timeout_ms(millis_i32(config.session_timeout))
            .with_rebalance_timeout_ms(millis_i32(config.max_poll_interval))
            .with_member_id(StrBytes::from_string(current.member_id.clone()))
            .with_group_instance_id(config.group_instance_id.clone().map(StrBytes::from_string))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(protocols);
        let r = self
            .cluster
            .send_to_coordinator(&self.group_id, request)
            .await?;
        if r.error_code == MEMBER_ID_REQUIRED {
            // KIP-394: the coordinator hands out the id; join again with it at once.
            self.generation.lock().member_id = r.member_id.to_string();
            return Err(ClientError::kafka(
                REBALANCE_IN_PROGRESS,
                "joining with the member id",
                None,
            ));
        }
        if r.error_code != 0 {
            return Err(ClientError::kafka(
                r.error_code,
                format!("joining group {:?}", self.group_id),
                None,
            ));
        }
        let protocol = r.protocol_name.as_ref().map(|p| p.to_string());
        let member_id = r.member_id.to_string();
        {
            let mut g = self.generation.lock();
            g.member_id = member_id.clone();
            g.generation = r.generation_id;
            g.protocol = protocol.clone();
        }
        let assignor = config
            .assignors
            .iter()
            .find(|a| Some(a.name()) == protocol.as_deref())
            .cloned()
            .ok_or_else(|| {
                ClientError::Protocol(format!(
                    "the coordinator chose protocol {protocol:?}, which this consumer did not offer"
                ))
            })?;
        let assignments = if r.leader.as_str() == member_id {
            self.lead(assignor.as_ref(), &r.members).await?
        } else {
            Vec::new()
        };
        let sync = SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group_id.clone())))
            .with_generation_id(r.generation_id)
            .with_member_id(StrBytes::from_string(member_id))
            .with_group_instance_id(config.group_instance_id.clone().map(StrBytes::from_string))
            .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
            .with_protocol_name(protocol.clone().map(StrBytes::from_string))
            .with_assignments(assignments);
        let s = self
            .cluster
            .send_to_coordinator(&self.group_id, sync)
            .await?;
        if s.error_code != 0 {
            return Err(ClientError::kafka(
                s.error_code,
                format!("syncing group {:?}", self.group_id),
                None,
            ));
        }
        let assignment = decode_assignment(&s.assignment).map_err(|e| {
            ClientError::Protocol(format!("the group leader sent a bad assignment: {e}"))
        })?;
        let assigned = assignment
            .pairs()
            .map(|(t, p)| TopicPartition::new(t, p))
            .collect();
        Ok(Joined {
            assigned,
            protocol: assignor.protocol(),
        })
    }

    /// As the leader: decode every member's subscription, learn partition counts, assign.
    async fn lead(
        &self,
        assignor: &dyn Assignor,
        members: &[kafka_protocol::messages::join_group_response::JoinGroupResponseMember],
    ) -> ClientResult<Vec<SyncGroupRequestAssignment>> {
        let mut subscriptions = Vec::with_capacity(members.len());
        for m in members {
            let s = decode_subscription(
                m.member_id.as_str(),
                m.group_instance_id.as_ref().map(|i| i.as_str()),
                &m.metadata,
            )
            .map_err(|e| {
                ClientError::Protocol(format!(
                    "member {} sent a bad subscription: {e}",
                    m.member_id.as_str()
                ))
            })?;
            subscriptions.push(s);
        }
        let topics: BTreeSet<String> = subscriptions
            .iter()
            .flat_map(|s| s.topics.iter().cloned())
            .collect();
        let topics: Vec<String> = topics.into_iter().collect();
        self.cluster.refresh(&topics).await?;
        let counts: BTreeMap<String, i32> = topics
            .iter()
            .filter_map(|t| {
                self.cluster
                    .topic(t)
                    .map(|info| (t.clone(), info.partitions.len() as i32))
            })
            .collect();
        let plan = assignor.assign(&counts, &subscriptions);
        let mut out = Vec::with_capacity(plan.len());
        for (member, assignment) in plan {
            let bytes = encode_assignment(&assignment)
                .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
            out.push(
                SyncGroupRequestAssignment::default()
                    .with_member_id(StrBytes::from_string(member))
                    .with_assignment(bytes),
            );
        }
        Ok(out)
    }

    /// Starts the heartbeat task once; it heartbeats while the member is active.
    fn start_heartbeat(&mut self) {
        if self.heartbeat.is_some() {
            return;
        }
        let cluster = Arc::clone(&self.cluster);
        let group_id = self.group_id.clone();
        let generation = Arc::clone(&self.generation);
        let rejoin = Arc::clone(&self.rejoin_needed);
        let active = Arc::clone(&self.active);
        let interval = self.config.heartbeat_interval;
        let instance = self.config.group_instance_id.clone();
        self.heartbeat = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if !active.load(Ordering::Acquire) || rejoin.load(Ordering::Acquire) {
                    continue;
                }
                let g = generation.lock().clone();
                let request = HeartbeatRequest::default()
                    .with_group_id(GroupId(StrBytes::from_string(group_id.clone())))
                    .with_generation_id(g.generation)
                    .with_member_id(StrBytes::from_string(g.member_id.clone()))
                    .with_group_instance_id(instance.clone().map(StrBytes::from_string));
                match cluster.send_to_coordinator(&group_id, request).await {
                    Ok(r) => match r.error_code {
                        0 => {}
                        REBALANCE_IN_PROGRESS => rejoin.store(true, Ordering::Release),
                        ILLEGAL_GENERATION | UNKNOWN_MEMBER_ID | FENCED_INSTANCE_ID => {
                            if r.error_code == UNKNOWN_MEMBER_ID {
                                *generation.lock() = Generation::none();
                            }
                            rejoin.store(true, Ordering::Release);
                        }
                        code => {
                            tracing::debug!(code, "heartbeat failed");
                            cluster.forget_coordinator(&group_id);
                        }
                    },
                    Err(e) => tracing::debug!("heartbeat failed: {}", crate::log_safe::escape(&e)),
                }
            }
        }));
    }

    /// Leaves the group (dynamic members; static members just stop, as Java's do on close).
    pub async fn leave(&mut self) {
        self.active.store(false, Ordering::Release);
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        let g = self.current();
        if self.config.consumer_protocol {
            if g.generation > 0 {
                self.leave_consumer_protocol().await;
            }
            return;
        }
        if g.member_id.is_empty() || self.config.group_instance_id.is_some() {
            return;
        }
        if let Err(e) = self.send_leave(&g.member_id).await {
            tracing::debug!(
                "leaving group {} failed: {}",
                crate::log_safe::escape(&self.group_id),
                crate::log_safe::escape(&e)
            );
        }
        *self.generation.lock() = Generation::none();
    }
}

impl Membership {
    /// LeaveGroup names the member in a field up to v2 and in a member list from v3 on, so
    /// the request is shaped for the coordinator's version.
    async fn send_leave(&self, member_id: &str) -> ClientResult<()> {
        let node = self.cluster.coordinator(&self.group_id).await?;
        let conn = self.cluster.connection(node).await?;
        let version = conn.version(kafka_protocol::messages::ApiKey::LeaveGroup)?;
        let mut request = LeaveGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group_id.clone())));
        if version >= 3 {
            request = request.with_members(vec![MemberIdentity::default()
                .with_member_id(StrBytes::from_string(member_id.to_string()))]);
        } else {
            request = request.with_member_id(StrBytes::from_string(member_id.to_string()));
        }
        let answer = conn.send(request.into(), version).await?.await?;
        crate::client::exchange::expect::<LeaveGroupRequest>(answer).map(drop)
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

/// Partitions grouped by topic, as the subscription's owned partitions.
pub fn by_topic(set: &BTreeSet<TopicPartition>) -> Vec<(String, Vec<i32>)> {
    let mut out: Vec<(String, Vec<i32>)> = Vec::new();
    for tp in set {
        match out.last_mut() {
            Some((t, ps)) if *t == tp.topic => ps.push(tp.partition),
            _ => out.push((tp.topic.clone(), vec![tp.partition])),
        }
    }
    out
}

pub fn millis_i32(d: std::time::Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
