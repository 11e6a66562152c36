//! The file descriptor budget: how many partitions this process can hold open.
//!
//! Every partition keeps one descriptor, the `.log` file of its active segment (indexes are
//! in memory or mapped without a descriptor, see `log::index`). A topic that does not fit the
//! descriptors left under `RLIMIT_NOFILE` used to half-create and then leave the broker
//! unable to start (`Too many open files`); it is now refused before anything is written, as
//! Kafka refuses a request whose partitions exceed its per-request cap: POLICY_VIOLATION, a
//! limit of this broker rather than a malformed count (that is INVALID_PARTITIONS).
//!
//! [`raise_nofile_limit`] lifts the soft limit as far as the hard one allows, once per
//! process; `strom serve` and every embedded broker call it when they start.

use crate::error::{Error, Result};
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use std::sync::OnceLock;

/// Descriptors each new partition holds while the broker runs.
pub const PER_PARTITION: u64 = 1;

/// Highest soft limit asked for when the hard limit is unlimited: Linux refuses more than
/// `fs.nr_open` (1 Mi by default) and macOS more than `OPEN_MAX`.
const UNLIMITED_TARGET: u64 = 1 << 20;

/// The soft limit after [`raise_nofile_limit`], and what it was before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub before: Option<u64>,
    pub now: Option<u64>,
    pub hard: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (or to what the kernel accepts below
/// it). Runs once per process; later calls return the first outcome. Failure is not an error:
/// the broker runs with the limit it has, and the budget check refuses what does not fit.
pub fn raise_nofile_limit() -> Raised {
    static ONCE: OnceLock<Raised> = OnceLock::new();
    *ONCE.get_or_init(|| {
        let lim = getrlimit(Resource::Nofile);
        let target = match lim.maximum {
            Some(hard) => hard,
            None => nr_open().unwrap_or(UNLIMITED_TARGET),
        };
        if lim.current.is_some_and(|soft| soft >= target) || lim.current.is_none() {
            return Raised {
                before: lim.current,
                now: lim.current,
                hard: lim.maximum,
            };
        }
        let mut now = lim.current;
        // The kernel may cap below the hard limit (nr_open, OPEN_MAX): try the target, then
        // halve the distance a few times rather than give up on the first refusal.
        let mut want = target;
        for _ in 0..8 {
            let ok = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(want),
                    maximum: lim.maximum,
                },
            )
            .is_ok();
            if ok {
                now = Some(want);
                break;
            }
            let soft = lim.current.unwrap_or(0);
            want = soft + (want - soft) / 2;
            if want <= soft {
                break;
            }
        }
        let raised = Raised {
            before: lim.current,
            now,
            hard: lim.maximum,
        };
        if raised.now != raised.before {
            tracing::info!(
                before = ?raised.before,
                now = ?raised.now,
                hard = ?raised.hard,
                "raised the open file limit (RLIMIT_NOFILE)"
            );
        }
        raised
    })
}

/// Linux's ceiling on any process's descriptor limit.
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The soft limit on open descriptors; `None` when unlimited.
pub fn nofile_limit() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// Descriptors open in this process now, where the platform can tell (`/proc/self/fd` on
/// Linux, `/dev/fd` elsewhere); the directory's own descriptor is not counted.
pub fn open_descriptors() -> Option<u64> {
    for dir in ["/proc/self/fd", "/dev/fd"] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            return Some((entries.count() as u64).saturating_sub(1));
        }
    }
    None
}

/// Descriptors kept free for what the budget does not count ahead: client connections, the
/// metadata log, checkpoint and temporary files, segment rolls.
pub fn reserve(limit: u64) -> u64 {
    (limit / 10).clamp(64, 1024)
}

/// Refuses `partitions` new partitions when their descriptors do not fit under the soft
/// limit next to those open now and the [`reserve`].
pub fn check_new_partitions(partitions: u64) -> Result<()> {
    let Some(limit) = nofile_limit() else {
        return Ok(());
    };
    let Some(open) = open_descriptors() else {
        return Ok(());
    };
    check(partitions, limit, open)
}

fn check(partitions: u64, limit: u64, open: u64) -> Result<()> {
    let needed = partitions.saturating_mul(PER_PARTITION);
    let reserve = reserve(limit);
    let free = limit.saturating_sub(open).saturating_sub(reserve);
    if needed <= free {
        return Ok(());
    }
    Err(Error::PolicyViolation(format!(
        "{partitions} new partitions need {needed} file descriptors, but only {free} of the \
         open file limit of {limit} are free ({open} in use, {reserve} kept for connections \
         and internal files); raise the limit (ulimit -n, LimitNOFILE=) or use fewer partitions"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_open_descriptors_and_the_reserve() {
        assert!(check(100, 20_000, 500).is_ok());
        // 20,000 - 500 open - 1,024 reserved = 18,476 free.
        assert!(check(18_476, 20_000, 500).is_ok());
        let e = check(18_477, 20_000, 500).unwrap_err();
        assert_eq!(e.kafka_code(), 44, "POLICY_VIOLATION: {e}");
        assert!(e.to_string().contains("18476"), "{e}");
        // A tiny limit still keeps a reserve and never underflows.
        assert!(check(1, 64, 10).is_err());
        assert_eq!(reserve(256), 64);
    }

    #[test]
    fn raising_is_idempotent_and_never_lowers() {
        let first = raise_nofile_limit();
        assert_eq!(raise_nofile_limit(), first);
        if let (Some(before), Some(now)) = (first.before, first.now) {
            assert!(now >= before);
        }
        assert!(
            open_descriptors().is_some_and(|n| n >= 3),
            "stdin, stdout, stderr"
        );
    }
}
