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
        check(ApiKey::CreateTopics, 0, &[]),
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
