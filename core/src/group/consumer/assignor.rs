//! The server-side assignors of the consumer group protocol (KIP-848): `uniform` (Kafka's
//! default: partitions spread evenly over the members subscribed to them, sticky to the
//! previous target) and `range` (per topic, contiguous ranges over the subscribed members
//! in member id order, as the classic range assignor did).

use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Partitions by topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// The assignors strom offers, the first being the default (`group.consumer.assignors`).
pub const ASSIGNORS: &[&str] = &["uniform", "range"];

/// A topic the group subscribes to: its id and partition count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicMeta {
    pub id: Uuid,
    pub partitions: i32,
}

/// What an assignor sees of one member.
#[derive(Debug, Clone)]
pub struct MemberSpec<'a> {
    /// Subscribed topic names that exist.
    pub topics: &'a BTreeSet<String>,
    /// Its previous target, for stickiness.
    pub previous: &'a Assignment,
}

/// Runs the named assignor (unknown names fall back to the default; the heartbeat refuses
/// them before this).
pub fn assign(
    name: &str,
    members: &BTreeMap<String, MemberSpec<'_>>,
    topics: &BTreeMap<String, TopicMeta>,
) -> BTreeMap<String, Assignment> {
    match name {
        "range" => range(members, topics),
        _ => uniform(members, topics),
    }
}

fn empty_targets(members: &BTreeMap<String, MemberSpec<'_>>) -> BTreeMap<String, Assignment> {
    members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect()
}

/// Per topic: its partitions in contiguous ranges over the members subscribed to it, in
/// member id order; the first `partitions % members` get one more.
pub fn range(
    members: &BTreeMap<String, MemberSpec<'_>>,
    topics: &BTreeMap<String, TopicMeta>,
) -> BTreeMap<String, Assignment> {
    let mut out = empty_targets(members);
    for (name, meta) in topics {
        let subscribed: Vec<&String> = members
            .iter()
            .filter(|(_, m)| m.topics.contains(name))
            .map(|(id, _)| id)
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        let n = meta.partitions.max(0) as usize;
        let (each, extra) = (n / subscribed.len(), n % subscribed.len());
        let mut next = 0usize;
        for (i, member) in subscribed.iter().enumerate() {
            let count = each + usize::from(i < extra);
            if count == 0 {
                continue;
            }
            let parts = (next..next + count).map(|p| p as i32);
            if let Some(a) = out.get_mut(*member) {
                a.entry(meta.id).or_default().extend(parts);
            }
            next += count;
        }
    }
    out
}

