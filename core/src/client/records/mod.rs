//! RecordBatch v2 bytes on the client side: the producer's [`BatchBuilder`] that appends records
//! straight into the wire format, and the consumer's zero-copy reader of fetched record data.
//!
//! The header layout and its parsing live in [`crate::log::batch`]; this module owns the
//! record section inside it (varint-framed records); compression is the log's
//! [`crate::log::compress`], shared with the cleaner.

pub mod builder;
pub mod reader;

use crate::log::varint;

pub use builder::{BatchBuilder, ProducerFields};
pub use reader::{split_batches, Batches, FetchedRecord, RawBatch, TimestampType};

#[cfg(test)]
mod tests;
