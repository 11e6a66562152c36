//! The broker: topic registry on a metadata log, embedded API, background housekeeping.
//! Request handlers for the Kafka protocol live in [`handlers`], one file per API family.

pub mod admin;
pub mod embedded;
pub mod handlers;
pub mod housekeeping;
pub mod metadata;
pub mod service;
pub mod topic_name;
pub mod topics;

pub use embedded::{Broker, BrokerConfig};
pub use housekeeping::HousekeepingReport;
pub use service::Service;
pub use topics::TopicDescription;
