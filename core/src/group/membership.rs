//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup: the classic rebalance protocol, with the
//! v4+ member-id round trip, static membership and session expiry.

use super::state::{empty_assignment, Group, GroupState, Member, PendingCharge, PendingMember};
use super::{
    GroupCoordinator, Inner, MAX_CLIENT_ID_KEPT, MAX_MEMBER_BYTES, PENDING_OVERHEAD_BYTES,
};
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

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn join_error(code: ResponseError, member_id: &str) -> JoinGroupResponse {
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
fn roster(g: &Group, protocol: &str) -> Vec<JoinGroupResponseMember> {
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
fn truncated(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn fail_waiters(m: &mut Member, code: ResponseError) {
    if let Some(tx) = m.join_waiter.take() {
        let _ = tx.send(join_error(code, &m.id));
    }
    if let Some(tx) = m.sync_waiter.take() {
        let _ = tx.send(sync_error(code));
    }
}

impl Inner {
    fn join_now(
        &self,
        req: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> Result<oneshot::Receiver<JoinGroupResponse>, Box<JoinGroupResponse>> {
        let now = self.clock.now_ms();
        let group_id = req.group_id.0.to_string();
        let member_id = req.member_id.to_string();
        if group_id.is_empty() {
            return Err(Box::new(join_error(
                ResponseError::InvalidGroupId,
                &member_id,
            )));
        }
        let session = req.session_timeout_ms;
        if session < self.config.min_session_timeout_ms
            || session > self.config.max_session_timeout_ms
        {
            return Err(Box::new(join_error(
                ResponseError::InvalidSessionTimeout,
                &member_id,
            )));
        }
        let protocols: Vec<(String, Bytes)> = req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect();
        if protocols.iter().map(|(_, m)| m.len()).sum::<usize>() > MAX_MEMBER_BYTES {
            return Err(Box::new(join_error(
                ResponseError::InvalidRequest,
                &member_id,
            )));
        }
        // v0 has no rebalance timeout: it equals the session timeout.
        let rebalance_timeout = if version >= 1 {
            req.rebalance_timeout_ms
        } else {
            session
        };
        let instance = req.group_instance_id.as_ref().map(|i| i.to_string());
        let protocol_type = req.protocol_type.to_string();
        let client = ClientInfo {
            client_id: truncated(client.client_id, MAX_CLIENT_ID_KEPT),
            ..client
        };

        // A member id handed out must be kept until the client comes back with it: charge it
        // to the coordinator's pending budget before the group is even created, so a full
        // budget creates nothing.
        let new_id = if member_id.is_empty() {
            format!("{}-{}", client.client_id, uuid::Uuid::new_v4())
        } else {
            String::new()
        };
        let pending_charge = if member_id.is_empty() && instance.is_none() && version >= 4 {
            let cost = new_id.len() + group_id.len() + PENDING_OVERHEAD_BYTES;
            match PendingCharge::take(&self.pending_bytes, cost, self.config.max_pending_bytes) {
                Some(charge) => Some(charge),
                None => {
                    tracing::debug!(
                        group = %log_safe::escape(&group_id),
                        "pending member budget full; JoinGroup answered COORDINATOR_NOT_AVAILABLE"
                    );
                    return Err(Box::new(join_error(
                        ResponseError::CoordinatorNotAvailable,
                        &member_id,
                    )));
                }
            }
        } else {
            None
        };

        let mut groups = self.groups.lock();
        if !member_id.is_empty() && !groups.contains_key(&group_id) {
            return Err(Box::new(join_error(
                ResponseError::UnknownMemberId,
                &member_id,
            )));
        }
        let g = groups
            .entry(group_id.clone())
            .or_insert_with(|| Group::new(&group_id, now));
        if g.state == GroupState::Dead {
            return Err(Box::new(join_error(
                ResponseError::CoordinatorNotAvailable,
                &member_id,
            )));
        }
        if !g.protocols_compatible(&member_id, &protocol_type, &protocols) {
            return Err(Box::new(join_error(
                ResponseError::InconsistentGroupProtocol,
                &member_id,
            )));
        }

        let id = if member_id.is_empty() {
            match &instance {
                Some(i) => {
                    // A static member coming back under a new id replaces (fences) the old one.
                    if let Some(old) = g.static_members.get(i).cloned() {
                        let was_leader = g.leader.as_deref() == Some(old.as_str());
                        if let Some(mut m) = g.remove_member(&old) {
                            fail_waiters(&mut m, ResponseError::FencedInstanceId);
                            if g.state == GroupState::Stable && (!was_leader || version >= 9) {
                                let rejoined = self.static_rejoin(
                                    g,
                                    m,
                                    &new_id,
                                    protocols.clone(),
                                    session,
                                    rebalance_timeout,
                                    was_leader,
                                    now,
                                );
                                if let Some(resp) = rejoined {
                                    let (tx, rx) = oneshot::channel();
                                    let _ = tx.send(resp);
                                    return Ok(rx);
                                }
                            }
                        }
                    }
                    new_id
                }
                None if version >= 4 => {
                    // KIP-394: hand out the id and make the client come back with it. The id
                    // is kept until then, so it counts against group.max.size and the
                    // coordinator's pending budget.
                    if g.size_with_pending() >= self.config.max_size {
                        return Err(Box::new(join_error(ResponseError::GroupMaxSizeReached, "")));
                    }
                    let Some(charge) = pending_charge else {
                        // Taken above for exactly this case.
                        return Err(Box::new(join_error(
                            ResponseError::CoordinatorNotAvailable,
                            "",
                        )));
                    };
                    let deadline_ms = now + session as i64;
                    g.pending.insert(
                        new_id.clone(),
                        PendingMember {
                            deadline_ms,
                            charge,
                        },
                    );
                    return Err(Box::new(join_error(
                        ResponseError::MemberIdRequired,
                        &new_id,
                    )));
                }
                None => new_id,
            }
        } else {
            if let Some(i) = &instance {
                if g.static_members.get(i).is_some_and(|cur| *cur != member_id) {
                    return Err(Box::new(join_error(
                        ResponseError::FencedInstanceId,
                        &member_id,
                    )));
                }
            }
            if g.member(&member_id).is_none() && g.pending.remove(&member_id).is_none() {
                return Err(Box::new(join_error(
                    ResponseError::UnknownMemberId,
                    &member_id,
                )));
            }
            member_id
        };
        if g.member(&id).is_none() && g.size_with_pending() >= self.config.max_size {
            return Err(Box::new(join_error(
                ResponseError::GroupMaxSizeReached,
                &id,
            )));
        }

        let (tx, rx) = oneshot::channel();
        match g.member_mut(&id) {
            Some(m) => {
                if let Some(old) = m.join_waiter.take() {
                    let _ = old.send(join_error(ResponseError::UnknownMemberId, &id));
                }
                m.protocols = protocols;
                m.session_timeout_ms = session;
                m.rebalance_timeout_ms = rebalance_timeout;
                m.last_heartbeat_ms = now;
                m.join_waiter = Some(tx);
            }
            None => g.add_member(Member {
                id: id.clone(),
                instance_id: instance,
                client_id: client.client_id,
                client_host: client.client_host,
                session_timeout_ms: session,
                rebalance_timeout_ms: rebalance_timeout,
                protocols,
                assignment: Bytes::new(),
                last_heartbeat_ms: now,
                join_waiter: Some(tx),
                sync_waiter: None,
            }),
        }
        g.protocol_type = Some(protocol_type);
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
        self.try_complete_join(g, now);
        Ok(rx)
    }

    /// KIP-345: a static member that restarts while the group is Stable takes its old place
    /// (and assignment) under its new member id without a rebalance, as long as the group's
    /// protocol choice does not change. A returning leader (v9+) gets the member list with
    /// `skip_assignment`, so it does not compute a new assignment. `None`: a rebalance is
    /// needed after all (the member is then back in the group and joins normally).
    #[allow(clippy::too_many_arguments)]
    fn static_rejoin(
        &self,
        g: &mut Group,
        old: Member,
        new_id: &str,
        protocols: Vec<(String, Bytes)>,
        session: i32,
        rebalance_timeout: i32,
        was_leader: bool,
        now: i64,
    ) -> Option<JoinGroupResponse> {
        g.add_member(Member {
            id: new_id.to_string(),
            protocols,
            session_timeout_ms: session,
            rebalance_timeout_ms: rebalance_timeout,
            last_heartbeat_ms: now,
            join_waiter: None,
            sync_waiter: None,
            ..old
        });
        if was_leader {
            g.leader = Some(new_id.to_string());
        }
        if g.select_protocol() != g.protocol {
            return None;
        }
        self.persist_group(g, now);
        let protocol = g.protocol.clone().unwrap_or_default();
        let members = if was_leader {
            roster(g, &protocol)
        } else {
            Vec::new()
        };
        Some(
            JoinGroupResponse::default()
                .with_generation_id(g.generation)
                .with_protocol_type(g.protocol_type.as_deref().map(s))
                .with_protocol_name(Some(s(&protocol)))
                .with_leader(s(g.leader.as_deref().unwrap_or_default()))
                .with_member_id(s(new_id))
                .with_skip_assignment(was_leader)
                .with_members(members),
        )
    }

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
