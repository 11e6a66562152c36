//! The guard against the real decoders: every version of every schema, and garbage.
#![allow(clippy::unwrap_used)]
use super::*;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{
    FetchPartition, FetchTopic, ForgottenTopic, ReplicaState,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};

fn name(s: &'static str) -> TopicName {
    TopicName(StrBytes::from_static_str(s))
}

/// Encodes `req` at every version the library knows and checks the walk consumes exactly the
/// encoded bytes, so guard and decoder agree on every field.
fn agrees<R: Encodable + Decodable + Message>(api_key: ApiKey, req: impl Fn(i16) -> R) {
    for v in R::VERSIONS.min..=R::VERSIONS.max {
        let mut buf = BytesMut::new();
        req(v).encode(&mut buf, v).unwrap();
        let consumed = check(api_key, v, &buf).unwrap_or_else(|e| panic!("{api_key:?} v{v}: {e}"));
        assert_eq!(consumed, buf.len(), "{api_key:?} v{v}");
        R::decode(&mut Bytes::from(buf.to_vec()), v).unwrap();
    }
}

fn unknown_tag() -> std::collections::BTreeMap<i32, Bytes> {
    [(77, Bytes::from_static(b"\x05\x00\x00\x00\x00\x00"))].into()
}

#[test]
fn walks_every_version_of_every_schema_exactly() {
    agrees(ApiKey::ApiVersions, |_| {
        ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("strom-test"))
            .with_client_software_version(StrBytes::from_static_str("1.0"))
            .with_unknown_tagged_fields(unknown_tag())
    });
    for with_topics in [None, Some(false), Some(true)] {
        agrees(ApiKey::Metadata, |v| {
            let topics = with_topics.map(|some| {
                if !some {
                    return vec![];
                }
                let by_id = MetadataRequestTopic::default()
                    .with_name(Some(name("b")))
                    .with_unknown_tagged_fields(unknown_tag());
                vec![
                    MetadataRequestTopic::default().with_name(Some(name("a"))),
                    if v >= 10 {
                        by_id.with_topic_id(uuid::Uuid::new_v4())
                    } else {
                        by_id
                    },
                ]
            });
            MetadataRequest::default()
                .with_topics(topics)
                .with_allow_auto_topic_creation(v < 4)
                .with_include_cluster_authorized_operations((8..=10).contains(&v))
                .with_include_topic_authorized_operations(v >= 8)
        });
    }
    let partition = |i, r: Option<&'static [u8]>| {
        PartitionProduceData::default()
            .with_index(i)
            .with_records(r.map(Bytes::from_static))
    };
    agrees(ApiKey::Produce, |_| {
        ProduceRequest::default()
            .with_transactional_id(Some(StrBytes::from_static_str("tx").into()))
            .with_acks(-1)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(name("t"))
                    .with_partition_data(vec![partition(0, Some(b"records")), partition(1, None)]),
                TopicProduceData::default().with_unknown_tagged_fields(unknown_tag()),
            ])
    });
    let fp = |p| {
        FetchPartition::default()
            .with_partition(p)
            .with_fetch_offset(5)
            .with_partition_max_bytes(100)
            .with_unknown_tagged_fields(unknown_tag())
    };
    for extras in [false, true] {
        agrees(ApiKey::Fetch, |v| {
            // Fields exist only from the version that defines them; the encoder refuses others.
            let topic = |t: FetchTopic| {
                if v >= 13 {
                    t.with_topic_id(uuid::Uuid::new_v4())
                } else {
                    t.with_topic(name("t"))
                }
            };
            let mut partitions = vec![fp(0), fp(1)];
            for p in &mut partitions {
                if extras && v >= 17 {
                    p.replica_directory_id = uuid::Uuid::new_v4();
                }
                if extras && v >= 18 {
                    p.high_watermark = 42;
                }
                if v >= 9 {
                    p.current_leader_epoch = 0;
                }
            }
            let mut req = FetchRequest::default()
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(1 << 20)
                .with_topics(vec![
                    topic(FetchTopic::default().with_partitions(partitions)),
                    topic(FetchTopic::default()),
                ]);
            if v >= 7 {
                let forgotten = ForgottenTopic::default().with_partitions(vec![1, 2, 3]);
                req.forgotten_topics_data = vec![if v >= 13 {
                    forgotten.with_topic_id(uuid::Uuid::new_v4())
                } else {
                    forgotten.with_topic(name("f"))
                }];
            }
            if v >= 11 {
                req.rack_id = StrBytes::from_static_str("rack");
            }
            if extras && v >= 12 {
                req.cluster_id = Some(StrBytes::from_static_str("cluster"));
            }
            if extras && v >= 15 {
                req.replica_state = ReplicaState::default().with_replica_epoch(3);
            }
            req
        });
    }
    agrees(ApiKey::ListOffsets, |v| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(i8::from(v >= 2))
            .with_timeout_ms(if v >= 10 { 1000 } else { 0 })
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name("t"))
                .with_partitions(vec![
                    ListOffsetsPartition::default().with_timestamp(-1),
                    ListOffsetsPartition::default()
                        .with_partition_index(3)
                        .with_timestamp(-2)
                        .with_unknown_tagged_fields(unknown_tag()),
                ])])
    });
}

