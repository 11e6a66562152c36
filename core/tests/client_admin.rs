//! The admin client against strom in-process, strom over TCP, and Apache Kafka when
//! `STROM_TEST_KAFKA=host:port` is set: topics, configs, offsets and records, consumer groups
//! and the cluster description. Every wait is bounded (see `TestCluster::each`).
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::cluster::{eventually, Flavor, TestCluster};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use std::collections::BTreeMap;
use std::time::Duration;
use strom::client::admin::{AlterOp, ConfigSource, NewTopic, OffsetSpec};
use strom::client::{Admin, AdminBuilder, ClientError, ClientResult};
use strom::records::stored::{encode_batch, SimpleRecord};

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const INVALID_TOPIC: i16 = 17;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_CONFIG: i16 = 40;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;

async fn admin(c: &TestCluster) -> Admin {
    let config: Vec<(String, String)> = [
        ("client.id", "client-admin-test"),
        ("request.timeout.ms", "10000"),
        ("default.api.timeout.ms", "30000"),
        ("retry.backoff.ms", "50"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Admin::connect(c.endpoint.clone(), &config).await.unwrap()
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The Kafka code of a failed result, panicking on success.
fn code<T: std::fmt::Debug>(r: ClientResult<T>) -> i16 {
    match r {
        Err(e) => e
            .kafka_code()
            .unwrap_or_else(|| panic!("{e} has no Kafka code")),
        Ok(v) => panic!("expected a Kafka error, got {v:?}"),
    }
}

/// `name` as the metadata of every broker sees it (Kafka propagates new topics
/// asynchronously; strom answers at once).
async fn wait_for_topic(admin: &Admin, name: &str, partitions: usize) {
    let names = [name.to_string()];
    eventually(
        &format!("topic {name} with {partitions} partitions"),
        || async {
            let d = admin.describe_topics(&names).await.ok()?;
            (d[0].partitions.len() == partitions
                && d[0].partitions.iter().all(|p| p.leader.is_some()))
            .then_some(())
        },
    )
    .await;
}

async fn wait_until_gone(admin: &Admin, name: &str) {
    let names = [name.to_string()];
    eventually(&format!("topic {name} to be gone"), || async {
        match admin.describe_topics(&names).await {
            Err(e) if e.kafka_code() == Some(UNKNOWN_TOPIC_OR_PARTITION) => Some(()),
            _ => None,
        }
    })
    .await;
}

async fn new_topic(admin: &Admin, name: &str, partitions: i32) {
    admin
        .create_topic(name, Some(partitions), &[])
        .await
        .unwrap();
    wait_for_topic(admin, name, partitions as usize).await;
}

/// Appends `n` records stamped `timestamp` with a raw Produce to the partition's leader
/// (there is no producer yet), again while Kafka's new leader is not ready
/// (NOT_LEADER_OR_FOLLOWER right after creation).
async fn produce(admin: &Admin, topic: &str, partition: i32, timestamp: i64, n: usize) {
    let records: Vec<SimpleRecord> = (0..n)
        .map(|i| SimpleRecord::new(Some(format!("k{i}")), Some(format!("v{i}")), timestamp))
        .collect();
    let batch: Bytes = encode_batch(&records, Compression::None).unwrap().freeze();
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch))])]);
    eventually(&format!("producing to {topic}-{partition}"), || async {
        let d = admin.describe_topics(&[topic.to_string()]).await.unwrap();
        let leader = d[0].partitions[partition as usize].leader?;
        let response = admin
            .cluster()
            .call_node(leader, RequestKind::Produce(request.clone()))
            .await
            .unwrap();
        let ResponseKind::Produce(r) = response else {
            panic!("Produce answered with {response:?}")
        };
        let error = r.responses[0].partition_responses[0].error_code;
        let retriable = ClientError::kafka(error, "producing", None).is_retriable();
        assert!(error == 0 || retriable, "produce failed with code {error}");
        (error == 0).then_some(())
    })
    .await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn create_topics_with_configs_defaults_and_refusals() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let configured = c.unique("configured");
        let defaults = c.unique("defaults");
        let results = admin
            .create_topics(
                &[
                    NewTopic::new(&configured)
                        .partitions(3)
                        .replication_factor(1)
                        .config("retention.ms", "123456")
                        .config("cleanup.policy", "compact"),
                    NewTopic::new(&defaults),
                    NewTopic::new("bad/name").partitions(1),
                ],
                false,
            )
            .await
            .unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0], (configured.clone(), Ok(())));
        assert_eq!(results[1], (defaults.clone(), Ok(())));
        assert_eq!(results[2].0, "bad/name");
        assert_eq!(code(results[2].1.clone()), INVALID_TOPIC);

        wait_for_topic(&admin, &configured, 3).await;
        // Both strom's tests and the Kafka peer use num.partitions=1.
        wait_for_topic(&admin, &defaults, 1).await;
        let configs = admin.describe_topic_configs(&configured).await.unwrap();
        let retention = configs.iter().find(|e| e.name == "retention.ms").unwrap();
        assert_eq!(retention.value.as_deref(), Some("123456"));
        assert_eq!(retention.source, ConfigSource::DynamicTopic);
        assert!(!retention.is_default);
        let policy = configs.iter().find(|e| e.name == "cleanup.policy").unwrap();
        assert_eq!(policy.value.as_deref(), Some("compact"));

        let again = admin.create_topic(&configured, Some(1), &[]).await;
        assert_eq!(code(again), TOPIC_ALREADY_EXISTS);
        let bad_config = admin
            .create_topic(&c.unique("badconfig"), Some(1), &[("no.such.config", "1")])
            .await;
        assert_eq!(code(bad_config), INVALID_CONFIG);

        // validate_only checks and creates nothing.
        let dry = c.unique("dry-run");
        let checked = admin
            .create_topics(&[NewTopic::new(&dry).partitions(2)], true)
            .await
            .unwrap();
        assert_eq!(checked, vec![(dry.clone(), Ok(()))]);
        let dry_bad = admin
            .create_topics(&[NewTopic::new(&configured).partitions(2)], true)
            .await
            .unwrap();
        assert_eq!(code(dry_bad[0].1.clone()), TOPIC_ALREADY_EXISTS);
        assert!(!admin.list_topics(true).await.unwrap().contains(&dry));
        let described = admin.describe_topics(std::slice::from_ref(&dry)).await;
        assert_eq!(code(described), UNKNOWN_TOPIC_OR_PARTITION);
    })
    .await;
}

