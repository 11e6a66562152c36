//! JoinGroup, step by step: the request's settings checked ([`JoinSpec`]), a new member id
//! charged to the pending budget, the group found or created, the member's id settled (a static
//! member's return, KIP-394's id round trip, or a known member), the member added or updated,
//! and the rebalance started. The protocol around it (SyncGroup, heartbeats, expiry) is in
//! [`super::membership`].

use super::membership::{fail_waiters, join_error, roster, s, truncated, ClientInfo};
use super::state::{Group, GroupState, Member, PendingCharge, PendingMember};
use super::{Inner, MAX_CLIENT_ID_KEPT, MAX_MEMBER_BYTES, PENDING_OVERHEAD_BYTES};
use crate::group::GroupConfig;
use crate::log_safe;
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use std::collections::HashMap;
use tokio::sync::oneshot;

/// A refused JoinGroup: its answer, boxed (it is large and the error path is rare).
type Refused = Box<JoinGroupResponse>;

fn refuse(code: ResponseError, member_id: &str) -> Refused {
    Box::new(join_error(code, member_id))
}

/// What a JoinGroup asks for, checked.
struct JoinSpec {
    group_id: String,
    /// The id the client sent ("" for a new member).
    member_id: String,
    instance: Option<String>,
    protocol_type: String,
    protocols: Vec<(String, Bytes)>,
    session: i32,
    rebalance_timeout: i32,
    client: ClientInfo,
    version: i16,
}

impl JoinSpec {
    fn parse(
        req: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
        config: &GroupConfig,
    ) -> Result<JoinSpec, Refused> {
        let member_id = req.member_id.to_string();
        let group_id = req.group_id.0.to_string();
        if group_id.is_empty() {
            return Err(refuse(ResponseError::InvalidGroupId, &member_id));
        }
        let session = req.session_timeout_ms;
        if session < config.min_session_timeout_ms || session > config.max_session_timeout_ms {
            return Err(refuse(ResponseError::InvalidSessionTimeout, &member_id));
        }
        let protocols: Vec<(String, Bytes)> = req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect();
        if protocols.iter().map(|(_, m)| m.len()).sum::<usize>() > MAX_MEMBER_BYTES {
            return Err(refuse(ResponseError::InvalidRequest, &member_id));
        }
        Ok(JoinSpec {
            group_id,
            member_id,
            instance: req.group_instance_id.as_ref().map(|i| i.to_string()),
            protocol_type: req.protocol_type.to_string(),
            protocols,
            session,
            // v0 has no rebalance timeout: it equals the session timeout.
            rebalance_timeout: if version >= 1 {
                req.rebalance_timeout_ms
            } else {
                session
            },
            client: ClientInfo {
                client_id: truncated(client.client_id, MAX_CLIENT_ID_KEPT),
                ..client
            },
            version,
        })
    }

    /// A new dynamic member of v4+, which gets its id handed out and must come back with it.
    fn gets_id_round_trip(&self) -> bool {
        self.member_id.is_empty() && self.instance.is_none() && self.version >= 4
    }
}

/// Whose the join is, once settled.
enum Joiner {
    /// The member with this id joins (new or known).
    Member(String),
    /// Answered at once: a static member's return (KIP-345) or KIP-394's id hand-out.
    Answered(JoinGroupResponse),
}

fn answered_now(response: JoinGroupResponse) -> oneshot::Receiver<JoinGroupResponse> {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(response);
    rx
}

