//! [`Cluster`]: the client's view of the brokers — connections by node id, the metadata cache
//! (topics, partitions, leaders) with refresh on demand, and group coordinator lookup. Shared by
//! producer, consumer and admin of one client.

use super::error::{ClientError, ClientResult};
use super::exchange::{self, FromKind};
use super::transport::in_process::InProcessConnector;
use super::transport::tcp::TcpConnector;
use super::transport::{call, Connection, Connector};
use crate::api::Service;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a client's cluster is.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// `bootstrap.servers`: `host:port` of one or more brokers.
    Bootstrap(Vec<String>),
    /// An embedded broker in this process.
    InProcess(Service),
}

impl Endpoint {
    /// Parses Kafka's comma-separated `bootstrap.servers`.
    pub fn bootstrap(servers: &str) -> ClientResult<Endpoint> {
        let list: Vec<String> = servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.strip_prefix("PLAINTEXT://").unwrap_or(s).to_string())
            .collect();
        if list.is_empty() {
            return Err(ClientError::Config(
                "bootstrap.servers is empty: give host:port of at least one broker".into(),
            ));
        }
        for s in &list {
            if !s.contains(':') {
                return Err(ClientError::Config(format!(
                    "bootstrap.servers entry {s:?} is not host:port"
                )));
            }
        }
        Ok(Endpoint::Bootstrap(list))
    }
}

/// One partition as metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub error_code: i16,
}

/// One topic as metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub id: uuid::Uuid,
    pub internal: bool,
    pub partitions: Vec<PartitionInfo>,
}

#[derive(Debug, Default)]
struct Snapshot {
    brokers: HashMap<i32, String>,
    topics: HashMap<String, Arc<TopicInfo>>,
    /// Topics the last refresh reported with an error (unknown, being created...).
    missing: HashMap<String, i16>,
    controller: i32,
    cluster_id: Option<String>,
}

/// Timing settings shared by every client kind.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub client_id: String,
    /// `request.timeout.ms`
    pub request_timeout: Duration,
    /// `socket.connection.setup.timeout.ms`
    pub connect_timeout: Duration,
    /// `retry.backoff.ms`
    pub retry_backoff: Duration,
    /// `allow.auto.create.topics` (consumers) / producers' auto-creation through Metadata.
    pub allow_auto_create: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            client_id: "strom".into(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(100),
            allow_auto_create: true,
        }
    }
}

/// The brokers of one cluster, seen by one client.
#[derive(Debug)]
pub struct Cluster {
    connector: Arc<dyn Connector>,
    bootstrap: Vec<String>,
    options: ClusterOptions,
    connections: tokio::sync::Mutex<HashMap<i32, Arc<dyn Connection>>>,
    /// A working connection to some broker, for requests any broker can answer.
    any: tokio::sync::Mutex<Option<Arc<dyn Connection>>>,
    snapshot: RwLock<Snapshot>,
    coordinators: Mutex<HashMap<String, i32>>,
    last_refresh: Mutex<Option<Instant>>,
}

impl Cluster {
    pub fn new(endpoint: Endpoint, options: ClusterOptions) -> Arc<Cluster> {
        let (connector, bootstrap): (Arc<dyn Connector>, Vec<String>) = match endpoint {
            Endpoint::Bootstrap(list) => (
                Arc::new(TcpConnector {
                    client_id: options.client_id.clone(),
                    connect_timeout: options.connect_timeout,
                    request_timeout: options.request_timeout,
                }),
                list,
            ),
            Endpoint::InProcess(service) => (
                Arc::new(InProcessConnector::new(&service, &options.client_id)),
                vec![super::transport::in_process::IN_PROCESS_HOST.to_string()],
            ),
        };
        Arc::new(Cluster {
            connector,
            bootstrap,
            options,
            connections: tokio::sync::Mutex::new(HashMap::new()),
            any: tokio::sync::Mutex::new(None),
            snapshot: RwLock::new(Snapshot::default()),
            coordinators: Mutex::new(HashMap::new()),
            last_refresh: Mutex::new(None),
        })
    }

    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    pub fn is_in_process(&self) -> bool {
        self.connector.is_in_process()
    }