#[tokio::test]
async fn list_and_describe_topics() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let a = c.unique("list-a");
        let b = c.unique("list-b");
        new_topic(&admin, &b, 2).await;
        new_topic(&admin, &a, 1).await;

        let listed = admin.list_topics(false).await.unwrap();
        assert!(listed.contains(&a) && listed.contains(&b), "{listed:?}");
        assert!(listed.windows(2).all(|w| w[0] < w[1]), "sorted: {listed:?}");
        assert!(!listed.iter().any(|t| t.starts_with("__")), "{listed:?}");
        let with_internal = admin.list_topics(true).await.unwrap();
        assert!(listed.iter().all(|t| with_internal.contains(t)));

        let cluster = admin.describe_cluster().await.unwrap();
        let nodes: Vec<i32> = cluster.brokers.iter().map(|(id, _)| *id).collect();
        let described = admin
            .describe_topics(&[b.clone(), a.clone()])
            .await
            .unwrap();
        assert_eq!(described.len(), 2);
        assert_eq!(described[0].name, b);
        assert_eq!(described[1].name, a);
        assert_ne!(described[0].id, described[1].id);
        for t in &described {
            assert!(!t.id.is_nil(), "{t:?}");
            assert!(!t.internal);
            for (i, p) in t.partitions.iter().enumerate() {
                assert_eq!(p.partition, i as i32);
                let leader = p.leader.unwrap();
                assert!(nodes.contains(&leader), "{leader} in {nodes:?}");
                assert!(
                    p.replicas.contains(&leader) && p.isr.contains(&leader),
                    "{p:?}"
                );
            }
        }
        assert_eq!(described[0].partitions.len(), 2);

        let unknown = admin
            .describe_topics(&[a.clone(), c.unique("nowhere")])
            .await;
        assert_eq!(code(unknown), UNKNOWN_TOPIC_OR_PARTITION);
        assert!(admin.describe_topics(&[]).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn create_partitions_grows_topics_only() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let t = c.unique("grow");
        new_topic(&admin, &t, 1).await;
        admin.create_partitions(&t, 3).await.unwrap();
        wait_for_topic(&admin, &t, 3).await;
        assert_eq!(
            code(admin.create_partitions(&t, 2).await),
            INVALID_PARTITIONS
        );
        assert_eq!(
            code(admin.create_partitions(&c.unique("nowhere"), 2).await),
            UNKNOWN_TOPIC_OR_PARTITION
        );
    })
    .await;
}

