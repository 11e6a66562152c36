//! [`ProcessRuntime`]: the one tokio runtime a language binding (C, Python) runs strom on.
//! Multi-threaded, created by the first call that needs it, and created again in a child
//! process after `fork()`: a forked child has none of the parent's threads, so the parent's
//! runtime is dead there. Handles remember the runtime they were made on; one made before a
//! fork can tell ([`ProcessRuntime::forked`]) and refuse instead of waiting forever. Each
//! binding maps the refusals to its own errors.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// The runtime of one process.
#[derive(Debug)]
pub struct ProcessRuntime {
    pid: u32,
    rt: tokio::runtime::Runtime,
}

static CURRENT: Mutex<Option<Arc<ProcessRuntime>>> = Mutex::new(None);

/// This process's runtime, creating it when there is none yet (or only the parent's).
pub fn shared() -> std::io::Result<Arc<ProcessRuntime>> {
    let pid = std::process::id();
    let mut current = CURRENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(rt) = current.as_ref().filter(|rt| rt.pid == pid) {
        return Ok(Arc::clone(rt));
    }
    if let Some(parents) = current.take() {
        // Dropping it would wait for worker threads that only exist in the parent.
        std::mem::forget(parents);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strom-runtime")
        .build()?;
    let rt = Arc::new(ProcessRuntime { pid, rt });
    *current = Some(Arc::clone(&rt));
    Ok(rt)
}

impl ProcessRuntime {
    /// The process that created this runtime.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether this runtime belongs to a parent of the current process.
    pub fn forked(&self) -> bool {
        self.pid != std::process::id()
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.handle()
    }

    /// Runs `future` to completion on the calling thread. On a runtime worker thread (a
    /// callback the runtime itself called) it steps out of the runtime first.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::task::block_in_place(|| self.rt.block_on(future))
        } else {
            self.rt.block_on(future)
        }
    }

    /// Starts `future` in the background.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.spawn(future)
    }

    /// Drops what a handle owns: inside the runtime's context when this is the process that
    /// made it (sockets deregister from their reactor), leaked in a forked child (dropping a
    /// broker there would close files the parent still writes).
    pub fn release<T>(&self, value: T) {
        if self.forked() {
            std::mem::forget(value);
        } else {
            let _entered = self.rt.enter();
            drop(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_runtime_per_process_that_runs_futures() {
        let a = shared().unwrap();
        let b = shared().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!a.forked());
        assert_eq!(a.pid(), std::process::id());
        assert_eq!(a.block_on(async { 7 }), 7);
        let spawned = a.spawn(async { 8 });
        assert_eq!(a.block_on(spawned).unwrap(), 8);
    }
}
