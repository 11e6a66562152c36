//! Consumer-group partition assignment, client side: the group leader (a consumer) receives
//! every member's subscription in JoinGroup and computes the assignment it hands back in
//! SyncGroup.
//!
//! This module owns the assignor interface ([`Assignor`]), the decoded subscription and
//! assignment types, the registry of assignors by name ([`assignor_by_name`]) and the error
//! type of decoding. The wire format lives in [`protocol`], each strategy in its own file.
//!
//! Strom consumers share groups with Java, librdkafka and kafka-python consumers, so both the
//! bytes ([`protocol`]) and the strategies follow Kafka's Java client. Every member that may
//! become leader must compute the same result from the same input, hence the output is fully
//! deterministic: ordered maps, sorted members and partitions, no hashing.

pub mod cooperative_sticky;
pub mod protocol;
pub mod range;
pub mod roundrobin;

use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use cooperative_sticky::CooperativeStickyAssignor;
pub use range::RangeAssignor;
pub use roundrobin::RoundRobinAssignor;

/// How a group moves partitions between members during a rebalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceProtocol {
    /// Every member revokes everything before the new assignment (range, roundrobin).
    Eager,
    /// Members keep what they still own; moved partitions take a second rebalance (KIP-429).
    Cooperative,
}

/// One member's subscription, as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSubscription {
    pub member_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    pub group_instance_id: Option<String>,
    pub topics: Vec<String>,
    pub user_data: Option<Bytes>,
    /// Partitions the member owns now (subscription v1+), as it listed them.
    pub owned_partitions: Vec<(String, Vec<i32>)>,
    /// The generation in which the member got `owned_partitions` (v2+); -1 if absent.
    pub generation_id: i32,
    /// The member's `client.rack` (v3+).
    pub rack_id: Option<String>,
}

impl MemberSubscription {
    /// A dynamic member subscribed to `topics`, owning nothing, with no generation.
    pub fn new(member_id: impl Into<String>, topics: &[&str]) -> Self {
        MemberSubscription {
            member_id: member_id.into(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            user_data: None,
            owned_partitions: Vec::new(),
            generation_id: -1,
            rack_id: None,
        }
    }
}

/// What one member is given: partitions by topic, each list sorted ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    pub partitions: BTreeMap<String, Vec<i32>>,
    pub user_data: Option<Bytes>,
}

impl Assignment {
    /// Builds an assignment from (topic, partition) pairs in any order, sorted and deduplicated.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, i32)>) -> Self {
        let mut sets: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
        for (topic, partition) in pairs {
            sets.entry(topic.to_string()).or_default().insert(partition);
        }
        Assignment {
            partitions: sets
                .into_iter()
                .map(|(t, ps)| (t, ps.into_iter().collect()))
                .collect(),
            user_data: None,
        }
    }

    /// Number of partitions assigned.
    pub fn len(&self) -> usize {
        self.partitions.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every (topic, partition), in topic then partition order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, i32)> + '_ {
        self.partitions
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.as_str(), *p)))
    }
}

/// A partition assignment strategy, under its Kafka protocol name.
pub trait Assignor: Send + Sync + std::fmt::Debug {
    /// The protocol name members advertise in JoinGroup: "range", "roundrobin",
    /// "cooperative-sticky".
    fn name(&self) -> &'static str;

    fn protocol(&self) -> RebalanceProtocol;

    /// Computes the assignment of every member. `partitions_per_topic` holds the partition
    /// count of each subscribed topic known to metadata; topics missing from it are ignored.
    /// Every member gets an entry, possibly empty.
    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Assignment>;

    /// User data to put in this member's own subscription; `owned` and `generation` are what
    /// it holds now. Sticky assignors use it for older leaders' sake.
    fn subscription_user_data(
        &self,
        _owned: &[(String, Vec<i32>)],
        _generation: i32,
    ) -> Option<Bytes> {
        None
    }
}

/// The assignor for a `partition.assignment.strategy` entry: Kafka's protocol name or the
/// Java class name, as Java consumers are configured.
pub fn assignor_by_name(name: &str) -> Option<Arc<dyn Assignor>> {
    match name.trim() {
        "range" | "org.apache.kafka.clients.consumer.RangeAssignor" => {
            Some(Arc::new(RangeAssignor))
        }
        "roundrobin" | "org.apache.kafka.clients.consumer.RoundRobinAssignor" => {
            Some(Arc::new(RoundRobinAssignor))
        }
        "cooperative-sticky" | "org.apache.kafka.clients.consumer.CooperativeStickyAssignor" => {
            Some(Arc::new(CooperativeStickyAssignor))
        }
        _ => None,
    }
}