#[tokio::test]
async fn describe_and_alter_configs() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let t = c.unique("configs");
        new_topic(&admin, &t, 1).await;
        // Kafka applies a config change to its brokers asynchronously: wait for `want`.
        let retention = async |want: Option<&str>| {
            eventually("retention.ms to change", || async {
                let configs = admin.describe_topic_configs(&t).await.unwrap();
                let e = configs.into_iter().find(|e| e.name == "retention.ms")?;
                (e.value.as_deref() == want).then_some(e)
            })
            .await
        };
        let before = retention(Some("604800000")).await;
        assert!(before.is_default, "{before:?}");
        assert_eq!(before.source, ConfigSource::Default);

        admin
            .alter_topic_configs(&t, &[AlterOp::set("retention.ms", "3600000")])
            .await
            .unwrap();
        let set = retention(Some("3600000")).await;
        assert_eq!(set.source, ConfigSource::DynamicTopic);
        assert!(!set.is_default && !set.read_only && !set.sensitive);

        admin
            .alter_topic_configs(&t, &[AlterOp::delete("retention.ms")])
            .await
            .unwrap();
        assert!(retention(Some("604800000")).await.is_default);

        let unknown = admin
            .alter_topic_configs(&t, &[AlterOp::set("no.such.config", "1")])
            .await;
        assert_eq!(code(unknown), INVALID_CONFIG);
        let bad_value = admin
            .alter_topic_configs(&t, &[AlterOp::set("retention.ms", "soon")])
            .await;
        assert_eq!(code(bad_value), INVALID_CONFIG);
        assert_eq!(
            code(admin.describe_topic_configs(&c.unique("nowhere")).await),
            UNKNOWN_TOPIC_OR_PARTITION
        );

        let node = admin.describe_cluster().await.unwrap().brokers[0].0;
        let broker = admin.describe_broker_configs(node).await.unwrap();
        assert!(
            broker.iter().any(|e| e.name == "log.retention.ms"),
            "{broker:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn delete_topics_then_describe_fails() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let t = c.unique("doomed");
        let unknown = c.unique("nowhere");
        new_topic(&admin, &t, 2).await;
        let results = admin
            .delete_topics(&[t.clone(), unknown.clone()])
            .await
            .unwrap();
        assert_eq!(results[0], (t.clone(), Ok(())));
        assert_eq!(results[1].0, unknown);
        assert_eq!(code(results[1].1.clone()), UNKNOWN_TOPIC_OR_PARTITION);
        wait_until_gone(&admin, &t).await;
        assert!(!admin.list_topics(false).await.unwrap().contains(&t));
        assert_eq!(
            code(admin.delete_topic(&t).await),
            UNKNOWN_TOPIC_OR_PARTITION
        );
    })
    .await;
}

