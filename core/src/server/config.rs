//! [`ServerConfig`]: the listener-side settings, under Kafka's broker config names.

use crate::group::GroupConfig;
use crate::protocol::frame::DEFAULT_MAX_REQUEST_BYTES;
use std::time::Duration;

/// How the server treats connections. Defaults are Kafka's unless noted.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `socket.request.max.bytes`: the largest request frame; longer ones close the connection.
    pub max_request_bytes: usize,
    /// `queued.max.request.bytes`: the bytes of requests read but not yet answered, over all
    /// connections (frames, and as much again for their decoded form; see
    /// `server::memory`). Kafka's default is -1, unbounded; strom's is twice
    /// `socket.request.max.bytes`, so one request of the largest size can be read while
    /// another is handled, yet a flood of connections cannot grow the heap without bound.
    /// Like Kafka, it must not be below `socket.request.max.bytes` (a smaller value would
    /// make the largest allowed request wait for an idle broker).
    pub queued_max_request_bytes: usize,
    /// `max.connections`: Kafka's default is unlimited; strom's is 10000, so a connection
    /// flood ends in the listen backlog rather than in exhausted file descriptors.
    pub max_connections: usize,
    /// `connections.max.idle.ms`: a connection with no request in flight and none arriving
    /// for this long is closed.
    pub idle_timeout: Duration,
    /// `auto.create.topics.enable`.
    pub auto_create_topics: bool,
    /// `advertised.listeners`: the host and port Metadata hands out; `None` uses the
    /// listener's bound address.
    pub advertised: Option<(String, u16)>,
    /// How long shutdown waits for in-flight requests before closing the broker (strom's).
    pub shutdown_grace: Duration,
    /// Requests one connection may have waiting for their responses before strom stops
    /// reading from it (strom's; Kafka reads one request at a time per connection).
    pub max_in_flight_per_connection: usize,
    /// The group coordinator's settings (`group.*`, `offsets.*`).
    pub group: GroupConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            queued_max_request_bytes: 2 * DEFAULT_MAX_REQUEST_BYTES,
            max_connections: 10_000,
            idle_timeout: Duration::from_millis(600_000),
            auto_create_topics: true,
            advertised: None,
            shutdown_grace: Duration::from_secs(10),
            max_in_flight_per_connection: 64,
            group: GroupConfig::default(),
        }
    }
}
