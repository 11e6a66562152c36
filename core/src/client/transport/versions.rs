//! The API versions the client builds requests in. Each range is what the request builders
//! in this crate fill correctly; the version used on a connection is the highest one inside
//! both this range and the broker's (from ApiVersions). Ranges stop below versions that
//! address topics by id or need features the client does not have.

use kafka_protocol::messages::ApiKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    pub min: i16,
    pub max: i16,
}

const fn r(min: i16, max: i16) -> VersionRange {
    VersionRange { min, max }
}

/// Every API the client sends, with its version range.
pub const CLIENT_VERSIONS: &[(ApiKey, VersionRange)] = &[
    (ApiKey::Produce, r(3, 11)),
    (ApiKey::Fetch, r(4, 12)),
    (ApiKey::ListOffsets, r(1, 7)),
    (ApiKey::Metadata, r(1, 12)),
    // v9 is what consumer-protocol members must commit with (the same fields as v8).
    (ApiKey::OffsetCommit, r(2, 9)),
    (ApiKey::OffsetFetch, r(1, 7)),
    (ApiKey::FindCoordinator, r(0, 3)),
    (ApiKey::JoinGroup, r(0, 7)),
    (ApiKey::Heartbeat, r(0, 4)),
    (ApiKey::LeaveGroup, r(0, 4)),
    (ApiKey::SyncGroup, r(0, 5)),
    (ApiKey::DescribeGroups, r(0, 5)),
    (ApiKey::ListGroups, r(0, 4)),
    (ApiKey::ApiVersions, r(0, 3)),
    (ApiKey::CreateTopics, r(2, 7)),
    (ApiKey::DeleteTopics, r(1, 5)),
    (ApiKey::DeleteRecords, r(0, 2)),
    (ApiKey::InitProducerId, r(0, 4)),
    (ApiKey::DescribeConfigs, r(1, 4)),
    (ApiKey::AlterConfigs, r(0, 2)),
    (ApiKey::IncrementalAlterConfigs, r(0, 1)),
    (ApiKey::CreatePartitions, r(0, 3)),
    (ApiKey::DeleteGroups, r(0, 2)),
    (ApiKey::OffsetDelete, r(0, 0)),
    (ApiKey::DescribeCluster, r(0, 1)),
    (ApiKey::ConsumerGroupHeartbeat, r(0, 1)),
];

/// The client's range for `api`, if it sends it at all.
pub fn client_range(api: ApiKey) -> Option<VersionRange> {
    CLIENT_VERSIONS
        .iter()
        .find(|(k, _)| *k == api)
        .map(|(_, range)| *range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_version_is_one_strom_serves() {
        for (api, range) in CLIENT_VERSIONS {
            let served = crate::protocol::versions::range(*api)
                .unwrap_or_else(|| panic!("strom does not serve {api:?}"));
            assert!(
                served.min <= range.max && range.max <= served.max,
                "{api:?}: client max {} outside strom's {}..={}",
                range.max,
                served.min,
                served.max
            );
        }
    }
}
