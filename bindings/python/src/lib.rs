//! `strom._native`: the extension module under the pure-Python package `strom`
//! (`docs/ARCHITECTURE.md`). It holds conversions only — Python values to core types and back,
//! errors to `strom.errors` — and the waits: blocking calls release the GIL and answer Ctrl-C,
//! asyncio calls run on the module's one tokio runtime ([`runtime`]).
//!
//! The Python package (`python/strom`) builds the public API on these classes: context
//! managers, `_repr_html_`, the exception hierarchy, `strom.aio` and `strom.testing`.

mod admin;
mod broker;
mod config;
mod consumer;
mod error;
mod producer;
mod record;
mod runtime;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<broker::Broker>()?;
    m.add_class::<producer::Producer>()?;
    m.add_class::<producer::DeliveryFuture>()?;
    m.add_class::<producer::BatchFuture>()?;
    m.add_class::<consumer::Consumer>()?;
    m.add_class::<record::Record>()?;
    m.add_class::<record::RecordMetadata>()?;
    m.add_class::<admin::Admin>()?;
    Ok(())
}