#[test]
fn refuses_counts_larger_than_the_frame() {
    // The eight-byte body that makes kafka-protocol 0.18 ask for ~150 GB.
    let body = i32::MAX.to_be_bytes();
    assert!(matches!(
        check(ApiKey::Metadata, 1, &body),
        Err(GuardError::ArrayTooLong { .. })
    ));
    // Compact array count (varint) in a flexible version.
    let body = [0xff, 0xff, 0xff, 0xff, 0x07];
    assert!(matches!(
        check(ApiKey::Metadata, 12, &body),
        Err(GuardError::ArrayTooLong { .. })
    ));
    // Nested: one produce topic whose partition array claims a billion entries.
    let mut body = vec![0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't'];
    body.extend_from_slice(&1_000_000_000i32.to_be_bytes());
    assert!(matches!(
        check(ApiKey::Produce, 3, &body),
        Err(GuardError::ArrayTooLong { .. })
    ));
    assert!(matches!(
        check(ApiKey::Fetch, 4, &[0; 10]),
        Err(GuardError::Truncated(_))
    ));
    assert!(matches!(
        check(ApiKey::Vote, 0, &[]),
        Err(GuardError::NoSchema(..))
    ));
}

#[test]
fn never_panics_or_over_allocates_on_garbage() {
    // A cheap deterministic fuzz: random bytes and bit-flipped valid requests, for every
    // schema and version. Whatever the guard lets through must decode without aborting.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let fetch = FetchRequest::default().with_topics(vec![FetchTopic::default()
        .with_topic(name("t"))
        .with_partitions(vec![FetchPartition::default(); 3])]);
    let produce = ProduceRequest::default().with_topic_data(vec![TopicProduceData::default()
        .with_name(name("t"))
        .with_partition_data(vec![
            PartitionProduceData::default().with_records(Some(Bytes::from_static(b"0123456789")))
        ])]);
    let metadata = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name("m"))),
    ]));
    let list = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(name("t"))
        .with_partitions(vec![ListOffsetsPartition::default(); 2])]);
    let encode = |api_key: ApiKey, v: i16| -> Vec<u8> {
        let mut buf = BytesMut::new();
        let r = match api_key {
            ApiKey::Fetch => fetch.encode(&mut buf, v),
            ApiKey::Produce => produce.encode(&mut buf, v),
            ApiKey::Metadata => metadata.encode(&mut buf, v),
            ApiKey::ListOffsets => list.encode(&mut buf, v),
            _ => ApiVersionsRequest::default().encode(&mut buf, v),
        };
        r.unwrap();
        buf.to_vec()
    };
    for api_key in [
        ApiKey::ApiVersions,
        ApiKey::Metadata,
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
    ] {
        let range = api_key.valid_versions();
        for v in range.min..=range.max {
            let valid = encode(api_key, v);
            for round in 0..300 {
                let bytes: Vec<u8> = if round % 3 == 0 {
                    let len = (next() % 64) as usize;
                    (0..len).map(|_| next() as u8).collect()
                } else {
                    let mut b = valid.clone();
                    for _ in 0..1 + next() % 3 {
                        let i = (next() as usize) % b.len().max(1);
                        if let Some(x) = b.get_mut(i) {
                            *x = next() as u8;
                        }
                    }
                    b.truncate(b.len() - (next() as usize % 3).min(b.len()));
                    b
                };
                if check(api_key, v, &bytes).is_ok() {
                    let _ = RequestKind::decode(api_key, &mut Bytes::from(bytes), v);
                }
            }
        }
    }
}

/// One request encoded at one version.
struct Case {
    api_key: ApiKey,
    version: i16,
    bytes: Vec<u8>,
}

/// Encodes `req` at every version the library knows.
fn every_version<R: Encodable + Message>(
    cases: &mut Vec<Case>,
    api_key: ApiKey,
    req: impl Fn(i16) -> R,
) {
    for v in R::VERSIONS.min..=R::VERSIONS.max {
        let mut buf = BytesMut::new();
        req(v)
            .encode(&mut buf, v)
            .unwrap_or_else(|e| panic!("encoding {api_key:?} v{v}: {e}"));
        cases.push(Case {
            api_key,
            version: v,
            bytes: buf.to_vec(),
        });
    }
}

