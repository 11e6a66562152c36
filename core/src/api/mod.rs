//! The Kafka APIs: [`handle`] takes a typed request of a supported version (from the TCP
//! server's dispatch, [`crate::server::dispatch`], or from an in-process client) and answers it
//! over the broker and the group coordinator; one file per API family, and [`Service`], what
//! every way in shares. This is where TCP and in-process requests meet, so requests are
//! counted here ([`metrics`]).
//!
//! Handlers never fail: they answer with Kafka error codes. (Bytes that cannot be parsed never
//! get here: the server's dispatch closes the connection for them, as Kafka does.)
//!
//! A handler's `async` part that runs before it returns is the *ordered* phase: the connection
//! waits for it before reading the next request, so appends from one connection land in the
//! order they were sent. Work that may overlap later requests (an fsync wait, a fetch long
//! poll) goes into [`Reply::Later`]; responses are still written in request order.
//!
//! To add an API: a row in `protocol/versions.rs`, a request schema in
//! `protocol/guard/schemas.rs`, and an arm in [`handle`] (synchronous admin handlers fit
//! [`blocking`]).

mod admin;
pub(crate) mod api_versions;
pub(crate) mod fetch;
mod groups;
mod list_offsets;
mod metadata;
pub mod metrics;
mod produce;
pub mod service;

pub use service::Service;

use crate::broker::Broker;
pub use crate::group::membership::ClientInfo;
use crate::protocol::ProtocolError;
use kafka_protocol::messages::{RequestKind, ResponseKind};
use metrics::Metrics;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

/// The node id of a single strom broker (Kafka's `node.id`).
pub const NODE_ID: i32 = 1;

/// What handlers share: the broker, how clients should reach it, and a shutdown signal for
/// long waits.
#[derive(Debug, Clone)]
pub struct Context {
    pub broker: Broker,
    pub groups: crate::group::GroupCoordinator,
    /// The advertised listener: what Metadata tells clients to connect to.
    pub host: String,
    pub port: i32,
    /// `auto.create.topics.enable`.
    pub auto_create_topics: bool,
    /// Turns `true` when the server shuts down: long polls answer at once.
    pub shutdown: watch::Receiver<bool>,
    /// The service's counters: every request is counted in [`handle`], TCP or in-process.
    pub metrics: Arc<Metrics>,
}

impl Context {
    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// A boxed response future for [`Reply::Later`].
pub type Pending = Pin<Box<dyn Future<Output = ResponseKind> + Send + 'static>>;

/// A handler's answer to one request.
// One per request, moved once into the write queue: boxing the large variant would only add
// an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    /// The response is ready.
    Now(ResponseKind),
    /// The response needs more waiting that may overlap later requests on the connection.
    Later(Pending),
    /// No response at all (Produce with acks=0).
    Nothing,
    /// Close the connection after the responses before this one (Produce acks=0 that failed:
    /// Kafka closes so the producer notices and refreshes its metadata).
    Close(String),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Now(r) => f.debug_tuple("Now").field(r).finish(),
            Reply::Later(_) => f.write_str("Later(..)"),
            Reply::Nothing => f.write_str("Nothing"),
            Reply::Close(why) => f.debug_tuple("Close").field(why).finish(),
        }
    }
}

/// Handles one decoded request of a supported version: what the server's dispatch does after
/// the bytes, shared with in-process clients, which hand over the request struct itself.
pub async fn handle(
    ctx: &Context,
    version: i16,
    request: RequestKind,
    client: ClientInfo,
) -> Result<Reply, ProtocolError> {
    let started = std::time::Instant::now();
    let key = crate::protocol::api_key_of(&request);
    let reply = answer(ctx, version, request, client).await?;
    Ok(match key {
        Some(key) => ctx.metrics.count(key as i16, started, reply),
        None => reply,
    })
}

