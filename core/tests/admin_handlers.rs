//! The admin request handlers against an embedded broker: the per-item error codes and the
//! semantics Kafka clients rely on (validate_only, null configs, paging, config operations).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use strom::broker::admin::{cluster, configs, records, topics};
use strom::{Broker, BrokerConfig};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn broker(dir: &std::path::Path) -> Broker {
    Broker::open_with(
        dir,
        BrokerConfig {
            housekeeping_interval: None,
            default_partitions: 2,
            ..BrokerConfig::default()
        },
    )
    .unwrap()
}

fn creatable(name: &str, partitions: i32, configs: &[(&str, Option<&str>)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(s(name)))
        .with_num_partitions(partitions)
        .with_replication_factor(-1)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(s(k))
                        .with_value(v.map(s))
                })
                .collect(),
        )
}

#[test]
fn create_topics_reports_per_topic_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let req = CreateTopicsRequest::default().with_topics(vec![
        creatable("ok", 3, &[("retention.ms", Some("5000"))]),
        creatable("defaulted", -1, &[]),
        creatable("dup", 1, &[]),
        creatable("dup", 1, &[]),
        creatable("bad name!", 1, &[]),
        creatable("nullcfg", 1, &[("retention.ms", None)]),
        creatable("rf3", 1, &[]).with_replication_factor(3),
    ]);
    let resp = topics::create_topics(&b, req, 7);
    let codes: Vec<(String, i16)> = resp
        .topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.error_code))
        .collect();
    assert_eq!(
        codes,
        [
            ("ok".into(), 0),
            ("defaulted".into(), 0),
            ("dup".into(), 42),
            ("dup".into(), 42),
            ("bad name!".into(), 17),
            ("nullcfg".into(), 40),
            ("rf3".into(), 38),
        ]
    );
    let ok = &resp.topics[0];
    assert_eq!(ok.num_partitions, 3);
    assert_eq!(ok.topic_id, b.topic("ok").unwrap().id);
    let cfgs = ok.configs.as_ref().unwrap();
    let retention = cfgs
        .iter()
        .find(|c| c.name.as_str() == "retention.ms")
        .unwrap();
    assert_eq!(retention.value.as_ref().unwrap().as_str(), "5000");
    assert_eq!(retention.config_source, 1);
    assert_eq!(resp.topics[1].num_partitions, 2, "num.partitions default");
    assert!(resp.topics[4]
        .error_message
        .as_ref()
        .unwrap()
        .contains("bad name!"));

    // validate_only checks everything and creates nothing.
    let req = CreateTopicsRequest::default()
        .with_validate_only(true)
        .with_topics(vec![creatable("dry", 4, &[]), creatable("ok", 1, &[])]);
    let resp = topics::create_topics(&b, req, 7);
    assert_eq!(resp.topics[0].error_code, 0);
    assert_eq!(resp.topics[0].num_partitions, 4);
    assert_eq!(resp.topics[1].error_code, 36);
    assert!(b.topic("dry").is_none());
}

#[test]
fn delete_by_name_and_id_and_create_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let a = b.create_topic("a", Some(1), Default::default()).unwrap();
    b.create_topic("c", Some(1), Default::default()).unwrap();

    let resp = topics::create_partitions(
        &b,
        CreatePartitionsRequest::default().with_topics(vec![
            CreatePartitionsTopic::default()
                .with_name(TopicName(s("c")))
                .with_count(4),
            CreatePartitionsTopic::default()
                .with_name(TopicName(s("c")))
                .with_count(2),
            CreatePartitionsTopic::default()
                .with_name(TopicName(s("zz")))
                .with_count(2),
        ]),
    );
    let codes: Vec<i16> = resp.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [0, 37, 3]);
    assert_eq!(b.topic("c").unwrap().partitions, 4);

    let resp = topics::delete_topics(
        &b,
        DeleteTopicsRequest::default().with_topics(vec![
            DeleteTopicState::default().with_topic_id(a.id),
            DeleteTopicState::default().with_topic_id(uuid::Uuid::new_v4()),
            DeleteTopicState::default().with_name(Some(TopicName(s("c")))),
        ]),
        6,
    );
    let codes: Vec<i16> = resp.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [0, 100, 0]);
    assert_eq!(resp.responses[0].name.as_ref().unwrap().0.as_str(), "a");
    assert!(b.topics().is_empty());
    let resp = topics::delete_topics(
        &b,
        DeleteTopicsRequest::default().with_topic_names(vec![TopicName(s("a"))]),
        4,
    );
    assert_eq!(resp.responses[0].error_code, 3);
}

