//! Admin request handlers: topics (create, delete, partitions, describe partitions), configs
//! (describe, alter, incremental alter), cluster description, log dirs, producers, leader
//! elections and reassignments, authorized operations, and record deletion with leader epoch
//! queries. Each handler turns one decoded request into its response against the
//! embedded [`Broker`](crate::Broker); errors become per-item Kafka error codes.

pub mod cluster;
pub mod configs;
pub mod leaders;
pub mod log_dirs;
pub mod operations;
pub mod producers;
pub mod records;
pub mod topics;

use crate::error::Error;
use kafka_protocol::protocol::StrBytes;

/// Kafka's error code and message for an item that failed.
pub(crate) fn error_parts(e: &Error) -> (i16, Option<StrBytes>) {
    (e.kafka_code(), Some(StrBytes::from_string(e.to_string())))
}

pub(crate) fn str(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Kafka's `ConfigResource.Type` ids.
pub(crate) const RESOURCE_TOPIC: i8 = 2;
pub(crate) const RESOURCE_BROKER: i8 = 4;
pub(crate) const RESOURCE_GROUP: i8 = 32;
