//! Group commit: callers wait until "every offset below N is on disk", and concurrent waiters
//! share fsyncs. One waiter at a time becomes the leader and fsyncs everything appended so far;
//! the others sleep, and whoever is still not covered when it finishes leads the next round.

use crate::error::Result;
use parking_lot::{Condvar, Mutex};

#[derive(Debug)]
struct State {
    /// Every offset below this is durable.
    durable: i64,
    flushing: bool,
}

#[derive(Debug)]
pub struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    pub fn new(durable: i64) -> Self {
        GroupCommit {
            state: Mutex::new(State {
                durable,
                flushing: false,
            }),
            done: Condvar::new(),
        }
    }

    /// The offset below which everything is durable.
    pub fn durable(&self) -> i64 {
        self.state.lock().durable
    }

    /// Blocks until offsets below `end` are durable. `flush` fsyncs whatever has been appended
    /// and returns the end offset it covered; it runs on at most one thread at a time.
    pub fn wait_durable(&self, end: i64, flush: impl FnOnce() -> Result<i64>) -> Result<()> {
        let mut st = self.state.lock();
        loop {
            if st.durable >= end {
                return Ok(());
            }
            if !st.flushing {
                break;
            }
            self.done.wait(&mut st);
        }
        st.flushing = true;
        drop(st);
        let outcome = flush();
        let mut st = self.state.lock();
        st.flushing = false;
        if let Ok(covered) = outcome {
            st.durable = st.durable.max(covered);
        }
        self.done.notify_all();
        outcome.map(|_| ())
    }

    /// After a truncation, offsets at or above `end` no longer exist, durable or not.
    pub fn lower_to(&self, end: i64) {
        let mut st = self.state.lock();
        st.durable = st.durable.min(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    #[test]
    fn waiters_queued_behind_a_flush_share_the_next_one() {
        let gc = Arc::new(GroupCommit::new(0));
        let flushes = Arc::new(AtomicUsize::new(0));
        let (inside_tx, inside_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let leader = {
            let (gc, flushes) = (gc.clone(), flushes.clone());
            std::thread::spawn(move || {
                gc.wait_durable(1, || {
                    flushes.fetch_add(1, Ordering::SeqCst);
                    inside_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok(1)
                })
            })
        };
        inside_rx.recv().unwrap();
        let followers: Vec<_> = (0..7)
            .map(|_| {
                let (gc, flushes) = (gc.clone(), flushes.clone());
                std::thread::spawn(move || {
                    gc.wait_durable(8, || {
                        flushes.fetch_add(1, Ordering::SeqCst);
                        Ok(8)
                    })
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        release_tx.send(()).unwrap();
        leader.join().unwrap().unwrap();
        for f in followers {
            f.join().unwrap().unwrap();
        }
        // One flush for the leader, one shared by all seven followers.
        assert_eq!(flushes.load(Ordering::SeqCst), 2);
        assert_eq!(gc.durable(), 8);
    }

    #[test]
    fn a_failed_flush_is_reported_and_retried_by_the_next_waiter() {
        let gc = GroupCommit::new(0);
        let e = gc.wait_durable(5, || {
            Err(crate::error::Error::io("/x", std::io::Error::other("disk")))
        });
        assert!(e.is_err());
        assert_eq!(gc.durable(), 0);
        gc.wait_durable(5, || Ok(5)).unwrap();
        assert_eq!(gc.durable(), 5);
    }
}
