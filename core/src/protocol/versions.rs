//! The one table of what strom implements: API keys and version ranges. ApiVersions answers
//! from it and dispatch refuses anything outside it, so the two can never disagree.
//!
//! To add an API: add its row here, a request schema in `guard/schemas.rs` (a unit test
//! checks every row has one), and an arm in `api::handle`.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiKey;

/// A supported API and its inclusive version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supported {
    pub api_key: ApiKey,
    pub min: i16,
    pub max: i16,
}

const fn row(api_key: ApiKey, min: i16, max: i16) -> Supported {
    Supported { api_key, min, max }
}

/// Every API strom answers, ordered by key.
pub const SUPPORTED: &[Supported] = &[
    row(ApiKey::Produce, 3, 11),
    row(ApiKey::Fetch, 4, 16),
    row(ApiKey::ListOffsets, 1, 9),
    row(ApiKey::Metadata, 0, 12),
    row(ApiKey::OffsetCommit, 2, 9),
    row(ApiKey::OffsetFetch, 1, 9),
    row(ApiKey::FindCoordinator, 0, 6),
    row(ApiKey::JoinGroup, 0, 9),
    row(ApiKey::Heartbeat, 0, 4),
    row(ApiKey::LeaveGroup, 0, 5),
    row(ApiKey::SyncGroup, 0, 5),
    row(ApiKey::DescribeGroups, 0, 6),
    row(ApiKey::ListGroups, 0, 5),
    row(ApiKey::ApiVersions, 0, 4),
    row(ApiKey::CreateTopics, 2, 7),
    row(ApiKey::DeleteTopics, 1, 6),
    row(ApiKey::DeleteRecords, 0, 2),
    row(ApiKey::InitProducerId, 0, 5),
    row(ApiKey::OffsetForLeaderEpoch, 2, 4),
    row(ApiKey::DescribeConfigs, 1, 4),
    row(ApiKey::AlterConfigs, 0, 2),
    row(ApiKey::DescribeLogDirs, 1, 4),
    row(ApiKey::CreatePartitions, 0, 3),
    row(ApiKey::DeleteGroups, 0, 2),
    row(ApiKey::ElectLeaders, 0, 2),
    row(ApiKey::IncrementalAlterConfigs, 0, 1),
    row(ApiKey::ListPartitionReassignments, 0, 0),
    row(ApiKey::OffsetDelete, 0, 0),
    row(ApiKey::DescribeCluster, 0, 1),
    row(ApiKey::DescribeProducers, 0, 0),
    row(ApiKey::ConsumerGroupHeartbeat, 0, 1),
    row(ApiKey::ConsumerGroupDescribe, 0, 1),
    row(ApiKey::DescribeTopicPartitions, 0, 0),
];

/// The supported range of `api_key`, if strom implements it at all.
pub fn range(api_key: ApiKey) -> Option<Supported> {
    SUPPORTED.iter().copied().find(|s| s.api_key == api_key)
}

/// Whether strom implements this version of this API.
pub fn is_supported(api_key: ApiKey, version: i16) -> bool {
    range(api_key).is_some_and(|s| (s.min..=s.max).contains(&version))
}

/// The table as ApiVersions reports it.
pub fn api_versions() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|s| {
            ApiVersion::default()
                .with_api_key(s.api_key as i16)
                .with_min_version(s.min)
                .with_max_version(s.max)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_is_one_the_message_library_can_encode_and_guard() {
        for s in SUPPORTED {
            let lib = s.api_key.valid_versions();
            assert!(
                lib.min <= s.min && s.max <= lib.max && s.min <= s.max,
                "{:?} {}..={} vs library {lib}",
                s.api_key,
                s.min,
                s.max
            );
            assert!(
                super::super::guard::has_schema(s.api_key),
                "{:?} has no request schema in protocol/guard/schemas.rs",
                s.api_key
            );
        }
        assert!(SUPPORTED
            .windows(2)
            .all(|w| w[0].api_key as i16 <= w[1].api_key as i16));
    }
}
