//! The native client end to end: producer and consumer against an in-process broker, against
//! `strom::server` over TCP, and against Apache Kafka when `STROM_TEST_KAFKA=host:port` is set.
//! Every wait is bounded.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strom::client::consumer::{OffsetAndMetadata, RebalanceListener};
use strom::client::partitioner::partition_for_key;
use strom::client::{
    Admin, ClientError, Consumer, ConsumerBuilder, ConsumerRecord, Producer, ProducerBuilder,
    ProducerRecord, TopicPartition,
};

mod common;

use common::cluster::TestCluster;

const WAIT: Duration = Duration::from_secs(60);

fn producer_for(c: &TestCluster) -> ProducerBuilder {
    Producer::builder().endpoint(c.endpoint.clone())
}

fn consumer_for(c: &TestCluster) -> ConsumerBuilder {
    Consumer::builder()
        .endpoint(c.endpoint.clone())
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "500")
}

/// Creates `base` made unique for this cluster and returns its name.
async fn topic_on(c: &TestCluster, base: &str, partitions: i32) -> String {
    let name = c.unique(&format!("{base}-{}", uuid::Uuid::new_v4().simple()));
    let admin = Admin::builder()
        .endpoint(c.endpoint.clone())
        .build()
        .await
        .unwrap();
    admin
        .create_topic(&name, Some(partitions), &[])
        .await
        .unwrap();
    name
}

fn all_partitions(topic: &str, n: i32) -> Vec<TopicPartition> {
    (0..n).map(|p| TopicPartition::new(topic, p)).collect()
}

