//! ApiVersions (v0–4): the version table, the feature flags strom implements, and the v0
//! fallback for versions strom does not know.
//!
//! Features (KIP-584) are advertised exactly as far as strom implements them:
//! `metadata.version` at 3.3-IV3 (level 7), the lowest level a Kafka 4 cluster runs at,
//! since strom has none of what higher levels bring to clients (eligible leader replicas,
//! SCRAM, delegation tokens, directory assignment); `group.version` 1, the consumer group
//! protocol. The features whose level 0 means "not enabled" and that strom lacks
//! (`transaction.version`, `kraft.version`, `share.version`, `streams.version`) are left
//! out: their absence is what a client reads as level 0, the truth for strom. As in Kafka, a v3 answer omits supported features whose minimum is 0
//! (older clients cannot parse them, KAFKA-17492) and finalized levels of 0 are never listed.

use crate::protocol::versions;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

/// A feature strom implements: its name, supported range and finalized level.
struct Feature {
    name: &'static str,
    min: i16,
    max: i16,
    finalized: i16,
}

/// Every feature strom advertises (see the module's doc for why only these).
const FEATURES: &[Feature] = &[
    // group.version 1: the consumer group protocol (KIP-848) is served.
    Feature {
        name: "group.version",
        min: 0,
        max: 1,
        finalized: 1,
    },
    Feature {
        name: "metadata.version",
        min: 7,
        max: 7,
        finalized: 7,
    },
];

/// strom's features never change while it runs, so their epoch never moves.
const FINALIZED_FEATURES_EPOCH: i64 = 0;

pub(super) fn handle(version: i16, _req: ApiVersionsRequest) -> ResponseKind {
    // Kafka checks client_software_name/version against a pattern and answers INVALID_REQUEST
    // on a mismatch; strom accepts any, they are only labels.
    let response = ApiVersionsResponse::default().with_api_keys(versions::api_versions());
    // Features are tagged fields of v3+.
    if version < 3 {
        return ResponseKind::ApiVersions(response);
    }
    let supported = FEATURES
        .iter()
        .filter(|f| version >= 4 || f.min > 0)
        .map(|f| {
            SupportedFeatureKey::default()
                .with_name(StrBytes::from_static_str(f.name))
                .with_min_version(f.min)
                .with_max_version(f.max)
        })
        .collect();
    let finalized = FEATURES
        .iter()
        .filter(|f| f.finalized != 0)
        .map(|f| {
            FinalizedFeatureKey::default()
                .with_name(StrBytes::from_static_str(f.name))
                .with_min_version_level(f.finalized)
                .with_max_version_level(f.finalized)
        })
        .collect();
    ResponseKind::ApiVersions(
        response
            .with_supported_features(supported)
            .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
            .with_finalized_features(finalized),
    )
}

/// The answer to an ApiVersions request in a version strom does not support, to be encoded
/// as v0: UNSUPPORTED_VERSION plus the ranges. Kafka lists only ApiVersions itself here;
/// listing everything costs nothing and spares a client a second round trip.
pub(crate) fn unsupported() -> ResponseKind {
    let api_keys: Vec<ApiVersion> = versions::api_versions();
    debug_assert!(api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::ApiVersions as i16));
    ResponseKind::ApiVersions(
        ApiVersionsResponse::default()
            .with_error_code(ResponseError::UnsupportedVersion.code())
            .with_api_keys(api_keys),
    )
}
