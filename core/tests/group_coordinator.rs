//! The group coordinator driven directly: the join/sync round trips, heartbeats and errors,
//! session expiry with a manual clock, static membership, offsets across restarts.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::sync::Arc;
use std::time::Duration;
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
    broker: Broker,
    clock: Arc<ManualClock>,
    gc: GroupCoordinator,
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
    broker
        .create_topic("t", Some(4), Default::default())
        .unwrap();
    let gc = coordinator(&broker, &clock);
    Fixture {
        _dir: dir,
        broker,
        clock,
        gc,
    }
}

fn coordinator(broker: &Broker, clock: &Arc<ManualClock>) -> GroupCoordinator {
    GroupCoordinator::open(
        broker.clone(),
        GroupConfig {
            initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        },
        clock.clone(),
    )
    .unwrap()
}

fn join(member: &str, instance: Option<&str>) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(5_000)
        .with_member_id(s(member))
        .with_group_instance_id(instance.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(&[
                0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff,
            ]))])
}

/// The v4+ round trip: MEMBER_ID_REQUIRED with an id, then the real join.
async fn join_new(gc: &GroupCoordinator) -> String {
    let first = gc.join_group(join("", None), 9, client()).await;
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED");
    first.member_id.to_string()
}

fn sync(member: &str, generation: i32, assignments: &[(&str, &[u8])]) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::copy_from_slice(a))
                })
                .collect(),
        )
}

fn heartbeat(member: &str, generation: i32) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id(generation)
        .with_member_id(s(member))
}