/// Polls until `count` records arrived or the wait ran out.
async fn poll_until(consumer: &mut Consumer, count: usize) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        out.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips_with_keys_on_murmur2_partitions() {
    for target in TestCluster::all().await {
        let label = format!("{:?}", target.flavor);
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            let topic = topic_on(&target, &format!("codec-{codec}"), 3).await;
            let producer = producer_for(&target)
                .set("compression.type", codec)
                .set("linger.ms", "2")
                .build()
                .await
                .unwrap();
            let mut deliveries = Vec::new();
            for i in 0..300 {
                let record = ProducerRecord::new(&topic)
                    .key(format!("key-{i}"))
                    .value(format!("value-{i}-{}", "x".repeat(i % 40)))
                    .header("n", Some(Bytes::from(i.to_string())));
                deliveries.push((i, producer.send(record).await.unwrap()));
            }
            let mut last_offset: BTreeMap<i32, i64> = BTreeMap::new();
            for (i, d) in deliveries {
                let m = d.wait().await.unwrap();
                assert_eq!(
                    m.partition,
                    partition_for_key(format!("key-{i}").as_bytes(), 3),
                    "{label} {codec}: keyed records land on murmur2's partition"
                );
                let prev = last_offset.insert(m.partition, m.offset);
                assert!(
                    prev.is_none_or(|p| p < m.offset),
                    "{label}: offsets increase"
                );
            }
            producer.close().await.unwrap();

            let mut consumer = consumer_for(&target).build().await.unwrap();
            consumer.assign(&all_partitions(&topic, 3)).unwrap();
            let records = poll_until(&mut consumer, 300).await;
            assert_eq!(records.len(), 300, "{label} {codec}");
            let mut seen = BTreeSet::new();
            for r in &records {
                let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
                let i: usize = key.strip_prefix("key-").unwrap().parse().unwrap();
                assert_eq!(r.partition, partition_for_key(key.as_bytes(), 3));
                assert_eq!(
                    r.value.as_deref().unwrap(),
                    format!("value-{i}-{}", "x".repeat(i % 40)).as_bytes()
                );
                assert_eq!(r.headers[0].1.as_deref().unwrap(), i.to_string().as_bytes());
                assert!(seen.insert(i), "{label}: record {i} delivered twice");
            }
            consumer.close().await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_modes_and_keyless_sticky_batches() {
    for target in TestCluster::all().await {
        let label = format!("{:?}", target.flavor);
        let topic = topic_on(&target, "acks", 2).await;
        // acks=0 last: a freshly created topic on Kafka may refuse the first produce
        // (NOT_LEADER_OR_FOLLOWER), which acks=0 never hears about.
        for acks in ["1", "all", "0"] {
            let producer = producer_for(&target)
                .set("acks", acks)
                .build()
                .await
                .unwrap();
            let metas = producer
                .send_all((0..50).map(|i| ProducerRecord::new(&topic).value(format!("{acks}-{i}"))))
                .await
                .unwrap();
            if acks == "0" {
                assert!(
                    metas.iter().all(|m| m.offset == -1),
                    "{label}: acks=0 has no offsets"
                );
            } else {
                assert!(metas.iter().all(|m| m.offset >= 0), "{label}");
            }
            producer.close().await.unwrap();
        }
        let mut consumer = consumer_for(&target).build().await.unwrap();
        consumer.assign(&all_partitions(&topic, 2)).unwrap();
        let records = poll_until(&mut consumer, 150).await;
        assert_eq!(records.len(), 150, "{label}: acks=0 records arrive too");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_pause_position_offsets_for_times_and_commits() {
    for target in TestCluster::all().await {
        let label = format!("{:?}", target.flavor);
        let topic = topic_on(&target, "seek", 1).await;
        let producer = producer_for(&target).build().await.unwrap();
        let base = 1_700_000_000_000i64;
        producer
            .send_all((0..100).map(|i| {
                ProducerRecord::new(&topic)
                    .value(format!("v{i}"))
                    .timestamp(base + i * 10)
            }))
            .await
            .unwrap();
        let tp = TopicPartition::new(&topic, 0);
        let group = target.unique("seek-group");
        let mut consumer = consumer_for(&target)
            .group(&group)
            .set("enable.auto.commit", "false")
            .set("max.poll.records", "10")
            .build()
            .await
            .unwrap();
        consumer.assign(std::slice::from_ref(&tp)).unwrap();
        assert_eq!(consumer.position(&tp).await.unwrap(), 0, "{label}");
        let first = poll_until(&mut consumer, 10).await;
        assert_eq!(first.first().unwrap().offset, 0);
        assert!(first.len() <= 10, "max.poll.records");
        let pos = consumer.position(&tp).await.unwrap();
        assert_eq!(pos, first.last().unwrap().offset + 1, "{label}");

        consumer.seek(&tp, 42).unwrap();
        let after_seek = poll_until(&mut consumer, 1).await;
        assert_eq!(after_seek[0].offset, 42, "{label}: seek");

        let found = consumer
            .offsets_for_times(&[(tp.clone(), base + 555)])
            .await
            .unwrap();
        assert_eq!(
            found[&tp].offset, 56,
            "{label}: first record at or after the time"
        );

        consumer.seek_to_end(&[]).await.unwrap();
        assert_eq!(consumer.position(&tp).await.unwrap(), 100);
        consumer.seek_to_beginning(&[]).await.unwrap();
        assert_eq!(consumer.position(&tp).await.unwrap(), 0);
        assert_eq!(
            consumer
                .end_offsets(std::slice::from_ref(&tp))
                .await
                .unwrap()[&tp],
            100
        );

        consumer.pause(std::slice::from_ref(&tp)).unwrap();
        assert!(
            consumer
                .poll(Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty(),
            "{label}: paused"
        );
        assert_eq!(consumer.paused(), vec![tp.clone()]);
        consumer.resume(std::slice::from_ref(&tp)).unwrap();
        assert_eq!(poll_until(&mut consumer, 1).await[0].offset, 0);

        let mut commit = BTreeMap::new();
        commit.insert(tp.clone(), OffsetAndMetadata::new(77));
        consumer.commit_offsets(commit).await.unwrap();
        let committed = consumer.committed(std::slice::from_ref(&tp)).await.unwrap();
        assert_eq!(committed[&tp].offset, 77, "{label}");
        consumer.close().await.unwrap();

        // A new consumer of the group starts at the commit.
        let mut next = consumer_for(&target).group(&group).build().await.unwrap();
        next.assign(std::slice::from_ref(&tp)).unwrap();
        assert_eq!(poll_until(&mut next, 1).await[0].offset, 77, "{label}");
        next.close().await.unwrap();
    }
}

#[derive(Default, Clone)]
struct Events(Arc<Mutex<Vec<String>>>);

impl RebalanceListener for Events {
    fn on_partitions_revoked(&mut self, partitions: &[TopicPartition]) {
        self.0
            .lock()
            .unwrap()
            .push(format!("revoked {}", partitions.len()));
    }
    fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        self.0
            .lock()
            .unwrap()
            .push(format!("assigned {}", partitions.len()));
    }
}

/// A consumer polling in a task of its own, as an application's would, publishing its
/// assignment and the records it got.
struct Member {
    seen: Arc<Mutex<(Vec<TopicPartition>, Vec<ConsumerRecord>)>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Consumer>,
}

impl Member {
    fn spawn(mut consumer: Consumer) -> Member {
        let seen = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (s, st) = (Arc::clone(&seen), Arc::clone(&stop));
        let task = tokio::spawn(async move {
            let deadline = Instant::now() + WAIT * 2;
            while !st.load(std::sync::atomic::Ordering::Acquire) && Instant::now() < deadline {
                let got = consumer
                    .poll(Duration::from_millis(100))
                    .await
                    .unwrap_or_else(|e| panic!("{consumer:?}: {e}"));
                let mut seen = s.lock().unwrap();
                seen.0 = consumer.assignment();
                seen.1.extend(got);
            }
            consumer
        });
        Member { seen, stop, task }
    }

    fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.seen.lock().unwrap().0.iter().cloned().collect()
    }

    fn records(&self) -> usize {
        self.seen.lock().unwrap().1.len()
    }

    async fn stop(self) -> (Consumer, Vec<ConsumerRecord>) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let consumer = self.task.await.unwrap();
        let records = std::mem::take(&mut self.seen.lock().unwrap().1);
        (consumer, records)
    }
}

/// Waits until `members` together own `partitions` partitions, each its own share.
async fn settle(members: &[&Member], partitions: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let sets: Vec<_> = members.iter().map(|m| m.assignment()).collect();
        let union: BTreeSet<_> = sets.iter().flatten().collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        if total == partitions && union.len() == partitions && sets.iter().all(|s| !s.is_empty()) {
            return;
        }
        assert!(Instant::now() < deadline, "group did not settle: {sets:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Issue 15: strom's consumer with `group.protocol=consumer` (KIP-848): two members split a
/// topic through the coordinator's assignor (revoking before partitions move), read every
/// record once between them, and the survivor takes everything over when the other closes
/// (and leaves with epoch -1); the group's commits carry member epochs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_group_protocol_splits_and_takes_over() {
    for target in TestCluster::all().await {
        let label = format!("{:?}", target.flavor);
        let topic = topic_on(&target, "kip848", 4).await;
        let group = target.unique("g848");
        let producer = producer_for(&target).build().await.unwrap();
        for i in 0..40 {
            producer
                .send(
                    ProducerRecord::new(&topic)
                        .value(format!("v{i}"))
                        .partition(i % 4),
                )
                .await
                .unwrap();
        }
        producer.flush().await.unwrap();
        let member = || {
            consumer_for(&target)
                .group(&group)
                .set("group.protocol", "consumer")
                .set("auto.commit.interval.ms", "200")
        };
        let mut c1 = member().build().await.unwrap();
        c1.subscribe(&[&topic]).unwrap();
        let a = Member::spawn(c1);
        settle(&[&a], 4).await;
        let mut c2 = member().build().await.unwrap();
        c2.subscribe(&[&topic]).unwrap();
        let b = Member::spawn(c2);
        settle(&[&a, &b], 4).await;
        let (sa, sb) = (a.assignment(), b.assignment());
        assert_eq!((sa.len(), sb.len()), (2, 2), "{label}: {sa:?} {sb:?}");
        let deadline = Instant::now() + WAIT;
        while a.records() + b.records() < 40 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (mut c1, first) = a.stop().await;
        c1.close().await.unwrap();
        // b takes over a's partitions once a left.
        settle(&[&b], 4).await;
        for i in 40..48 {
            producer
                .send(
                    ProducerRecord::new(&topic)
                        .value(format!("v{i}"))
                        .partition(i % 4),
                )
                .await
                .unwrap();
        }
        producer.flush().await.unwrap();
        let deadline = Instant::now() + WAIT;
        while first.len() + b.records() < 48 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (mut c2, second) = b.stop().await;
        let values: BTreeSet<String> = first
            .iter()
            .chain(second.iter())
            .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
            .collect();
        assert_eq!(values.len(), 48, "{label}: every record read: {values:?}");
        c2.close().await.unwrap();
        target.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_share_partitions_and_resume_from_commits() {
    for target in TestCluster::all().await {
        let label = format!("{:?}", target.flavor);
        for strategy in ["range", "roundrobin", "cooperative-sticky"] {
            eprintln!("groups: {label} {strategy}");
            let topic = topic_on(&target, "grp", 4).await;
            let group = target.unique(&format!("g-{strategy}"));
            let events = Events::default();
            let member = |target: &TestCluster| {
                consumer_for(target)
                    .group(&group)
                    .set("partition.assignment.strategy", strategy)
                    .set("enable.auto.commit", "false")
            };
            let mut a = member(&target).build().await.unwrap();
            a.set_rebalance_listener(Box::new(events.clone()));
            a.subscribe(&[&topic]).unwrap();
            let a = Member::spawn(a);
            let deadline = Instant::now() + WAIT;
            while a.assignment().len() < 4 {
                assert!(
                    Instant::now() < deadline,
                    "{label} {strategy}: first member alone"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut b = member(&target).build().await.unwrap();
            b.subscribe(&[&topic]).unwrap();
            let b = Member::spawn(b);
            settle(&[&a, &b], 4).await;
            let log = events.0.lock().unwrap().clone();
            assert!(
                log.iter().any(|e| e.starts_with("revoked")),
                "{label} {strategy}: {log:?}"
            );

            let producer = producer_for(&target).build().await.unwrap();
            producer
                .send_all(
                    (0..200).map(|i| ProducerRecord::new(&topic).key(format!("k{i}")).value("v")),
                )
                .await
                .unwrap();
            let deadline = Instant::now() + WAIT;
            while a.records() + b.records() < 200 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let (mut a, got_a) = a.stop().await;
            let (mut b, got_b) = b.stop().await;
            let got: Vec<_> = got_a.into_iter().chain(got_b).collect();
            let distinct: BTreeSet<_> = got.iter().map(|r| (r.partition, r.offset)).collect();
            assert_eq!(distinct.len(), 200, "{label} {strategy}: every record once");
            assert_eq!(got.len(), 200, "{label} {strategy}: no duplicates");
            a.commit_sync().await.unwrap();
            b.commit_sync().await.unwrap();
            a.close().await.unwrap();
            b.close().await.unwrap();

            producer
                .send_all((0..20).map(|i| {
                    ProducerRecord::new(&topic)
                        .key(format!("late{i}"))
                        .value("v")
                }))
                .await
                .unwrap();
            let mut c = consumer_for(&target).group(&group).build().await.unwrap();
            c.subscribe(&[&topic]).unwrap();
            let rest = poll_until(&mut c, 20).await;
            assert_eq!(
                rest.len(),
                20,
                "{label} {strategy}: resumes after the commits"
            );
            assert!(rest
                .iter()
                .all(|r| r.key.as_deref().unwrap().starts_with(b"late")));
            c.close().await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_subscription_finds_matching_topics() {
    for target in TestCluster::all().await {
        let label = format!("{:?}", target.flavor);
        let prefix = target.unique("pat");
        let admin = Admin::builder()
            .endpoint(target.endpoint.clone())
            .build()
            .await
            .unwrap();
        for t in [
            format!("{prefix}-a"),
            format!("{prefix}-b"),
            format!("other-{prefix}"),
        ] {
            admin.create_topic(&t, Some(1), &[]).await.unwrap();
        }
        let producer = producer_for(&target).build().await.unwrap();
        for t in [
            format!("{prefix}-a"),
            format!("{prefix}-b"),
            format!("other-{prefix}"),
        ] {
            producer
                .send_all([ProducerRecord::new(&t).value("x")])
                .await
                .unwrap();
        }
        let mut c = consumer_for(&target)
            .group(&target.unique("pg"))
            .build()
            .await
            .unwrap();
        c.subscribe_pattern(&format!("{}-.*", regex::escape(&prefix)))
            .unwrap();
        let got = poll_until(&mut c, 2).await;
        let topics: BTreeSet<String> = got.iter().map(|r| r.topic.to_string()).collect();
        assert_eq!(
            topics,
            [format!("{prefix}-a"), format!("{prefix}-b")]
                .into_iter()
                .collect(),
            "{label}"
        );
        c.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_clear_errors() {
    let target = TestCluster::in_process().await;
    let e = producer_for(&target)
        .set("linger.msec", "1")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Config(_)) && e.to_string().contains("linger.msec"));
    let e = consumer_for(&target)
        .set("isolation.level", "dirty")
        .build()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("read_committed"), "{e}");

    let topic = topic_on(&target, "refuse", 1).await;
    let producer = producer_for(&target)
        .set("max.request.size", "1000")
        .build()
        .await
        .unwrap();
    let e = producer
        .send(ProducerRecord::new(&topic).value(vec![0u8; 5000]))
        .await
        .unwrap_err();
    assert_eq!(e.kafka_code(), Some(10), "MESSAGE_TOO_LARGE: {e}");
    let e = producer
        .send(ProducerRecord::new(&topic).partition(7).value("x"))
        .await
        .unwrap_err();
    assert_eq!(e.kafka_code(), Some(3), "{e}");
    producer.close().await.unwrap();
    let e = producer
        .send(ProducerRecord::new(&topic).value("x"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Closed("producer")), "{e}");

    let mut consumer = consumer_for(&target).build().await.unwrap();
    let e = consumer.subscribe(&[&topic]).unwrap_err();
    assert!(e.to_string().contains("group.id"), "{e}");
    let e = consumer.poll(Duration::from_millis(10)).await.unwrap_err();
    assert!(matches!(e, ClientError::IllegalState(_)), "{e}");
}