fn s(x: &'static str) -> StrBytes {
    StrBytes::from_static_str(x)
}

fn strs(all: &[&'static str]) -> Vec<StrBytes> {
    all.iter().map(|x| s(x)).collect()
}

/// The group and admin requests at every version, with non-empty nested arrays, unknown
/// tagged fields at every level (the encoders drop them below the flexible versions) and,
/// where a version allows, nullable fields null (`set` false) or set (`set` true).
fn group_and_admin_cases(set: bool) -> Vec<Case> {
    use kafka_protocol::messages::create_partitions_request::{
        CreatePartitionsAssignment, CreatePartitionsTopic,
    };
    use kafka_protocol::messages::create_topics_request::{
        CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
    };
    use kafka_protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsTopic,
    };
    use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::leave_group_request::MemberIdentity;
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::offset_delete_request::{
        OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
    };
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    };
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    use kafka_protocol::messages::{
        alter_configs_request as ac, incremental_alter_configs_request as iac,
    };

    let tags = unknown_tag;
    // A nullable string, null unless `set` (and the version has it).
    let opt = |x: &'static str, has: bool| (set && has).then(|| s(x));
    let group = || GroupId(s("g"));
    let mut c = Vec::new();

    every_version(&mut c, ApiKey::FindCoordinator, |v| {
        let req = FindCoordinatorRequest::default().with_unknown_tagged_fields(tags());
        match v {
            0 => req.with_key(s("g")),
            1..=3 => req.with_key(s("tx")).with_key_type(1),
            _ => req
                .with_key_type(1)
                .with_coordinator_keys(strs(&["a", "bc", ""])),
        }
    });
    every_version(&mut c, ApiKey::JoinGroup, |v| {
        let protocol = |n, m: &'static [u8]| {
            JoinGroupRequestProtocol::default()
                .with_name(s(n))
                .with_metadata(Bytes::from_static(m))
                .with_unknown_tagged_fields(tags())
        };
        JoinGroupRequest::default()
            .with_group_id(group())
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(if v >= 1 { 30_000 } else { -1 })
            .with_member_id(s("m-1"))
            .with_group_instance_id(opt("instance", v >= 5))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![protocol("range", b"meta"), protocol("rr", b"")])
            .with_reason(opt("why", v >= 8))
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::SyncGroup, |v| {
        let assignment = |m, a: &'static [u8]| {
            kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(s(m))
                .with_assignment(Bytes::from_static(a))
                .with_unknown_tagged_fields(tags())
        };
        SyncGroupRequest::default()
            .with_group_id(group())
            .with_generation_id(3)
            .with_member_id(s("m-1"))
            .with_group_instance_id(opt("instance", v >= 3))
            .with_protocol_type(opt("consumer", v >= 5))
            .with_protocol_name(opt("range", v >= 5))
            .with_assignments(vec![assignment("m-1", b"assigned"), assignment("m-2", b"")])
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::Heartbeat, |v| {
        HeartbeatRequest::default()
            .with_group_id(group())
            .with_generation_id(3)
            .with_member_id(s("m-1"))
            .with_group_instance_id(opt("instance", v >= 3))
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::LeaveGroup, |v| {
        let req = LeaveGroupRequest::default()
            .with_group_id(group())
            .with_unknown_tagged_fields(tags());
        if v <= 2 {
            return req.with_member_id(s("m-1"));
        }
        let member = |m| {
            MemberIdentity::default()
                .with_member_id(s(m))
                .with_group_instance_id(opt("instance", true))
                .with_reason(opt("bye", v >= 5))
                .with_unknown_tagged_fields(tags())
        };
        req.with_members(vec![member("m-1"), member("m-2")])
    });
    every_version(&mut c, ApiKey::OffsetCommit, |v| {
        let partition = |p, metadata| {
            OffsetCommitRequestPartition::default()
                .with_partition_index(p)
                .with_committed_offset(100)
                .with_committed_leader_epoch(if v >= 6 { 4 } else { -1 })
                .with_committed_metadata(metadata)
                .with_unknown_tagged_fields(tags())
        };
        let topic = |t| {
            OffsetCommitRequestTopic::default()
                .with_name(name(t))
                .with_partitions(vec![
                    partition(0, opt("meta", true)),
                    partition(1, Some(s(""))),
                ])
                .with_unknown_tagged_fields(tags())
        };
        OffsetCommitRequest::default()
            .with_group_id(group())
            .with_generation_id_or_member_epoch(3)
            .with_member_id(s("m-1"))
            .with_group_instance_id(opt("instance", v >= 7))
            .with_retention_time_ms(if v <= 4 { 60_000 } else { -1 })
            .with_topics(vec![topic("a"), topic("b")])
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::OffsetFetch, |v| {
        let req = OffsetFetchRequest::default()
            .with_require_stable(v >= 7)
            .with_unknown_tagged_fields(tags());
        if v <= 7 {
            let topic = |t| {
                OffsetFetchRequestTopic::default()
                    .with_name(name(t))
                    .with_partition_indexes(vec![0, 1, 2])
                    .with_unknown_tagged_fields(tags())
            };
            // Null topics (all of them) exist from v2.
            let topics = (!set || v < 2).then(|| vec![topic("a"), topic("b")]);
            return req.with_group_id(group()).with_topics(topics);
        }
        let topics = || {
            OffsetFetchRequestTopics::default()
                .with_name(name("a"))
                .with_partition_indexes(vec![5, 6])
                .with_unknown_tagged_fields(tags())
        };
        let group = |g, all: bool| {
            OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(s(g)))
                .with_member_id(opt("m-1", v >= 9))
                .with_member_epoch(if v >= 9 { 7 } else { -1 })
                .with_topics((!all).then(|| vec![topics(), topics()]))
                .with_unknown_tagged_fields(tags())
        };
        req.with_groups(vec![group("g1", false), group("g2", set)])
    });
    every_version(&mut c, ApiKey::ListGroups, |v| {
        let mut req = ListGroupsRequest::default().with_unknown_tagged_fields(tags());
        if v >= 4 {
            req.states_filter = strs(&["Stable", "Empty"]);
        }
        if v >= 5 {
            req.types_filter = strs(&["classic"]);
        }
        req
    });
    every_version(&mut c, ApiKey::DescribeGroups, |v| {
        DescribeGroupsRequest::default()
            .with_groups(vec![group(), GroupId(s("other"))])
            .with_include_authorized_operations(v >= 3)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::DeleteGroups, |_| {
        DeleteGroupsRequest::default()
            .with_groups_names(vec![group(), GroupId(s("other"))])
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::OffsetDelete, |_| {
        let topic = |t| {
            OffsetDeleteRequestTopic::default()
                .with_name(name(t))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0),
                    OffsetDeleteRequestPartition::default().with_partition_index(9),
                ])
        };
        OffsetDeleteRequest::default()
            .with_group_id(group())
            .with_topics(vec![topic("a"), topic("b")])
    });
    every_version(&mut c, ApiKey::InitProducerId, |v| {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(opt("tx", true).map(TransactionalId))
            .with_transaction_timeout_ms(60_000)
            .with_unknown_tagged_fields(tags());
        if v >= 3 {
            req.with_producer_id(ProducerId(12)).with_producer_epoch(3)
        } else {
            req
        }
    });
    every_version(&mut c, ApiKey::CreateTopics, |_| {
        let config = |k, value| {
            CreatableTopicConfig::default()
                .with_name(s(k))
                .with_value(value)
                .with_unknown_tagged_fields(tags())
        };
        let assignment = |p| {
            CreatableReplicaAssignment::default()
                .with_partition_index(p)
                .with_broker_ids(vec![BrokerId(1), BrokerId(2)])
                .with_unknown_tagged_fields(tags())
        };
        CreateTopicsRequest::default()
            .with_topics(vec![
                CreatableTopic::default()
                    .with_name(name("a"))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_assignments(vec![assignment(0), assignment(1)])
                    .with_configs(vec![
                        config("cleanup.policy", Some(s("compact"))),
                        config("retention.ms", opt("1000", true)),
                    ])
                    .with_unknown_tagged_fields(tags()),
                CreatableTopic::default()
                    .with_name(name("b"))
                    .with_num_partitions(3)
                    .with_replication_factor(1),
            ])
            .with_timeout_ms(30_000)
            .with_validate_only(true)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::DeleteTopics, |v| {
        let req = DeleteTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_unknown_tagged_fields(tags());
        if v <= 5 {
            return req.with_topic_names(vec![name("a"), name("b")]);
        }
        let state = |n: Option<TopicName>| {
            DeleteTopicState::default()
                .with_name(n)
                .with_topic_id(uuid::Uuid::new_v4())
                .with_unknown_tagged_fields(tags())
        };
        req.with_topics(vec![
            state(Some(name("a"))),
            state(opt("b", true).map(TopicName)),
        ])
    });
    every_version(&mut c, ApiKey::CreatePartitions, |_| {
        let assignment = |ids: Vec<i32>| {
            CreatePartitionsAssignment::default()
                .with_broker_ids(ids.into_iter().map(BrokerId).collect())
                .with_unknown_tagged_fields(tags())
        };
        let topic = |t, assignments| {
            CreatePartitionsTopic::default()
                .with_name(name(t))
                .with_count(4)
                .with_assignments(assignments)
                .with_unknown_tagged_fields(tags())
        };
        CreatePartitionsRequest::default()
            .with_topics(vec![
                topic("a", Some(vec![assignment(vec![1, 2]), assignment(vec![3])])),
                topic("b", (!set).then(|| vec![assignment(vec![])])),
            ])
            .with_timeout_ms(30_000)
            .with_validate_only(set)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::DescribeConfigs, |v| {
        let resource = |t, n, keys| {
            DescribeConfigsResource::default()
                .with_resource_type(t)
                .with_resource_name(s(n))
                .with_configuration_keys(keys)
                .with_unknown_tagged_fields(tags())
        };
        DescribeConfigsRequest::default()
            .with_resources(vec![
                resource(2, "topic", Some(strs(&["retention.ms", "cleanup.policy"]))),
                resource(4, "1", (!set).then(|| strs(&["x"]))),
            ])
            .with_include_synonyms(true)
            .with_include_documentation(v >= 3)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::AlterConfigs, |_| {
        let config = |k, value| {
            ac::AlterableConfig::default()
                .with_name(s(k))
                .with_value(value)
                .with_unknown_tagged_fields(tags())
        };
        ac::AlterConfigsRequest::default()
            .with_resources(vec![
                ac::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("topic"))
                    .with_configs(vec![
                        config("retention.ms", Some(s("1000"))),
                        config("cleanup.policy", opt("compact", true)),
                    ])
                    .with_unknown_tagged_fields(tags()),
                ac::AlterConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("1")),
            ])
            .with_validate_only(true)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::IncrementalAlterConfigs, |_| {
        let config = |k, op, value| {
            iac::AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(op)
                .with_value(value)
                .with_unknown_tagged_fields(tags())
        };
        iac::IncrementalAlterConfigsRequest::default()
            .with_resources(vec![
                iac::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("topic"))
                    .with_configs(vec![
                        config("retention.ms", 0, Some(s("1000"))),
                        config("cleanup.policy", 1, opt("compact", true)),
                    ])
                    .with_unknown_tagged_fields(tags()),
                iac::AlterConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("1")),
            ])
            .with_validate_only(false)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::DescribeCluster, |v| {
        DescribeClusterRequest::default()
            .with_include_cluster_authorized_operations(true)
            .with_endpoint_type(if v >= 1 { 2 } else { 1 })
            .with_include_fenced_brokers(v >= 2)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::DescribeTopicPartitions, |_| {
        let topic = |t| {
            TopicRequest::default()
                .with_name(name(t))
                .with_unknown_tagged_fields(tags())
        };
        DescribeTopicPartitionsRequest::default()
            .with_topics(vec![topic("a"), topic("b")])
            .with_response_partition_limit(2000)
            .with_cursor(set.then(|| {
                Cursor::default()
                    .with_topic_name(name("a"))
                    .with_partition_index(7)
                    .with_unknown_tagged_fields(tags())
            }))
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::DeleteRecords, |_| {
        let partition = |p, o| {
            DeleteRecordsPartition::default()
                .with_partition_index(p)
                .with_offset(o)
                .with_unknown_tagged_fields(tags())
        };
        DeleteRecordsRequest::default()
            .with_topics(vec![
                DeleteRecordsTopic::default()
                    .with_name(name("a"))
                    .with_partitions(vec![partition(0, 10), partition(1, -1)])
                    .with_unknown_tagged_fields(tags()),
                DeleteRecordsTopic::default().with_name(name("b")),
            ])
            .with_timeout_ms(30_000)
            .with_unknown_tagged_fields(tags())
    });
    every_version(&mut c, ApiKey::OffsetForLeaderEpoch, |v| {
        let partition = |p| {
            OffsetForLeaderPartition::default()
                .with_partition(p)
                .with_current_leader_epoch(5)
                .with_leader_epoch(4)
                .with_unknown_tagged_fields(tags())
        };
        OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(if v >= 3 { -1 } else { -2 }))
            .with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(name("a"))
                    .with_partitions(vec![partition(0), partition(1)])
                    .with_unknown_tagged_fields(tags()),
                OffsetForLeaderTopic::default().with_topic(name("b")),
            ])
            .with_unknown_tagged_fields(tags())
    });
    c
}

