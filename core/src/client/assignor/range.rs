//! The "range" assignor, as Java's `RangeAssignor`: topic by topic, the members subscribed to
//! the topic, in Java's member order (static members by `group.instance.id` first, then the
//! rest by member id), each get a contiguous range of its partitions; the first
//! `partitions % members` get one extra.
//!
//! Java 3.5+ can also make range rack-aware (KIP-881) when it knows the replicas' racks; the
//! assignor interface here carries no replica placement, so this is the classic algorithm,
//! which is also what Java does whenever racks are not configured.

use super::{
    collect_assignments, empty_assignments, members_in_java_order, partition_count, Assignment,
    Assignor, MemberSubscription, RebalanceProtocol,
};
use std::collections::{BTreeMap, BTreeSet};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeAssignor;

impl Assignor for RangeAssignor {
    fn name(&self) -> &'static str {
        "range"
    }

    fn protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Eager
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Assignment> {
        if members.is_empty() {
            return empty_assignments(members);
        }
        let ordered = members_in_java_order(members);
        // Topic -> subscribed members, keeping Java's member order within each topic.
        let mut per_topic: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in &ordered {
            let topics: BTreeSet<&str> = m.topics.iter().map(String::as_str).collect();
            for t in topics {
                per_topic.entry(t).or_default().push(m.member_id.as_str());
            }
        }
        let mut pairs: BTreeMap<&str, Vec<(&str, i32)>> = BTreeMap::new();
        for (topic, consumers) in per_topic {
            let n = partition_count(partitions_per_topic, topic);
            // `consumers` is never empty: a topic is listed because someone subscribed to it.
            let m = i32::try_from(consumers.len()).unwrap_or(i32::MAX);
            let (per_member, extra) = (n / m, n % m);
            for (i, member) in (0..).zip(consumers) {
                let start = per_member * i + i.min(extra);
                let len = per_member + i32::from(i < extra);
                let list = pairs.entry(member).or_default();
                list.extend((start..start + len).map(|p| (topic, p)));
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
        assign_shown(&RangeAssignor, parts, members)
    }

    #[test]
    fn javadoc_example() {
        // RangeAssignor javadoc: C0, C1 on t0, t1 with three partitions each.
        let got = run(
            &[("t0", 3), ("t1", 3)],
            &[
                MemberSubscription::new("C1", &["t0", "t1"]),
                MemberSubscription::new("C0", &["t0", "t1"]),
            ],
        );
        assert_eq!(got["C0"], "t0p0 t0p1 t1p0 t1p1");
        assert_eq!(got["C1"], "t0p2 t1p2");
    }

    #[test]
    fn unequal_subscriptions() {
        let got = run(
            &[("t0", 3), ("t1", 2), ("t2", 4)],
            &[
                MemberSubscription::new("a", &["t0"]),
                MemberSubscription::new("b", &["t0", "t1", "t2"]),
                MemberSubscription::new("c", &["t1", "t2", "missing"]),
            ],
        );
        assert_eq!(got["a"], "t0p0 t0p1");
        assert_eq!(got["b"], "t0p2 t1p0 t2p0 t2p1");
        assert_eq!(got["c"], "t1p1 t2p2 t2p3");
    }

    #[test]
    fn more_members_than_partitions() {
        let got = run(
            &[("t", 2)],
            &[
                MemberSubscription::new("m3", &["t"]),
                MemberSubscription::new("m1", &["t"]),
                MemberSubscription::new("m2", &["t"]),
            ],
        );
        assert_eq!(got["m1"], "tp0");
        assert_eq!(got["m2"], "tp1");
        assert_eq!(got["m3"], "");
    }

    #[test]
    fn static_members_come_first_by_instance_id() {
        let mut a = MemberSubscription::new("a", &["t"]);
        let mut b = MemberSubscription::new("b", &["t"]);
        let c = MemberSubscription::new("c", &["t"]);
        a.group_instance_id = Some("i2".into());
        b.group_instance_id = Some("i1".into());
        let got = run(&[("t", 3)], &[a, b, c]);
        assert_eq!(got["b"], "tp0");
        assert_eq!(got["a"], "tp1");
        assert_eq!(got["c"], "tp2");
    }

    #[test]
    fn no_members_no_topics() {
        assert!(run(&[("t", 3)], &[]).is_empty());
        let got = run(&[], &[MemberSubscription::new("a", &["t"])]);
        assert_eq!(got["a"], "");
        assert_eq!(got.len(), 1);
    }
}