impl Inner {
    pub(super) fn join_now(
        &self,
        req: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> Result<oneshot::Receiver<JoinGroupResponse>, Refused> {
        let now = self.clock.now_ms();
        let spec = JoinSpec::parse(req, version, client, &self.config)?;
        // A new member's id, chosen before the group lock is taken.
        let new_id = if spec.member_id.is_empty() {
            format!("{}-{}", spec.client.client_id, uuid::Uuid::new_v4())
        } else {
            String::new()
        };
        let charge = self.charge_pending(&spec, &new_id)?;
        let mut groups = self.groups.lock();
        let g = group_for(&mut groups, &spec, now)?;
        let id = match self.settle_member(g, &spec, new_id, charge, now)? {
            Joiner::Member(id) => id,
            Joiner::Answered(response) => return Ok(answered_now(response)),
        };
        if g.member(&id).is_none() && g.size_with_pending() >= self.config.max_size {
            return Err(refuse(ResponseError::GroupMaxSizeReached, &id));
        }
        if let Some(response) = current_generation_for(g, &id, &spec, now) {
            return Ok(answered_now(response));
        }
        let rx = upsert_member(g, id, spec, now);
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
        self.try_complete_join(g, now);
        Ok(rx)
    }

    /// A member id handed out must be kept until the client comes back with it: it is
    /// charged to the coordinator's pending budget before the group is even created, so a
    /// full budget creates nothing.
    fn charge_pending(
        &self,
        spec: &JoinSpec,
        new_id: &str,
    ) -> Result<Option<PendingCharge>, Refused> {
        if !spec.gets_id_round_trip() {
            return Ok(None);
        }
        let cost = new_id.len() + spec.group_id.len() + PENDING_OVERHEAD_BYTES;
        match PendingCharge::take(&self.pending_bytes, cost, self.config.max_pending_bytes) {
            Some(charge) => Ok(Some(charge)),
            None => {
                tracing::debug!(
                    group = %log_safe::escape(&spec.group_id),
                    "pending member budget full; JoinGroup answered COORDINATOR_NOT_AVAILABLE"
                );
                Err(refuse(
                    ResponseError::CoordinatorNotAvailable,
                    &spec.member_id,
                ))
            }
        }
    }

    /// The id the member joins under: a new one (after fencing a static member's old one, or
    /// handing it out for KIP-394's round trip), or the known one it sent.
    fn settle_member(
        &self,
        g: &mut Group,
        spec: &JoinSpec,
        new_id: String,
        charge: Option<PendingCharge>,
        now: i64,
    ) -> Result<Joiner, Refused> {
        if !spec.member_id.is_empty() {
            return known_member(g, spec).map(Joiner::Member);
        }
        if let Some(instance) = &spec.instance {
            return Ok(self.static_member_returns(g, spec, instance, new_id, now));
        }
        if spec.version < 4 {
            return Ok(Joiner::Member(new_id));
        }
        // KIP-394: hand out the id and make the client come back with it. The id is kept until
        // then, so it counts against group.max.size and the coordinator's pending budget.
        if g.size_with_pending() >= self.config.max_size {
            return Err(refuse(ResponseError::GroupMaxSizeReached, ""));
        }
        let Some(charge) = charge else {
            // Taken by `charge_pending` for exactly this case.
            return Err(refuse(ResponseError::CoordinatorNotAvailable, ""));
        };
        g.pending.insert(
            new_id.clone(),
            PendingMember {
                deadline_ms: now + spec.session as i64,
                charge,
            },
        );
        Err(refuse(ResponseError::MemberIdRequired, &new_id))
    }

    /// A static member coming back under a new id replaces (fences) its old one; while the
    /// group is Stable it may take the old one's place without a rebalance.
    fn static_member_returns(
        &self,
        g: &mut Group,
        spec: &JoinSpec,
        instance: &str,
        new_id: String,
        now: i64,
    ) -> Joiner {
        let Some(old) = g.static_members.get(instance).cloned() else {
            return Joiner::Member(new_id);
        };
        let was_leader = g.leader.as_deref() == Some(old.as_str());
        let Some(mut m) = g.remove_member(&old) else {
            return Joiner::Member(new_id);
        };
        fail_waiters(&mut m, ResponseError::FencedInstanceId);
        // Kafka keeps a Stable group stable for every JoinGroup version that carries an
        // instance id (v5+): a returning leader of v5–v8 gets the current members, computes
        // an assignment, and its SyncGroup (the group being Stable) answers the assignment it
        // already had.
        if g.state == GroupState::Stable {
            if let Some(response) = self.static_rejoin(g, m, &new_id, spec, was_leader, now) {
                return Joiner::Answered(response);
            }
        }
        Joiner::Member(new_id)
    }

    /// KIP-345: a static member that restarts while the group is Stable takes its old place
    /// (and assignment) under its new member id without a rebalance, as long as the group's
    /// protocol choice does not change. A returning leader (v9+) gets the member list with
    /// `skip_assignment`, so it does not compute a new assignment. `None`: a rebalance is
    /// needed after all (the member is then back in the group and joins normally).
    fn static_rejoin(
        &self,
        g: &mut Group,
        old: Member,
        new_id: &str,
        spec: &JoinSpec,
        was_leader: bool,
        now: i64,
    ) -> Option<JoinGroupResponse> {
        g.add_member(Member {
            id: new_id.to_string(),
            protocols: spec.protocols.clone(),
            session_timeout_ms: spec.session,
            rebalance_timeout_ms: spec.rebalance_timeout,
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
        // Only v9+ responses carry the flag (and only they may set it).
        Some(
            current_generation(g, new_id, was_leader)
                .with_skip_assignment(was_leader && spec.version >= 9),
        )
    }
}

/// The group a join goes to: created for a new member, refused when a known member names a
/// group that does not exist, when it is being deleted, or when its protocols do not fit.
fn group_for<'a>(
    groups: &'a mut HashMap<String, Group>,
    spec: &JoinSpec,
    now: i64,
) -> Result<&'a mut Group, Refused> {
    if !spec.member_id.is_empty() && !groups.contains_key(&spec.group_id) {
        return Err(refuse(ResponseError::UnknownMemberId, &spec.member_id));
    }
    let g = groups
        .entry(spec.group_id.clone())
        .or_insert_with(|| Group::new(&spec.group_id, now));
    if g.state == GroupState::Dead {
        return Err(refuse(
            ResponseError::CoordinatorNotAvailable,
            &spec.member_id,
        ));
    }
    // A consumer-protocol group: an Empty one becomes classic again, as Kafka converts it; a
    // non-empty one takes no classic members (strom runs no mixed groups).
    if let Some(cg) = &g.consumer {
        if !cg.members.is_empty() {
            return Err(refuse(
                ResponseError::InconsistentGroupProtocol,
                &spec.member_id,
            ));
        }
        g.consumer = None;
        g.protocol_type = None;
    }
    if !g.protocols_compatible(&spec.member_id, &spec.protocol_type, &spec.protocols) {
        return Err(refuse(
            ResponseError::InconsistentGroupProtocol,
            &spec.member_id,
        ));
    }
    Ok(g)
}

/// A member that sent its id: it must be the current holder of its static instance, and
/// known (or pending after KIP-394's round trip).
fn known_member(g: &mut Group, spec: &JoinSpec) -> Result<String, Refused> {
    let id = &spec.member_id;
    if let Some(i) = &spec.instance {
        if g.static_members.get(i).is_some_and(|cur| cur != id) {
            return Err(refuse(ResponseError::FencedInstanceId, id));
        }
    }
    if g.member(id).is_none() && g.pending.remove(id).is_none() {
        return Err(refuse(ResponseError::UnknownMemberId, id));
    }
    Ok(id.clone())
}

/// A known member re-sending JoinGroup with the protocols it already has (a client whose
/// JoinGroup response was lost) gets the current generation instead of a new rebalance, as
/// Kafka answers it: while the group completes a rebalance, and while it is Stable for a
/// follower (a leader's re-join, or changed protocols, still rebalance: that is how a
/// client asks for one).
fn current_generation_for(
    g: &mut Group,
    id: &str,
    spec: &JoinSpec,
    now: i64,
) -> Option<JoinGroupResponse> {
    let is_leader = g.leader.as_deref() == Some(id);
    let answers = match g.state {
        GroupState::CompletingRebalance => true,
        GroupState::Stable => !is_leader,
        _ => false,
    };
    let member = g.member_mut(id)?;
    if !answers || member.protocols != spec.protocols {
        return None;
    }
    member.last_heartbeat_ms = now;
    Some(current_generation(g, id, is_leader))
}

/// The JoinGroup answer of the group's current generation for `member_id`, with the members
/// when it is the leader.
fn current_generation(g: &Group, member_id: &str, is_leader: bool) -> JoinGroupResponse {
    let protocol = g.protocol.clone().unwrap_or_default();
    let members = if is_leader {
        roster(g, &protocol)
    } else {
        Vec::new()
    };
    JoinGroupResponse::default()
        .with_generation_id(g.generation)
        .with_protocol_type(g.protocol_type.as_deref().map(s))
        .with_protocol_name(Some(s(&protocol)))
        .with_leader(s(g.leader.as_deref().unwrap_or_default()))
        .with_member_id(s(member_id))
        .with_members(members)
}

/// Adds the member, or updates a known one (answering its earlier join, if one waits); its
/// join is answered when the rebalance completes.
fn upsert_member(
    g: &mut Group,
    id: String,
    spec: JoinSpec,
    now: i64,
) -> oneshot::Receiver<JoinGroupResponse> {
    let (tx, rx) = oneshot::channel();
    match g.member_mut(&id) {
        Some(m) => {
            if let Some(old) = m.join_waiter.take() {
                let _ = old.send(join_error(ResponseError::UnknownMemberId, &id));
            }
            m.protocols = spec.protocols;
            m.session_timeout_ms = spec.session;
            m.rebalance_timeout_ms = spec.rebalance_timeout;
            m.last_heartbeat_ms = now;
            m.join_waiter = Some(tx);
        }
        None => g.add_member(Member {
            id,
            instance_id: spec.instance,
            client_id: spec.client.client_id,
            client_host: spec.client.client_host,
            session_timeout_ms: spec.session,
            rebalance_timeout_ms: spec.rebalance_timeout,
            protocols: spec.protocols,
            assignment: Bytes::new(),
            last_heartbeat_ms: now,
            join_waiter: Some(tx),
            sync_waiter: None,
        }),
    }
    g.protocol_type = Some(spec.protocol_type);
    rx
}
