//! Kafka's typed request/response pairs, for every caller in the client: a request struct
//! (`FetchRequest`) goes out as its [`RequestKind`] and its own response struct
//! (`FetchResponse`) comes back, taken out of the [`ResponseKind`] here, once. A broker that
//! answers with another API is one protocol error, made here too, so no caller matches
//! `ResponseKind` by hand.

use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Request;

/// The typed response inside a [`ResponseKind`].
pub trait FromKind: Sized {
    fn from_kind(kind: ResponseKind) -> Option<Self>;
}

macro_rules! from_kind {
    ($($kind:ident => $response:ty),* $(,)?) => {$(
        impl FromKind for $response {
            fn from_kind(kind: ResponseKind) -> Option<Self> {
                match kind {
                    ResponseKind::$kind(r) => Some(r),
                    _ => None,
                }
            }
        }
    )*};
}

from_kind!(
    ApiVersions => ApiVersionsResponse,
    Metadata => MetadataResponse,
    Produce => ProduceResponse,
    Fetch => FetchResponse,
    ListOffsets => ListOffsetsResponse,
    FindCoordinator => FindCoordinatorResponse,
    JoinGroup => JoinGroupResponse,
    SyncGroup => SyncGroupResponse,
    Heartbeat => HeartbeatResponse,
    LeaveGroup => LeaveGroupResponse,
    OffsetCommit => OffsetCommitResponse,
    OffsetFetch => OffsetFetchResponse,
    OffsetDelete => OffsetDeleteResponse,
    InitProducerId => InitProducerIdResponse,
    CreateTopics => CreateTopicsResponse,
    DeleteTopics => DeleteTopicsResponse,
    CreatePartitions => CreatePartitionsResponse,
    DescribeConfigs => DescribeConfigsResponse,
    IncrementalAlterConfigs => IncrementalAlterConfigsResponse,
    ListGroups => ListGroupsResponse,
    DescribeGroups => DescribeGroupsResponse,
    DeleteGroups => DeleteGroupsResponse,
    DeleteRecords => DeleteRecordsResponse,
    DescribeCluster => DescribeClusterResponse,
    ConsumerGroupHeartbeat => ConsumerGroupHeartbeatResponse,
);

/// The response to a request of type `R`, or the protocol error of an answer of another API.
pub fn expect<R>(kind: ResponseKind) -> ClientResult<R::Response>
where
    R: Request,
    R::Response: FromKind,
{
    R::Response::from_kind(kind).ok_or_else(|| mismatch(R::KEY))
}

/// The answer to a request of `api_key` was another API's: the peer broke the protocol.
pub fn mismatch(api_key: i16) -> ClientError {
    let api = ApiKey::try_from(api_key)
        .map_or_else(|_| format!("API {api_key}"), |api| format!("{api:?}"));
    ClientError::Protocol(format!("a {api} request was answered with another API"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_api_comes_out_and_another_is_a_protocol_error() {
        let ok = expect::<FetchRequest>(ResponseKind::Fetch(FetchResponse::default()));
        assert!(ok.is_ok());
        let wrong = expect::<FetchRequest>(ResponseKind::Metadata(MetadataResponse::default()));
        match wrong {
            Err(ClientError::Protocol(m)) => assert!(m.contains("Fetch"), "{m}"),
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }
}