#[tokio::test]
async fn two_members_rebalance_sync_and_leave() {
    let f = fixture();
    let a = join_new(&f.gc).await;
    let ja = f.gc.join_group(join(&a, None), 9, client()).await;
    assert_eq!(ja.error_code, 0);
    assert_eq!(ja.generation_id, 1);
    assert_eq!(ja.leader.as_str(), a);
    assert_eq!(ja.members.len(), 1);
    let sa = f.gc.sync_group(sync(&a, 1, &[(&a, b"A1")])).await;
    assert_eq!((sa.error_code, &sa.assignment[..]), (0, &b"A1"[..]));
    assert_eq!(f.gc.heartbeat(heartbeat(&a, 1)).error_code, 0);

    // A second member joins: the first learns of it from its heartbeat and rejoins.
    let b = join_new(&f.gc).await;
    let gc = f.gc.clone();
    let b2 = b.clone();
    let jb = tokio::spawn(async move { gc.join_group(join(&b2, None), 9, client()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        f.gc.heartbeat(heartbeat(&a, 1)).error_code,
        27,
        "REBALANCE_IN_PROGRESS"
    );
    let ja = f.gc.join_group(join(&a, None), 9, client()).await;
    let jb = jb.await.unwrap();
    assert_eq!((ja.generation_id, jb.generation_id), (2, 2));
    assert_eq!(ja.leader.as_str(), a, "the leader stays the leader");
    assert_eq!(ja.members.len(), 2);
    assert!(jb.members.is_empty(), "only the leader sees the members");

    // The follower's sync waits for the leader's assignments.
    let gc = f.gc.clone();
    let b2 = b.clone();
    let sb = tokio::spawn(async move { gc.sync_group(sync(&b2, 2, &[])).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!sb.is_finished());
    let sa = f.gc.sync_group(sync(&a, 2, &[(&a, b"A2")])).await;
    let sb = sb.await.unwrap();
    assert_eq!(&sa.assignment[..], b"A2");
    // The leader gave b nothing: it gets a valid empty consumer assignment, not zero bytes.
    assert_eq!(
        &sb.assignment[..],
        &[0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
    );

    // Stale generation and unknown members are refused without changing anything.
    assert_eq!(
        f.gc.heartbeat(heartbeat(&a, 1)).error_code,
        22,
        "ILLEGAL_GENERATION"
    );
    assert_eq!(
        f.gc.heartbeat(heartbeat("nobody", 2)).error_code,
        25,
        "UNKNOWN_MEMBER_ID"
    );
    assert_eq!(f.gc.sync_group(sync("nobody", 2, &[])).await.error_code, 25);

    let described = f.gc.describe_groups(
        DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]),
        5,
    );
    assert_eq!(described.groups[0].group_state.as_str(), "Stable");
    assert_eq!(described.groups[0].members.len(), 2);
    assert_eq!(described.groups[0].protocol_data.as_str(), "range");

    // b leaves (v3+ batch form): a must rejoin alone.
    let left = f.gc.leave_group(
        LeaveGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_members(vec![MemberIdentity::default().with_member_id(s(&b))]),
        5,
    );
    assert_eq!(left.members[0].error_code, 0);
    assert_eq!(f.gc.heartbeat(heartbeat(&a, 2)).error_code, 27);
    let ja = f.gc.join_group(join(&a, None), 9, client()).await;
    assert_eq!((ja.generation_id, ja.members.len()), (3, 1));
    let _ = f.broker;
}

#[tokio::test]
async fn an_expired_member_is_removed_and_the_rest_rebalance() {
    let f = fixture();
    let a = join_new(&f.gc).await;
    f.gc.join_group(join(&a, None), 9, client()).await;
    f.gc.sync_group(sync(&a, 1, &[(&a, b"x")])).await;
    let b = join_new(&f.gc).await;
    let gc = f.gc.clone();
    let b2 = b.clone();
    let jb = tokio::spawn(async move { gc.join_group(join(&b2, None), 9, client()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    // a never rejoins: after the rebalance timeout the join completes without it.
    f.clock.advance(5_001);
    f.gc.tick();
    let jb = jb.await.unwrap();
    assert_eq!(jb.error_code, 0);
    assert_eq!(jb.leader.as_str(), b, "a was dropped, b leads");
    assert_eq!(f.gc.heartbeat(heartbeat(&a, 1)).error_code, 25);
    f.gc.sync_group(sync(&b, 2, &[(&b, b"y")])).await;
    // b goes silent past its session timeout: the group empties. It stays, Empty, until the
    // next offsets.retention.check.interval.ms (600 s) finds it without committed offsets
    // and forgets it (Kafka turns such a group Dead then).
    f.clock.advance(10_001);
    f.gc.tick();
    assert_eq!(f.gc.heartbeat(heartbeat(&b, 2)).error_code, 25);
    let listed = f.gc.list_groups(ListGroupsRequest::default()).groups;
    assert_eq!(
        listed
            .iter()
            .map(|g| (g.group_id.as_str(), g.group_state.as_str()))
            .collect::<Vec<_>>(),
        [("g", "Empty")]
    );
    f.clock.advance(600_000);
    f.gc.tick();
    assert!(f
        .gc
        .list_groups(ListGroupsRequest::default())
        .groups
        .is_empty());
    let d = f.gc.describe_groups(
        DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]),
        6,
    );
    assert_eq!(
        (d.groups[0].group_state.as_str(), d.groups[0].error_code),
        ("Dead", 69)
    );
}

#[tokio::test]
async fn static_members_fence_their_old_incarnation() {
    let f = fixture();
    let first = f.gc.join_group(join("", Some("host-1")), 9, client()).await;
    assert_eq!(
        first.error_code, 0,
        "static members skip MEMBER_ID_REQUIRED"
    );
    let old = first.member_id.to_string();
    f.gc.sync_group(sync(&old, 1, &[(&old, b"a")])).await;
    // The same instance restarts with a new member id; the old id is fenced.
    let gc = f.gc.clone();
    let again =
        tokio::spawn(async move { gc.join_group(join("", Some("host-1")), 9, client()).await });
    let again = again.await.unwrap();
    assert_eq!(again.error_code, 0);
    assert_ne!(again.member_id.to_string(), old);
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id(again.generation_id)
        .with_member_id(s(&old))
        .with_group_instance_id(Some(s("host-1")));
    assert_eq!(f.gc.heartbeat(hb).error_code, 82, "FENCED_INSTANCE_ID");
}

fn commit(member: &str, generation: i32, offset: i64, meta: &str) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("t")))
            .with_partitions(vec![
                OffsetCommitRequestPartition::default()
                    .with_partition_index(1)
                    .with_committed_offset(offset)
                    .with_committed_metadata(Some(s(meta))),
                OffsetCommitRequestPartition::default()
                    .with_partition_index(99)
                    .with_committed_offset(offset),
            ])])
}

