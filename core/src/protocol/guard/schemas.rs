//! Request schemas for the guard, transcribed from the decoders `kafka-protocol` 0.18
//! generates (themselves from Kafka's JSON message specs). Only field order, types, version
//! ranges and tags matter here; names are in the comments for the reader.

use super::{Field, Schema, Ty};
use kafka_protocol::messages::ApiKey;

const MAX: i16 = i16::MAX;

const fn field(ty: Ty, min: i16, max: i16) -> Field {
    Field {
        ty,
        min,
        max,
        tag: None,
    }
}
const fn all(ty: Ty) -> Field {
    field(ty, 0, MAX)
}
const fn since(min: i16, ty: Ty) -> Field {
    field(ty, min, MAX)
}
const fn until(max: i16, ty: Ty) -> Field {
    field(ty, 0, max)
}
const fn tagged(tag: u32, min: i16, ty: Ty) -> Field {
    Field {
        ty,
        min,
        max: MAX,
        tag: Some(tag),
    }
}

/// The schema of requests of `api_key`.
pub(super) fn of(api_key: ApiKey) -> Option<Schema> {
    let (flexible_from, fields) = match api_key {
        ApiKey::ApiVersions => (3, API_VERSIONS),
        ApiKey::Metadata => (9, METADATA),
        ApiKey::Produce => (9, PRODUCE),
        ApiKey::Fetch => (12, FETCH),
        ApiKey::ListOffsets => (6, LIST_OFFSETS),
        _ => return None,
    };
    Some(Schema {
        flexible_from,
        fields,
    })
}

const API_VERSIONS: &[Field] = &[
    since(3, Ty::Str), // client_software_name
    since(3, Ty::Str), // client_software_version
];

const METADATA: &[Field] = &[
    all(Ty::Array(METADATA_TOPIC)), // topics
    since(4, Ty::Bool),             // allow_auto_topic_creation
    field(Ty::Bool, 8, 10),         // include_cluster_authorized_operations
    since(8, Ty::Bool),             // include_topic_authorized_operations
];
const METADATA_TOPIC: &[Field] = &[
    since(10, Ty::Uuid), // topic_id
    all(Ty::Str),        // name
];

const PRODUCE: &[Field] = &[
    all(Ty::Str),                  // transactional_id
    all(Ty::Int16),                // acks
    all(Ty::Int32),                // timeout_ms
    all(Ty::Array(PRODUCE_TOPIC)), // topic_data
];
const PRODUCE_TOPIC: &[Field] = &[
    until(12, Ty::Str),                // name
    since(13, Ty::Uuid),               // topic_id
    all(Ty::Array(PRODUCE_PARTITION)), // partition_data
];
const PRODUCE_PARTITION: &[Field] = &[
    all(Ty::Int32), // index
    all(Ty::Bytes), // records
];

const FETCH: &[Field] = &[
    tagged(0, 12, Ty::Str),                   // cluster_id
    until(14, Ty::Int32),                     // replica_id
    tagged(1, 15, Ty::Struct(REPLICA_STATE)), // replica_state
    all(Ty::Int32),                           // max_wait_ms
    all(Ty::Int32),                           // min_bytes
    all(Ty::Int32),                           // max_bytes
    all(Ty::Int8),                            // isolation_level
    since(7, Ty::Int32),                      // session_id
    since(7, Ty::Int32),                      // session_epoch
    all(Ty::Array(FETCH_TOPIC)),              // topics
    since(7, Ty::Array(FORGOTTEN_TOPIC)),     // forgotten_topics_data
    since(11, Ty::Str),                       // rack_id
];
const REPLICA_STATE: &[Field] = &[
    since(15, Ty::Int32), // replica_id
    since(15, Ty::Int64), // replica_epoch
];
const FETCH_TOPIC: &[Field] = &[
    until(12, Ty::Str),              // topic
    since(13, Ty::Uuid),             // topic_id
    all(Ty::Array(FETCH_PARTITION)), // partitions
];
const FETCH_PARTITION: &[Field] = &[
    all(Ty::Int32),           // partition
    since(9, Ty::Int32),      // current_leader_epoch
    all(Ty::Int64),           // fetch_offset
    since(12, Ty::Int32),     // last_fetched_epoch
    since(5, Ty::Int64),      // log_start_offset
    all(Ty::Int32),           // partition_max_bytes
    tagged(0, 17, Ty::Uuid),  // replica_directory_id
    tagged(1, 18, Ty::Int64), // high_watermark
];
const FORGOTTEN_TOPIC: &[Field] = &[
    field(Ty::Str, 7, 12),    // topic
    since(13, Ty::Uuid),      // topic_id
    since(7, Ty::Int32Array), // partitions
];

const LIST_OFFSETS: &[Field] = &[
    all(Ty::Int32),                     // replica_id
    since(2, Ty::Int8),                 // isolation_level
    all(Ty::Array(LIST_OFFSETS_TOPIC)), // topics
    since(10, Ty::Int32),               // timeout_ms
];
const LIST_OFFSETS_TOPIC: &[Field] = &[
    all(Ty::Str),                           // name
    all(Ty::Array(LIST_OFFSETS_PARTITION)), // partitions
];
const LIST_OFFSETS_PARTITION: &[Field] = &[
    all(Ty::Int32),      // partition_index
    since(4, Ty::Int32), // current_leader_epoch
    all(Ty::Int64),      // timestamp
];
