//! The segmented partition log: Kafka RecordBatch v2 bytes on disk (the codec is
//! [`crate::records`]), memmap2 indexes, CRC-32C checks, crash recovery, retention,
//! compaction and group-committed fsync.

pub mod checkpoint;
pub mod cleaner;
pub mod config;
pub mod durability;
pub mod index;
pub mod partition_log;
pub mod producer_state;
pub(crate) mod recovery;
pub mod retention;
pub mod segment;
pub mod segment_file;
pub mod validate;

pub use cleaner::CleanOutcome;
pub use config::{LogConfig, TopicConfigs};
pub use partition_log::{AppendInfo, OpenOptions, PartitionLog, ReadResult};
pub use retention::RetentionOutcome;
