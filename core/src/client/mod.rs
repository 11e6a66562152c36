//! strom's Kafka client: [`Producer`], [`Consumer`] and [`Admin`], over TCP to any Kafka
//! broker or in-process to an embedded one, with one API for both (see [`transport`]).

pub mod admin;
pub mod assignor;
pub mod cluster;
pub mod config;
pub mod consumer;
pub mod error;
pub mod exchange;
pub mod partitioner;
pub mod producer;
pub mod transport;

pub use admin::{Admin, AdminBuilder};
pub use cluster::{Cluster, Endpoint};
pub use consumer::{Consumer, ConsumerBuilder, ConsumerRecord, TopicPartition};
pub use error::{ClientError, ClientResult};
pub use producer::{Producer, ProducerBuilder, ProducerRecord, RecordMetadata};
