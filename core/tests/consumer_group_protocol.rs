//! The consumer group protocol (KIP-848) at the coordinator: joins, the revoke-before-move
//! reconciliation, member epochs and fencing, session expiry with a manual clock, commits at
//! the member epoch, and conversion between the protocols of an Empty group.
#![allow(clippy::unwrap_used)]

use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeSet;
use std::sync::Arc;
use strom::clock::ManualClock;
use strom::group::membership::ClientInfo;
use strom::group::{GroupConfig, GroupCoordinator};
use strom::{Broker, BrokerConfig};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn client() -> ClientInfo {
    ClientInfo {
        client_id: "test".into(),
        client_host: "/127.0.0.1".into(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    gc: GroupCoordinator,
    topic: uuid::Uuid,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let broker = Broker::open_with(
        dir.path(),
        BrokerConfig {
            housekeeping_interval: None,
            clock: clock.clone(),
            ..BrokerConfig::default()
        },
    )
    .unwrap();
    let topic = broker
        .create_topic("t", Some(4), Default::default())
        .unwrap()
        .id;
    let gc = GroupCoordinator::open(
        broker,
        GroupConfig {
            initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        },
        clock.clone(),
    )
    .unwrap();
    Fixture {
        _dir: dir,
        clock,
        gc,
        topic,
    }
}

fn join(member: &str) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_member_id(s(member))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
        .with_topic_partitions(Some(vec![]))
}

/// A full heartbeat at `epoch` owning `owned` partitions of the topic.
fn beat(f: &Fixture, member: &str, epoch: i32, owned: &[i32]) -> ConsumerGroupHeartbeatRequest {
    join(member)
        .with_member_epoch(epoch)
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic_id(f.topic)
            .with_partitions(owned.to_vec())]))
}

fn partitions(r: &ConsumerGroupHeartbeatResponse) -> BTreeSet<i32> {
    r.assignment
        .as_ref()
        .map(|a| {
            a.topic_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().copied())
                .collect()
        })
        .unwrap_or_default()
}

fn owned(set: &BTreeSet<i32>) -> Vec<i32> {
    set.iter().copied().collect()
}

fn commit(member: &str, epoch: i32) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id_or_member_epoch(epoch)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("t")))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(5)])])
}

#[tokio::test]
async fn members_reconcile_revoking_before_partitions_move() {
    let f = fixture();
    let a = f.gc.consumer_group_heartbeat(join("a"), 1, client());
    assert_eq!((a.error_code, a.member_epoch), (0, 1));
    assert_eq!(partitions(&a), BTreeSet::from([0, 1, 2, 3]));

    // b joins: the group moves to epoch 2; b's share is still a's, so b gets nothing yet.
    let b = f.gc.consumer_group_heartbeat(join("b"), 1, client());
    assert_eq!((b.error_code, b.member_epoch), (0, 2));
    assert!(partitions(&b).is_empty(), "unreleased: a still owns them");

    // a learns of the revocation: it keeps epoch 1 and is told to drop two partitions.
    let a =
        f.gc.consumer_group_heartbeat(beat(&f, "a", 1, &[0, 1, 2, 3]), 1, client());
    assert_eq!((a.error_code, a.member_epoch), (0, 1));
    let kept = partitions(&a);
    assert_eq!(kept.len(), 2);
    // A commit at an epoch the member does not have is stale.
    let stale = f.gc.offset_commit(commit("a", 2)).finish().await;
    assert_eq!(
        stale.topics[0].partitions[0].error_code, 113,
        "STALE_MEMBER_EPOCH"
    );
    let ok = f.gc.offset_commit(commit("a", 1)).finish().await;
    assert_eq!(ok.topics[0].partitions[0].error_code, 0);

    // a has revoked (reports only what it kept): it moves to epoch 2.
    let a =
        f.gc.consumer_group_heartbeat(beat(&f, "a", 1, &owned(&kept)), 1, client());
    assert_eq!((a.error_code, a.member_epoch), (0, 2));
    // Now b gets the released partitions.
    let b =
        f.gc.consumer_group_heartbeat(beat(&f, "b", 2, &[]), 1, client());
    assert_eq!(b.error_code, 0);
    let got = partitions(&b);
    assert_eq!(got.len(), 2);
    assert!(got.is_disjoint(&kept), "no partition has two owners");

    // A heartbeat from the future, or from an old epoch owning more than it has, is fenced.
    let fenced =
        f.gc.consumer_group_heartbeat(beat(&f, "b", 7, &[]), 1, client());
    assert_eq!(fenced.error_code, 110, "FENCED_MEMBER_EPOCH");
    let fenced =
        f.gc.consumer_group_heartbeat(beat(&f, "a", 1, &[0, 1, 2, 3]), 1, client());
    assert_eq!(fenced.error_code, 110);

    // b goes silent past group.consumer.session.timeout.ms (45 s): a gets everything back.
    f.clock.advance(20_000);
    let a =
        f.gc.consumer_group_heartbeat(beat(&f, "a", 2, &owned(&kept)), 1, client());
    assert_eq!(a.error_code, 0);
    f.clock.advance(30_000);
    f.gc.tick();
    let a =
        f.gc.consumer_group_heartbeat(beat(&f, "a", 2, &owned(&kept)), 1, client());
    assert_eq!((a.error_code, a.member_epoch), (0, 3));
    assert_eq!(partitions(&a), BTreeSet::from([0, 1, 2, 3]));
    let gone =
        f.gc.consumer_group_heartbeat(beat(&f, "b", 2, &[]), 1, client());
    assert_eq!(gone.error_code, 25, "UNKNOWN_MEMBER_ID after expiry");
}

