//! [`Admin`]: Kafka's admin client — topics, configs, consumer groups, offsets and the cluster
//! description — over either transport. This module owns the builder (Kafka's admin config
//! names) and the [`Admin`] handle; `call` owns sending with retries, and one file per API
//! family holds the requests and the conversion of their answers.

mod call;
mod cluster;
mod configs;
mod groups;
mod lag;
mod records;
mod topics;

pub use call::TopicPartition;
pub use cluster::ClusterDescription;
pub use configs::{AlterOp, ConfigEntry, ConfigOp, ConfigSource};
pub use groups::{GroupDescription, GroupListing, MemberDescription};
pub use records::{ListedOffset, OffsetSpec};
pub use topics::{NewTopic, PartitionDescription, TopicDescription, TopicResults};

use super::cluster::{Cluster, ClusterOptions, Endpoint};
use super::error::{ClientError, ClientResult};
use crate::api::Service;
use std::sync::Arc;
use std::time::Duration;

/// Kafka's `default.api.timeout.ms`.
const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(60);
/// Kafka's `retry.backoff.max.ms`.
const DEFAULT_RETRY_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// An admin client. Clones share one set of connections.
#[derive(Debug, Clone)]
pub struct Admin {
    cluster: Arc<Cluster>,
    /// `default.api.timeout.ms`: the bound of one admin call, retries included.
    api_timeout: Duration,
    /// `retry.backoff.max.ms`: the backoff doubles from `retry.backoff.ms` up to this.
    retry_backoff_max: Duration,
}

impl Admin {
    /// An admin client for `endpoint`, configured with Kafka admin config names.
    pub async fn connect(endpoint: Endpoint, config: &[(String, String)]) -> ClientResult<Admin> {
        let mut builder = AdminBuilder::new().endpoint(endpoint);
        for (name, value) in config {
            builder = builder.set(name, value);
        }
        builder.build().await
    }

    pub fn builder() -> AdminBuilder {
        AdminBuilder::new()
    }

    /// The connections and metadata cache this client uses (shared with its clones).
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }
}

/// Builds an [`Admin`]. Setters never fail on their own: the first bad setting is reported
/// by [`AdminBuilder::build`], so a chain of `set` calls reads like a properties file.
#[derive(Debug)]
pub struct AdminBuilder {
    endpoint: Option<Endpoint>,
    options: ClusterOptions,
    api_timeout: Duration,
    retry_backoff_max: Duration,
    error: Option<ClientError>,
}

impl Default for AdminBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl AdminBuilder {
    pub fn new() -> Self {
        AdminBuilder {
            endpoint: None,
            options: ClusterOptions {
                client_id: "strom-admin".into(),
                // An admin client must never create a topic by asking about it.
                allow_auto_create: false,
                ..ClusterOptions::default()
            },
            api_timeout: DEFAULT_API_TIMEOUT,
            retry_backoff_max: DEFAULT_RETRY_BACKOFF_MAX,
            error: None,
        }
    }

    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// `bootstrap.servers`: comma-separated `host:port` of one or more brokers.
    pub fn bootstrap(self, servers: &str) -> Self {
        match Endpoint::bootstrap(servers) {
            Ok(endpoint) => self.endpoint(endpoint),
            Err(e) => self.fail(e),
        }
    }

    /// The embedded broker of `service`, without sockets.
    pub fn in_process(self, service: &Service) -> Self {
        self.endpoint(Endpoint::InProcess(service.clone()))
    }

    /// One Kafka admin config: `bootstrap.servers`, `client.id`, `request.timeout.ms`,
    /// `retry.backoff.ms`, `retry.backoff.max.ms`, `default.api.timeout.ms`,
    /// `socket.connection.setup.timeout.ms`.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        let outcome = match name {
            "bootstrap.servers" => return self.bootstrap(value),
            "client.id" => {
                self.options.client_id = value.to_string();
                Ok(())
            }
            "request.timeout.ms" => millis(name, value).map(|d| self.options.request_timeout = d),
            "retry.backoff.ms" => millis(name, value).map(|d| self.options.retry_backoff = d),
            "retry.backoff.max.ms" => millis(name, value).map(|d| self.retry_backoff_max = d),
            "default.api.timeout.ms" => millis(name, value).map(|d| self.api_timeout = d),
            "socket.connection.setup.timeout.ms" => {
                millis(name, value).map(|d| self.options.connect_timeout = d)
            }
            _ => Err(ClientError::Config(format!(
                "unknown admin config {name:?} (strom's admin client accepts bootstrap.servers, \
                 client.id, request.timeout.ms, retry.backoff.ms, retry.backoff.max.ms, \
                 default.api.timeout.ms, socket.connection.setup.timeout.ms)"
            ))),
        };
        match outcome {
            Ok(()) => self,
            Err(e) => self.fail(e),
        }
    }

    /// Keeps the first error: it is the one the user's first mistake caused.
    fn fail(mut self, error: ClientError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    /// Checks the settings and fetches metadata once, so a wrong address fails here rather
    /// than in the first call.
    pub async fn build(self) -> ClientResult<Admin> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let endpoint = self.endpoint.ok_or_else(|| {
            ClientError::Config(
                "no cluster: set bootstrap.servers or attach to an in-process broker".into(),
            )
        })?;
        let admin = Admin {
            retry_backoff_max: self.retry_backoff_max.max(self.options.retry_backoff),
            cluster: Cluster::new(endpoint, self.options),
            api_timeout: self.api_timeout,
        };
        tokio::time::timeout(admin.api_timeout, admin.cluster.refresh(&[]))
            .await
            .map_err(|_| {
                ClientError::Timeout(format!(
                    "first metadata request not answered within default.api.timeout.ms ({:?})",
                    admin.api_timeout
                ))
            })??;
        Ok(admin)
    }
}

/// A non-negative number of milliseconds.
fn millis(name: &str, value: &str) -> ClientResult<Duration> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| {
            ClientError::Config(format!(
                "{name} must be a non-negative number of milliseconds, not {value:?}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(builder: AdminBuilder) -> Option<String> {
        builder.error.map(|e| e.to_string())
    }

    #[test]
    fn unknown_and_malformed_settings_name_the_key() {
        let unknown = error_of(AdminBuilder::new().set("retries.max", "3"));
        assert!(unknown.is_some_and(|e| e.contains("retries.max")));
        let bad = error_of(AdminBuilder::new().set("request.timeout.ms", "soon"));
        assert!(bad.is_some_and(|e| e.contains("request.timeout.ms")));
        let first = AdminBuilder::new()
            .set("nope", "1")
            .set("request.timeout.ms", "x");
        assert!(error_of(first).is_some_and(|e| e.contains("nope")));
    }

    #[test]
    fn known_settings_are_applied() {
        let b = AdminBuilder::new()
            .set("bootstrap.servers", "h1:9092, h2:9093")
            .set("client.id", "me")
            .set("request.timeout.ms", "1500")
            .set("retry.backoff.ms", "7")
            .set("default.api.timeout.ms", "2500")
            .set("socket.connection.setup.timeout.ms", "300");
        assert!(b.error.is_none());
        assert!(matches!(&b.endpoint, Some(Endpoint::Bootstrap(l)) if l.len() == 2));
        assert_eq!(b.options.client_id, "me");
        assert_eq!(b.options.request_timeout, Duration::from_millis(1500));
        assert_eq!(b.options.retry_backoff, Duration::from_millis(7));
        assert_eq!(b.api_timeout, Duration::from_millis(2500));
        assert_eq!(b.options.connect_timeout, Duration::from_millis(300));
        assert!(!b.options.allow_auto_create);
    }
}