fn fetch_one(gc: &GroupCoordinator) -> (i64, String) {
    let resp = gc.offset_fetch(
        OffsetFetchRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partition_indexes(vec![1])])),
        7,
    );
    let p = &resp.topics[0].partitions[0];
    (p.committed_offset, p.metadata.as_ref().unwrap().to_string())
}

#[tokio::test]
async fn offsets_commit_fetch_and_survive_a_restart() {
    let f = fixture();
    // Outside group management (assign + commit).
    let resp =
        f.gc.offset_commit(commit("", -1, 42, "meta-1"))
            .finish()
            .await;
    let codes: Vec<i16> = resp.topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(codes, [0, 3]);
    assert_eq!(fetch_one(&f.gc), (42, "meta-1".to_string()));

    // A member of a live generation commits; stale generations are refused.
    let a = join_new(&f.gc).await;
    f.gc.join_group(join(&a, None), 9, client()).await;
    f.gc.sync_group(sync(&a, 1, &[(&a, b"x")])).await;
    assert_eq!(
        f.gc.offset_commit(commit(&a, 1, 50, "m2"))
            .finish()
            .await
            .topics[0]
            .partitions[0]
            .error_code,
        0
    );
    assert_eq!(
        f.gc.offset_commit(commit(&a, 0, 60, "m3"))
            .finish()
            .await
            .topics[0]
            .partitions[0]
            .error_code,
        22
    );
    assert_eq!(
        f.gc.offset_commit(commit("", -1, 70, "m4"))
            .finish()
            .await
            .topics[0]
            .partitions[0]
            .error_code,
        25
    );
    assert_eq!(fetch_one(&f.gc), (50, "m2".to_string()));

    // Restart: offsets and the group's membership come back.
    let Fixture {
        _dir,
        broker,
        clock,
        gc,
    } = f;
    drop(gc);
    broker.close().unwrap();
    drop(broker);
    let broker = Broker::open_with(
        _dir.path(),
        BrokerConfig {
            housekeeping_interval: None,
            clock: clock.clone(),
            ..BrokerConfig::default()
        },
    )
    .unwrap();
    let gc = coordinator(&broker, &clock);
    assert_eq!(fetch_one(&gc), (50, "m2".to_string()));
    assert_eq!(
        gc.heartbeat(heartbeat(&a, 1)).error_code,
        0,
        "membership survived"
    );
    let d = gc.describe_groups(
        DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]),
        5,
    );
    assert_eq!(d.groups[0].group_state.as_str(), "Stable");

    // A non-empty group cannot be deleted; once empty it can, offsets and all.
    let del = |gc: &GroupCoordinator| {
        gc.delete_groups(DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]))
            .results[0]
            .error_code
    };
    assert_eq!(del(&gc), 68, "NON_EMPTY_GROUP");
    gc.leave_group(
        LeaveGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_member_id(s(&a)),
        1,
    );
    assert_eq!(del(&gc), 0);
    assert_eq!(fetch_one(&gc).0, -1);
    assert_eq!(del(&gc), 69, "GROUP_ID_NOT_FOUND");
}

