//! A member's way from its current assignment to its target (KIP-848's reconciliation, what
//! Kafka's `CurrentAssignmentBuilder` does): partitions leaving it are revoked first (the
//! member keeps its epoch until it confirms, by no longer listing them as owned); then it
//! moves to the target epoch and gets the target's partitions that no other member still
//! holds; those still held ("unreleased") follow once their holder lets them go.

use super::assignor::Assignment;
use std::collections::BTreeSet;
use uuid::Uuid;

/// Where a member is in its reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Its assignment is the target at its epoch.
    Stable,
    /// It must stop owning `pending_revocation` before it moves on.
    UnrevokedPartitions,
    /// At the target epoch, waiting for partitions other members still hold.
    UnreleasedPartitions,
}

/// A member's assignment state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    /// What the member owns (and is told it owns).
    pub assigned: Assignment,
    /// What it still owns but must give up.
    pub pending_revocation: Assignment,
}

impl Reconciled {
    /// A member that has just joined: nothing owned, epoch 0.
    pub fn new() -> Reconciled {
        Reconciled {
            epoch: 0,
            previous_epoch: 0,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
        }
    }
}

impl Default for Reconciled {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `a` holds partition `p` of topic `t`.
pub fn holds(a: &Assignment, t: &Uuid, p: i32) -> bool {
    a.get(t).is_some_and(|ps| ps.contains(&p))
}

fn minus(a: &Assignment, b: &Assignment) -> Assignment {
    let mut out = Assignment::new();
    for (t, ps) in a {
        let left: BTreeSet<i32> = ps.iter().copied().filter(|p| !holds(b, t, *p)).collect();
        if !left.is_empty() {
            out.insert(*t, left);
        }
    }
    out
}

fn intersect(a: &Assignment, b: &Assignment) -> Assignment {
    let mut out = Assignment::new();
    for (t, ps) in a {
        let both: BTreeSet<i32> = ps.iter().copied().filter(|p| holds(b, t, *p)).collect();
        if !both.is_empty() {
            out.insert(*t, both);
        }
    }
    out
}

fn is_empty(a: &Assignment) -> bool {
    a.values().all(BTreeSet::is_empty)
}

/// The member's next state given the target (at `target_epoch`), the partitions the member
/// says it owns (`None` when the heartbeat did not say), and `held_by_others(t, p)`: whether
/// another member still owns or is revoking a partition.
pub fn reconcile(
    current: &Reconciled,
    target_epoch: i32,
    target: &Assignment,
    owned: Option<&Assignment>,
    held_by_others: impl Fn(&Uuid, i32) -> bool,
) -> Reconciled {
    match current.state {
        MemberState::UnrevokedPartitions => {
            // Done revoking once the member no longer lists any of them as owned.
            let revoked =
                owned.is_some_and(|o| is_empty(&intersect(o, &current.pending_revocation)));
            if !revoked {
                return current.clone();
            }
        }
        MemberState::Stable if current.epoch == target_epoch => return current.clone(),
        _ => {}
    }
    let keep = intersect(&current.assigned, target);
    let revoking = minus(&current.assigned, target);
    if !is_empty(&revoking) {
        return Reconciled {
            epoch: current.epoch,
            previous_epoch: current.previous_epoch,
            state: MemberState::UnrevokedPartitions,
            assigned: keep,
            pending_revocation: revoking,
        };
    }
    let mut assigned = keep;
    let mut unreleased = false;
    for (t, ps) in minus(target, &assigned) {
        for p in ps {
            if held_by_others(&t, p) {
                unreleased = true;
            } else {
                assigned.entry(t).or_default().insert(p);
            }
        }
    }
    let (epoch, previous_epoch) = if current.epoch == target_epoch {
        (current.epoch, current.previous_epoch)
    } else {
        (target_epoch, current.epoch)
    };
    Reconciled {
        epoch,
        previous_epoch,
        state: if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        },
        assigned,
        pending_revocation: Assignment::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(parts: &[i32]) -> Assignment {
        [(Uuid::from_u128(1), parts.iter().copied().collect())].into()
    }

    #[test]
    fn revoke_first_then_move_to_the_target_epoch() {
        let cur = Reconciled {
            epoch: 1,
            previous_epoch: 0,
            state: MemberState::Stable,
            assigned: a(&[0, 1, 2]),
            pending_revocation: Assignment::new(),
        };
        let next = reconcile(&cur, 2, &a(&[0, 1]), Some(&a(&[0, 1, 2])), |_, _| false);
        assert_eq!(next.state, MemberState::UnrevokedPartitions);
        assert_eq!(
            (next.epoch, &next.assigned, &next.pending_revocation),
            (1, &a(&[0, 1]), &a(&[2]))
        );
        // Still owning 2: nothing moves.
        assert_eq!(
            reconcile(&next, 2, &a(&[0, 1]), Some(&a(&[0, 1, 2])), |_, _| false),
            next
        );
        // Released: at epoch 2, stable.
        let done = reconcile(&next, 2, &a(&[0, 1]), Some(&a(&[0, 1])), |_, _| false);
        assert_eq!(
            (done.epoch, done.previous_epoch, done.state),
            (2, 1, MemberState::Stable)
        );
    }

    #[test]
    fn partitions_others_hold_wait() {
        let cur = Reconciled::new();
        let next = reconcile(&cur, 3, &a(&[0, 1]), Some(&a(&[])), |_, p| p == 1);
        assert_eq!(
            (next.epoch, next.state),
            (3, MemberState::UnreleasedPartitions)
        );
        assert_eq!(next.assigned, a(&[0]));
        let later = reconcile(&next, 3, &a(&[0, 1]), Some(&a(&[0])), |_, _| false);
        assert_eq!(
            (later.state, &later.assigned),
            (MemberState::Stable, &a(&[0, 1]))
        );
    }
}
