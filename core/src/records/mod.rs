//! RecordBatch v2, the one codec of strom, shared by the log and the client: the batch header
//! ([`batch`]: parse, validate, patch offsets and timestamps), varints, compression, the one
//! bounded record reader every reader of record bytes goes through ([`reader`]: stored or
//! fetched, damaged or hostile), the one encoder ([`builder`]: the producer's batches, the
//! metadata and offsets logs), whole stored batches ([`stored`]: walk with the stored-data
//! checks, decode, filter for the cleaner), broker-side recompression ([`recompress`]) and
//! fetched data ([`fetched`]: split a fetch
//! response into batches and decode records as slices of it).

pub mod batch;
pub mod builder;
pub(crate) mod compress;
pub mod fetched;
pub mod reader;
pub mod recompress;
pub mod stored;
pub(crate) mod varint;

pub use builder::{BatchBuilder, ProducerFields};
pub use fetched::{split_batches, Batches, FetchedRecord, RawBatch, TimestampType};

#[cfg(test)]
mod tests;
