//! The broker: storage. The data directory, the topic registry on a metadata log, append and
//! read, topic admin and background housekeeping. It knows nothing of groups or of the Kafka
//! protocol's requests: [`crate::group`] builds on it, and [`crate::api`] answers requests over
//! both.

pub mod admin;
pub mod embedded;
pub mod housekeeping;
pub mod metadata;
pub mod topic_name;
pub mod topics;

pub use embedded::{Broker, BrokerConfig};
pub use housekeeping::HousekeepingReport;
pub use topics::TopicDescription;