const GROUP_AND_ADMIN: [ApiKey; 22] = [
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::ListGroups,
    ApiKey::DescribeGroups,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
    ApiKey::InitProducerId,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::DescribeTopicPartitions,
    ApiKey::DeleteRecords,
    ApiKey::OffsetForLeaderEpoch,
];

#[test]
fn walks_every_version_of_group_and_admin_schemas_exactly() {
    for set in [false, true] {
        let cases = group_and_admin_cases(set);
        for api_key in GROUP_AND_ADMIN {
            assert!(has_schema(api_key), "{api_key:?}");
            // Every version the library decodes is covered. `ApiKey::valid_versions` claims
            // one more for three APIs, whose request decoders refuse it (see below).
            let range = api_key.valid_versions();
            let max = match api_key {
                ApiKey::OffsetCommit | ApiKey::OffsetFetch | ApiKey::InitProducerId => {
                    range.max - 1
                }
                _ => range.max,
            };
            let versions: Vec<i16> = cases
                .iter()
                .filter(|c| c.api_key == api_key)
                .map(|c| c.version)
                .collect();
            assert_eq!(
                versions,
                (range.min..=max).collect::<Vec<_>>(),
                "{api_key:?}"
            );
        }
        for Case {
            api_key,
            version: v,
            bytes,
        } in cases
        {
            let consumed =
                check(api_key, v, &bytes).unwrap_or_else(|e| panic!("{api_key:?} v{v}: {e}"));
            assert_eq!(consumed, bytes.len(), "{api_key:?} v{v} (set: {set})");
            let mut buf = Bytes::from(bytes);
            RequestKind::decode(api_key, &mut buf, v)
                .unwrap_or_else(|e| panic!("decoding {api_key:?} v{v}: {e}"));
            assert!(buf.is_empty(), "{api_key:?} v{v}: decoder left bytes");
        }
    }
}

