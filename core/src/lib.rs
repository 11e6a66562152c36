//! strom: a Kafka-compatible commit log with a native Rust core.
//!
//! - [`log`]: the segmented partition log (storage).
//! - [`broker`]: topics on a metadata log and the embedded [`Broker`].
//! - [`embedded`]: [`EmbeddedBroker`], a running broker in this process, opened from
//!   [`Settings`] by Kafka's setting names (what `strom serve` and every binding run).
//! - [`protocol`]: Kafka framing, headers, the version table, the request guard.
//! - [`client`]: producer, consumer and admin over TCP or in-process.
//! - [`runtime`]: the process-wide runtime the language bindings share.
//! - [`server`]: the tokio TCP server that speaks the Kafka protocol.
//! - [`error`]: the crate's error type and its mapping to Kafka error codes.
//! - [`error_kind`]: [`ErrorKind`], the one classification every binding maps once.
//! - [`log_safe`]: escaping and truncating client-supplied strings for log lines.
//! - [`fd_budget`]: `RLIMIT_NOFILE`, raised at start, and the descriptors partitions need.

pub mod api;
pub mod broker;
pub mod client;
pub mod clock;
pub mod embedded;
pub mod error;
pub mod error_kind;
pub mod fd_budget;
pub mod group;
pub mod log;
pub mod log_safe;
pub mod protocol;
pub mod records;
pub mod runtime;
pub mod server;

pub use api::Service;
pub use broker::{Broker, BrokerConfig, TopicDescription};
pub use embedded::{EmbeddedBroker, Settings};
pub use error::{Error, Result};
pub use error_kind::{ErrorInfo, ErrorKind};