#[tokio::test]
async fn list_offsets_and_delete_records() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let t = c.unique("offsets");
        new_topic(&admin, &t, 2).await;
        let base = now_ms() - 60_000;
        for i in 0..3 {
            produce(&admin, &t, 0, base + i * 1000, 2).await;
        }
        let look = async |spec: OffsetSpec| {
            let listed = admin
                .list_offsets(&[(t.clone(), 0, spec), (t.clone(), 1, OffsetSpec::Latest)])
                .await
                .unwrap();
            assert_eq!(listed[&(t.clone(), 1)].offset, 0);
            listed[&(t.clone(), 0)]
        };
        assert_eq!(look(OffsetSpec::Earliest).await.offset, 0);
        assert_eq!(look(OffsetSpec::Latest).await.offset, 6);
        let at = look(OffsetSpec::Timestamp(base + 1000)).await;
        assert_eq!((at.offset, at.timestamp), (2, base + 1000));
        let between = look(OffsetSpec::Timestamp(base + 1500)).await;
        assert_eq!((between.offset, between.timestamp), (4, base + 2000));
        assert_eq!(look(OffsetSpec::Timestamp(base + 10_000)).await.offset, -1);
        let max = look(OffsetSpec::MaxTimestamp).await;
        assert_eq!(max.timestamp, base + 2000);
        assert!((4..=5).contains(&max.offset), "{max:?}");
        assert!(matches!(
            admin
                .list_offsets(&[(t.clone(), 0, OffsetSpec::Timestamp(-5))])
                .await,
            Err(ClientError::InvalidArgument(_))
        ));
        let unknown = admin
            .list_offsets(&[(t.clone(), 7, OffsetSpec::Latest)])
            .await;
        assert_eq!(code(unknown), UNKNOWN_TOPIC_OR_PARTITION);

        let low = admin.delete_records(&[(t.clone(), 0, 3)]).await.unwrap();
        assert_eq!(low, BTreeMap::from([((t.clone(), 0), 3)]));
        assert_eq!(look(OffsetSpec::Earliest).await.offset, 3);
        assert_eq!(look(OffsetSpec::Latest).await.offset, 6);
        let past_end = admin.delete_records(&[(t.clone(), 0, 100)]).await;
        assert_eq!(code(past_end), OFFSET_OUT_OF_RANGE);
        // -1: everything up to the high watermark.
        let all = admin.delete_records(&[(t.clone(), 0, -1)]).await.unwrap();
        assert_eq!(all[&(t.clone(), 0)], 6);
        assert_eq!(look(OffsetSpec::Earliest).await.offset, 6);
    })
    .await;
}

#[tokio::test]
async fn consumer_group_offsets_of_an_empty_group() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let t = c.unique("grouped");
        let g = c.unique("group");
        new_topic(&admin, &t, 2).await;
        let offsets = BTreeMap::from([((t.clone(), 0), 5), ((t.clone(), 1), 7)]);
        admin
            .alter_consumer_group_offsets(&g, &offsets)
            .await
            .unwrap();
        let unknown_topic = BTreeMap::from([((c.unique("nowhere"), 0), 1)]);
        assert_eq!(
            code(admin.alter_consumer_group_offsets(&g, &unknown_topic).await),
            UNKNOWN_TOPIC_OR_PARTITION
        );

        let listing = eventually("the group in ListGroups", || async {
            let groups = admin.list_groups().await.unwrap();
            groups.into_iter().find(|l| l.group_id == g)
        })
        .await;
        assert_eq!(listing.state.as_deref(), Some("Empty"));
        let described = admin
            .describe_groups(std::slice::from_ref(&g))
            .await
            .unwrap();
        assert_eq!(described.len(), 1);
        let d = &described[0];
        assert_eq!(
            (d.group_id.as_str(), d.state.as_str()),
            (g.as_str(), "Empty")
        );
        assert!(d.members.is_empty());
        let nodes = admin.describe_cluster().await.unwrap().brokers;
        assert!(nodes.iter().any(|(id, _)| *id == d.coordinator), "{d:?}");

        assert_eq!(
            admin.list_consumer_group_offsets(&g).await.unwrap(),
            offsets
        );
        admin
            .delete_consumer_group_offsets(&g, &[(t.clone(), 0)])
            .await
            .unwrap();
        assert_eq!(
            admin.list_consumer_group_offsets(&g).await.unwrap(),
            BTreeMap::from([((t.clone(), 1), 7)])
        );

        let unknown = c.unique("no-group");
        let deleted = admin
            .delete_groups(&[g.clone(), unknown.clone()])
            .await
            .unwrap();
        assert_eq!(deleted[0], (g.clone(), Ok(())));
        assert_eq!(code(deleted[1].1.clone()), GROUP_ID_NOT_FOUND);
        let groups = admin.list_groups().await.unwrap();
        assert!(!groups.iter().any(|l| l.group_id == g), "{groups:?}");
        // Before DescribeGroups v6 a missing group is described as Dead.
        match admin.describe_groups(std::slice::from_ref(&g)).await {
            Ok(d) => assert_eq!(d[0].state, "Dead"),
            Err(e) => assert_eq!(e.kafka_code(), Some(GROUP_ID_NOT_FOUND)),
        }
        assert!(admin
            .list_consumer_group_offsets(&g)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}