/// kafka-protocol 0.18's `ApiKey::valid_versions` lists OffsetCommit v10, OffsetFetch v10 and
/// InitProducerId v6, but the request decoders stop one short. Advertising from
/// `valid_versions` would invite requests that can only fail to decode.
#[test]
fn the_library_claims_versions_it_cannot_decode() {
    for (api_key, v) in [
        (ApiKey::OffsetCommit, 10),
        (ApiKey::OffsetFetch, 10),
        (ApiKey::InitProducerId, 6),
    ] {
        assert_eq!(api_key.valid_versions().max, v);
        // Empty-ish bodies: the decoders bail on the version before reading anything.
        let r = RequestKind::decode(api_key, &mut Bytes::from_static(&[0; 64]), v);
        assert!(
            r.is_err(),
            "{api_key:?} v{v} now decodes; update the guard's tests"
        );
    }
}

#[test]
fn refuses_absurd_counts_in_group_and_admin_requests() {
    let too_long = |api_key, v, body: &[u8]| {
        let r = check(api_key, v, body);
        assert!(
            matches!(r, Err(GuardError::ArrayTooLong { .. })),
            "{api_key:?} v{v}: {r:?}"
        );
    };
    // FindCoordinator v4: key_type, then a compact array of strings claiming 2^32 - 2.
    too_long(
        ApiKey::FindCoordinator,
        4,
        &[1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0],
    );
    // DescribeGroups v0: an array of strings claiming i32::MAX.
    too_long(ApiKey::DescribeGroups, 0, &i32::MAX.to_be_bytes());
    // DescribeConfigs v1: one resource whose nullable configuration_keys claim i32::MAX.
    let mut body = vec![0, 0, 0, 1, 2, 0, 1, b't'];
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    body.push(0);
    too_long(ApiKey::DescribeConfigs, 1, &body);
    // CreateTopics v5: topic "a" with one assignment whose broker_ids claim 2^28.
    let mut body = vec![2, 2, b'a', 0, 0, 0, 1, 0, 1, 2, 0, 0, 0, 0];
    body.extend_from_slice(&[0x81, 0x80, 0x80, 0x80, 0x01]);
    too_long(ApiKey::CreateTopics, 5, &body);
    // OffsetCommit v2, nested: group "g", generation, member "", retention, one topic "t"
    // whose partition array claims a billion entries.
    let mut body = vec![0, 1, b'g', 0, 0, 0, 1, 0, 0];
    body.extend_from_slice(&(-1i64).to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 1, 0, 1, b't']);
    body.extend_from_slice(&1_000_000_000i32.to_be_bytes());
    too_long(ApiKey::OffsetCommit, 2, &body);
    // OffsetFetch v8: one group "g" whose topics claim 2^20 in a compact count.
    too_long(ApiKey::OffsetFetch, 8, &[2, 2, b'g', 0x81, 0x80, 0x40, 0]);
    // DescribeTopicPartitions v0: a topic count far beyond the frame.
    too_long(ApiKey::DescribeTopicPartitions, 0, &[0xff, 0xff, 0x7f]);

    // A nullable struct: marker 1 walks the struct, anything else is null.
    let cursor = |marker: u8, rest: &[u8]| {
        let mut body = vec![1, 0, 0, 0, 10, marker];
        body.extend_from_slice(rest);
        check(ApiKey::DescribeTopicPartitions, 0, &body)
    };
    assert_eq!(cursor(0, &[0]), Ok(7));
    assert_eq!(cursor(0xff, &[0]), Ok(7));
    assert_eq!(cursor(1, &[2, b't', 0, 0, 0, 3, 0, 0]), Ok(14));
    assert!(matches!(
        cursor(1, &[5, b't']),
        Err(GuardError::Truncated(_))
    ));
    // A string array entry whose length runs past the frame.
    assert!(matches!(
        check(ApiKey::DeleteGroups, 0, &[0, 0, 0, 1, 0, 9, b'g']),
        Err(GuardError::Truncated(_))
    ));
    // And a negative one (only -1, null, is allowed).
    assert!(matches!(
        check(ApiKey::DeleteGroups, 0, &[0, 0, 0, 1, 0xff, 0xfe]),
        Err(GuardError::NegativeLength { .. })
    ));
}

