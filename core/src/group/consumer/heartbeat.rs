//! ConsumerGroupHeartbeat: join (epoch 0), heartbeat, leave (-1, and -2 for a static member),
//! checked as Kafka checks them; each heartbeat may bump the group epoch, compute new targets,
//! and move the member along its reconciliation.

use super::assignor::{Assignment, ASSIGNORS};
use super::{topic_metas, ConsumerGroup, ConsumerMember, LEAVE_EPOCH, STATIC_LEAVE_EPOCH};
use crate::group::membership::ClientInfo;
use crate::group::state::{Group, GroupState};
use crate::group::{GroupCoordinator, MAX_CLIENT_ID_KEPT, MAX_MEMBER_BYTES};
use crate::log_safe;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as ResponseAssignment, TopicPartitions,
};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};

type Refusal = (ResponseError, String);

fn refuse(code: ResponseError, message: impl Into<String>) -> Refusal {
    (code, message.into())
}

fn error_response(
    version_member: Option<String>,
    (code, message): Refusal,
) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(StrBytes::from_string(message)))
        .with_member_id(version_member.map(StrBytes::from_string))
        .with_member_epoch(-1)
}

/// The request's owned partitions as an assignment.
fn owned_of(req: &ConsumerGroupHeartbeatRequest) -> Option<Assignment> {
    req.topic_partitions.as_ref().map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            a.entry(tp.topic_id)
                .or_default()
                .extend(tp.partitions.iter().copied());
        }
        a
    })
}

fn response_assignment(a: &Assignment) -> ResponseAssignment {
    ResponseAssignment::default().with_topic_partitions(
        a.iter()
            .map(|(t, ps)| {
                TopicPartitions::default()
                    .with_topic_id(*t)
                    .with_partitions(ps.iter().copied().collect())
            })
            .collect(),
    )
}

/// The longest member id, instance id or rack id kept (strom's bound; Kafka has none, and
/// real ones are UUIDs and host names). A member is kept for its session, so what it sends
/// must not size the coordinator's memory.
const MAX_ID_BYTES: usize = 256;