#[test]
fn describe_topic_partitions_pages_with_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t1", Some(3), Default::default()).unwrap();
    b.create_topic("t2", Some(2), Default::default()).unwrap();
    let mut req = DescribeTopicPartitionsRequest::default().with_response_partition_limit(2);
    let mut seen = Vec::new();
    for _ in 0..10 {
        let resp = topics::describe_topic_partitions(&b, req.clone());
        for t in &resp.topics {
            for p in &t.partitions {
                seen.push((t.name.as_ref().unwrap().0.to_string(), p.partition_index));
                assert_eq!(p.leader_id.0, 1);
            }
        }
        match resp.next_cursor {
            Some(c) => {
                req.cursor = Some(
                    kafka_protocol::messages::describe_topic_partitions_request::Cursor::default()
                        .with_topic_name(c.topic_name)
                        .with_partition_index(c.partition_index),
                )
            }
            None => break,
        }
    }
    let want: Vec<(String, i32)> = [("t1", 0), ("t1", 1), ("t1", 2), ("t2", 0), ("t2", 1)]
        .iter()
        .map(|(t, p)| (t.to_string(), *p))
        .collect();
    assert_eq!(seen, want);
    let resp = topics::describe_topic_partitions(
        &b,
        DescribeTopicPartitionsRequest::default()
            .with_response_partition_limit(100)
            .with_topics(vec![TopicRequest::default().with_name(TopicName(s("nope")))]),
    );
    assert_eq!(resp.topics[0].error_code, 3);
}

#[test]
fn configs_describe_and_alter_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", Some(1), Default::default()).unwrap();
    let alter = |ops: Vec<(&str, i8, Option<&str>)>| {
        configs::incremental_alter_configs(
            &b,
            IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_configs(
                        ops.into_iter()
                            .map(|(n, op, v)| {
                                AlterableConfig::default()
                                    .with_name(s(n))
                                    .with_config_operation(op)
                                    .with_value(v.map(s))
                            })
                            .collect(),
                    ),
            ]),
        )
        .responses[0]
            .error_code
    };
    assert_eq!(
        alter(vec![
            ("retention.ms", 0, Some("1234")),
            ("cleanup.policy", 2, Some("compact"))
        ]),
        0
    );
    let t = b.topic("t").unwrap();
    assert_eq!(t.configs["retention.ms"], "1234");
    assert_eq!(t.configs["cleanup.policy"], "delete,compact");
    assert_eq!(alter(vec![("cleanup.policy", 3, Some("delete"))]), 0);
    assert_eq!(b.topic("t").unwrap().configs["cleanup.policy"], "compact");
    assert_eq!(alter(vec![("retention.ms", 1, None)]), 0);
    assert!(!b.topic("t").unwrap().configs.contains_key("retention.ms"));
    assert_eq!(alter(vec![("retention.ms", 0, Some("soon"))]), 40);
    assert_eq!(alter(vec![("nope.nope", 0, Some("1"))]), 40);

    let resp = configs::describe_configs(
        &b,
        DescribeConfigsRequest::default()
            .with_include_synonyms(true)
            .with_include_documentation(true)
            .with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("t"))
                    .with_configuration_keys(Some(vec![s("cleanup.policy"), s("retention.ms")])),
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("missing")),
                DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("1")),
            ]),
        4,
    );
    let topic = &resp.results[0];
    assert_eq!(topic.configs.len(), 2);
    let policy = &topic.configs[0];
    assert_eq!(policy.name.as_str(), "cleanup.policy");
    assert_eq!(policy.value.as_ref().unwrap().as_str(), "compact");
    assert_eq!(policy.config_source, 1);
    assert_eq!(policy.config_type, 7);
    assert_eq!(policy.synonyms.len(), 2);
    let retention = &topic.configs[1];
    assert_eq!(retention.value.as_ref().unwrap().as_str(), "604800000");
    assert_eq!(retention.config_source, 5);
    assert_eq!(resp.results[1].error_code, 3);
    assert!(resp.results[2]
        .configs
        .iter()
        .any(|c| c.name.as_str() == "log.retention.ms" && c.read_only));
}