    /// A connection to any live broker: the last one used, else a known broker, else a
    /// bootstrap server, trying each in turn.
    pub async fn any_connection(&self) -> ClientResult<Arc<dyn Connection>> {
        let mut any = self.any.lock().await;
        if let Some(conn) = any.as_ref().filter(|c| c.is_alive()) {
            return Ok(Arc::clone(conn));
        }
        let mut candidates: Vec<String> = self.snapshot.read().brokers.values().cloned().collect();
        candidates.sort();
        candidates.extend(self.bootstrap.iter().cloned());
        let mut last_error = None;
        for address in candidates {
            match self.connector.connect(&address).await {
                Ok(conn) => {
                    *any = Some(Arc::clone(&conn));
                    return Ok(conn);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| ClientError::Connect {
            addr: self.bootstrap.join(","),
            reason: "no brokers to try".into(),
        }))
    }

    /// The connection to broker `node`, opened on first use and replaced when broken.
    pub async fn connection(&self, node: i32) -> ClientResult<Arc<dyn Connection>> {
        let mut connections = self.connections.lock().await;
        if let Some(conn) = connections.get(&node).filter(|c| c.is_alive()) {
            return Ok(Arc::clone(conn));
        }
        let address = self.snapshot.read().brokers.get(&node).cloned();
        let address = match address {
            Some(a) => a,
            None => {
                drop(connections);
                self.refresh(&[]).await?;
                connections = self.connections.lock().await;
                self.snapshot
                    .read()
                    .brokers
                    .get(&node)
                    .cloned()
                    .ok_or_else(|| ClientError::Connect {
                        addr: format!("node {node}"),
                        reason: "metadata does not list this broker".into(),
                    })?
            }
        };
        let conn = self.connector.connect(&address).await?;
        connections.insert(node, Arc::clone(&conn));
        Ok(conn)
    }

    /// Sends `request` to broker `node` and awaits the response.
    pub async fn call_node(&self, node: i32, request: RequestKind) -> ClientResult<ResponseKind> {
        let conn = self.connection(node).await?;
        call(conn.as_ref(), request).await
    }

    /// Sends `request` to any broker.
    pub async fn call_any(&self, request: RequestKind) -> ClientResult<ResponseKind> {
        let conn = self.any_connection().await?;
        call(conn.as_ref(), request).await
    }

    /// Sends the typed `request` to broker `node`; its own response comes back.
    pub async fn send_to<R>(&self, node: i32, request: R) -> ClientResult<R::Response>
    where
        R: Request + Into<RequestKind>,
        R::Response: FromKind,
    {
        exchange::expect::<R>(self.call_node(node, request.into()).await?)
    }

    /// Sends the typed `request` to any broker.
    pub async fn send_any<R>(&self, request: R) -> ClientResult<R::Response>
    where
        R: Request + Into<RequestKind>,
        R::Response: FromKind,
    {
        exchange::expect::<R>(self.call_any(request.into()).await?)
    }

    /// Sends the typed `request` to the coordinator of `group`.
    pub async fn send_to_coordinator<R>(&self, group: &str, request: R) -> ClientResult<R::Response>
    where
        R: Request + Into<RequestKind>,
        R::Response: FromKind,
    {
        exchange::expect::<R>(self.call_coordinator(group, request.into()).await?)
    }

    /// Refreshes metadata for `topics` (all topics when empty). Topics that do not exist are
    /// auto-created by the broker when allowed; their error code is remembered.
    pub async fn refresh(&self, topics: &[String]) -> ClientResult<()> {
        let request = MetadataRequest::default()
            .with_topics(if topics.is_empty() {
                None
            } else {
                Some(
                    topics
                        .iter()
                        .map(|t| {
                            MetadataRequestTopic::default()
                                .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                        })
                        .collect(),
                )
            })
            .with_allow_auto_topic_creation(self.options.allow_auto_create && !topics.is_empty());
        let response = self.send_any(request).await?;
        let mut snapshot = self.snapshot.write();
        let in_process = self.is_in_process();
        for b in &response.brokers {
            let address = if in_process {
                super::transport::in_process::IN_PROCESS_HOST.to_string()
            } else {
                format!("{}:{}", b.host.as_str(), b.port)
            };
            snapshot.brokers.insert(b.node_id.0, address);
        }
        snapshot.controller = response.controller_id.0;
        snapshot.cluster_id = response.cluster_id.as_ref().map(|c| c.to_string());
        if topics.is_empty() {
            snapshot.topics.clear();
        }
        for t in &response.topics {
            let Some(name) = t.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            if t.error_code != 0 {
                snapshot.topics.remove(&name);
                snapshot.missing.insert(name, t.error_code);
                continue;
            }
            let mut partitions: Vec<PartitionInfo> = t
                .partitions
                .iter()
                .map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    error_code: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            snapshot.missing.remove(&name);
            snapshot.topics.insert(
                name.clone(),
                Arc::new(TopicInfo {
                    name,
                    id: uuid::Uuid::from_bytes(*t.topic_id.as_bytes()),
                    internal: t.is_internal,
                    partitions,
                }),
            );
        }
        *self.last_refresh.lock() = Some(Instant::now());
        Ok(())
    }

    /// The cached metadata of `topic`, if any.
    pub fn topic(&self, topic: &str) -> Option<Arc<TopicInfo>> {
        self.snapshot.read().topics.get(topic).cloned()
    }

    /// The error code the last refresh reported for `topic`, if it was refused.
    pub fn topic_error(&self, topic: &str) -> Option<i16> {
        self.snapshot.read().missing.get(topic).copied()
    }

    /// Every topic in the cache.
    pub fn topics(&self) -> Vec<Arc<TopicInfo>> {
        self.snapshot.read().topics.values().cloned().collect()
    }

    /// The metadata of `topic`, refreshing (and retrying while the broker reports a retriable
    /// error such as LEADER_NOT_AVAILABLE right after auto-creation) until `deadline`.
    pub async fn topic_metadata(
        &self,
        topic: &str,
        deadline: Instant,
    ) -> ClientResult<Arc<TopicInfo>> {
        loop {
            if let Some(t) = self.topic(topic) {
                return Ok(t);
            }
            self.refresh(&[topic.to_string()]).await?;
            if let Some(t) = self.topic(topic) {
                return Ok(t);
            }
            let code = self.topic_error(topic).unwrap_or(3);
            let error = ClientError::kafka(code, format!("metadata of topic {topic:?}"), None);
            if !error.is_retriable() || Instant::now() >= deadline {
                return Err(error);
            }
            tokio::time::sleep(self.options.retry_backoff).await;
        }
    }

    /// When metadata was last refreshed.
    pub fn last_refresh(&self) -> Option<Instant> {
        *self.last_refresh.lock()
    }

    /// The leader of a partition from the cache.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let t = self.topic(topic)?;
        let p = t.partitions.get(usize::try_from(partition).ok()?)?;
        (p.leader >= 0).then_some(p.leader)
    }

