//! The cross-language behaviour list (tests/behaviour/README.md), in Rust: the same scenarios
//! run in Python, Node and C against the same core.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use strom::client::consumer::ConsumerRecord;
use strom::client::{Consumer, Producer, ProducerRecord, TopicPartition};
use strom::{EmbeddedBroker, ErrorInfo, ErrorKind, Settings};

async fn broker(dir: &std::path::Path) -> EmbeddedBroker {
    let settings = Settings::from_pairs([
        ("num.partitions", "3"),
        ("group.initial.rebalance.delay.ms", "0"),
    ])
    .unwrap();
    EmbeddedBroker::open(dir, settings).await.unwrap()
}

/// Writes `count` records ("0", "1", ...) to each of `partitions` of a new topic.
async fn fill(b: &EmbeddedBroker, topic: &str, partitions: i32, count: usize) {
    b.broker()
        .create_topic(topic, Some(partitions), BTreeMap::new())
        .unwrap();
    let producer = Producer::builder()
        .in_process(b.service().unwrap())
        .build()
        .await
        .unwrap();
    for p in 0..partitions {
        for i in 0..count {
            let record = ProducerRecord::new(topic).partition(p).value(i.to_string());
            producer.send(record).await.unwrap().wait().await.unwrap();
        }
    }
    producer.close().await.unwrap();
}

async fn group_consumer(b: &EmbeddedBroker, group: &str, topic: &str) -> Consumer {
    let mut c = Consumer::builder()
        .in_process(b.service().unwrap())
        .group(group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .build()
        .await
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    c
}

/// Polls one record at a time until `n` came or 20 s passed.
async fn take(c: &mut Consumer, n: usize) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        out.extend(c.poll_up_to(Duration::from_millis(200), 1).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1_settings_by_kafka_name() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let created = b
        .broker()
        .create_topic("b1", None, BTreeMap::new())
        .unwrap();
    assert_eq!(created.partitions, 3);
    b.close().await.unwrap();

    let e = Settings::from_pairs([("log.retention.hour", "1")]).unwrap_err();
    let info = ErrorInfo::from(e);
    assert_eq!(info.kind, ErrorKind::Config);
    assert!(
        info.message.contains("log.retention.hour"),
        "{}",
        info.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2_seek_before_assignment() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    fill(&b, "b2", 1, 10).await;
    let mut c = group_consumer(&b, "g-b2", "b2").await;
    assert!(
        c.assignment().is_empty(),
        "nothing assigned before the first poll"
    );
    c.seek(&TopicPartition::new("b2", 0), 6).unwrap();
    let got = take(&mut c, 1).await;
    assert_eq!(got.first().map(|r| r.offset), Some(6));
    c.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b3_pause_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    fill(&b, "b3", 2, 5).await;
    let mut c = group_consumer(&b, "g-b3", "b3").await;
    let p0 = TopicPartition::new("b3", 0);
    c.pause(std::slice::from_ref(&p0)).unwrap();
    let first = take(&mut c, 5).await;
    assert_eq!(first.len(), 5);
    assert!(
        first.iter().all(|r| r.partition == 1),
        "paused partition 0 withheld"
    );
    assert_eq!(c.paused(), vec![p0.clone()]);
    let more = c.poll(Duration::from_millis(500)).await.unwrap();
    assert!(more.is_empty(), "nothing more while partition 0 is paused");
    c.resume(std::slice::from_ref(&p0)).unwrap();
    let rest = take(&mut c, 5).await;
    let offsets: Vec<(i32, i64)> = rest.iter().map(|r| (r.partition, r.offset)).collect();
    assert_eq!(offsets, (0..5).map(|o| (0, o)).collect::<Vec<_>>());
    let all: BTreeSet<(i32, i64)> = first
        .iter()
        .chain(&rest)
        .map(|r| (r.partition, r.offset))
        .collect();
    assert_eq!(all.len(), 10, "nothing given twice");
    c.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b4_commit_after_partial_consumption() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    fill(&b, "b4", 1, 10).await;
    let tp = TopicPartition::new("b4", 0);
    let mut c = group_consumer(&b, "g-b4", "b4").await;
    let got = take(&mut c, 3).await;
    assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 1, 2]);
    c.commit_sync().await.unwrap();
    let committed = c.committed(std::slice::from_ref(&tp)).await.unwrap();
    assert_eq!(committed.get(&tp).map(|o| o.offset), Some(3));
    c.close().await.unwrap();

    let mut next = group_consumer(&b, "g-b4", "b4").await;
    let got = take(&mut next, 1).await;
    assert_eq!(got.first().map(|r| r.offset), Some(3));
    next.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b5_same_refusal_same_error() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.broker()
        .create_topic("b5", Some(1), BTreeMap::new())
        .unwrap();
    let e = b
        .broker()
        .create_topic("b5", Some(1), BTreeMap::new())
        .unwrap_err();
    let info = ErrorInfo::from(e);
    assert_eq!((info.kind, info.kafka_code), (ErrorKind::Kafka, Some(36)));
    b.close().await.unwrap();
}
