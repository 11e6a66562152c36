//! The module's one tokio runtime and the ways Python waits on it.
//!
//! The runtime is multi-threaded, created by the first call that needs it, and created again
//! in a child process after `fork()` (a forked child has none of the parent's threads, so the
//! parent's runtime is dead there). Handles remember the runtime they were made on; one made
//! before a fork refuses to work in the child instead of waiting forever.
//!
//! Blocking calls ([`block`]) release the GIL and wake every [`SIGNAL_CHECK`] to run Python's
//! signal handlers, so Ctrl-C interrupts them; asyncio calls ([`spawn_py`]) run on the same
//! runtime through `pyo3-async-runtimes`' generic bridge ([`StromRuntime`]).

use crate::error::{FResult, Failure};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use strom::runtime::ProcessRuntime;

/// How often a blocked call looks for Ctrl-C (and other signals).
pub const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// The runtime a handle was made on: strom's process-wide one (`strom::runtime`).
#[derive(Debug)]
pub struct Runtime {
    inner: Arc<ProcessRuntime>,
}

/// This process's runtime, creating it when there is none yet (or only the parent's).
pub fn get() -> FResult<Arc<Runtime>> {
    let inner = strom::runtime::shared()
        .map_err(|e| Failure::Io(format!("starting the tokio runtime: {e}")))?;
    Ok(Arc::new(Runtime { inner }))
}

impl Runtime {
    /// Whether this runtime belongs to a parent of the current process.
    pub fn forked(&self) -> bool {
        self.inner.forked()
    }

    /// Refuses handles made in a parent process.
    pub fn check(&self) -> FResult<()> {
        if self.forked() {
            return Err(Failure::State(format!(
                "this object was created in process {} and cannot be used after fork() in \
                 process {}; create a new one in the child",
                self.inner.pid(),
                std::process::id()
            )));
        }
        Ok(())
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.inner.handle()
    }

    /// Runs `future` to completion on this thread (stepping out of the runtime when called
    /// from one of its threads: a rebalance callback, an asyncio task's Python code).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
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

/// Waits for `future` with the GIL released, running Python's signal handlers every
/// [`SIGNAL_CHECK`]: a `KeyboardInterrupt` (or any exception a handler raises) drops the
/// future and is returned.
pub fn block<F, T>(py: Python<'_>, rt: &Runtime, future: F) -> FResult<T>
where
    F: Future<Output = FResult<T>> + Send,
    T: Send,
{
    rt.check()?;
    py.detach(|| {
        rt.block_on(async {
            let mut future = std::pin::pin!(future);
            loop {
                tokio::select! {
                    out = &mut future => return out,
                    () = tokio::time::sleep(SIGNAL_CHECK) => {
                        Python::attach(|py| py.check_signals()).map_err(Failure::Py)?;
                    }
                }
            }
        })
    })
}

/// [`block`] with a time limit in seconds (`None`: none); `what` names the wait in the
/// timeout's message.
pub fn block_for<F, T>(
    py: Python<'_>,
    rt: &Runtime,
    timeout: Option<f64>,
    what: &str,
    future: F,
) -> FResult<T>
where
    F: Future<Output = FResult<T>> + Send,
    T: Send,
{
    match timeout {
        None => block(py, rt, future),
        Some(secs) => {
            let limit = seconds(secs)?;
            block(py, rt, async move {
                tokio::time::timeout(limit, future)
                    .await
                    .unwrap_or_else(|_| Err(Failure::Timeout(format!("{what} after {secs}s"))))
            })
        }
    }
}

/// A timeout argument in seconds as a duration.
pub fn seconds(secs: f64) -> FResult<Duration> {
    Duration::try_from_secs_f64(secs.max(0.0))
        .map_err(|_| Failure::InvalidArgument(format!("timeout {secs} is not a number of seconds")))
}

/// The result of `future` for Python: waited for here when `aio` is false, an asyncio
/// awaitable when it is true (the future then runs on the runtime, not on this thread).
pub fn run<F, T>(py: Python<'_>, rt: &Runtime, aio: bool, future: F) -> PyResult<Py<PyAny>>
where
    F: Future<Output = FResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    if aio {
        spawn_py(py, rt, future)
    } else {
        block(py, rt, future)
            .map_err(|e| e.into_pyerr(py))?
            .into_py_any(py)
    }
}

/// `future` as an asyncio awaitable of the running loop.
pub fn spawn_py<F, T>(py: Python<'_>, rt: &Runtime, future: F) -> PyResult<Py<PyAny>>
where
    F: Future<Output = FResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    rt.check().map_err(|e| e.into_pyerr(py))?;
    let future = async move {
        future
            .await
            .map_err(|e| Python::attach(|py| e.into_pyerr(py)))
    };
    Ok(pyo3_async_runtimes::generic::future_into_py::<StromRuntime, _, T>(py, future)?.unbind())
}

/// The bridge's view of this module's runtime: tasks go to the current process's runtime and
/// carry the asyncio task locals (event loop, contextvars) in a tokio task-local.
pub struct StromRuntime;

tokio::task_local! {
    static TASK_LOCALS: std::cell::OnceCell<pyo3_async_runtimes::TaskLocals>;
}

/// Only asked for when the runtime could not start at all, which [`spawn_py`] checks first.
fn current_handle() -> tokio::runtime::Handle {
    match get() {
        Ok(rt) => rt.handle().clone(),
        Err(e) => panic!("strom's runtime is unavailable: {e}"),
    }
}

impl pyo3_async_runtimes::generic::Runtime for StromRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        current_handle().spawn(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        current_handle().spawn_blocking(f)
    }
}

impl pyo3_async_runtimes::generic::ContextExt for StromRuntime {
    fn scope<F, R>(
        locals: pyo3_async_runtimes::TaskLocals,
        fut: F,
    ) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<pyo3_async_runtimes::TaskLocals> {
        TASK_LOCALS
            .try_with(|c| c.get().cloned())
            .unwrap_or_default()
    }
}