#[tokio::test]
async fn commits_are_accepted_while_preparing_and_refused_while_completing() {
    let f = fixture();
    let a = join_new(&f.gc).await;
    f.gc.join_group(join(&a, None), 9, client()).await;
    f.gc.sync_group(sync(&a, 1, &[(&a, b"x")])).await;
    // A second member starts a rebalance; a's commit of generation 1 still counts.
    let b = join_new(&f.gc).await;
    let gc = f.gc.clone();
    let b2 = b.clone();
    let jb = tokio::spawn(async move { gc.join_group(join(&b2, None), 9, client()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r =
        f.gc.offset_commit(commit(&a, 1, 7, "on-revoke"))
            .finish()
            .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0, "commit on revoke");
    // Once the join phase completes (generation 2 awaiting sync), generation 1 is refused.
    f.gc.join_group(join(&a, None), 9, client()).await;
    jb.await.unwrap();
    let r = f.gc.offset_commit(commit(&a, 2, 8, "early")).finish().await;
    assert_eq!(
        r.topics[0].partitions[0].error_code, 27,
        "REBALANCE_IN_PROGRESS"
    );
    assert_eq!(fetch_one(&f.gc), (7, "on-revoke".to_string()));
}

#[tokio::test]
async fn a_returning_static_member_takes_its_place_without_a_rebalance() {
    let f = fixture();
    let first = f.gc.join_group(join("", Some("host-a")), 9, client()).await;
    let a = first.member_id.to_string();
    f.gc.sync_group(sync(&a, 1, &[(&a, b"A")])).await;
    // host-b joins: a rejoins, generation 2 with both.
    let gc = f.gc.clone();
    let follower =
        tokio::spawn(async move { gc.join_group(join("", Some("host-b")), 9, client()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let leader = f.gc.join_group(join(&a, Some("host-a")), 9, client()).await;
    let follower = follower.await.unwrap();
    let b = follower.member_id.to_string();
    let generation = leader.generation_id;
    assert_eq!(generation, 2);
    let gc = f.gc.clone();
    let b2 = b.clone();
    let sb = tokio::spawn(async move { gc.sync_group(sync(&b2, generation, &[])).await });
    f.gc.sync_group(sync(&a, generation, &[(&a, b"A"), (&b, b"B")]))
        .await;
    assert_eq!(&sb.await.unwrap().assignment[..], b"B");

    // host-b restarts: same generation, its old assignment, and a keeps going undisturbed.
    let back = f.gc.join_group(join("", Some("host-b")), 9, client()).await;
    assert_eq!(back.error_code, 0);
    assert_eq!(back.generation_id, generation, "no rebalance");
    let new_b = back.member_id.to_string();
    assert_ne!(new_b, b);
    let sb = f.gc.sync_group(sync(&new_b, generation, &[])).await;
    assert_eq!(&sb.assignment[..], b"B");
    assert_eq!(f.gc.heartbeat(heartbeat(&a, generation)).error_code, 0);
}

/// A stable static group of host-a (leader, assignment "A") and host-b ("B"), at generation 2.
async fn stable_static_pair(gc: &GroupCoordinator) -> (String, String, i32) {
    let first = gc.join_group(join("", Some("host-a")), 9, client()).await;
    let a = first.member_id.to_string();
    gc.sync_group(sync(&a, 1, &[(&a, b"A")])).await;
    let gc2 = gc.clone();
    let follower =
        tokio::spawn(async move { gc2.join_group(join("", Some("host-b")), 9, client()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let leader = gc.join_group(join(&a, Some("host-a")), 9, client()).await;
    let b = follower.await.unwrap().member_id.to_string();
    let generation = leader.generation_id;
    let gc2 = gc.clone();
    let b2 = b.clone();
    let sb = tokio::spawn(async move { gc2.sync_group(sync(&b2, generation, &[])).await });
    gc.sync_group(sync(&a, generation, &[(&a, b"A"), (&b, b"B")]))
        .await;
    assert_eq!(&sb.await.unwrap().assignment[..], b"B");
    (a, b, generation)
}

/// Issue 15 item 7: the static leader restarting over JoinGroup v5 (librdkafka's version)
/// gets the members (v5 has no skip_assignment), and its SyncGroup in the Stable group
/// answers its old assignment: no rebalance, the follower is undisturbed.
#[tokio::test]
async fn a_returning_static_leader_of_v5_keeps_the_group_stable() {
    let f = fixture();
    let (a, b, generation) = stable_static_pair(&f.gc).await;
    let back = f.gc.join_group(join("", Some("host-a")), 5, client()).await;
    assert_eq!(back.error_code, 0);
    assert_eq!(back.generation_id, generation, "no rebalance");
    let new_a = back.member_id.to_string();
    assert_ne!(new_a, a);
    assert_eq!(back.leader.as_str(), new_a, "still the leader");
    assert_eq!(back.members.len(), 2, "the leader gets the current members");
    assert!(!back.skip_assignment, "v5 carries no skip_assignment");
    // The leader computes an assignment and sends it; the Stable group keeps the old one.
    let sa =
        f.gc.sync_group(sync(&new_a, generation, &[(&new_a, b"X"), (&b, b"Y")]))
            .await;
    assert_eq!((sa.error_code, &sa.assignment[..]), (0, &b"A"[..]));
    assert_eq!(f.gc.heartbeat(heartbeat(&b, generation)).error_code, 0);
    let sb = f.gc.sync_group(sync(&b, generation, &[])).await;
    assert_eq!(&sb.assignment[..], b"B");
}

/// Issue 15 item 1: a known member re-sending JoinGroup with unchanged protocols (its
/// response was lost) gets the current generation, in Stable (follower) and while the group
/// completes a rebalance; changed protocols, or the leader in Stable, start a rebalance.
#[tokio::test]
async fn a_rejoin_with_unchanged_metadata_gets_the_current_generation() {
    let f = fixture();
    let (a, b, generation) = stable_static_pair(&f.gc).await;
    let again = f.gc.join_group(join(&b, Some("host-b")), 9, client()).await;
    assert_eq!(
        (again.error_code, again.generation_id),
        (0, generation),
        "a follower's rejoin in Stable: same generation"
    );
    assert!(again.members.is_empty());
    assert_eq!(again.leader.as_str(), a);
    assert_eq!(f.gc.heartbeat(heartbeat(&a, generation)).error_code, 0);
    let sb = f.gc.sync_group(sync(&b, generation, &[])).await;
    assert_eq!(&sb.assignment[..], b"B");

    // The follower's metadata changes: that is a request for a rebalance.
    let mut changed = join(&b, Some("host-b"));
    changed.protocols[0].metadata = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b'u', 0, 0, 0, 0]);
    let gc = f.gc.clone();
    let jb = tokio::spawn(async move { gc.join_group(changed, 9, client()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(f.gc.heartbeat(heartbeat(&a, generation)).error_code, 27);
    let ja = f.gc.join_group(join(&a, Some("host-a")), 9, client()).await;
    let next = ja.generation_id;
    assert_eq!(
        (next, jb.await.unwrap().generation_id),
        (generation + 1, next)
    );

    // CompletingRebalance (the leader has not synced yet): the follower's lost response is
    // answered again with the same generation, and the leader's too (with the members).
    let mut changed = join(&b, Some("host-b"));
    changed.protocols[0].metadata = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b'u', 0, 0, 0, 0]);
    let again = f.gc.join_group(changed, 9, client()).await;
    assert_eq!((again.error_code, again.generation_id), (0, next));
    let again = f.gc.join_group(join(&a, Some("host-a")), 9, client()).await;
    assert_eq!(
        (again.error_code, again.generation_id, again.members.len()),
        (0, next, 2)
    );
    f.gc.sync_group(sync(&a, next, &[(&a, b"A"), (&b, b"B")]))
        .await;
    assert_eq!(f.gc.heartbeat(heartbeat(&b, next)).error_code, 0);

    // The leader re-joining a Stable group asks for a rebalance (that is how a leader reacts
    // to a metadata change), as in Kafka.
    let gc = f.gc.clone();
    let ja =
        tokio::spawn(async move { gc.join_group(join(&a, Some("host-a")), 9, client()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(f.gc.heartbeat(heartbeat(&b, next)).error_code, 27);
    let mut changed = join(&b, Some("host-b"));
    changed.protocols[0].metadata = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b'u', 0, 0, 0, 0]);
    f.gc.join_group(changed, 9, client()).await;
    assert_eq!(ja.await.unwrap().generation_id, next + 1);
}

/// Issue 15 item 2: deleting an Empty group's last committed offset leaves the group (Empty)
/// until the retention check forgets it, so it can still be deleted by name.
#[tokio::test]
async fn an_empty_group_stays_after_its_last_offset_is_deleted() {
    let f = fixture();
    let resp = f.gc.offset_commit(commit("", -1, 7, "m")).finish().await;
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    let deleted = f.gc.offset_delete(
        OffsetDeleteRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(1)
                ])]),
    );
    assert_eq!(deleted.error_code, 0);
    f.clock.advance(1_000);
    f.gc.tick();
    let listed = f.gc.list_groups(ListGroupsRequest::default()).groups;
    assert_eq!(listed.len(), 1, "the group is kept, Empty");
    let gone =
        f.gc.delete_groups(DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]));
    assert_eq!(gone.results[0].error_code, 0, "DeleteGroups finds it");
}

/// Issue 13 item 10: member ids handed out by MEMBER_ID_REQUIRED count against
/// `group.max.size` and a coordinator-wide byte budget, keep at most 256 bytes of the client
/// id, and expire after the JoinGroup's session timeout.
#[tokio::test]
async fn pending_members_are_bounded_and_expire() {
    let f = fixture();
    let gc = GroupCoordinator::open(
        f.broker.clone(),
        GroupConfig {
            initial_rebalance_delay_ms: 0,
            max_size: 5,
            max_pending_bytes: 3_000,
            ..GroupConfig::default()
        },
        f.clock.clone(),
    )
    .unwrap();
    let big_client = ClientInfo {
        client_id: "c".repeat(30_000),
        client_host: "/127.0.0.1".into(),
    };
    let mut ids = Vec::new();
    for _ in 0..5 {
        let r = gc.join_group(join("", None), 9, big_client.clone()).await;
        assert_eq!(r.error_code, 79, "MEMBER_ID_REQUIRED");
        // 256 bytes of the client id, '-', a UUID.
        assert_eq!(r.member_id.len(), 256 + 1 + 36);
        ids.push(r.member_id.to_string());
    }
    let r = gc.join_group(join("", None), 9, big_client.clone()).await;
    assert_eq!(r.error_code, 81, "GROUP_MAX_SIZE_REACHED");
    let (count, bytes) = gc.pending_members();
    assert_eq!(count, 5);
    assert!(bytes > 5 * 293 && bytes < 3_000, "{bytes}");

    // Other groups share the coordinator's budget: 3,000 bytes hold two more such ids, then
    // JoinGroup answers COORDINATOR_NOT_AVAILABLE (retriable) and creates no group.
    let other = |g: &str| join("", None).with_group_id(GroupId(s(g)));
    let mut codes = Vec::new();
    for i in 0..4 {
        codes.push(
            gc.join_group(other(&format!("h{i}")), 9, big_client.clone())
                .await
                .error_code,
        );
    }
    assert_eq!(codes, [79, 79, 15, 15]);
    let groups = gc.list_groups(ListGroupsRequest::default()).groups.len();
    assert_eq!(
        groups, 3,
        "g, h0 and h1 exist; h2 and h3 were never created"
    );

    // A pending id that comes back joins (and stops being pending).
    let joined = gc
        .join_group(join(&ids[0], None), 9, big_client.clone())
        .await;
    assert_eq!(
        (joined.error_code, joined.member_id.as_str()),
        (0, ids[0].as_str())
    );
    assert_eq!(gc.pending_members().0, 6);

    // The rest expire after the session timeout (10 s in `join`), and give their bytes back.
    f.clock.advance(10_001);
    gc.tick();
    assert_eq!(gc.pending_members(), (0, 0));
    let r = gc.join_group(other("h9"), 9, client()).await;
    assert_eq!(r.error_code, 79, "the budget is free again");
}
