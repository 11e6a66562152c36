//! A consumer group's state: members, generation, chosen protocol, committed offsets, and the
//! classic state machine (Empty → PreparingRebalance → CompletingRebalance → Stable, Dead).

use bytes::Bytes;
use kafka_protocol::messages::{JoinGroupResponse, SyncGroupResponse};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka uses in ListGroups and DescribeGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Committed {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    pub commit_ms: i64,
}

#[derive(Debug)]
pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    /// (protocol name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub last_heartbeat_ms: i64,
    pub join_waiter: Option<oneshot::Sender<JoinGroupResponse>>,
    pub sync_waiter: Option<oneshot::Sender<SyncGroupResponse>>,
}

impl Member {
    pub fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(n, _)| n == protocol)
    }
}

/// A member id handed out by MEMBER_ID_REQUIRED (KIP-394) that has not joined yet.
#[derive(Debug)]
pub struct PendingMember {
    /// When the id expires: the JoinGroup's session timeout after it was handed out.
    pub deadline_ms: i64,
    /// Its share of the coordinator's pending budget, given back when it is dropped
    /// (joined, expired, or its group deleted), whichever way that happens.
    pub charge: PendingCharge,
}

/// Bytes counted in a shared total for as long as this lives.
#[derive(Debug)]
pub struct PendingCharge {
    total: Arc<AtomicUsize>,
    bytes: usize,
}

impl PendingCharge {
    /// Adds `bytes` to `total` if it stays within `limit`; `None` otherwise.
    pub fn take(total: &Arc<AtomicUsize>, bytes: usize, limit: usize) -> Option<PendingCharge> {
        total
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                t.checked_add(bytes).filter(|n| *n <= limit)
            })
            .ok()?;
        Some(PendingCharge {
            total: Arc::clone(total),
            bytes,
        })
    }
}

impl Drop for PendingCharge {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

#[derive(Debug)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// Members in join order (the first is leader when a new one is needed).
    pub members: BTreeMap<u64, Member>,
    next_seq: u64,
    /// Member ids handed out by MEMBER_ID_REQUIRED that have not joined yet. They count
    /// against `group.max.size` and the coordinator's pending budget until they join or
    /// their JoinGroup's session timeout passes.
    pub pending: HashMap<String, PendingMember>,
    /// `group.instance.id` → member id of static members.
    pub static_members: HashMap<String, String>,
    /// When the join phase completes even if not every member has rejoined.
    pub rebalance_deadline_ms: i64,
    /// A new group waits this long for more members before its first rebalance completes.
    pub initial_delay_until_ms: i64,
    pub offsets: BTreeMap<(String, i32), Committed>,
    /// When the group last became Empty, for `offsets.retention.minutes`.
    pub empty_since_ms: i64,
    /// Set when the group speaks the consumer protocol (KIP-848): then its membership is
    /// here and the classic fields above stay empty.
    pub consumer: Option<Box<crate::group::consumer::ConsumerGroup>>,
}

impl Group {
    pub fn new(id: &str, now: i64) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            next_seq: 0,
            pending: HashMap::new(),
            static_members: HashMap::new(),
            rebalance_deadline_ms: 0,
            initial_delay_until_ms: 0,
            offsets: BTreeMap::new(),
            empty_since_ms: now,
            consumer: None,
        }
    }

    /// Members and member ids handed out but not joined yet: what `group.max.size` bounds.
    pub fn size_with_pending(&self) -> usize {
        self.members.len() + self.pending.len()
    }

    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.values().find(|m| m.id == id)
    }

    pub fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.values_mut().find(|m| m.id == id)
    }

    pub fn add_member(&mut self, m: Member) {
        if let Some(instance) = &m.instance_id {
            self.static_members.insert(instance.clone(), m.id.clone());
        }
        self.members.insert(self.next_seq, m);
        self.next_seq += 1;
    }

    pub fn remove_member(&mut self, id: &str) -> Option<Member> {
        let key = self
            .members
            .iter()
            .find(|(_, m)| m.id == id)
            .map(|(k, _)| *k)?;
        let m = self.members.remove(&key)?;
        if let Some(instance) = &m.instance_id {
            if self.static_members.get(instance) == Some(&m.id) {
                self.static_members.remove(instance);
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = None;
        }
        Some(m)
    }

    /// The protocol every member supports that most members prefer (Kafka's vote).
    pub fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|p| self.members.values().all(|m| m.supports(p)))
            .collect();
        let mut votes: Vec<(usize, &String)> = candidates
            .iter()
            .map(|c| {
                let n = self
                    .members
                    .values()
                    .filter(|m| {
                        m.protocols
                            .iter()
                            .map(|(n, _)| n)
                            .find(|p| candidates.contains(p))
                            == Some(*c)
                    })
                    .count();
                (n, *c)
            })
            .collect();
        // Most votes wins; ties go to the first member's preference order (stable sort).
        votes.sort_by_key(|v| std::cmp::Reverse(v.0));
        votes.first().map(|(_, p)| (*p).clone())
    }

    /// Whether a joining member's protocols fit the group's other members.
    pub fn protocols_compatible(
        &self,
        member_id: &str,
        protocol_type: &str,
        protocols: &[(String, Bytes)],
    ) -> bool {
        if protocols.is_empty() || protocol_type.is_empty() {
            return false;
        }
        let others: Vec<&Member> = self
            .members
            .values()
            .filter(|m| m.id != member_id)
            .collect();
        if others.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(p, _)| others.iter().all(|m| m.supports(p)))
    }

    /// Topics the members subscribe to, when they speak the consumer protocol.
    pub fn subscribed_topics(&self) -> Vec<String> {
        if let Some(cg) = &self.consumer {
            return cg.subscribed.keys().cloned().collect();
        }
        let Some(protocol) = &self.protocol else {
            return Vec::new();
        };
        if self.protocol_type.as_deref() != Some("consumer") {
            return Vec::new();
        }
        let mut topics: Vec<String> = self
            .members
            .values()
            .flat_map(|m| subscription_topics(&m.metadata_for(protocol)))
            .collect();
        topics.sort();
        topics.dedup();
        topics
    }
}

/// The topic list at the start of a ConsumerProtocolSubscription (`i16 version`, then
/// `[string]`). Parsed by hand with bounds checks: the bytes come from a client, and a claimed
/// array length must never size an allocation.
pub fn subscription_topics(meta: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(count) = meta.get(2..6) else {
        return out;
    };
    let count = i32::from_be_bytes([count[0], count[1], count[2], count[3]]);
    let mut at = 6usize;
    for _ in 0..count.max(0) {
        let Some(len) = meta.get(at..at + 2) else {
            break;
        };
        let len = i16::from_be_bytes([len[0], len[1]]);
        if len < 0 {
            break;
        }
        let Some(name) = meta.get(at + 2..at + 2 + len as usize) else {
            break;
        };
        out.push(String::from_utf8_lossy(name).into_owned());
        at += 2 + len as usize;
    }
    out
}

/// An assignment for a member the leader gave none: for the consumer protocol a valid empty
/// ConsumerProtocolAssignment (librdkafka rejects zero bytes), otherwise zero bytes.
pub fn empty_assignment(protocol_type: Option<&str>) -> Bytes {
    if protocol_type == Some("consumer") {
        // version 0, no partitions, null user data
        Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
    } else {
        Bytes::new()
    }
}