#[test]
fn group_and_admin_garbage_never_panics_or_over_allocates() {
    // As `never_panics_or_over_allocates_on_garbage`, over the group and admin requests.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for set in [false, true] {
        for Case {
            api_key,
            version: v,
            bytes: valid,
        } in group_and_admin_cases(set)
        {
            for round in 0..200 {
                let bytes: Vec<u8> = if round % 4 == 0 {
                    let len = (next() % 64) as usize;
                    (0..len).map(|_| next() as u8).collect()
                } else {
                    let mut b = valid.clone();
                    for _ in 0..1 + next() % 3 {
                        let i = (next() as usize) % b.len().max(1);
                        if let Some(x) = b.get_mut(i) {
                            *x = next() as u8;
                        }
                    }
                    b.truncate(b.len() - (next() as usize % 3).min(b.len()));
                    b
                };
                if check(api_key, v, &bytes).is_ok() {
                    let _ = RequestKind::decode(api_key, &mut Bytes::from(bytes), v);
                }
            }
        }
    }
}

/// The element fields of the first struct array among `fields`.
fn first_array(fields: &'static [Field]) -> &'static [Field] {
    fields
        .iter()
        .find_map(|f| match f.ty {
            Ty::Array(inner) => Some(inner),
            _ => None,
        })
        .unwrap()
}

fn top(api_key: ApiKey) -> &'static [Field] {
    schemas::of(api_key).unwrap().fields
}

