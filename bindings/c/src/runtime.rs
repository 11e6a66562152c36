//! The library's one tokio runtime: multi-threaded, created by the first call that needs it,
//! and created again in a child process after `fork()` (a forked child has none of the
//! parent's threads, so the parent's runtime is dead there). Handles remember the runtime
//! they were made on; a handle made before a fork refuses to work in the child instead of
//! waiting forever on threads that do not exist there.

use crate::error::{Failure, FfiResult};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// The runtime of one process.
#[derive(Debug)]
pub struct Runtime {
    pid: u32,
    rt: tokio::runtime::Runtime,
}

static CURRENT: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

/// This process's runtime, creating it when there is none yet (or only the parent's).
pub fn get() -> FfiResult<Arc<Runtime>> {
    not_inside_tokio()?;
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
        .build()
        .map_err(|e| Failure::io("starting the tokio runtime", e))?;
    let rt = Arc::new(Runtime { pid, rt });
    *current = Some(Arc::clone(&rt));
    Ok(rt)
}

fn not_inside_tokio() -> FfiResult<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Failure::state(
            "strom's C functions block; call them from a plain thread, not from inside a \
             tokio runtime",
        ));
    }
    Ok(())
}

impl Runtime {
    /// Whether this runtime belongs to a parent of the current process.
    pub fn forked(&self) -> bool {
        self.pid != std::process::id()
    }

    /// Refuses handles made in a parent process and calls from inside a runtime.
    pub fn check(&self) -> FfiResult<()> {
        if self.forked() {
            return Err(Failure::state(format!(
                "this handle was created in process {} and cannot be used after fork() in \
                 process {}; create a new one in the child",
                self.pid,
                std::process::id()
            )));
        }
        not_inside_tokio()
    }

    /// Runs `future` to completion on this runtime, blocking the calling thread.
    pub fn block_on<F: Future>(&self, future: F) -> FfiResult<F::Output> {
        self.check()?;
        Ok(self.rt.block_on(future))
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
