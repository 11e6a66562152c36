//! SyncGroup, Heartbeat and LeaveGroup, rebalance completion and session expiry: the classic
//! rebalance protocol around JoinGroup (whose steps are in [`super::join`]).

use super::state::{empty_assignment, Group, GroupState, Member};
use super::{GroupCoordinator, Inner, MAX_MEMBER_BYTES};
use crate::log_safe;
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;

pub(super) fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub(super) fn join_error(code: ResponseError, member_id: &str) -> JoinGroupResponse {
    JoinGroupResponse::default()
        .with_error_code(code.code())
        .with_generation_id(-1)
        .with_member_id(s(member_id))
        .with_protocol_name(None)
}

fn sync_error(code: ResponseError) -> SyncGroupResponse {
    SyncGroupResponse::default().with_error_code(code.code())
}

/// Who is asking, from the request header and the connection.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub client_id: String,
    pub client_host: String,
}

impl GroupCoordinator {
    pub async fn join_group(
        &self,
        req: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> JoinGroupResponse {
        let rx = match self.inner.join_now(req, version, client) {
            Ok(rx) => rx,
            Err(resp) => return *resp,
        };
        rx.await
            .unwrap_or_else(|_| join_error(ResponseError::UnknownMemberId, ""))
    }

    pub async fn sync_group(&self, req: SyncGroupRequest) -> SyncGroupResponse {
        let rx = match self.inner.sync_now(req) {
            Ok(rx) => rx,
            Err(resp) => return *resp,
        };
        rx.await
            .unwrap_or_else(|_| sync_error(ResponseError::RebalanceInProgress))
    }

    pub fn heartbeat(&self, req: HeartbeatRequest) -> HeartbeatResponse {
        let now = self.inner.clock.now_ms();
        let mut groups = self.inner.groups.lock();
        let code = match groups.get_mut(req.group_id.0.as_str()) {
            None => ResponseError::UnknownMemberId.code(),
            Some(g) => {
                match check_member(g, req.member_id.as_str(), req.group_instance_id.as_ref()) {
                    Err(e) => e.code(),
                    Ok(()) => {
                        if let Some(m) = g.member_mut(req.member_id.as_str()) {
                            m.last_heartbeat_ms = now;
                        }
                        if req.generation_id != g.generation {
                            ResponseError::IllegalGeneration.code()
                        } else if g.state == GroupState::PreparingRebalance {
                            ResponseError::RebalanceInProgress.code()
                        } else {
                            0
                        }
                    }
                }
            }
        };
        HeartbeatResponse::default().with_error_code(code)
    }

    pub fn leave_group(&self, req: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
        let now = self.inner.clock.now_ms();
        let mut groups = self.inner.groups.lock();
        let leaving: Vec<(String, Option<StrBytes>)> = if version >= 3 {
            req.members
                .iter()
                .map(|m| (m.member_id.to_string(), m.group_instance_id.clone()))
                .collect()
        } else {
            vec![(req.member_id.to_string(), None)]
        };
        let Some(g) = groups.get_mut(req.group_id.0.as_str()) else {
            return LeaveGroupResponse::default()
                .with_error_code(ResponseError::UnknownMemberId.code());
        };
        let mut out = LeaveGroupResponse::default();
        let mut changed = false;
        for (member_id, instance) in leaving {
            // A static member may leave by instance id alone.
            let id = match (&instance, member_id.is_empty()) {
                (Some(i), true) => g
                    .static_members
                    .get(i.as_str())
                    .cloned()
                    .unwrap_or_default(),
                _ => member_id.clone(),
            };
            let code = match check_member(g, &id, instance.as_ref()) {
                Err(e) => e.code(),
                Ok(()) => {
                    if let Some(mut m) = g.remove_member(&id) {
                        fail_waiters(&mut m, ResponseError::UnknownMemberId);
                        changed = true;
                    }
                    0
                }
            };
            out.members.push(
                MemberResponse::default()
                    .with_member_id(s(&member_id))
                    .with_group_instance_id(instance)
                    .with_error_code(code),
            );
        }
        if version < 3 {
            out.error_code = out.members.first().map_or(0, |m| m.error_code);
            out.members.clear();
        }
        if changed {
            self.inner.member_left(g, now);
        }
        out
    }
}

/// The member exists, and a static member's instance id still maps to it.
fn check_member(
    g: &Group,
    member_id: &str,
    instance: Option<&StrBytes>,
) -> Result<(), ResponseError> {
    if let Some(instance) = instance {
        if let Some(current) = g.static_members.get(instance.as_str()) {
            if current != member_id {
                return Err(ResponseError::FencedInstanceId);
            }
        }
    }
    if g.member(member_id).is_none() {
        return Err(ResponseError::UnknownMemberId);
    }
    Ok(())
}

/// The member list the leader gets in its JoinGroup response.
pub(super) fn roster(g: &Group, protocol: &str) -> Vec<JoinGroupResponseMember> {
    g.members
        .values()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(s(&m.id))
                .with_group_instance_id(m.instance_id.as_deref().map(s))
                .with_metadata(m.metadata_for(protocol))
        })
        .collect()
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub(super) fn truncated(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

pub(super) fn fail_waiters(m: &mut Member, code: ResponseError) {
    if let Some(tx) = m.join_waiter.take() {
        let _ = tx.send(join_error(code, &m.id));
    }
    if let Some(tx) = m.sync_waiter.take() {
        let _ = tx.send(sync_error(code));
    }
}

impl Inner {
    /// Starts a rebalance: everyone must rejoin before the rebalance timeout.
    pub(crate) fn prepare_rebalance(&self, g: &mut Group, now: i64) {
        let was_empty = g.state == GroupState::Empty;
        for m in g.members.values_mut() {
            if let Some(tx) = m.sync_waiter.take() {
                let _ = tx.send(sync_error(ResponseError::RebalanceInProgress));
            }
        }
        let timeout = g
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms as i64)
            .max()
            .unwrap_or(0);
        g.rebalance_deadline_ms = now + timeout;
        g.initial_delay_until_ms = if was_empty {
            now + self.config.initial_rebalance_delay_ms.min(timeout)
        } else {
            0
        };
        g.state = GroupState::PreparingRebalance;
    }

    /// Completes the join phase once every member has rejoined (after the initial delay of a
    /// new group) or the rebalance timeout has passed, dropping members that did not rejoin.
    pub(crate) fn try_complete_join(&self, g: &mut Group, now: i64) {
        if g.state != GroupState::PreparingRebalance || now < g.initial_delay_until_ms {
            return;
        }
        let all_joined = g.members.values().all(|m| m.join_waiter.is_some());
        if !all_joined && now < g.rebalance_deadline_ms {
            return;
        }
        let stragglers: Vec<String> = g
            .members
            .values()
            .filter(|m| m.join_waiter.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in stragglers {
            g.remove_member(&id);
        }
        g.generation += 1;
        if g.members.is_empty() {
            g.state = GroupState::Empty;
            g.protocol = None;
            g.leader = None;
            g.empty_since_ms = now;
            self.persist_group(g, now);
            return;
        }
        g.protocol = g.select_protocol();
        if g.leader.as_ref().is_none_or(|l| g.member(l).is_none()) {
            g.leader = g.members.values().next().map(|m| m.id.clone());
        }
        g.state = GroupState::CompletingRebalance;
        // Kafka logs each new generation too; operators (and tests) count rebalances by it.
        tracing::info!(
            group = %log_safe::escape(&g.id),
            generation = g.generation,
            members = g.members.len(),
            "group rebalanced: new generation"
        );
        let protocol = g.protocol.clone().unwrap_or_default();
        let leader = g.leader.clone().unwrap_or_default();
        let roster = roster(g, &protocol);
        let (generation, protocol_type) = (g.generation, g.protocol_type.clone());
        for m in g.members.values_mut() {
            m.last_heartbeat_ms = now;
            if let Some(tx) = m.join_waiter.take() {
                let resp = JoinGroupResponse::default()
                    .with_generation_id(generation)
                    .with_protocol_type(protocol_type.as_deref().map(s))
                    .with_protocol_name(Some(s(&protocol)))
                    .with_leader(s(&leader))
                    .with_member_id(s(&m.id))
                    .with_members(if m.id == leader {
                        roster.clone()
                    } else {
                        Vec::new()
                    });
                let _ = tx.send(resp);
            }
        }
    }

    fn sync_now(
        &self,
        req: SyncGroupRequest,
    ) -> Result<oneshot::Receiver<SyncGroupResponse>, Box<SyncGroupResponse>> {
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        let Some(g) = groups.get_mut(req.group_id.0.as_str()) else {
            return Err(Box::new(sync_error(ResponseError::UnknownMemberId)));
        };
        let member_id = req.member_id.to_string();
        check_member(g, &member_id, req.group_instance_id.as_ref()).map_err(sync_error)?;
        if req.generation_id != g.generation {
            return Err(Box::new(sync_error(ResponseError::IllegalGeneration)));
        }
        let type_matches = req
            .protocol_type
            .as_ref()
            .is_none_or(|t| Some(t.as_str()) == g.protocol_type.as_deref());
        let name_matches = req
            .protocol_name
            .as_ref()
            .is_none_or(|n| Some(n.as_str()) == g.protocol.as_deref());
        if !type_matches || !name_matches {
            return Err(Box::new(sync_error(
                ResponseError::InconsistentGroupProtocol,
            )));
        }
        if req
            .assignments
            .iter()
            .map(|a| a.assignment.len())
            .sum::<usize>()
            > MAX_MEMBER_BYTES
        {
            return Err(Box::new(sync_error(ResponseError::InvalidRequest)));
        }
        let response = |g: &Group, assignment: Bytes| {
            SyncGroupResponse::default()
                .with_protocol_type(g.protocol_type.as_deref().map(s))
                .with_protocol_name(g.protocol.as_deref().map(s))
                .with_assignment(assignment)
        };
        match g.state {
            GroupState::PreparingRebalance => {
                Err(Box::new(sync_error(ResponseError::RebalanceInProgress)))
            }
            GroupState::Stable => {
                let a = g
                    .member(&member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                let (tx, rx) = oneshot::channel();
                let _ = tx.send(response(g, a));
                Ok(rx)
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = g.member_mut(&member_id) {
                    m.sync_waiter = Some(tx);
                    m.last_heartbeat_ms = now;
                }
                if g.leader.as_deref() == Some(member_id.as_str()) {
                    let empty = empty_assignment(g.protocol_type.as_deref());
                    for m in g.members.values_mut() {
                        m.assignment = req
                            .assignments
                            .iter()
                            .find(|a| a.member_id.as_str() == m.id)
                            .map(|a| a.assignment.clone())
                            .filter(|a| !a.is_empty())
                            .unwrap_or_else(|| empty.clone());
                    }
                    g.state = GroupState::Stable;
                    let ready: Vec<(oneshot::Sender<SyncGroupResponse>, Bytes)> = g
                        .members
                        .values_mut()
                        .filter_map(|m| m.sync_waiter.take().map(|tx| (tx, m.assignment.clone())))
                        .collect();
                    for (tx, a) in ready {
                        let _ = tx.send(response(g, a));
                    }
                    self.persist_group(g, now);
                }
                Ok(rx)
            }
            GroupState::Empty | GroupState::Dead => {
                Err(Box::new(sync_error(ResponseError::UnknownMemberId)))
            }
        }
    }

    /// After members left or expired: rebalance the rest, or settle as Empty.
    pub(crate) fn member_left(&self, g: &mut Group, now: i64) {
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                if g.members.is_empty() {
                    g.state = GroupState::Empty;
                    g.generation += 1;
                    g.protocol = None;
                    g.leader = None;
                    g.empty_since_ms = now;
                    self.persist_group(g, now);
                } else {
                    self.prepare_rebalance(g, now);
                }
            }
            GroupState::PreparingRebalance => self.try_complete_join(g, now),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Removes members whose session timed out (members parked in JoinGroup are waiting on
    /// the coordinator, not silent) and pending member ids that never came back.
    pub(crate) fn expire_members(&self, g: &mut Group, now: i64) {
        // Kafka expires a pending member after its JoinGroup's session timeout; so does
        // strom (dropping the entry gives its bytes back to the pending budget).
        g.pending.retain(|_, p| p.deadline_ms > now);
        let expired: Vec<String> = g
            .members
            .values()
            .filter(|m| m.join_waiter.is_none())
            .filter(|m| now.saturating_sub(m.last_heartbeat_ms) > m.session_timeout_ms as i64)
            .map(|m| m.id.clone())
            .collect();
        if expired.is_empty() {
            return;
        }
        for id in expired {
            tracing::info!(
                group = %log_safe::escape(&g.id),
                member = %log_safe::escape(&id),
                "session timed out; removing member"
            );
            if let Some(mut m) = g.remove_member(&id) {
                fail_waiters(&mut m, ResponseError::UnknownMemberId);
            }
        }
        self.member_left(g, now);
    }
}
