//! Request schemas for the guard, transcribed from the decoders `kafka-protocol` 0.18
//! generates (themselves from Kafka's JSON message specs). Only field order, types, version
//! ranges and tags matter here; names are in the comments for the reader.

use super::{Field, Schema, Ty};
use kafka_protocol::messages::ApiKey;

const MAX: i16 = i16::MAX;
/// The `flexible_from` of a message with no flexible version. (At version `i16::MAX` the
/// walk would read a tag section, but no decoder accepts that version.)
pub(super) const NEVER: i16 = i16::MAX;

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

// The request header's fields, by header version (see `walk_header`).
pub(super) const ALL_INT16: Field = all(Ty::Int16);
pub(super) const ALL_INT32: Field = all(Ty::Int32);
pub(super) const CLIENT_ID_STR: Field = since(1, Ty::Int16Str);

/// The schema of requests of `api_key`.
pub(super) fn of(api_key: ApiKey) -> Option<Schema> {
    let (flexible_from, fields) = match api_key {
        ApiKey::ApiVersions => (3, API_VERSIONS),
        ApiKey::Metadata => (9, METADATA),
        ApiKey::Produce => (9, PRODUCE),
        ApiKey::Fetch => (12, FETCH),
        ApiKey::ListOffsets => (6, LIST_OFFSETS),
        ApiKey::FindCoordinator => (3, FIND_COORDINATOR),
        ApiKey::JoinGroup => (6, JOIN_GROUP),
        ApiKey::SyncGroup => (4, SYNC_GROUP),
        ApiKey::Heartbeat => (4, HEARTBEAT),
        ApiKey::LeaveGroup => (4, LEAVE_GROUP),
        ApiKey::OffsetCommit => (8, OFFSET_COMMIT),
        ApiKey::OffsetFetch => (6, OFFSET_FETCH),
        ApiKey::ListGroups => (3, LIST_GROUPS),
        ApiKey::DescribeGroups => (5, DESCRIBE_GROUPS),
        ApiKey::DeleteGroups => (2, DELETE_GROUPS),
        ApiKey::OffsetDelete => (NEVER, OFFSET_DELETE),
        ApiKey::InitProducerId => (2, INIT_PRODUCER_ID),
        ApiKey::CreateTopics => (5, CREATE_TOPICS),
        ApiKey::DeleteTopics => (4, DELETE_TOPICS),
        ApiKey::CreatePartitions => (2, CREATE_PARTITIONS),
        ApiKey::DescribeConfigs => (4, DESCRIBE_CONFIGS),
        ApiKey::AlterConfigs => (2, ALTER_CONFIGS),
        ApiKey::IncrementalAlterConfigs => (1, INCREMENTAL_ALTER_CONFIGS),
        ApiKey::DescribeCluster => (0, DESCRIBE_CLUSTER),
        ApiKey::DescribeTopicPartitions => (0, DESCRIBE_TOPIC_PARTITIONS),
        ApiKey::DeleteRecords => (2, DELETE_RECORDS),
        ApiKey::OffsetForLeaderEpoch => (4, OFFSET_FOR_LEADER_EPOCH),
        ApiKey::ElectLeaders => (2, ELECT_LEADERS),
        ApiKey::ListPartitionReassignments => (0, LIST_PARTITION_REASSIGNMENTS),
        ApiKey::DescribeLogDirs => (2, DESCRIBE_LOG_DIRS),
        ApiKey::DescribeProducers => (0, DESCRIBE_PRODUCERS),
        ApiKey::ConsumerGroupHeartbeat => (0, CONSUMER_GROUP_HEARTBEAT),
        ApiKey::ConsumerGroupDescribe => (0, CONSUMER_GROUP_DESCRIBE),
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

const FIND_COORDINATOR: &[Field] = &[
    until(3, Ty::Str),      // key
    since(1, Ty::Int8),     // key_type
    since(4, Ty::StrArray), // coordinator_keys
];

const JOIN_GROUP: &[Field] = &[
    all(Ty::Str),                        // group_id
    all(Ty::Int32),                      // session_timeout_ms
    since(1, Ty::Int32),                 // rebalance_timeout_ms
    all(Ty::Str),                        // member_id
    since(5, Ty::Str),                   // group_instance_id
    all(Ty::Str),                        // protocol_type
    all(Ty::Array(JOIN_GROUP_PROTOCOL)), // protocols
    since(8, Ty::Str),                   // reason
];
const JOIN_GROUP_PROTOCOL: &[Field] = &[
    all(Ty::Str),   // name
    all(Ty::Bytes), // metadata
];

const SYNC_GROUP: &[Field] = &[
    all(Ty::Str),                          // group_id
    all(Ty::Int32),                        // generation_id
    all(Ty::Str),                          // member_id
    since(3, Ty::Str),                     // group_instance_id
    since(5, Ty::Str),                     // protocol_type
    since(5, Ty::Str),                     // protocol_name
    all(Ty::Array(SYNC_GROUP_ASSIGNMENT)), // assignments
];
const SYNC_GROUP_ASSIGNMENT: &[Field] = &[
    all(Ty::Str),   // member_id
    all(Ty::Bytes), // assignment
];

const HEARTBEAT: &[Field] = &[
    all(Ty::Str),      // group_id
    all(Ty::Int32),    // generation_id
    all(Ty::Str),      // member_id
    since(3, Ty::Str), // group_instance_id
];

const LEAVE_GROUP: &[Field] = &[
    all(Ty::Str),                            // group_id
    until(2, Ty::Str),                       // member_id
    since(3, Ty::Array(LEAVE_GROUP_MEMBER)), // members
];
const LEAVE_GROUP_MEMBER: &[Field] = &[
    since(3, Ty::Str), // member_id
    since(3, Ty::Str), // group_instance_id
    since(5, Ty::Str), // reason
];

// The library decodes OffsetCommit from v2; v10's topic_id is not read at all.
const OFFSET_COMMIT: &[Field] = &[
    all(Ty::Str),                        // group_id
    all(Ty::Int32),                      // generation_id_or_member_epoch
    all(Ty::Str),                        // member_id
    since(7, Ty::Str),                   // group_instance_id
    until(4, Ty::Int64),                 // retention_time_ms
    all(Ty::Array(OFFSET_COMMIT_TOPIC)), // topics
];
const OFFSET_COMMIT_TOPIC: &[Field] = &[
    all(Ty::Str),                            // name
    all(Ty::Array(OFFSET_COMMIT_PARTITION)), // partitions
];
const OFFSET_COMMIT_PARTITION: &[Field] = &[
    all(Ty::Int32),      // partition_index
    all(Ty::Int64),      // committed_offset
    since(6, Ty::Int32), // committed_leader_epoch
    all(Ty::Str),        // committed_metadata
];

// The library decodes OffsetFetch from v1.
const OFFSET_FETCH: &[Field] = &[
    until(7, Ty::Str),                       // group_id
    until(7, Ty::Array(OFFSET_FETCH_TOPIC)), // topics
    since(8, Ty::Array(OFFSET_FETCH_GROUP)), // groups
    since(7, Ty::Bool),                      // require_stable
];
const OFFSET_FETCH_TOPIC: &[Field] = &[
    until(7, Ty::Str),        // name
    until(7, Ty::Int32Array), // partition_indexes
];
const OFFSET_FETCH_GROUP: &[Field] = &[
    since(8, Ty::Str),                             // group_id
    since(9, Ty::Str),                             // member_id
    since(9, Ty::Int32),                           // member_epoch
    since(8, Ty::Array(OFFSET_FETCH_GROUP_TOPIC)), // topics
];
const OFFSET_FETCH_GROUP_TOPIC: &[Field] = &[
    since(8, Ty::Str),        // name
    since(8, Ty::Int32Array), // partition_indexes
];

const LIST_GROUPS: &[Field] = &[
    since(4, Ty::StrArray), // states_filter
    since(5, Ty::StrArray), // types_filter
];

const DESCRIBE_GROUPS: &[Field] = &[
    all(Ty::StrArray),  // groups
    since(3, Ty::Bool), // include_authorized_operations
];

const DELETE_GROUPS: &[Field] = &[
    all(Ty::StrArray), // groups_names
];

const OFFSET_DELETE: &[Field] = &[
    all(Ty::Str),                        // group_id
    all(Ty::Array(OFFSET_DELETE_TOPIC)), // topics
];
const OFFSET_DELETE_TOPIC: &[Field] = &[
    all(Ty::Str),                            // name
    all(Ty::Array(OFFSET_DELETE_PARTITION)), // partitions
];
const OFFSET_DELETE_PARTITION: &[Field] = &[
    all(Ty::Int32), // partition_index
];

// v6's enable_2pc and keep_prepared_txn are beyond the library's v5.
const INIT_PRODUCER_ID: &[Field] = &[
    all(Ty::Str),        // transactional_id
    all(Ty::Int32),      // transaction_timeout_ms
    since(3, Ty::Int64), // producer_id
    since(3, Ty::Int16), // producer_epoch
];

// The library decodes CreateTopics from v2.
const CREATE_TOPICS: &[Field] = &[
    all(Ty::Array(CREATABLE_TOPIC)), // topics
    all(Ty::Int32),                  // timeout_ms
    all(Ty::Bool),                   // validate_only
];
const CREATABLE_TOPIC: &[Field] = &[
    all(Ty::Str),                                 // name
    all(Ty::Int32),                               // num_partitions
    all(Ty::Int16),                               // replication_factor
    all(Ty::Array(CREATABLE_REPLICA_ASSIGNMENT)), // assignments
    all(Ty::Array(CREATABLE_TOPIC_CONFIG)),       // configs
];
const CREATABLE_REPLICA_ASSIGNMENT: &[Field] = &[
    all(Ty::Int32),      // partition_index
    all(Ty::Int32Array), // broker_ids
];
const CREATABLE_TOPIC_CONFIG: &[Field] = &[
    all(Ty::Str), // name
    all(Ty::Str), // value
];

// The library decodes DeleteTopics from v1.
const DELETE_TOPICS: &[Field] = &[
    since(6, Ty::Array(DELETE_TOPIC_STATE)), // topics
    until(5, Ty::StrArray),                  // topic_names
    all(Ty::Int32),                          // timeout_ms
];
const DELETE_TOPIC_STATE: &[Field] = &[
    since(6, Ty::Str),  // name
    since(6, Ty::Uuid), // topic_id
];

const CREATE_PARTITIONS: &[Field] = &[
    all(Ty::Array(CREATE_PARTITIONS_TOPIC)), // topics
    all(Ty::Int32),                          // timeout_ms
    all(Ty::Bool),                           // validate_only
];
const CREATE_PARTITIONS_TOPIC: &[Field] = &[
    all(Ty::Str),                                 // name
    all(Ty::Int32),                               // count
    all(Ty::Array(CREATE_PARTITIONS_ASSIGNMENT)), // assignments
];
const CREATE_PARTITIONS_ASSIGNMENT: &[Field] = &[
    all(Ty::Int32Array), // broker_ids
];

// The library decodes DescribeConfigs from v1.
const DESCRIBE_CONFIGS: &[Field] = &[
    all(Ty::Array(DESCRIBE_CONFIGS_RESOURCE)), // resources
    all(Ty::Bool),                             // include_synonyms
    since(3, Ty::Bool),                        // include_documentation
];
const DESCRIBE_CONFIGS_RESOURCE: &[Field] = &[
    all(Ty::Int8),     // resource_type
    all(Ty::Str),      // resource_name
    all(Ty::StrArray), // configuration_keys
];

const ALTER_CONFIGS: &[Field] = &[
    all(Ty::Array(ALTER_CONFIGS_RESOURCE)), // resources
    all(Ty::Bool),                          // validate_only
];
const ALTER_CONFIGS_RESOURCE: &[Field] = &[
    all(Ty::Int8),                    // resource_type
    all(Ty::Str),                     // resource_name
    all(Ty::Array(ALTERABLE_CONFIG)), // configs
];
const ALTERABLE_CONFIG: &[Field] = &[
    all(Ty::Str), // name
    all(Ty::Str), // value
];

const INCREMENTAL_ALTER_CONFIGS: &[Field] = &[
    all(Ty::Array(INCREMENTAL_ALTER_CONFIGS_RESOURCE)), // resources
    all(Ty::Bool),                                      // validate_only
];
const INCREMENTAL_ALTER_CONFIGS_RESOURCE: &[Field] = &[
    all(Ty::Int8),                                // resource_type
    all(Ty::Str),                                 // resource_name
    all(Ty::Array(INCREMENTAL_ALTERABLE_CONFIG)), // configs
];
const INCREMENTAL_ALTERABLE_CONFIG: &[Field] = &[
    all(Ty::Str),  // name
    all(Ty::Int8), // config_operation
    all(Ty::Str),  // value
];

const DESCRIBE_CLUSTER: &[Field] = &[
    all(Ty::Bool),      // include_cluster_authorized_operations
    since(1, Ty::Int8), // endpoint_type
    since(2, Ty::Bool), // include_fenced_brokers
];

const DESCRIBE_TOPIC_PARTITIONS: &[Field] = &[
    all(Ty::Array(DESCRIBE_TOPIC_PARTITIONS_TOPIC)), // topics
    all(Ty::Int32),                                  // response_partition_limit
    all(Ty::OptStruct(DESCRIBE_TOPIC_PARTITIONS_CURSOR)), // cursor
];
const DESCRIBE_TOPIC_PARTITIONS_TOPIC: &[Field] = &[
    all(Ty::Str), // name
];
const DESCRIBE_TOPIC_PARTITIONS_CURSOR: &[Field] = &[
    all(Ty::Str),   // topic_name
    all(Ty::Int32), // partition_index
];

const DELETE_RECORDS: &[Field] = &[
    all(Ty::Array(DELETE_RECORDS_TOPIC)), // topics
    all(Ty::Int32),                       // timeout_ms
];
const DELETE_RECORDS_TOPIC: &[Field] = &[
    all(Ty::Str),                             // name
    all(Ty::Array(DELETE_RECORDS_PARTITION)), // partitions
];
const DELETE_RECORDS_PARTITION: &[Field] = &[
    all(Ty::Int32), // partition_index
    all(Ty::Int64), // offset
];

// The library decodes OffsetForLeaderEpoch from v2 (current_leader_epoch is always there).
const OFFSET_FOR_LEADER_EPOCH: &[Field] = &[
    since(3, Ty::Int32),                     // replica_id
    all(Ty::Array(OFFSET_FOR_LEADER_TOPIC)), // topics
];
const OFFSET_FOR_LEADER_TOPIC: &[Field] = &[
    all(Ty::Str),                                // topic
    all(Ty::Array(OFFSET_FOR_LEADER_PARTITION)), // partitions
];
const OFFSET_FOR_LEADER_PARTITION: &[Field] = &[
    all(Ty::Int32), // partition
    all(Ty::Int32), // current_leader_epoch
    all(Ty::Int32), // leader_epoch
];

const DESCRIBE_LOG_DIRS: &[Field] = &[
    all(Ty::Array(DESCRIBABLE_LOG_DIR_TOPIC)), // topics
];
const DESCRIBABLE_LOG_DIR_TOPIC: &[Field] = &[
    all(Ty::Str),        // topic
    all(Ty::Int32Array), // partitions
];

const ELECT_LEADERS: &[Field] = &[
    since(1, Ty::Int8),                       // election_type
    all(Ty::Array(ELECT_LEADERS_PARTITIONS)), // topic_partitions
    all(Ty::Int32),                           // timeout_ms
];
const ELECT_LEADERS_PARTITIONS: &[Field] = &[
    all(Ty::Str),        // topic
    all(Ty::Int32Array), // partitions
];

const LIST_PARTITION_REASSIGNMENTS: &[Field] = &[
    all(Ty::Int32),                   // timeout_ms
    all(Ty::Array(TOPIC_PARTITIONS)), // topics
];

const DESCRIBE_PRODUCERS: &[Field] = &[
    all(Ty::Array(TOPIC_PARTITIONS)), // topics
];
/// A topic name and partition indexes (DescribeProducers, ListPartitionReassignments).
const TOPIC_PARTITIONS: &[Field] = &[
    all(Ty::Str),        // name
    all(Ty::Int32Array), // partition_indexes
];

const CONSUMER_GROUP_HEARTBEAT: &[Field] = &[
    all(Ty::Str),                                   // group_id
    all(Ty::Str),                                   // member_id
    all(Ty::Int32),                                 // member_epoch
    all(Ty::Str),                                   // instance_id
    all(Ty::Str),                                   // rack_id
    all(Ty::Int32),                                 // rebalance_timeout_ms
    all(Ty::StrArray),                              // subscribed_topic_names
    since(1, Ty::Str),                              // subscribed_topic_regex
    all(Ty::Str),                                   // server_assignor
    all(Ty::Array(CONSUMER_GROUP_HEARTBEAT_OWNED)), // topic_partitions
];
const CONSUMER_GROUP_HEARTBEAT_OWNED: &[Field] = &[
    all(Ty::Uuid),       // topic_id
    all(Ty::Int32Array), // partitions
];

const CONSUMER_GROUP_DESCRIBE: &[Field] = &[
    all(Ty::StrArray), // group_ids
    all(Ty::Bool),     // include_authorized_operations
];