/// Kafka's checks of the request itself (`throwIfConsumerGroupHeartbeatRequestIsInvalid`),
/// and strom's bounds on what a member keeps: ids, and its subscription at most
/// [`MAX_MEMBER_BYTES`] (the classic protocol's bound on member metadata).
fn check_request(req: &ConsumerGroupHeartbeatRequest, version: i16) -> Result<(), Refusal> {
    let invalid = |m: &str| Err(refuse(ResponseError::InvalidRequest, m));
    let ids = [
        Some(&req.member_id),
        req.instance_id.as_ref(),
        req.rack_id.as_ref(),
    ];
    if ids.iter().flatten().any(|i| i.len() > MAX_ID_BYTES) {
        return invalid("MemberId, InstanceId and RackId may have at most 256 bytes.");
    }
    let subscription: usize = req
        .subscribed_topic_names
        .iter()
        .flatten()
        .map(|t| t.0.len())
        .sum::<usize>()
        + req.subscribed_topic_regex.as_ref().map_or(0, |r| r.len());
    if subscription > MAX_MEMBER_BYTES {
        return invalid("The subscription is larger than 1 MiB.");
    }
    if req.group_id.0.is_empty() {
        return invalid("GroupId can't be empty.");
    }
    if req.instance_id.as_ref().is_some_and(|i| i.is_empty()) {
        return invalid("InstanceId can't be empty.");
    }
    if req.rack_id.as_ref().is_some_and(|r| r.is_empty()) {
        return invalid("RackId can't be empty.");
    }
    // v1+ (KIP-1082): the client generates its member id.
    if version >= 1 && req.member_id.is_empty() {
        return invalid("MemberId can't be empty.");
    }
    match req.member_epoch {
        e if e > 0 || e == LEAVE_EPOCH => {
            if req.member_id.is_empty() {
                return invalid("MemberId can't be empty.");
            }
        }
        0 => {
            if req.rebalance_timeout_ms == -1 {
                return invalid("RebalanceTimeoutMs must be provided in first request.");
            }
            if req.topic_partitions.as_ref().is_none_or(|t| !t.is_empty()) {
                return invalid("TopicPartitions must be empty when (re-)joining.");
            }
            let names = req
                .subscribed_topic_names
                .as_ref()
                .is_some_and(|n| !n.is_empty());
            let regex = req
                .subscribed_topic_regex
                .as_ref()
                .is_some_and(|r| !r.is_empty());
            if !names && !regex {
                return invalid(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                );
            }
        }
        STATIC_LEAVE_EPOCH => {
            if req.member_id.is_empty() {
                return invalid("MemberId can't be empty.");
            }
            if req.instance_id.is_none() {
                return invalid("InstanceId can't be null.");
            }
        }
        _ => return invalid("MemberEpoch is invalid."),
    }
    // An empty regex is no regex (librdkafka sends one with plain topic names).
    if let Some(r) = req
        .subscribed_topic_regex
        .as_ref()
        .filter(|r| !r.is_empty())
    {
        if regex::Regex::new(r.as_str()).is_err() {
            return Err(refuse(
                ResponseError::InvalidRegularExpression,
                format!(
                    "SubscribedTopicRegex {:?} is not a valid regular expression.",
                    r.as_str()
                ),
            ));
        }
    }
    if let Some(a) = &req.server_assignor {
        if !ASSIGNORS.contains(&a.as_str()) {
            return Err(refuse(
                ResponseError::UnsupportedAssignor,
                format!(
                    "ServerAssignor {} is not supported. Supported assignors: {}.",
                    a.as_str(),
                    ASSIGNORS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Kafka's epoch check of a known member (`throwIfConsumerGroupMemberEpochIsInvalid`): a
/// smaller epoch is accepted only as the previous one with no partition beyond the current
/// assignment (the response with the new epoch was lost).
fn check_epoch(m: &ConsumerMember, epoch: i32, owned: Option<&Assignment>) -> Result<(), Refusal> {
    let current = m.reconciled.epoch;
    let fenced = || {
        refuse(
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a {} member epoch ({epoch}) than the one known by \
                 the group coordinator ({current}). The member must abandon all its partitions and rejoin.",
                if epoch > current { "greater" } else { "smaller" }
            ),
        )
    };
    if epoch > current {
        return Err(fenced());
    }
    if epoch < current {
        let subset = owned.is_some_and(|o| {
            o.iter().all(|(t, ps)| {
                ps.iter()
                    .all(|p| super::reconcile::holds(&m.reconciled.assigned, t, *p))
            })
        });
        if epoch != m.reconciled.previous_epoch || !subset {
            return Err(fenced());
        }
    }
    Ok(())
}

/// The consumer group named by a heartbeat: created (or converted from an Empty classic
/// group) on a join; a non-empty classic group is not one.
fn consumer_group_for<'a>(
    groups: &'a mut HashMapOfGroups,
    id: &str,
    joining: bool,
    now: i64,
) -> Result<&'a mut Group, Refusal> {
    if !groups.contains_key(id) {
        if !joining {
            return Err(refuse(
                ResponseError::UnknownMemberId,
                format!("Group {id} has no such member."),
            ));
        }
        groups.insert(id.to_string(), Group::new(id, now));
    }
    let Some(g) = groups.get_mut(id) else {
        return Err(refuse(
            ResponseError::CoordinatorNotAvailable,
            "group vanished",
        ));
    };
    if g.state == GroupState::Dead {
        return Err(refuse(
            ResponseError::CoordinatorNotAvailable,
            "the group is being deleted",
        ));
    }
    if g.consumer.is_none() {
        let empty = g.members.is_empty() && g.pending.is_empty();
        if !empty {
            return Err(refuse(
                ResponseError::GroupIdNotFound,
                format!("Group {id} is not a consumer group."),
            ));
        }
        if !joining {
            // An Empty classic group (e.g. one reloaded with its offsets after a restart)
            // has no consumer members: the member rejoins.
            return Err(refuse(
                ResponseError::UnknownMemberId,
                format!("Member is not a member of group {id}."),
            ));
        }
        g.consumer = Some(Box::default());
        g.protocol_type = Some("consumer".to_string());
        g.protocol = None;
        g.leader = None;
    }
    Ok(g)
}

type HashMapOfGroups = std::collections::HashMap<String, Group>;

impl GroupCoordinator {
    pub fn consumer_group_heartbeat(
        &self,
        req: ConsumerGroupHeartbeatRequest,
        version: i16,
        client: ClientInfo,
    ) -> ConsumerGroupHeartbeatResponse {
        let member_id = (!req.member_id.is_empty()).then(|| req.member_id.to_string());
        if let Err(refusal) = check_request(&req, version) {
            return error_response(member_id, refusal);
        }
        // Topic metadata first: the broker's lock is never taken under the groups' lock.
        let topics = topic_metas(&self.inner.broker.topics());
        let now = self.inner.clock.now_ms();
        let mut groups = self.inner.groups.lock();
        match self.heartbeat_locked(&mut groups, &req, client, &topics, now) {
            Ok(response) => response,
            Err(refusal) => error_response(member_id, refusal),
        }
    }

    fn heartbeat_locked(
        &self,
        groups: &mut HashMapOfGroups,
        req: &ConsumerGroupHeartbeatRequest,
        client: ClientInfo,
        topics: &BTreeMap<String, super::assignor::TopicMeta>,
        now: i64,
    ) -> Result<ConsumerGroupHeartbeatResponse, Refusal> {
        let group_id = req.group_id.0.as_str();
        let epoch = req.member_epoch;
        let interval = self.inner.config.consumer_heartbeat_interval_ms;
        let g = consumer_group_for(groups, group_id, epoch == 0, now)?;
        let Some(cg) = g.consumer.as_deref_mut() else {
            return Err(refuse(
                ResponseError::CoordinatorNotAvailable,
                "not a consumer group",
            ));
        };
        if epoch == LEAVE_EPOCH || epoch == STATIC_LEAVE_EPOCH {
            let out = leave(cg, req, topics, now)?;
            settle_state(g, now);
            return Ok(out.with_heartbeat_interval_ms(interval));
        }
        let owned = owned_of(req);
        let member_id = if req.member_id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            req.member_id.to_string()
        };
        let is_new = !cg.members.contains_key(&member_id);
        if is_new && cg.members.len() >= self.inner.config.max_size {
            return Err(refuse(
                ResponseError::GroupMaxSizeReached,
                format!(
                    "The consumer group has reached its maximum capacity of {} members.",
                    self.inner.config.max_size
                ),
            ));
        }
        let mut changed = false;
        if epoch == 0 {
            changed |= join(cg, &member_id, req)?;
        } else {
            let Some(m) = cg.members.get(&member_id) else {
                return Err(refuse(
                    ResponseError::UnknownMemberId,
                    format!("Member {member_id} is not a member of group {group_id}."),
                ));
            };
            if m.left_static {
                return Err(refuse(
                    ResponseError::UnknownMemberId,
                    "the static member left",
                ));
            }
            check_epoch(m, epoch, owned.as_ref())?;
        }
        let Some(m) = cg.members.get_mut(&member_id) else {
            return Err(refuse(ResponseError::UnknownMemberId, "member vanished"));
        };
        changed |= update_member(m, req, client);
        m.last_heartbeat_ms = now;
        let before = m.reconciled.assigned.clone();
        cg.maybe_rebalance(changed, topics);
        if changed {
            tracing::info!(
                group = %log_safe::escape(group_id),
                epoch = cg.epoch,
                members = cg.members.len(),
                "consumer group epoch bumped"
            );
        }
        cg.reconcile_member(&member_id, owned.as_ref(), now);
        let Some(m) = cg.members.get(&member_id) else {
            return Err(refuse(ResponseError::UnknownMemberId, "member vanished"));
        };
        let full = epoch == 0
            || (req.rebalance_timeout_ms != -1
                && (req.subscribed_topic_names.is_some() || req.subscribed_topic_regex.is_some())
                && req.topic_partitions.is_some());
        let assignment = (full || m.reconciled.assigned != before)
            .then(|| response_assignment(&m.reconciled.assigned));
        let response = ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(StrBytes::from_string(member_id)))
            .with_member_epoch(m.reconciled.epoch)
            .with_heartbeat_interval_ms(interval)
            .with_error_message(None)
            .with_assignment(assignment);
        settle_state(g, now);
        Ok(response)
    }
}

/// A join (epoch 0): a new member, a known one starting over (it lost its state, e.g. after
/// being fenced: what it held is released), or a static member's new incarnation taking its
/// instance's place. Returns whether the group's membership changed.
fn join(
    cg: &mut ConsumerGroup,
    member_id: &str,
    req: &ConsumerGroupHeartbeatRequest,
) -> Result<bool, Refusal> {
    if let Some(instance) = req.instance_id.as_ref().map(|i| i.to_string()) {
        if let Some(old_id) = cg.static_members.get(&instance).cloned() {
            if old_id != member_id {
                let old_left = cg.members.get(&old_id).is_none_or(|m| m.left_static);
                if !old_left {
                    return Err(refuse(
                        ResponseError::UnreleasedInstanceId,
                        format!("Static member {old_id} with instance id {instance} is still in the group."),
                    ));
                }
                // The new incarnation takes the old one's assignment and target.
                let target = cg.targets.get(&old_id).cloned();
                let old = cg.remove(&old_id);
                let mut m = ConsumerMember::new(member_id.to_string());
                m.instance_id = Some(instance.clone());
                if let Some(old) = old {
                    m.reconciled = old.reconciled;
                    m.subscribed_names = old.subscribed_names;
                    m.subscribed_regex = old.subscribed_regex;
                    m.server_assignor = old.server_assignor;
                }
                if let Some(t) = target {
                    cg.targets.insert(member_id.to_string(), t);
                }
                cg.members.insert(member_id.to_string(), m);
                cg.static_members.insert(instance, member_id.to_string());
                return Ok(false);
            }
        }
        cg.static_members.insert(instance, member_id.to_string());
    }
    match cg.members.get_mut(member_id) {
        Some(m) => {
            // Rejoining with epoch 0 and an empty owned list: it holds nothing any more.
            m.reconciled = super::reconcile::Reconciled::new();
            m.revoking_since_ms = None;
            m.left_static = false;
            Ok(false)
        }
        None => {
            let mut m = ConsumerMember::new(member_id.to_string());
            m.instance_id = req.instance_id.as_ref().map(|i| i.to_string());
            cg.members.insert(member_id.to_string(), m);
            Ok(true)
        }
    }
}

/// Takes the request's optional fields into the member; returns whether its subscription
/// (names, regex or assignor) changed.
fn update_member(
    m: &mut ConsumerMember,
    req: &ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
) -> bool {
    let mut changed = false;
    if let Some(names) = &req.subscribed_topic_names {
        let names: BTreeSet<String> = names.iter().map(|n| n.0.to_string()).collect();
        changed |= names != m.subscribed_names;
        m.subscribed_names = names;
    }
    if let Some(r) = &req.subscribed_topic_regex {
        let r = Some(r.to_string()).filter(|r| !r.is_empty());
        changed |= r != m.subscribed_regex;
        m.subscribed_regex = r;
    }
    if let Some(a) = &req.server_assignor {
        let a = Some(a.to_string());
        changed |= a != m.server_assignor;
        m.server_assignor = a;
    }
    if req.rebalance_timeout_ms != -1 {
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    }
    if let Some(r) = &req.rack_id {
        m.rack_id = Some(r.to_string());
    }
    if let Some(i) = &req.instance_id {
        m.instance_id = Some(i.to_string());
    }
    m.client_id = crate::group::membership::truncated(client.client_id, MAX_CLIENT_ID_KEPT);
    m.client_host = client.client_host;
    changed
}

/// LeaveGroup by heartbeat: -1 removes the member; -2 (static) keeps it with its assignment
/// until its session times out or its instance comes back.
fn leave(
    cg: &mut ConsumerGroup,
    req: &ConsumerGroupHeartbeatRequest,
    topics: &BTreeMap<String, super::assignor::TopicMeta>,
    now: i64,
) -> Result<ConsumerGroupHeartbeatResponse, Refusal> {
    let mut member_id = req.member_id.to_string();
    if let Some(i) = &req.instance_id {
        match cg.static_members.get(i.as_str()) {
            Some(current) if *current != member_id => {
                return Err(refuse(
                    ResponseError::FencedInstanceId,
                    format!("Instance {} is now member {current}.", i.as_str()),
                ))
            }
            Some(current) => member_id = current.clone(),
            None => {}
        }
    }
    if !cg.members.contains_key(&member_id) {
        return Err(refuse(
            ResponseError::UnknownMemberId,
            format!("Member {member_id} is not a member of the group."),
        ));
    }
    if req.member_epoch == STATIC_LEAVE_EPOCH {
        if let Some(m) = cg.members.get_mut(&member_id) {
            m.left_static = true;
            m.last_heartbeat_ms = now;
        }
    } else {
        cg.remove(&member_id);
        cg.maybe_rebalance(true, topics);
    }
    Ok(ConsumerGroupHeartbeatResponse::default()
        .with_member_id(Some(StrBytes::from_string(member_id)))
        .with_member_epoch(req.member_epoch)
        .with_error_message(None))
}

/// Keeps the group's shared state field in step: Empty without members (what offset
/// retention and group deletion look at), Stable otherwise.
pub(crate) fn settle_state(g: &mut Group, now: i64) {
    let Some(cg) = g.consumer.as_deref() else {
        return;
    };
    let empty = cg.members.is_empty();
    match (g.state, empty) {
        (GroupState::Empty, false) => g.state = GroupState::Stable,
        (GroupState::Stable, true) => {
            g.state = GroupState::Empty;
            g.empty_since_ms = now;
        }
        _ => {}
    }
}