/// Every Kafka topic config is described with its type and source, overrides first among
/// the synonyms; group resources describe the consumer group configs read-only.
#[test]
fn describe_configs_reports_every_config_with_source_and_synonyms() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let overrides: strom::log::TopicConfigs = [
        ("min.cleanable.dirty.ratio", "0.3"),
        ("cleanup.policy", "compact"),
        ("preallocate", "true"),
        ("compression.type", "zstd"),
        ("internal.segment.bytes", "4096"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    b.create_topic("t", Some(1), overrides.clone()).unwrap();
    let describe = |resource_type: i8, name: &str| {
        configs::describe_configs(
            &b,
            DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_resources(vec![DescribeConfigsResource::default()
                    .with_resource_type(resource_type)
                    .with_resource_name(s(name))]),
            4,
        )
        .results
        .remove(0)
    };
    let topic = describe(2, "t");
    assert_eq!(topic.error_code, 0);
    // 33 public configs, plus the internal one because the topic sets it.
    assert_eq!(topic.configs.len(), 34);
    for c in &topic.configs {
        let name = c.name.as_str();
        let value = c.value.as_ref().map(|v| v.to_string());
        if let Some(v) = overrides.get(name) {
            assert_eq!(
                (c.config_source, value.as_deref()),
                (1, Some(v.as_str())),
                "{name}"
            );
            assert_eq!(c.synonyms[0].name.as_str(), name);
            assert_eq!(c.synonyms[0].source, 1);
        } else {
            assert_eq!(c.config_source, 5, "{name} is a default");
            assert_eq!(
                value.as_deref(),
                strom::log::config::default_of(name),
                "{name}"
            );
        }
        assert!(!c.read_only, "{name}");
        let last = c.synonyms.last();
        if name != "internal.segment.bytes" {
            assert_eq!(
                last.map(|s| s.source),
                Some(5),
                "{name}: ends with the default"
            );
        }
    }
    let by_name = |n: &str| topic.configs.iter().find(|c| c.name.as_str() == n).unwrap();
    let ratio = by_name("min.cleanable.dirty.ratio");
    assert_eq!(ratio.config_type, 6, "DOUBLE");
    let names: Vec<&str> = ratio.synonyms.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "min.cleanable.dirty.ratio",
            "log.cleaner.min.cleanable.ratio"
        ]
    );
    assert_eq!(ratio.synonyms[1].value.as_ref().unwrap().as_str(), "0.5");
    assert_eq!(by_name("preallocate").config_type, 1, "BOOLEAN");
    assert_eq!(by_name("compression.type").config_type, 2, "STRING");
    assert_eq!(by_name("segment.bytes").config_type, 3, "INT");
    assert_eq!(by_name("retention.ms").config_type, 5, "LONG");
    assert_eq!(by_name("cleanup.policy").config_type, 7, "LIST");
    assert_eq!(
        by_name("message.timestamp.after.max.ms")
            .value
            .as_ref()
            .unwrap()
            .as_str(),
        "3600000"
    );
    // No broker synonym: the default is reported under the topic config's own name.
    let remote = by_name("remote.storage.enable");
    assert_eq!(remote.synonyms.len(), 1);
    assert_eq!(remote.synonyms[0].name.as_str(), "remote.storage.enable");

    // Refusals name the config in Kafka's words.
    let create = topics::create_topics(
        &b,
        CreateTopicsRequest::default().with_topics(vec![
            creatable("bad1", 1, &[("min.cleanable.dirty.ratio", Some("1.5"))]),
            creatable("bad2", 1, &[("remote.storage.enable", Some("true"))]),
            creatable("bad3", 1, &[("segment.bytes", Some("1024"))]),
        ]),
        7,
    );
    let msgs: Vec<(i16, String)> = create
        .topics
        .iter()
        .map(|t| (t.error_code, t.error_message.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(
        msgs,
        [
            (40, "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1".to_string()),
            (40, "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.".to_string()),
            (40, "Invalid value 1024 for configuration segment.bytes: Value must be at least 1048576".to_string()),
        ]
    );

    // Groups: the consumer group configs with Kafka's broker defaults, read-only.
    let group = describe(32, "any-group");
    assert_eq!(group.error_code, 0);
    let got: Vec<(&str, &str, i8, bool)> = group
        .configs
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.value.as_ref().unwrap().as_str(),
                c.config_source,
                c.read_only,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("consumer.heartbeat.interval.ms", "5000", 5, true),
            ("consumer.session.timeout.ms", "45000", 5, true),
        ]
    );
    assert_eq!(
        group.configs[1].synonyms[0].name.as_str(),
        "group.consumer.session.timeout.ms"
    );
    let alter = configs::incremental_alter_configs(
        &b,
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(32)
                .with_resource_name(s("any-group"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(s("consumer.session.timeout.ms"))
                    .with_value(Some(s("50000")))]),
        ]),
    );
    assert_eq!(alter.responses[0].error_code, 42, "INVALID_REQUEST");
}

