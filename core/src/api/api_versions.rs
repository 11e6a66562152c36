//! ApiVersions (v0–4): the version table, and the v0 fallback for versions strom does not know.
//!
//! The v3+ response leaves every tagged field at its default (no supported or finalized
//! features, epoch -1, zk_migration_ready false), so `kafka-protocol` writes an empty tagged
//! section. Old librdkafka (2.0.2, Debian's kcat) parses that; it is what a Kafka broker
//! without feature flags sends.

use crate::protocol::versions;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseKind};
use kafka_protocol::ResponseError;

pub(super) fn handle(_req: ApiVersionsRequest) -> ResponseKind {
    // Kafka checks client_software_name/version against a pattern and answers INVALID_REQUEST
    // on a mismatch; strom accepts any, they are only labels.
    ResponseKind::ApiVersions(
        ApiVersionsResponse::default().with_api_keys(versions::api_versions()),
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