#[tokio::test]
async fn leaving_empties_the_group_and_a_classic_member_may_take_it() {
    let f = fixture();
    let a = f.gc.consumer_group_heartbeat(join("a"), 1, client());
    assert_eq!(a.member_epoch, 1);
    let described = f.gc.consumer_group_describe(
        ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("g"))]),
        1,
    );
    let d = &described.groups[0];
    assert_eq!(
        (d.error_code, d.group_state.as_str(), d.group_epoch),
        (0, "Stable", 1)
    );
    assert_eq!(
        d.members[0].assignment.topic_partitions[0].partitions.len(),
        4
    );
    // A classic JoinGroup to a non-empty consumer group is refused.
    let classic = JoinGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(5_000)
        .with_member_id(s(""))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(bytes::Bytes::from_static(&[0, 0, 0, 0, 0, 0])),
        ]);
    let refused = f.gc.join_group(classic.clone(), 9, client()).await;
    assert_eq!(refused.error_code, 23, "INCONSISTENT_GROUP_PROTOCOL");
    // a leaves (epoch -1): the group is Empty, and converts to classic on the next JoinGroup.
    let left = f.gc.consumer_group_heartbeat(
        join("a").with_member_epoch(-1).with_topic_partitions(None),
        1,
        client(),
    );
    assert_eq!((left.error_code, left.member_epoch), (0, -1));
    let first = f.gc.join_group(classic, 9, client()).await;
    assert_eq!(
        first.error_code, 79,
        "MEMBER_ID_REQUIRED: a classic group now"
    );
}

#[tokio::test]
async fn hostile_heartbeats_are_refused_without_keeping_anything() {
    let f = fixture();
    let long_id = "m".repeat(300);
    let r = f.gc.consumer_group_heartbeat(join(&long_id), 1, client());
    assert_eq!(r.error_code, 42, "INVALID_REQUEST for a 300-byte member id");
    let many: Vec<TopicName> = (0..20_000)
        .map(|i| TopicName(s(&format!("topic-{i:060}"))))
        .collect();
    let r = f.gc.consumer_group_heartbeat(
        join("a").with_subscribed_topic_names(Some(many)),
        1,
        client(),
    );
    assert_eq!(
        r.error_code, 42,
        "INVALID_REQUEST for a subscription over 1 MiB"
    );
    let r = f.gc.consumer_group_heartbeat(
        join("a").with_subscribed_topic_regex(Some(s("(unclosed"))),
        1,
        client(),
    );
    assert_eq!(r.error_code, 128, "INVALID_REGULAR_EXPRESSION");
    let r = f.gc.consumer_group_heartbeat(
        join("a").with_server_assignor(Some(s("fancy"))),
        1,
        client(),
    );
    assert_eq!(r.error_code, 112, "UNSUPPORTED_ASSIGNOR");
    let described = f.gc.consumer_group_describe(
        ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("g"))]),
        1,
    );
    assert_eq!(described.groups[0].error_code, 69, "no group was created");
}
