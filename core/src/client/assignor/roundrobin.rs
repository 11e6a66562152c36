//! The "roundrobin" assignor, as Java's `RoundRobinAssignor`: every partition of every
//! subscribed topic, sorted by topic then partition, is dealt in turn to the members in Java's
//! member order (static members by `group.instance.id` first, then the rest by member id),
//! cycling past members not subscribed to the partition's topic. The cycle position carries
//! over from one partition to the next, as Java's `CircularIterator` does.

use super::{
    collect_assignments, empty_assignments, members_in_java_order, partition_count, Assignment,
    Assignor, MemberSubscription, RebalanceProtocol,
};
use std::collections::{BTreeMap, BTreeSet};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobinAssignor;

impl Assignor for RoundRobinAssignor {
    fn name(&self) -> &'static str {
        "roundrobin"
    }

    fn protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Eager
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Assignment> {
        let ordered = members_in_java_order(members);
        if ordered.is_empty() {
            return empty_assignments(members);
        }
        let subscriptions: Vec<BTreeSet<&str>> = ordered
            .iter()
            .map(|m| m.topics.iter().map(String::as_str).collect())
            .collect();
        let all_topics: BTreeSet<&str> = subscriptions.iter().flatten().copied().collect();
        let mut pairs: BTreeMap<&str, Vec<(&str, i32)>> = BTreeMap::new();
        let mut next = 0usize;
        for topic in all_topics {
            for partition in 0..partition_count(partitions_per_topic, topic) {
                // Someone subscribes to `topic` (that is how it got into the set), so this
                // finds a member within one lap.
                let Some(k) = (0..ordered.len())
                    .map(|i| (next + i) % ordered.len())
                    .find(|&k| subscriptions[k].contains(topic))
                else {
                    break;
                };
                pairs
                    .entry(ordered[k].member_id.as_str())
                    .or_default()
                    .push((topic, partition));
                next = k + 1;
            }
        }
        collect_assignments(members, pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::assignor::test_util::assign_shown;

    fn run(parts: &[(&str, i32)], members: &[MemberSubscription]) -> BTreeMap<String, String> {
        assign_shown(&RoundRobinAssignor, parts, members)
    }

    #[test]
    fn javadoc_example_identical_subscriptions() {
        let got = run(
            &[("t0", 3), ("t1", 3)],
            &[
                MemberSubscription::new("C0", &["t0", "t1"]),
                MemberSubscription::new("C1", &["t1", "t0"]),
            ],
        );
        assert_eq!(got["C0"], "t0p0 t0p2 t1p1");
        assert_eq!(got["C1"], "t0p1 t1p0 t1p2");
    }

    #[test]
    fn javadoc_example_unequal_subscriptions() {
        // RoundRobinAssignor javadoc: t0 (1 partition), t1 (2), t2 (3); C0 on t0, C1 on t0
        // and t1, C2 on t0, t1 and t2.
        let got = run(
            &[("t0", 1), ("t1", 2), ("t2", 3)],
            &[
                MemberSubscription::new("C0", &["t0"]),
                MemberSubscription::new("C1", &["t0", "t1"]),
                MemberSubscription::new("C2", &["t0", "t1", "t2"]),
            ],
        );
        assert_eq!(got["C0"], "t0p0");
        assert_eq!(got["C1"], "t1p0");
        assert_eq!(got["C2"], "t1p1 t2p0 t2p1 t2p2");
    }

    #[test]
    fn more_members_than_partitions() {
        let got = run(
            &[("t", 2)],
            &[
                MemberSubscription::new("b", &["t"]),
                MemberSubscription::new("a", &["t"]),
                MemberSubscription::new("c", &["t"]),
            ],
        );
        assert_eq!(got["a"], "tp0");
        assert_eq!(got["b"], "tp1");
        assert_eq!(got["c"], "");
    }

    #[test]
    fn topics_missing_from_metadata_are_ignored() {
        let got = run(
            &[("t", 3)],
            &[
                MemberSubscription::new("a", &["gone"]),
                MemberSubscription::new("b", &["t", "gone"]),
            ],
        );
        assert_eq!(got["a"], "");
        assert_eq!(got["b"], "tp0 tp1 tp2");
    }
}