#[test]
fn in_memory_sizes_are_lower_bounds_of_the_decoded_structs() {
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::offset_delete_request::{
        OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
    };
    use std::mem::size_of;
    assert_eq!(Ty::Str.in_memory(true), size_of::<StrBytes>());
    assert_eq!(Ty::Str.in_memory(true), size_of::<Option<TopicName>>());
    assert_eq!(Ty::Bytes.in_memory(true), size_of::<Option<Bytes>>());
    let fetch_topic = first_array(top(ApiKey::Fetch));
    let produce_topic = first_array(top(ApiKey::Produce));
    let offset_delete_topic = first_array(top(ApiKey::OffsetDelete));
    // Only OffsetDelete has no flexible version, so no tagged-field maps.
    let cases: [(&str, &'static [Field], usize); 8] = [
        (
            "MetadataRequestTopic",
            first_array(top(ApiKey::Metadata)),
            size_of::<MetadataRequestTopic>(),
        ),
        ("FetchTopic", fetch_topic, size_of::<FetchTopic>()),
        (
            "FetchPartition",
            first_array(fetch_topic),
            size_of::<FetchPartition>(),
        ),
        (
            "TopicProduceData",
            produce_topic,
            size_of::<TopicProduceData>(),
        ),
        (
            "PartitionProduceData",
            first_array(produce_topic),
            size_of::<PartitionProduceData>(),
        ),
        (
            "JoinGroupRequestProtocol",
            first_array(top(ApiKey::JoinGroup)),
            size_of::<JoinGroupRequestProtocol>(),
        ),
        (
            "OffsetDeleteRequestTopic",
            offset_delete_topic,
            size_of::<OffsetDeleteRequestTopic>(),
        ),
        (
            "OffsetDeleteRequestPartition",
            first_array(offset_delete_topic),
            size_of::<OffsetDeleteRequestPartition>(),
        ),
    ];
    for (what, fields, real) in cases {
        let est = struct_in_memory(fields, !what.starts_with("OffsetDelete"));
        // A lower bound (padding is not counted), but a close one.
        assert!(
            est <= real && est * 10 >= real * 7,
            "{what}: {est} vs {real}"
        );
    }
}

/// A ListGroups v5 body whose states filter holds `n` empty compact strings.
fn empty_strings(n: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(n + 8);
    let mut count = n as u32 + 1;
    while count >= 0x80 {
        body.push((count as u8) | 0x80);
        count >>= 7;
    }
    body.push(count as u8);
    body.extend(std::iter::repeat_n(1u8, n)); // compact length 0 + 1
    body.extend_from_slice(&[1, 0]); // empty types filter, no tagged fields
    body
}

#[test]
fn bounds_the_decoded_size_not_only_the_counts() {
    // Issue 13 item 9: a frame of empty compact strings decodes 32 times larger.
    let n = 4 << 20;
    let body = empty_strings(n);
    match walk(ApiKey::ListGroups, 5, &body) {
        Err(GuardError::TooLarge { budget, .. }) => {
            assert_eq!(budget, decode_budget(body.len()));
            assert!(budget < 64 << 20);
        }
        other => panic!("{other:?}"),
    }
    // A few thousand of them are fine, and the count is what the decoder allocates.
    let body = empty_strings(1000);
    let walked = walk(ApiKey::ListGroups, 5, &body).unwrap();
    assert_eq!(walked.consumed, body.len());
    assert_eq!(walked.decoded, 1000 * std::mem::size_of::<StrBytes>());
    let decoded = ListGroupsRequest::decode(&mut Bytes::from(body), 5).unwrap();
    assert_eq!(decoded.states_filter.len(), 1000);

    // Distinct unknown tagged fields each become a map entry.
    let mut body = vec![0x80, 0x80, 0x04]; // 65536 tagged fields
    for tag in 0u32..65536 {
        body.extend_from_slice(&[
            (tag as u8) | 0x80,
            ((tag >> 7) as u8) | 0x80,
            (tag >> 14) as u8,
        ]);
        body.push(0); // size 0
    }
    assert!(matches!(
        walk(ApiKey::ListGroups, 3, &body),
        Err(GuardError::TooLarge { .. })
    ));
    // A handful pass.
    let body = [3, 1, 0, 2, 0, 3, 0];
    let walked = walk(ApiKey::ListGroups, 3, &body).unwrap();
    assert_eq!(walked.consumed, body.len());
    assert!(walked.decoded >= 3 * 36, "{walked:?}");

    // The hard cap holds whatever the frame size.
    assert_eq!(decode_budget(usize::MAX), MAX_DECODED_BYTES);
    assert_eq!(decode_budget(0), DECODE_FLOOR);
}

#[test]
fn refuses_strings_longer_than_kafka_allows() {
    let topic = |len: usize| {
        MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string("t".repeat(len)))))]))
    };
    let mut ok = BytesMut::new();
    topic(MAX_STRING_BYTES).encode(&mut ok, 12).unwrap();
    assert_eq!(check(ApiKey::Metadata, 12, &ok).unwrap(), ok.len());
    let mut long = BytesMut::new();
    topic(MAX_STRING_BYTES + 1).encode(&mut long, 12).unwrap();
    assert!(matches!(
        check(ApiKey::Metadata, 12, &long),
        Err(GuardError::StringTooLong { len: 32768, .. })
    ));
}