/// ConsumerProtocolSubscription v0 for `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut b = 0i16.to_be_bytes().to_vec();
    b.extend((topics.len() as i32).to_be_bytes());
    for t in topics {
        b.extend((t.len() as i16).to_be_bytes());
        b.extend(t.as_bytes());
    }
    b.extend((-1i32).to_be_bytes());
    Bytes::from(b)
}

/// ConsumerProtocolAssignment v0 of `partitions` of `topic`.
fn assignment(topic: &str, partitions: &[i32]) -> Bytes {
    let mut b = 0i16.to_be_bytes().to_vec();
    b.extend(1i32.to_be_bytes());
    b.extend((topic.len() as i16).to_be_bytes());
    b.extend(topic.as_bytes());
    b.extend((partitions.len() as i32).to_be_bytes());
    for p in partitions {
        b.extend(p.to_be_bytes());
    }
    b.extend((-1i32).to_be_bytes());
    Bytes::from(b)
}

async fn to_coordinator(admin: &Admin, group: &str, request: RequestKind) -> ResponseKind {
    admin
        .cluster()
        .call_coordinator(group, request)
        .await
        .unwrap()
}

#[tokio::test]
async fn describe_a_group_with_a_member_and_its_assignment() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let t = c.unique("assigned");
        let g = c.unique("members");
        new_topic(&admin, &t, 2).await;
        let join = |member_id: &str| {
            RequestKind::JoinGroup(
                JoinGroupRequest::default()
                    .with_group_id(GroupId(s(&g)))
                    .with_session_timeout_ms(10_000)
                    .with_rebalance_timeout_ms(10_000)
                    .with_member_id(s(member_id))
                    .with_protocol_type(s("consumer"))
                    .with_protocols(vec![JoinGroupRequestProtocol::default()
                        .with_name(s("range"))
                        .with_metadata(subscription(&[&t]))]),
            )
        };
        let ResponseKind::JoinGroup(mut joined) = to_coordinator(&admin, &g, join("")).await else {
            panic!("not a JoinGroup response")
        };
        if joined.error_code == MEMBER_ID_REQUIRED {
            let member = joined.member_id.to_string();
            let ResponseKind::JoinGroup(again) = to_coordinator(&admin, &g, join(&member)).await
            else {
                panic!("not a JoinGroup response")
            };
            joined = again;
        }
        assert_eq!(joined.error_code, 0, "{joined:?}");
        let member = joined.member_id.clone();
        let sync = SyncGroupRequest::default()
            .with_group_id(GroupId(s(&g)))
            .with_generation_id(joined.generation_id)
            .with_member_id(member.clone())
            .with_protocol_type(Some(s("consumer")))
            .with_protocol_name(Some(s("range")))
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(member.clone())
                .with_assignment(assignment(&t, &[0, 1]))]);
        let ResponseKind::SyncGroup(synced) =
            to_coordinator(&admin, &g, RequestKind::SyncGroup(sync)).await
        else {
            panic!("not a SyncGroup response")
        };
        assert_eq!(synced.error_code, 0, "{synced:?}");

        let d = admin
            .describe_groups(std::slice::from_ref(&g))
            .await
            .unwrap();
        let d = &d[0];
        assert_eq!(d.state, "Stable");
        assert_eq!(
            (d.protocol_type.as_str(), d.protocol.as_str()),
            ("consumer", "range")
        );
        assert_eq!(d.members.len(), 1);
        let m = &d.members[0];
        assert_eq!(m.member_id, member.to_string());
        assert_eq!(m.client_id, "client-admin-test");
        assert_eq!(m.group_instance_id, None);
        assert!(!m.client_host.is_empty());
        assert_eq!(m.assignment, vec![(t.clone(), vec![0, 1])]);

        // A group with members cannot be deleted; once the member leaves it can.
        let busy = admin.delete_groups(std::slice::from_ref(&g)).await.unwrap();
        assert!(busy[0].1.is_err(), "{busy:?}");
        let leave = LeaveGroupRequest::default()
            .with_group_id(GroupId(s(&g)))
            .with_members(vec![MemberIdentity::default().with_member_id(member)]);
        let ResponseKind::LeaveGroup(left) =
            to_coordinator(&admin, &g, RequestKind::LeaveGroup(leave)).await
        else {
            panic!("not a LeaveGroup response")
        };
        assert_eq!(left.error_code, 0, "{left:?}");
        let d = admin
            .describe_groups(std::slice::from_ref(&g))
            .await
            .unwrap();
        assert_eq!(d[0].state, "Empty");
        admin.delete_group(&g).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn describe_cluster_names_brokers_and_controller() {
    TestCluster::each(async |c: &TestCluster| {
        let admin = admin(c).await;
        let d = admin.describe_cluster().await.unwrap();
        assert!(
            d.cluster_id.as_ref().is_some_and(|id| !id.is_empty()),
            "{d:?}"
        );
        assert!(!d.brokers.is_empty());
        let controller = d.controller.unwrap();
        assert!(d.brokers.iter().any(|(id, _)| *id == controller), "{d:?}");
        if c.flavor == Flavor::Tcp || c.is_kafka() {
            // Over TCP the address is one a client can connect to.
            assert!(d.brokers.iter().all(|(_, a)| a.contains(':')), "{d:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn builder_checks_settings_and_connects_in_process() {
    let bad_key = Admin::connect(
        strom::client::Endpoint::bootstrap("127.0.0.1:9").unwrap(),
        &[("retries.forever".to_string(), "1".to_string())],
    )
    .await;
    assert!(
        matches!(&bad_key, Err(ClientError::Config(m)) if m.contains("retries.forever")),
        "{bad_key:?}"
    );
    let bad_value = AdminBuilder::new()
        .bootstrap("127.0.0.1:9")
        .set("default.api.timeout.ms", "-1")
        .build()
        .await;
    assert!(
        matches!(&bad_value, Err(ClientError::Config(m)) if m.contains("default.api.timeout.ms")),
        "{bad_value:?}"
    );
    let no_cluster = AdminBuilder::new().build().await;
    assert!(matches!(no_cluster, Err(ClientError::Config(_))));
    // Nothing listens on port 9 of localhost: connecting fails, bounded.
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        AdminBuilder::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("socket.connection.setup.timeout.ms", "1000")
            .set("default.api.timeout.ms", "2000")
            .build(),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            refused,
            Err(ClientError::Connect { .. }) | Err(ClientError::Timeout(_))
        ),
        "{refused:?}"
    );

    let c = TestCluster::in_process().await;
    let admin = AdminBuilder::new()
        .in_process(c.service().unwrap())
        .set("client.id", "builder-test")
        .build()
        .await
        .unwrap();
    let t = c.unique("built");
    admin.create_topic(&t, None, &[]).await.unwrap();
    assert_eq!(admin.list_topics(false).await.unwrap(), vec![t]);
    c.shutdown().await;
}
