//! The consumer group protocol (KIP-848, `group.protocol=consumer`): the coordinator computes
//! assignments itself (server-side [`assignor`]s), members heartbeat with ConsumerGroupHeartbeat
//! and move to new assignments incrementally ([`reconcile`]), fenced by member epochs.
//!
//! A group is either classic (JoinGroup/SyncGroup, [`super::membership`]) or a consumer group;
//! both share committed offsets. An Empty classic group becomes a consumer group on the first
//! consumer-protocol member, and an Empty consumer group a classic one on the first JoinGroup,
//! as Kafka converts them. A non-empty group of the other kind is refused (Kafka's behaviour
//! with `group.consumer.migration.policy=disabled`; strom does not run mixed groups).
//!
//! Membership is kept in memory only: after a restart members are unknown, get
//! UNKNOWN_MEMBER_ID, and rejoin (their committed offsets are in `__consumer_offsets`).

pub mod assignor;
pub mod describe;
pub mod heartbeat;
pub mod reconcile;

use assignor::{Assignment, MemberSpec, TopicMeta, ASSIGNORS};
use reconcile::{MemberState, Reconciled};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// The epoch a member leaves with (`-1`), and a static member's temporary leave (`-2`).
pub const LEAVE_EPOCH: i32 = -1;
pub const STATIC_LEAVE_EPOCH: i32 = -2;

/// One member of a consumer group.
#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_names: BTreeSet<String>,
    pub subscribed_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub reconciled: Reconciled,
    pub last_heartbeat_ms: i64,
    /// When it was asked to revoke partitions (the rebalance timeout runs from there).
    pub revoking_since_ms: Option<i64>,
    /// A static member that left with epoch -2: kept, with its assignment, until its session
    /// times out or its instance comes back.
    pub left_static: bool,
}

impl ConsumerMember {
    pub fn new(id: String) -> ConsumerMember {
        ConsumerMember {
            id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_names: BTreeSet::new(),
            subscribed_regex: None,
            server_assignor: None,
            rebalance_timeout_ms: 0,
            reconciled: Reconciled::new(),
            last_heartbeat_ms: 0,
            revoking_since_ms: None,
            left_static: false,
        }
    }

    /// The topics it subscribes to that exist, by name or by its regex.
    pub fn resolve(&self, topics: &BTreeMap<String, TopicMeta>) -> BTreeSet<String> {
        let regex = self
            .subscribed_regex
            .as_deref()
            .and_then(|r| regex::Regex::new(&format!("^(?:{r})$")).ok());
        topics
            .keys()
            .filter(|t| {
                self.subscribed_names.contains(*t) || regex.as_ref().is_some_and(|r| r.is_match(t))
            })
            .cloned()
            .collect()
    }
}

/// A consumer group's membership and assignments.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroup {
    /// Bumped whenever membership, subscriptions or subscribed topics change.
    pub epoch: i32,
    /// The epoch the current targets were computed at.
    pub assignment_epoch: i32,
    /// The assignor of the current targets.
    pub assignor: String,
    pub members: BTreeMap<String, ConsumerMember>,
    /// `group.instance.id` → member id.
    pub static_members: HashMap<String, String>,
    /// Each member's target assignment at `assignment_epoch`.
    pub targets: BTreeMap<String, Assignment>,
    /// The subscribed topics (id, partitions) the targets were computed for: a change (a
    /// topic created, deleted or grown) bumps the epoch.
    pub subscribed: BTreeMap<String, TopicMeta>,
}

/// The state name ConsumerGroupDescribe and ListGroups report.
pub fn state_name(g: &ConsumerGroup) -> &'static str {
    if g.members.is_empty() {
        "Empty"
    } else if g.assignment_epoch < g.epoch {
        "Assigning"
    } else if g.members.values().all(|m| {
        m.reconciled.state == MemberState::Stable && m.reconciled.epoch == g.assignment_epoch
    }) {
        "Stable"
    } else {
        "Reconciling"
    }
}

/// Topic metadata by name, from the broker's topics.
pub fn topic_metas(topics: &[crate::broker::TopicDescription]) -> BTreeMap<String, TopicMeta> {
    topics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                TopicMeta {
                    id: t.id,
                    partitions: t.partitions,
                },
            )
        })
        .collect()
}