/// Every partition of the subscribed topics to one of the members subscribed to it, as
/// evenly as the subscriptions allow, keeping a partition where the previous target had it
/// while that member is not above its share.
pub fn uniform<'a>(
    members: &'a BTreeMap<String, MemberSpec<'_>>,
    topics: &BTreeMap<String, TopicMeta>,
) -> BTreeMap<String, Assignment> {
    let mut out = empty_targets(members);
    if members.is_empty() {
        return out;
    }
    // (topic name, id, partition, the members that may own it)
    let partitions: Vec<(Uuid, i32, Vec<&'a String>)> = topics
        .iter()
        .flat_map(|(name, meta)| {
            let eligible: Vec<&String> = members
                .iter()
                .filter(|(_, m)| m.topics.contains(name))
                .map(|(id, _)| id)
                .collect();
            (0..meta.partitions).map(move |p| (meta.id, p, eligible.clone()))
        })
        .filter(|(_, _, eligible)| !eligible.is_empty())
        .collect();
    // Each member's share of an even split: `base` partitions, and one more for `extra` of
    // them (members with narrower subscriptions end up below it).
    let (base, mut extra) = (
        partitions.len() / members.len(),
        partitions.len() % members.len(),
    );
    let mut load: BTreeMap<&String, usize> = members.keys().map(|m| (m, 0)).collect();
    let previous_owner = |id: &Uuid, p: i32, eligible: &[&'a String]| {
        eligible.iter().copied().find(|m| {
            members[*m]
                .previous
                .get(id)
                .is_some_and(|ps| ps.contains(&p))
        })
    };
    let give = |out: &mut BTreeMap<String, Assignment>, m: &String, id: Uuid, p: i32| {
        out.entry(m.clone())
            .or_default()
            .entry(id)
            .or_default()
            .insert(p);
    };
    // Sticky, in two passes: every member keeps up to its base share of its previous target,
    // then the `extra` slots go to members that had one more.
    let mut unkept = Vec::new();
    for (id, p, eligible) in &partitions {
        match previous_owner(id, *p, eligible) {
            Some(m) if load[m] < base => {
                *load.entry(m).or_default() += 1;
                give(&mut out, m, *id, *p);
            }
            _ => unkept.push((*id, *p, eligible)),
        }
    }
    let mut left = Vec::new();
    for (id, p, eligible) in unkept {
        match previous_owner(&id, p, eligible) {
            Some(m) if load[m] == base && extra > 0 => {
                extra -= 1;
                *load.entry(m).or_default() += 1;
                give(&mut out, m, id, p);
            }
            _ => left.push((id, p, eligible)),
        }
    }
    for (id, p, eligible) in left {
        // The least loaded eligible member (ties by member id).
        let Some(m) = eligible.iter().copied().min_by_key(|m| (load[m], *m)) else {
            continue;
        };
        *load.entry(m).or_default() += 1;
        give(&mut out, m, id, p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(spec: &[(&str, i32)]) -> BTreeMap<String, TopicMeta> {
        spec.iter()
            .enumerate()
            .map(|(i, (n, p))| {
                (
                    n.to_string(),
                    TopicMeta {
                        id: Uuid::from_u128(i as u128 + 1),
                        partitions: *p,
                    },
                )
            })
            .collect()
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(BTreeSet::len).sum()
    }

    #[test]
    fn range_splits_each_topic_in_member_order() {
        let t = topics(&[("a", 5)]);
        let subs: BTreeSet<String> = ["a".to_string()].into();
        let none = Assignment::new();
        let members: BTreeMap<String, MemberSpec> = ["m1", "m2"]
            .iter()
            .map(|m| {
                (
                    m.to_string(),
                    MemberSpec {
                        topics: &subs,
                        previous: &none,
                    },
                )
            })
            .collect();
        let out = range(&members, &t);
        let id = t["a"].id;
        assert_eq!(out["m1"][&id], [0, 1, 2].into());
        assert_eq!(out["m2"][&id], [3, 4].into());
    }

    #[test]
    fn uniform_is_even_complete_and_sticky() {
        let t = topics(&[("a", 4), ("b", 3)]);
        let subs: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let none = Assignment::new();
        let two: BTreeMap<String, MemberSpec> = ["m1", "m2"]
            .iter()
            .map(|m| {
                (
                    m.to_string(),
                    MemberSpec {
                        topics: &subs,
                        previous: &none,
                    },
                )
            })
            .collect();
        let first = uniform(&two, &t);
        assert_eq!((count(&first["m1"]), count(&first["m2"])), (4, 3));
        // A third member joins: each keeps what it can of its previous target.
        let three: BTreeMap<String, MemberSpec> =
            [("m1", &first["m1"]), ("m2", &first["m2"]), ("m3", &none)]
                .iter()
                .map(|(m, prev)| {
                    (
                        m.to_string(),
                        MemberSpec {
                            topics: &subs,
                            previous: prev,
                        },
                    )
                })
                .collect();
        let second = uniform(&three, &t);
        let counts: Vec<usize> = second.values().map(count).collect();
        assert_eq!(counts.iter().sum::<usize>(), 7);
        assert!(counts.iter().all(|c| (2..=3).contains(c)), "{counts:?}");
        for m in ["m1", "m2"] {
            for (id, ps) in &second[m] {
                assert!(
                    ps.is_subset(&first[m][id]),
                    "{m} moved partitions it could keep"
                );
            }
        }
    }

    #[test]
    fn uniform_respects_subscriptions() {
        let t = topics(&[("a", 3), ("b", 3)]);
        let only_a: BTreeSet<String> = ["a".to_string()].into();
        let both: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let none = Assignment::new();
        let members: BTreeMap<String, MemberSpec> = [
            (
                "m1".to_string(),
                MemberSpec {
                    topics: &only_a,
                    previous: &none,
                },
            ),
            (
                "m2".to_string(),
                MemberSpec {
                    topics: &both,
                    previous: &none,
                },
            ),
        ]
        .into();
        let out = uniform(&members, &t);
        assert!(!out["m1"].contains_key(&t["b"].id));
        assert_eq!(count(&out["m1"]) + count(&out["m2"]), 6);
    }
}
