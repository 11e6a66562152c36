//! The "cooperative-sticky" assignor (KIP-429), with the semantics of Java's
//! `CooperativeStickyAssignor`, though not a port of `AbstractStickyAssignor`'s code.
//!
//! Sticky: every member keeps the partitions it owns (from its subscription's owned partitions
//! and generation) unless balance needs them elsewhere. When two members claim a partition,
//! the claim from the higher generation wins; a tie at the highest generation voids both
//! claims (as Java does when all subscriptions are equal). Claims on topics the member no
//! longer subscribes to, or on partitions metadata does not know, are void too.
//!
//! Balanced: partitions nobody validly owns go to the least-loaded eligible member, then the
//! plan is improved along "cost-reducing paths" (X hands a partition to Y, Y one to Z, ...,
//! ending at a member holding at least two fewer than X) until none is left. That fixpoint is an
//! optimal semi-matching (Harvey, Ladner, Lovász, Tamir 2003): it minimises the sum of squared
//! loads, so with identical subscriptions the counts differ by at most one, and with unequal
//! ones no partition can go to an eligible member holding two fewer. Paths first use only
//! partitions nobody owned (moving those revokes nothing), then any partition.
//!
//! Cooperative: a partition that the plan gives to B while another member still claims it is
//! left out of B's assignment; the claimant sees it missing, revokes it and rejoins, and the
//! next rebalance hands it to B. Because the first plan is optimal, that second plan keeps every
//! partition where it is and only places the freed ones (the fresh-only path phase reaches the
//! same optimum), so two rounds settle a move.

use super::{
    empty_assignments, partition_count, Assignment, Assignor, MemberSubscription, RebalanceProtocol,
};
use bytes::Bytes;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CooperativeStickyAssignor;

impl Assignor for CooperativeStickyAssignor {
    fn name(&self) -> &'static str {
        "cooperative-sticky"
    }

    fn protocol(&self) -> RebalanceProtocol {
        RebalanceProtocol::Cooperative
    }

    fn assign(
        &self,
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &[MemberSubscription],
    ) -> BTreeMap<String, Assignment> {
        let mut plan = Plan::new(partitions_per_topic, members);
        plan.fill();
        plan.balance(false);
        plan.balance(true);
        plan.finish(members)
    }

    /// Java's `CooperativeStickyAssignor` puts its generation here (int32, big-endian) for
    /// leaders that read only subscription v0/v1, which have no generation field.
    fn subscription_user_data(
        &self,
        _owned: &[(String, Vec<i32>)],
        generation: i32,
    ) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(&generation.to_be_bytes()))
    }
}

/// The generation of a member's claims: the subscription field (v2+), else the 4-byte user
/// data Java's assignor writes. Other user data (librdkafka puts its sticky-assignor blob there,
/// never 4 bytes long) means "unknown", as Java's -1 default.
fn generation(m: &MemberSubscription) -> i32 {
    if m.generation_id != -1 {
        return m.generation_id;
    }
    match m.user_data.as_deref() {
        Some(&[a, b, c, d]) => i32::from_be_bytes([a, b, c, d]),
        _ => -1,
    }
}

/// A partition: (index into `Plan::topics`, partition number).
type Tp = (usize, i32);

/// What a member holds in the plan, by topic index: `sticky` partitions it owned before this
/// rebalance, `fresh` ones it did not. Empty sets are removed, so a key means "holds some".
#[derive(Default)]
struct Held {
    sticky: BTreeMap<usize, BTreeSet<i32>>,
    fresh: BTreeMap<usize, BTreeSet<i32>>,
    count: usize,
}

impl Held {
    fn insert(&mut self, tp: Tp, sticky: bool) {
        let map = if sticky {
            &mut self.sticky
        } else {
            &mut self.fresh
        };
        if map.entry(tp.0).or_default().insert(tp.1) {
            self.count += 1;
        }
    }

    fn remove(&mut self, tp: Tp) {
        for map in [&mut self.sticky, &mut self.fresh] {
            if let Some(set) = map.get_mut(&tp.0) {
                if set.remove(&tp.1) {
                    self.count -= 1;
                    if set.is_empty() {
                        map.remove(&tp.0);
                    }
                    return;
                }
            }
        }
    }

