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