#[test]
fn walks_request_headers_and_bounds_their_tagged_fields() {
    for (header_version, tags) in [(1, 0), (2, 0), (2, 3)] {
        let mut h = RequestHeader::default()
            .with_request_api_key(3)
            .with_request_api_version(12)
            .with_correlation_id(7)
            .with_client_id(Some(StrBytes::from_static_str("client")));
        for t in 0..tags {
            h.unknown_tagged_fields
                .insert(100 + t, Bytes::from_static(b"x"));
        }
        let mut buf = BytesMut::new();
        h.encode(&mut buf, header_version).unwrap();
        let len = buf.len();
        buf.extend_from_slice(b"body");
        let walked = walk_header(header_version, &buf).unwrap();
        assert_eq!(walked.consumed, len, "v{header_version} with {tags} tags");
        assert_eq!(walked.decoded > 0, tags > 0);
    }
    let mut frame = vec![0, 3, 0, 12, 0, 0, 0, 7, 0xff, 0xff]; // null client id
    frame.extend_from_slice(&[0x80, 0x80, 0x04]); // 65536 tagged fields
    for tag in 0u32..65536 {
        frame.extend_from_slice(&[
            (tag as u8) | 0x80,
            ((tag >> 7) as u8) | 0x80,
            (tag >> 14) as u8,
        ]);
        frame.push(0);
    }
    assert!(matches!(
        walk_header(2, &frame),
        Err(GuardError::TooLarge { .. })
    ));
}
