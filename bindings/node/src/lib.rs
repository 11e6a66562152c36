//! strom's Node.js binding (napi-rs): the native half of the `strom` npm package in `node/`.
//! It converts between JavaScript and the Rust core and holds no behaviour of its own
//! (`docs/ARCHITECTURE.md`): `node/index.js` gives the kafkajs-like API on top of these classes.
//!
//! - [`broker`]: `NativeBroker`, the embedded broker and its TCP listeners;
//! - [`producer`], [`consumer`], [`admin`]: the clients, over TCP or in-process;
//! - [`wire`]: records packed in one `Buffer` per call, both ways;
//! - [`error`]: the one conversion of core errors into JavaScript errors.
//!
//! Every asynchronous method returns a Promise settled from napi-rs's one tokio runtime
//! (feature `tokio_rt`), created when the addon loads.

pub mod admin;
pub mod broker;
pub mod consumer;
pub mod error;
pub mod producer;
pub mod wire;