    /// A partition of one of `topics` this member could hand over: a fresh one if any (moving
    /// it revokes nothing), else a sticky one when `allow_sticky`.
    fn movable(&self, topics: &BTreeSet<usize>, allow_sticky: bool) -> Option<Tp> {
        let pick = |map: &BTreeMap<usize, BTreeSet<i32>>, last: bool| {
            topics.iter().find_map(|t| {
                let ps = map.get(t)?;
                let p = if last { ps.last() } else { ps.first() };
                p.map(|p| (*t, *p))
            })
        };
        // Of owned partitions, give away the highest-numbered; which one does not matter for
        // balance, and keeping the low ones where they were reads naturally in the output.
        pick(&self.fresh, false)
            .or_else(|| allow_sticky.then(|| pick(&self.sticky, true)).flatten())
    }
}

/// What a path search from one member found.
enum Search {
    /// A path was applied; these members' holdings changed.
    Moved(Vec<usize>),
    /// No path; these members (as a mask) are reachable.
    Stuck(Vec<bool>),
}

/// The assignment being computed. Members are indexed in member-id order, topics in name order.
struct Plan<'a> {
    topics: Vec<&'a str>,
    partitions: Vec<i32>,
    members: Vec<&'a MemberSubscription>,
    /// Topic indices each member subscribes to (only topics with partitions).
    subs: Vec<BTreeSet<usize>>,
    /// The valid previous owner of each partition that has one.
    owner: BTreeMap<Tp, usize>,
    held: Vec<Held>,
}

