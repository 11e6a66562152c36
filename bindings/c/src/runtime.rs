//! The library's runtime: strom's process-wide one (`strom::runtime`, re-created in a child
//! after `fork()`), with the C library's refusals as [`Failure`]s: handles made before a fork,
//! and calls from inside a tokio runtime (every C function blocks).

use crate::error::{Failure, FfiResult};
use std::future::Future;
use std::sync::Arc;
use strom_core::runtime::{self as shared, ProcessRuntime};

/// The runtime a handle was made on.
#[derive(Debug)]
pub struct Runtime {
    inner: Arc<ProcessRuntime>,
}

/// This process's runtime, creating it when there is none yet (or only the parent's).
pub fn get() -> FfiResult<Arc<Runtime>> {
    not_inside_tokio()?;
    let inner = shared::shared().map_err(|e| Failure::io("starting the tokio runtime", e))?;
    Ok(Arc::new(Runtime { inner }))
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
        self.inner.forked()
    }

    /// Refuses handles made in a parent process and calls from inside a runtime.
    pub fn check(&self) -> FfiResult<()> {
        if self.forked() {
            return Err(Failure::state(format!(
                "this handle was created in process {} and cannot be used after fork() in \
                 process {}; create a new one in the child",
                self.inner.pid(),
                std::process::id()
            )));
        }
        not_inside_tokio()
    }

    /// Runs `future` to completion on this runtime, blocking the calling thread.
    pub fn block_on<F: Future>(&self, future: F) -> FfiResult<F::Output> {
        self.check()?;
        Ok(self.inner.block_on(future))
    }

    /// Starts `future` in the background.
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Drops what a handle owns (see `strom::runtime::ProcessRuntime::release`).
    pub fn release<T>(&self, value: T) {
        self.inner.release(value)
    }
}
