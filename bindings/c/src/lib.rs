//! strom's C ABI: the functions and types of `include/strom.h` (generated from this crate by
//! cbindgen; `tests/header.rs` fails when the checked-in header is stale).
//!
//! Conventions (after rustls-ffi; see also `docs/ARCHITECTURE.md`):
//! - opaque handles, created by `strom_<type>_new`/`_open` and released by `strom_<type>_free`;
//! - every fallible function returns a [`strom_result`] and writes its outputs only on
//!   success; `strom_last_error()` gives the calling thread's message ([`error`]);
//! - every pointer is checked for NULL and every string for UTF-8 ([`ffi`]);
//! - no panic crosses `extern "C"`: every exported body runs inside `catch_unwind`;
//! - one tokio runtime for the library, created lazily and again in a forked child
//!   ([`runtime`]).
//!
//! This crate holds conversions only: every behaviour lives in the `strom` core crate.
//!
//! Every exported function is `unsafe` to call from Rust: its contract is the header's (a
//! pointer argument is NULL or valid for what its documentation says, lengths match their
//! buffers, handles are not used after `_free`). That contract is stated once, here and in the
//! header's preamble, rather than in a `# Safety` section on each of the ~50 functions.

// The C ABI is raw pointers by nature; each `unsafe` block is small and says why it is sound,
// and `unsafe_op_in_unsafe_fn` makes every unsafe operation inside an exported function an
// explicit block of its own.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(clippy::missing_safety_doc)]
// Types are named as C sees them (`strom_producer`, `STROM_OK`).
#![allow(non_camel_case_types)]

// In the header's order (cbindgen follows it): errors, configuration, broker, clients.
pub mod error;

pub mod config;

pub mod broker;

pub mod producer;

pub mod consumer;

pub mod message;

pub mod admin;

pub mod ffi;
pub mod runtime;

pub use admin::{strom_admin, strom_topic_list};
pub use broker::strom_broker;
pub use config::strom_config;
pub use consumer::strom_consumer;
pub use error::strom_result;
pub use message::{strom_header, strom_message};
pub use producer::strom_producer;

/// The version of the strom library, e.g. "0.1.0". Static storage: never free it.
#[no_mangle]
pub extern "C" fn strom_version() -> *const std::ffi::c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    error::guard(c"".as_ptr(), || VERSION.as_ptr().cast())
}