impl<'a> Plan<'a> {
    fn new(
        partitions_per_topic: &BTreeMap<String, i32>,
        members: &'a [MemberSubscription],
    ) -> Self {
        let mut seen = BTreeSet::new();
        let mut ms: Vec<&MemberSubscription> = members
            .iter()
            .filter(|m| seen.insert(m.member_id.as_str()))
            .collect();
        ms.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        let topics: Vec<&str> = ms
            .iter()
            .flat_map(|m| m.topics.iter().map(String::as_str))
            .filter(|t| partition_count(partitions_per_topic, t) > 0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let partitions = topics
            .iter()
            .map(|t| partition_count(partitions_per_topic, t))
            .collect();
        let subs = ms
            .iter()
            .map(|m| {
                m.topics
                    .iter()
                    .filter_map(|t| topics.binary_search(&t.as_str()).ok())
                    .collect()
            })
            .collect();
        let mut plan = Plan {
            topics,
            partitions,
            members: ms,
            subs,
            owner: BTreeMap::new(),
            held: Vec::new(),
        };
        plan.owner = plan.resolve_owners();
        plan.held = (0..plan.members.len()).map(|_| Held::default()).collect();
        for (&tp, &m) in &plan.owner {
            plan.held[m].insert(tp, true);
        }
        plan
    }

    /// The partition's index pair, if metadata has it.
    fn tp(&self, topic: &str, partition: i32) -> Option<Tp> {
        let t = self.topics.binary_search(&topic).ok()?;
        (0..self.partitions[t])
            .contains(&partition)
            .then_some((t, partition))
    }

    /// Highest generation wins; a tie at the highest voids the claim; the winner must still
    /// subscribe to the topic.
    fn resolve_owners(&self) -> BTreeMap<Tp, usize> {
        let mut best: BTreeMap<Tp, (i32, Option<usize>)> = BTreeMap::new();
        for (i, m) in self.members.iter().enumerate() {
            let g = generation(m);
            let claims: BTreeSet<Tp> = m
                .owned_partitions
                .iter()
                .flat_map(|(t, ps)| ps.iter().filter_map(|p| self.tp(t, *p)))
                .collect();
            for tp in claims {
                let slot = best.entry(tp).or_insert((g, Some(i)));
                if g > slot.0 {
                    *slot = (g, Some(i));
                } else if g == slot.0 && slot.1 != Some(i) {
                    tracing::warn!(
                        topic = %crate::log_safe::escape(&self.topics[tp.0]),
                        partition = tp.1,
                        generation = g,
                        "consumers claim the partition in the same generation; voiding the claims"
                    );
                    slot.1 = None;
                }
            }
        }
        best.into_iter()
            .filter_map(|(tp, (_, m))| m.filter(|&m| self.subs[m].contains(&tp.0)).map(|m| (tp, m)))
            .collect()
    }

    /// Gives each partition nobody validly owns to its least-loaded eligible member, the most
    /// constrained topics (fewest subscribers) first.
    fn fill(&mut self) {
        let mut eligible: Vec<Vec<usize>> = vec![Vec::new(); self.topics.len()];
        for (m, subs) in self.subs.iter().enumerate() {
            for &t in subs {
                eligible[t].push(m);
            }
        }
        let mut order: Vec<usize> = (0..self.topics.len()).collect();
        order.sort_by_key(|&t| (eligible[t].len(), t));
        for t in order {
            for p in 0..self.partitions[t] {
                if self.owner.contains_key(&(t, p)) {
                    continue;
                }
                let least = eligible[t]
                    .iter()
                    .copied()
                    .min_by_key(|&m| (self.held[m].count, m));
                if let Some(m) = least {
                    self.held[m].insert((t, p), false);
                }
            }
        }
    }

    /// The lowest load among members that can take anything.
    fn floor(&self) -> usize {
        (0..self.members.len())
            .filter(|&m| !self.subs[m].is_empty())
            .map(|m| self.held[m].count)
            .min()
            .unwrap_or(0)
    }

    /// Applies cost-reducing paths until none is left (see the module documentation), moving
    /// previously owned partitions only when `allow_sticky`. Always from the most loaded member
    /// that has a path, so partitions leave the members with the most to spare, and each move
    /// is one a balanced plan needs.
    fn balance(&mut self, allow_sticky: bool) {
        let n = self.members.len();
        // Members known to have no path, with what they reach. A source stays stuck until a
        // move touches a member it reaches: only those members' holdings decide its paths.
        let mut stuck: Vec<Option<Vec<bool>>> = vec![None; n];
        loop {
            let floor = self.floor();
            let mut sources: Vec<usize> = (0..n)
                .filter(|&m| self.held[m].count >= floor + 2 && stuck[m].is_none())
                .collect();
            sources.sort_by_key(|&m| (Reverse(self.held[m].count), m));
            let mut moved = None;
            for s in sources {
                match self.augment(s, allow_sticky) {
                    Search::Moved(path) => {
                        moved = Some(path);
                        break;
                    }
                    Search::Stuck(reach) => stuck[s] = Some(reach),
                }
            }
            let Some(path) = moved else {
                return;
            };
            for slot in &mut stuck {
                if slot.as_ref().is_some_and(|r| path.iter().any(|&m| r[m])) {
                    *slot = None;
                }
            }
        }
    }

    /// Searches breadth-first from `s` for a member holding at least two fewer partitions,
    /// reachable by handing partitions along, and applies the path. The first level with a
    /// candidate wins (short paths move little), its least-loaded member (then lowest index)
    /// being the target.
    fn augment(&mut self, s: usize, allow_sticky: bool) -> Search {
        let n = self.members.len();
        let mut parent: Vec<Option<(usize, Tp)>> = vec![None; n];
        let mut visited = vec![false; n];
        visited[s] = true;
        let Some(limit) = self.held[s].count.checked_sub(2) else {
            return Search::Stuck(visited);
        };
        let mut frontier = vec![s];
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for &x in &frontier {
                for y in 0..n {
                    if visited[y] {
                        continue;
                    }
                    if let Some(tp) = self.held[x].movable(&self.subs[y], allow_sticky) {
                        visited[y] = true;
                        parent[y] = Some((x, tp));
                        next.push(y);
                    }
                }
            }
            let target = next
                .iter()
                .copied()
                .filter(|&y| self.held[y].count <= limit)
                .min_by_key(|&y| (self.held[y].count, y));
            if let Some(mut y) = target {
                let mut path = vec![y];
                while let Some((x, tp)) = parent[y] {
                    self.held[x].remove(tp);
                    let sticky = self.owner.get(&tp) == Some(&y);
                    self.held[y].insert(tp, sticky);
                    path.push(x);
                    y = x;
                }
                return Search::Moved(path);
            }
            frontier = next;
        }
        Search::Stuck(visited)
    }

