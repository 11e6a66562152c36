//! Kafka request handlers: one file per API family, and [`dispatch`], the single place that
//! turns a request frame into a [`Reply`].
//!
//! Dispatch order: header → version table → allocation guard → memory reservation → decode →
//! handler. Anything
//! that fails before the handler closes the connection (that is what Kafka does with a request
//! it cannot parse); handlers themselves never fail, they answer with Kafka error codes.
//!
//! A handler's `async` part that runs before it returns is the *ordered* phase: the connection
//! waits for it before reading the next request, so appends from one connection land in the
//! order they were sent. Work that may overlap later requests (an fsync wait, a fetch long
//! poll) goes into [`Reply::Later`]; responses are still written in request order.
//!
//! To add an API: a row in `protocol/versions.rs`, a request schema in
//! `protocol/guard/schemas.rs`, and an arm in `dispatch` (synchronous admin handlers fit
//! [`blocking`]).

mod admin;
mod api_versions;
mod fetch;
mod groups;
mod list_offsets;
mod metadata;
mod produce;

use crate::broker::Broker;
pub use crate::group::membership::ClientInfo;
use crate::log_safe;
use crate::protocol::{header, versions, ProtocolError};
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::watch;

const UNSUPPORTED_VERSION: i16 = kafka_protocol::ResponseError::UnsupportedVersion.code();

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

/// A reply with what is needed to frame it.
#[derive(Debug)]
pub struct Handled {
    pub api_key: ApiKey,
    /// The version to encode the response in (not always the request's: see ApiVersions).
    pub version: i16,
    pub correlation_id: i32,
    pub reply: Reply,
    /// The decoded bytes reserved for this request (`queued.max.request.bytes`): hold it
    /// until the response is ready.
    pub decoded_permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Handles one request frame (without its length prefix). `Err` means: close the connection.
/// With `decoded`, what the guard says the decoded request takes is reserved from it before
/// decoding (and handed back in [`Handled::decoded_permit`]).
pub(crate) async fn dispatch(
    ctx: &Context,
    peer: std::net::SocketAddr,
    frame: Bytes,
    decoded: Option<&crate::server::memory::Budget>,
) -> Result<Handled, ProtocolError> {
    let fixed = header::fixed(&frame)?;
    if fixed.api_key == ApiKey::ApiVersions as i16
        && !versions::is_supported(ApiKey::ApiVersions, fixed.api_version)
    {
        // A newer client probing a version strom does not know: answer in v0, which every
        // client parses, with the supported ranges so it can retry (KIP-511). The header of
        // such a request may not even be parseable, so only its fixed part is used.
        return Ok(Handled {
            api_key: ApiKey::ApiVersions,
            version: 0,
            correlation_id: fixed.correlation_id,
            reply: Reply::Now(api_versions::unsupported()),
            decoded_permit: None,
        });
    }
    // An unknown API key closes the connection, as Kafka does: there is no response schema to
    // answer in, and clients only send keys the broker listed in ApiVersions.
    let request = header::parse(frame)?;
    let (api_key, version) = (request.api_key, request.header.request_api_version);
    let correlation_id = request.header.correlation_id;
    tracing::trace!(
        api = ?api_key,
        version,
        correlation_id,
        client = %log_safe::escape(request.header.client_id.as_ref().map_or("", |c| c.as_str())),
        "request"
    );
    let Some(supported) = versions::range(api_key) else {
        return Err(ProtocolError::NotImplemented {
            api: api_key,
            correlation_id,
        });
    };
    if !(supported.min..=supported.max).contains(&version) {
        // Kafka closes the connection here too ("not enabled"); strom answers
        // UNSUPPORTED_VERSION where the response has a top-level error code to carry it.
        return match unsupported_version(api_key, version) {
            Some(body) => Ok(Handled {
                api_key,
                version,
                correlation_id,
                reply: Reply::Now(body),
                decoded_permit: None,
            }),
            None => Err(ProtocolError::UnsupportedVersion {
                api: api_key,
                version,
                min: supported.min,
                max: supported.max,
            }),
        };
    }
    let client = ClientInfo {
        client_id: request
            .header
            .client_id
            .as_ref()
            .map_or_else(String::new, |c| c.to_string()),
        client_host: format!("/{}", peer.ip()),
    };
    let walked = crate::protocol::check_body(api_key, version, &request.body)?;
    let decoded_permit = match decoded {
        Some(pool) => {
            pool.acquire(walked.decoded.saturating_add(request.decoded_bytes))
                .await
        }
        None => None,
    };
    let body = crate::protocol::decode_checked(api_key, version, request.body)?;
    let reply = handle(ctx, version, body, client).await?;
    Ok(Handled {
        api_key,
        version,
        correlation_id,
        reply,
        decoded_permit,
    })
}

/// Handles one decoded request of a supported version: the part of [`dispatch`] after the
/// bytes, shared with in-process clients, which hand over the request struct itself.
pub async fn handle(
    ctx: &Context,
    version: i16,
    request: RequestKind,
    client: ClientInfo,
) -> Result<Reply, ProtocolError> {
    let reply = match request {
        RequestKind::ApiVersions(req) => Reply::Now(api_versions::handle(req)),
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

/// An UNSUPPORTED_VERSION response for a version outside the table, where one can be built
/// without decoding the request: the response must have a top-level error code and the
/// message library must know the version.
fn unsupported_version(api_key: ApiKey, version: i16) -> Option<ResponseKind> {
    let lib = api_key.valid_versions();
    if !(lib.min..=lib.max).contains(&version) {
        return None;
    }
    match api_key {
        ApiKey::Fetch if version >= 7 => Some(fetch::error_response(UNSUPPORTED_VERSION)),
        ApiKey::Metadata if version >= 13 => Some(ResponseKind::Metadata(
            kafka_protocol::messages::MetadataResponse::default()
                .with_error_code(UNSUPPORTED_VERSION),
        )),
        _ => None,
    }
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
