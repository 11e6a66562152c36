//! The Kafka wire protocol around the message structs of the `kafka-protocol` crate: framing
//! ([`frame`]), request headers ([`header`]), response encoding ([`response`]), the table of
//! what strom implements ([`versions`]) and the allocation guard every request body passes
//! before it is decoded ([`guard`]).
//!
//! Nothing here knows what a request means; that is `api`.

pub mod frame;
pub mod guard;
pub mod header;
pub mod response;
pub mod versions;

/// The API of a request struct: every API strom serves (the per-API counters, and the
/// client's version lookup). `None` for one it does not.
pub fn api_key_of(
    request: &kafka_protocol::messages::RequestKind,
) -> Option<kafka_protocol::messages::ApiKey> {
    macro_rules! keys {
        ($($api:ident),* $(,)?) => {
            match request {
                $(kafka_protocol::messages::RequestKind::$api(_) => Some(kafka_protocol::messages::ApiKey::$api),)*
                _ => None,
            }
        };
    }
    keys!(
        ApiVersions,
        Metadata,
        Produce,
        Fetch,
        ListOffsets,
        FindCoordinator,
        JoinGroup,
        SyncGroup,
        Heartbeat,
        LeaveGroup,
        OffsetCommit,
        OffsetFetch,
        ListGroups,
        DescribeGroups,
        DeleteGroups,
        OffsetDelete,
        InitProducerId,
        CreateTopics,
        DeleteTopics,
        CreatePartitions,
        DescribeConfigs,
        AlterConfigs,
        IncrementalAlterConfigs,
        DescribeCluster,
        DescribeTopicPartitions,
        DeleteRecords,
        OffsetForLeaderEpoch,
        DescribeLogDirs,
        DescribeProducers,
        ElectLeaders,
        ListPartitionReassignments,
        ConsumerGroupHeartbeat,
        ConsumerGroupDescribe,
    )
}

/// Decodes a request body of a supported API version: the allocation guard first, then the
/// message library. The one decode path of the server, and what the fuzz target drives.
pub fn decode_body(
    api_key: kafka_protocol::messages::ApiKey,
    version: i16,
    body: bytes::Bytes,
) -> Result<kafka_protocol::messages::RequestKind, ProtocolError> {
    check_body(api_key, version, &body)?;
    decode_checked(api_key, version, body)
}

/// The allocation guard's half of [`decode_body`]: returns a lower bound of the bytes the
/// decoded body will take, so the server can charge them before decoding.
pub fn check_body(
    api_key: kafka_protocol::messages::ApiKey,
    version: i16,
    body: &[u8],
) -> Result<guard::Walked, ProtocolError> {
    guard::walk(api_key, version, body).map_err(|e| malformed(api_key, version, e.to_string()))
}

/// The message library's half of [`decode_body`], for a body [`check_body`] accepted.
pub fn decode_checked(
    api_key: kafka_protocol::messages::ApiKey,
    version: i16,
    body: bytes::Bytes,
) -> Result<kafka_protocol::messages::RequestKind, ProtocolError> {
    let mut body = body;
    kafka_protocol::messages::RequestKind::decode(api_key, &mut body, version)
        .map_err(|e| malformed(api_key, version, e.to_string()))
}

fn malformed(
    api_key: kafka_protocol::messages::ApiKey,
    version: i16,
    reason: String,
) -> ProtocolError {
    ProtocolError::Malformed {
        what: format!("{api_key:?} v{version} request"),
        reason,
    }
}

/// Why a connection is closed instead of answered. These never reach a client as an error
/// code: Kafka's answer to a request it cannot parse is a closed connection, so there is no
/// Kafka code to map to (unlike [`crate::Error`]).
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// A length prefix below zero.
    #[error("negative frame length {0}")]
    NegativeLength(i32),
    /// A length prefix above `socket.request.max.bytes`.
    #[error("frame of {size} bytes exceeds socket.request.max.bytes={limit}")]
    FrameTooLarge { size: usize, limit: usize },
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed after {received} of {expected} bytes of a frame")]
    Truncated { received: usize, expected: usize },
    /// An API key no Kafka version defines.
    #[error("unknown api key {api_key} (correlation id {correlation_id})")]
    UnknownApiKey { api_key: i16, correlation_id: i32 },
    /// An API strom does not implement (Kafka closes these connections too: "not enabled").
    #[error("{api:?} requests are not implemented (correlation id {correlation_id})")]
    NotImplemented {
        api: kafka_protocol::messages::ApiKey,
        correlation_id: i32,
    },
    /// A version outside the version table, for an API whose response cannot carry the error.
    #[error("{api:?} v{version} is not supported (strom implements v{min}-v{max})")]
    UnsupportedVersion {
        api: kafka_protocol::messages::ApiKey,
        version: i16,
        min: i16,
        max: i16,
    },
    /// Bytes that do not decode as the request they claim to be.
    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },
    /// A response the message library refused to encode (a bug in a handler, not the client).
    #[error("cannot encode the {api:?} v{version} response: {reason}")]
    Encode {
        api: kafka_protocol::messages::ApiKey,
        version: i16,
        reason: String,
    },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