    /// The plan as assignments, minus partitions another member still claims (they follow in
    /// the next rebalance, once revoked).
    fn finish(self, members: &[MemberSubscription]) -> BTreeMap<String, Assignment> {
        let mut claimants: BTreeMap<(&str, i32), BTreeSet<usize>> = BTreeMap::new();
        for (i, m) in self.members.iter().enumerate() {
            for (t, ps) in &m.owned_partitions {
                for &p in ps {
                    claimants.entry((t.as_str(), p)).or_default().insert(i);
                }
            }
        }
        let mut out = empty_assignments(members);
        let topics = &self.topics;
        for (i, m) in self.members.iter().enumerate() {
            let held = &self.held[i];
            let pairs = held
                .sticky
                .iter()
                .chain(&held.fresh)
                .flat_map(|(t, ps)| ps.iter().map(move |p| (topics[*t], *p)))
                .filter(|tp| claimants.get(tp).is_none_or(|c| c.contains(&i)));
            out.insert(m.member_id.clone(), Assignment::from_pairs(pairs));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::assignor::test_util::{show, topics};
    use proptest::prelude::*;

    type Result = BTreeMap<String, Assignment>;

    fn member(
        id: &str,
        subs: &[&str],
        owned: &[(&str, &[i32])],
        generation: i32,
    ) -> MemberSubscription {
        let mut m = MemberSubscription::new(id, subs);
        m.owned_partitions = owned
            .iter()
            .map(|(t, ps)| (t.to_string(), ps.to_vec()))
            .collect();
        m.generation_id = generation;
        m
    }

    fn assign(parts: &BTreeMap<String, i32>, members: &[MemberSubscription]) -> Result {
        CooperativeStickyAssignor.assign(parts, members)
    }

    /// The next JoinGroup: every member claims what it was just given, at `generation`.
    fn rejoin(
        members: &[MemberSubscription],
        result: &Result,
        generation: i32,
    ) -> Vec<MemberSubscription> {
        members
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m.owned_partitions = result[&m.member_id]
                    .partitions
                    .iter()
                    .map(|(t, ps)| (t.clone(), ps.clone()))
                    .collect();
                m.generation_id = generation;
                m
            })
            .collect()
    }

    fn counts(result: &Result) -> Vec<usize> {
        result.values().map(Assignment::len).collect()
    }

    fn total(result: &Result) -> usize {
        counts(result).iter().sum()
    }

