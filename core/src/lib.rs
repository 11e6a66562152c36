//! strom: a Kafka-compatible commit log with a native Rust core.
//!
//! - [`log`]: the segmented partition log (storage).
//! - [`broker`]: topics on a metadata log and the embedded [`Broker`].
//! - [`protocol`]: Kafka framing, headers, the version table, the request guard.
//! - [`client`]: producer, consumer and admin over TCP or in-process.
//! - [`runtime`]: the process-wide runtime the language bindings share.
//! - [`server`]: the tokio TCP server that speaks the Kafka protocol.
//! - [`error`]: the crate's error type and its mapping to Kafka error codes.
//! - [`log_safe`]: escaping and truncating client-supplied strings for log lines.
//! - [`fd_budget`]: `RLIMIT_NOFILE`, raised at start, and the descriptors partitions need.

pub mod broker;
pub mod client;
pub mod clock;
pub mod error;
pub mod fd_budget;
pub mod group;
pub mod log;
pub mod log_safe;
pub mod protocol;
pub mod runtime;
pub mod server;

pub use broker::{Broker, BrokerConfig, TopicDescription};
pub use error::{Error, Result};