#[test]
fn delete_records_and_leader_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", Some(1), Default::default()).unwrap();
    for i in 0..4 {
        b.append("t", 0, &batch(&i.to_string(), 5, 10, 0, Compression::None))
            .unwrap();
    }
    let del = |offset: i64, partition: i32| {
        records::delete_records(
            &b,
            DeleteRecordsRequest::default().with_topics(vec![DeleteRecordsTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![DeleteRecordsPartition::default()
                    .with_partition_index(partition)
                    .with_offset(offset)])]),
        )
        .topics[0]
            .partitions[0]
            .clone()
    };
    let r = del(7, 0);
    assert_eq!((r.error_code, r.low_watermark), (0, 7));
    assert_eq!(del(99, 0).error_code, 1);
    assert_eq!(del(1, 5).error_code, 3);
    let r = del(-1, 0);
    assert_eq!((r.error_code, r.low_watermark), (0, 20));

    let epoch = |current: i32, asked: i32| {
        records::offset_for_leader_epoch(
            &b,
            OffsetForLeaderEpochRequest::default().with_topics(vec![
                OffsetForLeaderTopic::default()
                    .with_topic(TopicName(s("t")))
                    .with_partitions(vec![OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_current_leader_epoch(current)
                        .with_leader_epoch(asked)]),
            ]),
        )
        .topics[0]
            .partitions[0]
            .clone()
    };
    let r = epoch(0, 0);
    assert_eq!((r.error_code, r.leader_epoch, r.end_offset), (0, 0, 20));
    assert_eq!(epoch(-1, 0).end_offset, 20);
    assert_eq!(epoch(3, 0).error_code, 75);

    let c = cluster::describe_cluster(
        &b,
        DescribeClusterRequest::default().with_endpoint_type(1),
        "127.0.0.1",
        9092,
    );
    assert_eq!(c.cluster_id.as_str(), b.cluster_id());
    assert_eq!(c.brokers[0].port, 9092);
    let c = cluster::describe_cluster(
        &b,
        DescribeClusterRequest::default().with_endpoint_type(2),
        "h",
        1,
    );
    assert_ne!(c.error_code, 0);
}