    #[test]
    fn first_assignment_is_balanced() {
        let parts = topics(&[("t0", 4), ("t1", 3)]);
        let members: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|id| member(id, &["t0", "t1"], &[], -1))
            .collect();
        let got = assign(&parts, &members);
        assert_eq!(counts(&got), [3, 2, 2]);
        assert_eq!(total(&got), 7);
        assert_eq!(
            got,
            assign(&parts, &members.iter().rev().cloned().collect::<Vec<_>>())
        );
    }

    #[test]
    fn adding_a_member_moves_only_what_is_needed_over_two_rounds() {
        let parts = topics(&[("t", 6)]);
        let members = vec![
            member("a", &["t"], &[("t", &[0, 1, 2])], 1),
            member("b", &["t"], &[("t", &[3, 4, 5])], 1),
            member("c", &["t"], &[], -1),
        ];
        let first = assign(&parts, &members);
        // a and b each give one up, but c may not have it until they have revoked it.
        assert_eq!(show(&first["a"]), "tp0 tp1");
        assert_eq!(show(&first["b"]), "tp3 tp4");
        assert_eq!(show(&first["c"]), "");
        let second = assign(&parts, &rejoin(&members, &first, 2));
        assert_eq!(second["a"], first["a"]);
        assert_eq!(second["b"], first["b"]);
        assert_eq!(show(&second["c"]), "tp2 tp5");
    }

    #[test]
    fn removing_a_member_redistributes_at_once() {
        let parts = topics(&[("t", 6)]);
        let members = vec![
            member("a", &["t"], &[("t", &[0, 1])], 3),
            member("b", &["t"], &[("t", &[2, 3])], 3),
        ];
        let got = assign(&parts, &members);
        assert_eq!(counts(&got), [3, 3]);
        assert_eq!(total(&got), 6);
        assert!(show(&got["a"]).starts_with("tp0 tp1"));
        assert!(show(&got["b"]).starts_with("tp2 tp3"));
    }

    #[test]
    fn higher_generation_wins_a_conflicting_claim() {
        let parts = topics(&[("t", 4)]);
        let members = vec![
            member("a", &["t"], &[("t", &[0, 1])], 5),
            member("b", &["t"], &[("t", &[1, 2])], 4),
        ];
        let got = assign(&parts, &members);
        assert_eq!(show(&got["a"]), "tp0 tp1");
        assert_eq!(show(&got["b"]), "tp2 tp3");
    }

    #[test]
    fn a_tie_at_the_highest_generation_voids_both_claims() {
        let parts = topics(&[("t", 3)]);
        let members = vec![
            member("a", &["t"], &[("t", &[0, 1])], 3),
            member("b", &["t"], &[("t", &[1])], 3),
            member("c", &["t"], &[], 3),
        ];
        let got = assign(&parts, &members);
        // Nobody owns t-1 now: it goes to the least loaded, b (a claimant, so no wait).
        assert_eq!(show(&got["a"]), "tp0");
        assert_eq!(show(&got["b"]), "tp1");
        assert_eq!(show(&got["c"]), "tp2");
    }

    #[test]
    fn generation_from_java_user_data() {
        let parts = topics(&[("t", 1)]);
        let mut old = member("a", &["t"], &[("t", &[0])], -1);
        old.user_data = CooperativeStickyAssignor.subscription_user_data(&[], 9);
        assert_eq!(old.user_data.as_deref(), Some(&[0, 0, 0, 9][..]));
        let members = vec![old, member("b", &["t"], &[("t", &[0])], 8)];
        let got = assign(&parts, &members);
        assert_eq!(show(&got["a"]), "tp0");
        assert_eq!(show(&got["b"]), "");
    }

    #[test]
    fn unsubscribed_owner_revokes_before_the_new_owner_gets_it() {
        let parts = topics(&[("t0", 1), ("t1", 1)]);
        let members = vec![
            member("a", &["t0"], &[("t0", &[0]), ("t1", &[0])], 1),
            member("b", &["t1"], &[], 1),
        ];
        let first = assign(&parts, &members);
        assert_eq!(show(&first["a"]), "t0p0");
        assert_eq!(show(&first["b"]), "");
        let second = assign(&parts, &rejoin(&members, &first, 2));
        assert_eq!(show(&second["b"]), "t1p0");
    }

    #[test]
    fn departed_owner_is_not_waited_for() {
        let parts = topics(&[("t", 2)]);
        // "gone" owned t-1 but is not in the group any more: nobody has to revoke it.
        let members = vec![
            member("a", &["t"], &[("t", &[0])], 4),
            member("b", &["t"], &[], -1),
        ];
        let got = assign(&parts, &members);
        assert_eq!(show(&got["a"]), "tp0");
        assert_eq!(show(&got["b"]), "tp1");
    }

    #[test]
    fn unequal_subscriptions_balance_along_a_chain() {
        // a can only take t1, c only t2; b both. Loads 4/3/2 settle at 3/3/3 only if a hands
        // a t1 partition to b and b a t2 partition to c.
        let parts = topics(&[("t1", 4), ("t2", 5)]);
        let members = vec![
            member("a", &["t1"], &[("t1", &[0, 1, 2, 3])], 1),
            member("b", &["t1", "t2"], &[("t2", &[0, 1, 2])], 1),
            member("c", &["t2"], &[("t2", &[3, 4])], 1),
        ];
        let first = assign(&parts, &members);
        assert_eq!(counts(&first), [3, 2, 2]);
        let second = assign(&parts, &rejoin(&members, &first, 2));
        assert_eq!(counts(&second), [3, 3, 3]);
        for m in ["a", "b", "c"] {
            assert!(first[m]
                .pairs()
                .all(|tp| second[m].pairs().any(|x| x == tp)));
        }
    }

    #[test]
    fn large_group_scales() {
        let parts: BTreeMap<String, i32> = (0..20).map(|t| (format!("topic-{t}"), 50)).collect();
        let names: Vec<&str> = parts.keys().map(String::as_str).collect();
        let mut members: Vec<_> = (0..100)
            .map(|i| member(&format!("m{i:03}"), &names, &[], -1))
            .collect();
        let first = assign(&parts, &members);
        assert_eq!(total(&first), 1000);
        members = rejoin(&members, &first, 1);
        members.push(member("new", &names, &[], -1));
        let second = assign(&parts, &members);
        // 1000 over 101: nine get moved to the newcomer, who waits for their revocation.
        assert_eq!(total(&second), 991);
        let third = assign(&parts, &rejoin(&members, &second, 2));
        let c = counts(&third);
        assert_eq!(total(&third), 1000);
        assert!(c.iter().max().unwrap() - c.iter().min().unwrap() <= 1);
    }

    /// Random groups: up to 4 topics (one unknown to metadata), members with random
    /// subscriptions, prior claims (some invalid) and generations.
    fn arb_group() -> impl Strategy<Value = (BTreeMap<String, i32>, Vec<MemberSubscription>)> {
        let names = ["t0", "t1", "t2", "ghost"];
        let parts = proptest::collection::vec(0i32..7, 3);
        let members = proptest::collection::vec(
            (
                1u8..16,
                proptest::collection::vec((0usize..4, -1i32..8), 0..10),
                -1i32..4,
            ),
            1..7,
        );
        (parts, members).prop_map(move |(parts, members)| {
            let parts = names
                .iter()
                .zip(parts)
                .map(|(t, n)| (t.to_string(), n))
                .collect();
            let members = members
                .into_iter()
                .enumerate()
                .map(|(i, (mask, owned, generation))| {
                    let subs: Vec<&str> = (0..4)
                        .filter(|b| mask & (1 << b) != 0)
                        .map(|b| names[b])
                        .collect();
                    let mut m = member(&format!("m{i}"), &subs, &[], generation);
                    m.owned_partitions = owned
                        .into_iter()
                        .map(|(t, p)| (names[t].to_string(), vec![p]))
                        .collect();
                    m
                })
                .collect();
            (parts, members)
        })
    }

    /// Every assigned partition exists, is assigned once, and to a subscriber.
    fn check_valid(parts: &BTreeMap<String, i32>, members: &[MemberSubscription], got: &Result) {
        assert_eq!(got.len(), members.len());
        let mut seen = BTreeSet::new();
        for m in members {
            for (t, p) in got[&m.member_id].pairs() {
                assert!(
                    (0..parts.get(t).copied().unwrap_or(0)).contains(&p),
                    "{t}-{p} does not exist"
                );
                assert!(seen.insert((t.to_string(), p)), "{t}-{p} assigned twice");
                assert!(
                    m.topics.iter().any(|s| s == t),
                    "{} not subscribed to {t}",
                    m.member_id
                );
            }
        }
    }

    /// Round one, then round two with every member claiming what round one gave it.
    fn check_two_rounds(parts: &BTreeMap<String, i32>, members: &[MemberSubscription]) {
        let first = assign(parts, members);
        check_valid(parts, members, &first);
        let reversed: Vec<_> = members.iter().rev().cloned().collect();
        assert_eq!(first, assign(parts, &reversed), "depends on member order");

        let next = rejoin(members, &first, 10);
        let second = assign(parts, &next);
        check_valid(parts, &next, &second);
        // Everything subscribed is assigned: nothing waits for a revocation any more...
        let subscribed: BTreeSet<&str> = members
            .iter()
            .flat_map(|m| m.topics.iter().map(String::as_str))
            .collect();
        let want: i32 = subscribed
            .iter()
            .map(|t| parts.get(*t).copied().unwrap_or(0).max(0))
            .sum();
        assert_eq!(total(&second), want as usize);
        // ...and nothing moved in the second round.
        for m in members {
            let id = &m.member_id;
            assert!(first[id]
                .pairs()
                .all(|tp| second[id].pairs().any(|x| x == tp)));
        }
        // Balanced: nobody could take a partition from a member holding two more.
        for x in members {
            for y in members {
                let (cx, cy) = (second[&x.member_id].len(), second[&y.member_id].len());
                let can_take = second[&x.member_id]
                    .pairs()
                    .any(|(t, _)| y.topics.iter().any(|s| s == t));
                assert!(
                    !(can_take && cx >= cy + 2),
                    "{} ({cx}) could give to {} ({cy})",
                    x.member_id,
                    y.member_id
                );
            }
        }
        // With identical subscriptions, counts differ by at most one.
        let mut sets = members
            .iter()
            .map(|m| m.topics.iter().collect::<BTreeSet<_>>());
        if let Some(first_set) = sets.next() {
            if sets.all(|s| s == first_set) {
                let c = counts(&second);
                assert!(c.iter().max().unwrap() - c.iter().min().unwrap() <= 1);
            }
        }
    }

    proptest! {
        #[test]
        fn random_groups_settle_in_two_rounds((parts, members) in arb_group()) {
            check_two_rounds(&parts, &members);
        }
    }
}