/// Why consumer-protocol bytes could not be decoded or encoded. The bytes come from other
/// members over the network, so every malformation is one of these, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignorError {
    #[error("consumer protocol {field}: truncated at byte {at}")]
    Truncated { field: &'static str, at: usize },
    #[error("consumer protocol {field}: {count} elements at byte {at} but {left} bytes follow")]
    ArrayTooLong {
        field: &'static str,
        count: usize,
        at: usize,
        left: usize,
    },
    #[error("consumer protocol {field}: negative length {len} at byte {at}")]
    NegativeLength {
        field: &'static str,
        len: i32,
        at: usize,
    },
    #[error("consumer protocol {field}: null at byte {at} where a value is required")]
    UnexpectedNull { field: &'static str, at: usize },
    #[error("consumer protocol {field}: invalid UTF-8 at byte {at}")]
    InvalidUtf8 { field: &'static str, at: usize },
    #[error("consumer protocol {what} version {version} is not supported")]
    UnsupportedVersion { what: &'static str, version: i16 },
    #[error("cannot encode consumer protocol {what}: {reason}")]
    Encode { what: &'static str, reason: String },
}

/// Java's member order for range and roundrobin (`AbstractPartitionAssignor.MemberInfo`):
/// static members first, by `group.instance.id`; then dynamic ones by member id. Static ids
/// survive restarts, so static members keep their slots across rebalances.
fn java_member_order(a: &MemberSubscription, b: &MemberSubscription) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        // The member-id tiebreak only matters for duplicate instance ids, which the broker
        // refuses; it keeps the order total anyway.
        (Some(x), Some(y)) => x.cmp(y).then_with(|| a.member_id.cmp(&b.member_id)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

/// The members with duplicates removed (the first entry of a member id wins; the broker never
/// sends duplicates, but the output must still give one entry per id) in Java's order.
fn members_in_java_order(members: &[MemberSubscription]) -> Vec<&MemberSubscription> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<&MemberSubscription> = members
        .iter()
        .filter(|m| seen.insert(m.member_id.as_str()))
        .collect();
    out.sort_by(|a, b| java_member_order(a, b));
    out
}

/// An empty assignment for every member.
fn empty_assignments(members: &[MemberSubscription]) -> BTreeMap<String, Assignment> {
    members
        .iter()
        .map(|m| (m.member_id.clone(), Assignment::default()))
        .collect()
}

/// A topic's partition count from metadata; absent or non-positive counts mean no partitions.
fn partition_count(partitions_per_topic: &BTreeMap<String, i32>, topic: &str) -> i32 {
    partitions_per_topic.get(topic).copied().unwrap_or(0).max(0)
}

/// Collects (topic, partition) pairs per member into sorted [`Assignment`]s.
fn collect_assignments(
    members: &[MemberSubscription],
    pairs: BTreeMap<&str, Vec<(&str, i32)>>,
) -> BTreeMap<String, Assignment> {
    let mut out = empty_assignments(members);
    for (member, list) in pairs {
        out.insert(member.to_string(), Assignment::from_pairs(list));
    }
    out
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    pub fn topics(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    /// Runs `assignor` and renders each member's share with [`show`].
    pub fn assign_shown(
        assignor: &dyn Assignor,
        parts: &[(&str, i32)],
        members: &[MemberSubscription],
    ) -> BTreeMap<String, String> {
        assignor
            .assign(&topics(parts), members)
            .into_iter()
            .map(|(m, a)| (m, show(&a)))
            .collect()
    }

    /// Renders an assignment as "t0p0 t0p1 ..." for compact assertions.
    pub fn show(a: &Assignment) -> String {
        a.pairs()
            .map(|(t, p)| format!("{t}p{p}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignors_by_protocol_and_java_class_name() {
        for (name, want) in [
            ("range", "range"),
            ("org.apache.kafka.clients.consumer.RangeAssignor", "range"),
            ("roundrobin", "roundrobin"),
            (
                "org.apache.kafka.clients.consumer.RoundRobinAssignor",
                "roundrobin",
            ),
            ("cooperative-sticky", "cooperative-sticky"),
            (
                " org.apache.kafka.clients.consumer.CooperativeStickyAssignor ",
                "cooperative-sticky",
            ),
        ] {
            let a = assignor_by_name(name).unwrap();
            assert_eq!(a.name(), want);
        }
        assert!(assignor_by_name("sticky").is_none());
        assert!(assignor_by_name("Range").is_none());
        assert_eq!(
            assignor_by_name("range").unwrap().protocol(),
            RebalanceProtocol::Eager
        );
        assert_eq!(
            assignor_by_name("cooperative-sticky").unwrap().protocol(),
            RebalanceProtocol::Cooperative
        );
    }

    #[test]
    fn static_members_sort_first_by_instance_id() {
        let mut a = MemberSubscription::new("a", &[]);
        let mut b = MemberSubscription::new("b", &[]);
        let c = MemberSubscription::new("c", &[]);
        a.group_instance_id = Some("z".into());
        b.group_instance_id = Some("y".into());
        let dup = MemberSubscription::new("c", &["ignored"]);
        let all = [c, a, b, dup];
        let order: Vec<_> = members_in_java_order(&all)
            .iter()
            .map(|m| m.member_id.as_str())
            .collect();
        assert_eq!(order, ["b", "a", "c"]);
    }

    #[test]
    fn assignment_from_pairs_sorts_and_dedups() {
        let a = Assignment::from_pairs([("t1", 2), ("t0", 1), ("t1", 0), ("t1", 2)]);
        assert_eq!(test_util::show(&a), "t0p1 t1p0 t1p2");
        assert_eq!(a.len(), 3);
    }
}