impl ConsumerGroup {
    /// The assignor most members ask for (ties: the order of [`ASSIGNORS`]); the default
    /// when none asks.
    fn preferred_assignor(&self) -> String {
        let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(i) = m
                .server_assignor
                .as_deref()
                .and_then(|a| ASSIGNORS.iter().position(|x| *x == a))
            {
                *votes.entry(i).or_default() += 1;
            }
        }
        let best = votes
            .iter()
            .max_by_key(|(i, n)| (**n, std::cmp::Reverse(**i)))
            .map_or(0, |(i, _)| *i);
        ASSIGNORS[best].to_string()
    }

    /// What the members subscribe to, resolved against the topics that exist.
    fn subscription(&self, topics: &BTreeMap<String, TopicMeta>) -> BTreeMap<String, TopicMeta> {
        self.members
            .values()
            .flat_map(|m| m.resolve(topics))
            .filter_map(|t| topics.get(&t).map(|meta| (t, *meta)))
            .collect()
    }

    /// Bumps the epoch (when `changed`, or when the subscribed topics changed) and computes
    /// new targets for it.
    pub fn maybe_rebalance(&mut self, changed: bool, topics: &BTreeMap<String, TopicMeta>) {
        let subscribed = self.subscription(topics);
        if !changed && subscribed == self.subscribed {
            return;
        }
        self.epoch += 1;
        self.subscribed = subscribed;
        self.assignor = self.preferred_assignor();
        let resolved: BTreeMap<String, BTreeSet<String>> = self
            .members
            .iter()
            .map(|(id, m)| (id.clone(), m.resolve(topics)))
            .collect();
        let none = Assignment::new();
        let specs: BTreeMap<String, MemberSpec<'_>> = resolved
            .iter()
            .map(|(id, subs)| {
                (
                    id.clone(),
                    MemberSpec {
                        topics: subs,
                        previous: self.targets.get(id).unwrap_or(&none),
                    },
                )
            })
            .collect();
        let targets = assignor::assign(&self.assignor, &specs, &self.subscribed);
        self.targets = targets;
        self.assignment_epoch = self.epoch;
    }

    /// Whether a member other than `except` owns or is revoking partition `p` of `t`.
    pub fn held_by_others(&self, except: &str, t: &Uuid, p: i32) -> bool {
        self.members.values().any(|m| {
            m.id != except
                && (reconcile::holds(&m.reconciled.assigned, t, p)
                    || reconcile::holds(&m.reconciled.pending_revocation, t, p))
        })
    }

    /// Moves `member_id` towards its target; returns whether its assignment changed.
    pub fn reconcile_member(
        &mut self,
        member_id: &str,
        owned: Option<&Assignment>,
        now: i64,
    ) -> bool {
        let Some(m) = self.members.get(member_id) else {
            return false;
        };
        let none = Assignment::new();
        let target = self.targets.get(member_id).unwrap_or(&none);
        let next = reconcile::reconcile(
            &m.reconciled,
            self.assignment_epoch,
            target,
            owned,
            |t, p| self.held_by_others(member_id, t, p),
        );
        let changed = next.assigned != m.reconciled.assigned;
        if let Some(m) = self.members.get_mut(member_id) {
            m.revoking_since_ms = match next.state {
                MemberState::UnrevokedPartitions => m.revoking_since_ms.or(Some(now)),
                _ => None,
            };
            m.reconciled = next;
        }
        changed
    }

    /// Removes a member (left, expired or fenced); its partitions are free for the others.
    pub fn remove(&mut self, member_id: &str) -> Option<ConsumerMember> {
        let m = self.members.remove(member_id)?;
        if let Some(i) = &m.instance_id {
            if self.static_members.get(i).map(String::as_str) == Some(member_id) {
                self.static_members.remove(i);
            }
        }
        self.targets.remove(member_id);
        Some(m)
    }

    /// Members whose session timed out, or who did not revoke within their rebalance
    /// timeout (Kafka fences those).
    pub fn overdue(&self, now: i64, session_timeout_ms: i64) -> Vec<String> {
        self.members
            .values()
            .filter(|m| {
                now.saturating_sub(m.last_heartbeat_ms) > session_timeout_ms
                    || m.revoking_since_ms.is_some_and(|since| {
                        now.saturating_sub(since) > i64::from(m.rebalance_timeout_ms)
                    })
            })
            .map(|m| m.id.clone())
            .collect()
    }
}
