//! `queued.max.request.bytes`: a byte budget for the requests of all connections together.
//!
//! A connection reserves a frame's announced length before reading its body, and what the
//! allocation guard says the decoded request will take before decoding it; both are given
//! back when the request's response is ready. So however many connections a client opens,
//! request memory stays within twice the budget (frames, plus as much again decoded), and a
//! full budget stops reading (the connection waits, its socket fills, the client slows
//! down) instead of growing the heap.
//!
//! Two semaphores, not one, so that no request waits for memory while holding memory of the
//! same pool: a request holding frame bytes may wait for decoded bytes, and decoded bytes
//! are only held by requests being handled, which never wait for either. One pool would
//! deadlock once every frame byte belonged to a request waiting for decoded bytes.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One pool of bytes, shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pool: Arc<Semaphore>,
    capacity: usize,
}

impl Budget {
    pub(crate) fn new(bytes: usize) -> Self {
        // tokio counts at most `MAX_PERMITS` (2^61: "unbounded" fits) and takes a u32 per
        // acquisition (frames are below 2^31, decoded requests below the guard's cap).
        let capacity = bytes.clamp(1, Semaphore::MAX_PERMITS);
        Budget {
            pool: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// Waits until `bytes` are free and takes them. More than the whole pool takes the whole
    /// pool (so a request larger than the budget waits for an idle broker rather than
    /// forever). `None` only if the pool was closed, which never happens.
    pub(crate) async fn acquire(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let n = u32::try_from(bytes.min(self.capacity)).unwrap_or(u32::MAX);
        Arc::clone(&self.pool).acquire_many_owned(n).await.ok()
    }

    #[cfg(test)]
    fn available(&self) -> usize {
        self.pool.available_permits()
    }
}

/// The two pools of `queued.max.request.bytes`.
#[derive(Debug, Clone)]
pub(crate) struct RequestMemory {
    /// Frame bytes, reserved from the length prefix before the body is read.
    pub(crate) frames: Budget,
    /// Decoded bytes beyond the frame, reserved from the guard's count before decoding.
    pub(crate) decoded: Budget,
}

impl RequestMemory {
    pub(crate) fn new(queued_max_request_bytes: usize) -> Self {
        RequestMemory {
            frames: Budget::new(queued_max_request_bytes),
            decoded: Budget::new(queued_max_request_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn permits_are_bytes_and_come_back_when_dropped() {
        let b = Budget::new(100);
        let a = b.acquire(60).await.unwrap();
        assert_eq!(b.available(), 40);
        let waiting = tokio::time::timeout(Duration::from_millis(50), b.acquire(50)).await;
        assert!(waiting.is_err(), "50 of 40 free bytes must wait");
        drop(a);
        let all = b.acquire(1_000).await.unwrap();
        assert_eq!(b.available(), 0, "more than the pool takes the whole pool");
        drop(all);
        assert_eq!(b.available(), 100);
        assert!(b.acquire(0).await.is_some());
    }
}