    pub fn controller(&self) -> i32 {
        self.snapshot.read().controller
    }

    pub fn cluster_id(&self) -> Option<String> {
        self.snapshot.read().cluster_id.clone()
    }

    /// Node ids of the known brokers.
    pub fn brokers(&self) -> Vec<(i32, String)> {
        let mut b: Vec<_> = self
            .snapshot
            .read()
            .brokers
            .iter()
            .map(|(id, a)| (*id, a.clone()))
            .collect();
        b.sort();
        b
    }

    /// The coordinator of `group` (FindCoordinator, cached until [`Cluster::forget_coordinator`]).
    pub async fn coordinator(&self, group: &str) -> ClientResult<i32> {
        if let Some(node) = self.coordinators.lock().get(group) {
            return Ok(*node);
        }
        let request = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(group.to_string()))
            .with_key_type(0);
        let r = self.send_any(request).await?;
        if r.error_code != 0 {
            return Err(ClientError::kafka(
                r.error_code,
                format!("finding the coordinator of group {group:?}"),
                r.error_message.map(|m| m.to_string()),
            ));
        }
        let node = r.node_id.0;
        let address = if self.is_in_process() {
            super::transport::in_process::IN_PROCESS_HOST.to_string()
        } else {
            format!("{}:{}", r.host.as_str(), r.port)
        };
        self.snapshot.write().brokers.entry(node).or_insert(address);
        self.coordinators.lock().insert(group.to_string(), node);
        Ok(node)
    }

    /// Drops the cached coordinator of `group` (after NOT_COORDINATOR and the like).
    pub fn forget_coordinator(&self, group: &str) {
        self.coordinators.lock().remove(group);
    }

    /// Sends `request` to the coordinator of `group`.
    pub async fn call_coordinator(
        &self,
        group: &str,
        request: RequestKind,
    ) -> ClientResult<ResponseKind> {
        let node = self.coordinator(group).await?;
        let result = self.call_node(node, request).await;
        if result.is_err() {
            self.forget_coordinator(group);
        }
        result
    }
}
