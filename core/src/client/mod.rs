//! strom's Kafka client: [`Producer`], [`Consumer`] and [`Admin`], over TCP to any Kafka
//! broker or in-process to an embedded one, with one API for both (see [`transport`]).

pub mod cluster;
pub mod error;
pub mod transport;

pub use cluster::{Cluster, Endpoint};
pub use error::{ClientError, ClientResult};
