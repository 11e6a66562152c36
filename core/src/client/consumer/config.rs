//! [`ConsumerConfig`]: the consumer's settings under Kafka's names and defaults.

use crate::client::assignor::{
    assignor_by_name, Assignor, CooperativeStickyAssignor, RangeAssignor,
};
use crate::client::cluster::ClusterOptions;
use crate::client::config::{boolean, int, millis, one_of, unknown};
use crate::client::error::{ClientError, ClientResult};
use std::sync::Arc;
use std::time::Duration;

const KNOWN: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.remote.assignor",
    "auto.offset.reset",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "max.poll.records",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "max.partition.fetch.bytes",
    "isolation.level",
    "partition.assignment.strategy",
    "request.timeout.ms",
    "retry.backoff.ms",
    "default.api.timeout.ms",
    "check.crcs",
    "allow.auto.create.topics",
    "metadata.max.age.ms",
    "socket.connection.setup.timeout.ms",
];

/// `auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    None,
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub bootstrap_servers: Option<String>,
    pub cluster: ClusterOptions,
    pub group_id: Option<String>,
    pub group_instance_id: Option<String>,
    /// `group.protocol`: `classic` (default) or `consumer` (KIP-848).
    pub consumer_protocol: bool,
    /// `group.remote.assignor`: the server-side assignor a consumer-protocol member asks for.
    pub group_remote_assignor: Option<String>,
    pub auto_offset_reset: OffsetReset,
    pub enable_auto_commit: bool,
    pub auto_commit_interval: Duration,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_poll_interval: Duration,
    pub max_poll_records: usize,
    pub fetch_min_bytes: i32,
    pub fetch_max_bytes: i32,
    pub fetch_max_wait: Duration,
    pub max_partition_fetch_bytes: i32,
    pub read_committed: bool,
    pub assignors: Vec<Arc<dyn Assignor>>,
    pub default_api_timeout: Duration,
    pub check_crcs: bool,
    pub metadata_max_age: Duration,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            bootstrap_servers: None,
            cluster: ClusterOptions {
                client_id: "strom-consumer".into(),
                ..ClusterOptions::default()
            },
            group_id: None,
            group_instance_id: None,
            consumer_protocol: false,
            group_remote_assignor: None,
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_millis(5_000),
            session_timeout: Duration::from_millis(45_000),
            heartbeat_interval: Duration::from_millis(3_000),
            max_poll_interval: Duration::from_millis(300_000),
            max_poll_records: 500,
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            fetch_max_wait: Duration::from_millis(500),
            max_partition_fetch_bytes: 1_048_576,
            read_committed: false,
            // Kafka's default list: range first, cooperative-sticky to allow upgrades.
            assignors: vec![Arc::new(RangeAssignor), Arc::new(CooperativeStickyAssignor)],
            default_api_timeout: Duration::from_millis(60_000),
            check_crcs: true,
            metadata_max_age: Duration::from_millis(300_000),
        }
    }
}

impl ConsumerConfig {
    /// Applies one setting by its Kafka name.
    pub fn set(&mut self, name: &str, value: &str) -> ClientResult<()> {
        match name {
            "bootstrap.servers" => self.bootstrap_servers = Some(value.to_string()),
            "client.id" => self.cluster.client_id = value.to_string(),
            "group.id" => self.group_id = Some(value.to_string()).filter(|g| !g.is_empty()),
            "group.instance.id" => {
                self.group_instance_id = Some(value.to_string()).filter(|g| !g.is_empty())
            }
            "group.protocol" => {
                self.consumer_protocol = match value.trim().to_ascii_lowercase().as_str() {
                    "classic" => false,
                    "consumer" => true,
                    _ => return Err(one_of(name, value, &["classic", "consumer"])),
                }
            }
            "group.remote.assignor" => {
                self.group_remote_assignor =
                    Some(value.trim().to_string()).filter(|a| !a.is_empty())
            }
            "auto.offset.reset" => {
                self.auto_offset_reset = match value.trim() {
                    "earliest" => OffsetReset::Earliest,
                    "latest" => OffsetReset::Latest,
                    "none" => OffsetReset::None,
                    _ => return Err(one_of(name, value, &["earliest", "latest", "none"])),
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = boolean(name, value)?,
            "auto.commit.interval.ms" => self.auto_commit_interval = millis(name, value)?,
            "session.timeout.ms" => self.session_timeout = millis(name, value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = millis(name, value)?,
            "max.poll.interval.ms" => self.max_poll_interval = millis(name, value)?,
            "max.poll.records" => self.max_poll_records = int::<usize>(name, value)?.max(1),
            "fetch.min.bytes" => self.fetch_min_bytes = int(name, value)?,
            "fetch.max.bytes" => self.fetch_max_bytes = int(name, value)?,
            "fetch.max.wait.ms" => {
                self.fetch_max_wait = millis(name, value)?;
            }
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = int(name, value)?,
            "isolation.level" => {
                self.read_committed = match value.trim() {
                    "read_uncommitted" => false,
                    "read_committed" => true,
                    _ => return Err(one_of(name, value, &["read_uncommitted", "read_committed"])),
                }
            }
            "partition.assignment.strategy" => {
                let mut list = Vec::new();
                for entry in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    list.push(assignor_by_name(entry).ok_or_else(|| {
                        ClientError::Config(format!(
                            "{name}: unknown assignor {entry:?} (use range, roundrobin or \
                             cooperative-sticky)"
                        ))
                    })?);
                }
                if list.is_empty() {
                    return Err(ClientError::Config(format!("{name} is empty")));
                }
                self.assignors = list;
            }
            "request.timeout.ms" => self.cluster.request_timeout = millis(name, value)?,
            "retry.backoff.ms" => self.cluster.retry_backoff = millis(name, value)?,
            "default.api.timeout.ms" => self.default_api_timeout = millis(name, value)?,
            "check.crcs" => self.check_crcs = boolean(name, value)?,
            "allow.auto.create.topics" => self.cluster.allow_auto_create = boolean(name, value)?,
            "metadata.max.age.ms" => self.metadata_max_age = millis(name, value)?,
            "socket.connection.setup.timeout.ms" => {
                self.cluster.connect_timeout = millis(name, value)?
            }
            _ => return Err(unknown("consumer", name, KNOWN)),
        }
        Ok(())
    }

    /// Checks the settings that only make sense together.
    pub fn validate(&self) -> ClientResult<()> {
        if self.heartbeat_interval >= self.session_timeout {
            return Err(ClientError::Config(
                "heartbeat.interval.ms must be lower than session.timeout.ms".into(),
            ));
        }
        Ok(())
    }
}