async fn answer(
    ctx: &Context,
    version: i16,
    request: RequestKind,
    client: ClientInfo,
) -> Result<Reply, ProtocolError> {
    let reply = match request {
        RequestKind::ApiVersions(req) => Reply::Now(api_versions::handle(version, req)),
        RequestKind::Metadata(req) => metadata::handle(ctx, version, req).await,
        RequestKind::Produce(req) => produce::handle(ctx, version, req).await,
        RequestKind::Fetch(req) => fetch::handle(ctx, version, req),
        RequestKind::ListOffsets(req) => list_offsets::handle(ctx, version, req).await,
        RequestKind::FindCoordinator(req) => groups::find_coordinator(ctx, version, req),
        RequestKind::JoinGroup(req) => groups::join_group(ctx, version, req, client),
        RequestKind::SyncGroup(req) => groups::sync_group(ctx, req),
        RequestKind::Heartbeat(req) => groups::heartbeat(ctx, req),
        RequestKind::LeaveGroup(req) => groups::leave_group(ctx, version, req),
        RequestKind::OffsetCommit(req) => groups::offset_commit(ctx, req),
        RequestKind::OffsetFetch(req) => groups::offset_fetch(ctx, version, req),
        RequestKind::ListGroups(req) => groups::list_groups(ctx, req),
        RequestKind::DescribeGroups(req) => groups::describe_groups(ctx, version, req),
        RequestKind::DeleteGroups(req) => groups::delete_groups(ctx, req),
        RequestKind::OffsetDelete(req) => groups::offset_delete(ctx, req),
        RequestKind::ConsumerGroupHeartbeat(req) => {
            groups::consumer_group_heartbeat(ctx, version, req, client)
        }
        RequestKind::ConsumerGroupDescribe(req) => {
            groups::consumer_group_describe(ctx, version, req)
        }
        RequestKind::InitProducerId(req) => admin::init_producer_id(ctx, req).await,
        RequestKind::CreateTopics(req) => admin::create_topics(ctx, version, req).await,
        RequestKind::DeleteTopics(req) => admin::delete_topics(ctx, version, req).await,
        RequestKind::CreatePartitions(req) => admin::create_partitions(ctx, req).await,
        RequestKind::DescribeConfigs(req) => admin::describe_configs(ctx, version, req),
        RequestKind::AlterConfigs(req) => admin::alter_configs(ctx, req).await,
        RequestKind::IncrementalAlterConfigs(req) => {
            admin::incremental_alter_configs(ctx, req).await
        }
        RequestKind::DescribeCluster(req) => admin::describe_cluster(ctx, req),
        RequestKind::DescribeTopicPartitions(req) => admin::describe_topic_partitions(ctx, req),
        RequestKind::DeleteRecords(req) => admin::delete_records(ctx, req).await,
        RequestKind::OffsetForLeaderEpoch(req) => admin::offset_for_leader_epoch(ctx, req),
        RequestKind::DescribeLogDirs(req) => admin::describe_log_dirs(ctx, req).await,
        RequestKind::DescribeProducers(req) => admin::describe_producers(ctx, req).await,
        RequestKind::ElectLeaders(req) => admin::elect_leaders(ctx, req),
        RequestKind::ListPartitionReassignments(req) => {
            admin::list_partition_reassignments(ctx, req)
        }
        // Only APIs in the version table get this far.
        _ => {
            return Err(ProtocolError::Malformed {
                what: format!("v{version} request"),
                reason: "strom has no handler for this API".into(),
            })
        }
    };
    Ok(reply)
}

/// Runs a synchronous handler (disk I/O, metadata log writes) off the async workers, in the
/// ordered phase. A panic in it becomes a closed connection, never a dead server.
pub async fn blocking<F>(f: F) -> Reply
where
    F: FnOnce() -> ResponseKind + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(response) => Reply::Now(response),
        Err(e) => Reply::Close(format!("request handler failed: {e}")),
    }
}

/// Runs blocking work and returns its value, or `None` if it panicked.
pub(crate) async fn off_thread<T, F>(f: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!("blocking request work failed: {e}");
            None
        }
    }
}
