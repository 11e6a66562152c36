//! The embedded broker: topic admin on the metadata log, persistence across restarts, data
//! round trips, refusals, and crash leftovers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::records::Compression;
use std::collections::BTreeMap;
use std::time::Duration;
use strom::{Broker, BrokerConfig};

fn manual(dir: &std::path::Path) -> Broker {
    Broker::open_with(
        dir,
        BrokerConfig {
            housekeeping_interval: None,
            ..BrokerConfig::default()
        },
    )
    .unwrap()
}

fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn topic_lifecycle_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let b = manual(dir.path());
    let cluster = b.cluster_id().to_string();
    let orders = b
        .create_topic("orders", Some(3), configs(&[("retention.ms", "1000")]))
        .unwrap();
    assert_eq!(orders.partitions, 3);
    b.create_topic("events", None, BTreeMap::new()).unwrap();
    b.create_topic("gone", Some(2), BTreeMap::new()).unwrap();
    for p in 0..3 {
        b.append(
            "orders",
            p,
            &batch(&format!("p{p}"), 3, 10, 1, Compression::Zstd),
        )
        .unwrap();
    }
    b.create_partitions("orders", 5).unwrap();
    b.update_topic_configs(
        "orders",
        [
            ("cleanup.policy".to_string(), Some("compact".to_string())),
            ("retention.ms".to_string(), None),
        ],
    )
    .unwrap();
    b.delete_topic("gone").unwrap();
    assert!(!dir.path().join("gone-0").exists());
    b.close().unwrap();
    assert_eq!(b.topics().len(), 2, "reads still work after close");
    assert_eq!(
        b.create_topic("late", None, BTreeMap::new())
            .unwrap_err()
            .kafka_code(),
        8
    );
    drop(b);
    assert!(dir.path().join(".clean-shutdown").exists());

    let b = manual(dir.path());
    assert!(
        !dir.path().join(".clean-shutdown").exists(),
        "removed at start"
    );
    assert_eq!(b.cluster_id(), cluster);
    let names: Vec<_> = b.topics().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["events", "orders"]);
    let orders2 = b.topic("orders").unwrap();
    assert_eq!(orders2.id, orders.id, "topic ids are stable");
    assert_eq!(orders2.partitions, 5);
    assert_eq!(orders2.configs, configs(&[("cleanup.policy", "compact")]));
    assert!(b.partition("orders", 0).unwrap().config().compact_enabled);
    assert_eq!(b.topic_by_id(orders.id).unwrap().name, "orders");
    for p in 0..3 {
        let r = b.read("orders", p, 0, 1 << 20).unwrap();
        assert_eq!(r.log_end_offset, 3);
        assert!(!r.records.is_empty());
    }
    assert_eq!(b.read("orders", 4, 0, 100).unwrap().log_end_offset, 0);
}

#[test]
fn admin_refusals_carry_kafka_codes() {
    let dir = tempfile::tempdir().unwrap();
    let b = manual(dir.path());
    b.create_topic("a.b", Some(1), BTreeMap::new()).unwrap();
    let cases = [
        (
            b.create_topic("a.b", None, BTreeMap::new()).unwrap_err(),
            36,
        ),
        (
            b.create_topic("a_b", None, BTreeMap::new()).unwrap_err(),
            17,
        ),
        (
            b.create_topic("bad name", None, BTreeMap::new())
                .unwrap_err(),
            17,
        ),
        (b.create_topic("..", None, BTreeMap::new()).unwrap_err(), 17),
        (
            b.create_topic(&"x".repeat(250), None, BTreeMap::new())
                .unwrap_err(),
            17,
        ),
        (
            b.create_topic("z", Some(0), BTreeMap::new()).unwrap_err(),
            37,
        ),
        (
            b.create_topic("z", None, configs(&[("retention.ms", "x")]))
                .unwrap_err(),
            40,
        ),
        (
            b.create_topic("z", None, configs(&[("made.up", "1")]))
                .unwrap_err(),
            40,
        ),
        (b.create_partitions("a.b", 1).unwrap_err(), 37),
        (b.create_partitions("nope", 4).unwrap_err(), 3),
        (b.delete_topic("nope").unwrap_err(), 3),
        (b.read("a.b", 1, 0, 10).unwrap_err(), 3),
        (b.append("a.b", -1, &[]).unwrap_err(), 3),
        (
            b.set_topic_configs("a.b", configs(&[("segment.ms", "0")]))
                .unwrap_err(),
            40,
        ),
    ];
    for (i, (e, code)) in cases.into_iter().enumerate() {
        assert_eq!(e.kafka_code(), code, "case {i}: {e}");
    }
    assert!(
        b.topic("z").is_none(),
        "refused creates leave nothing behind"
    );
    assert_eq!(b.topics().len(), 1);
}

#[test]
fn a_second_broker_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _b = manual(dir.path());
    let e = Broker::open(dir.path()).unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
}

#[test]
fn a_closed_broker_releases_its_directory_while_handles_remain() {
    let dir = tempfile::tempdir().unwrap();
    let b = manual(dir.path());
    b.create_topic("t", Some(1), BTreeMap::new()).unwrap();
    let handle = b.clone();
    b.close().unwrap();
    let again = Broker::open(dir.path()).unwrap();
    assert!(again.topic("t").is_some());
    assert!(handle.create_topic("u", Some(1), BTreeMap::new()).is_err());
}

#[test]
fn unclean_restart_recovers_and_removes_stale_partition_dirs() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = manual(dir.path());
        b.create_topic("t", Some(1), BTreeMap::new()).unwrap();
        b.append("t", 0, &batch("x", 5, 10, 1, Compression::Snappy))
            .unwrap();
        // A crash: Drop would close cleanly, so leak the broker instead.
        std::mem::forget(b);
    }
    // A partition dir no topic owns (a crash during delete) and a half-renamed deletion.
    std::fs::create_dir_all(dir.path().join("ghost-0")).unwrap();
    std::fs::create_dir_all(dir.path().join("t-0.abc-delete")).unwrap();
    // The leaked broker still holds the directory lock, so reopen a copy of the directory.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let b = manual(copy.path());
    assert!(!copy.path().join("ghost-0").exists());
    assert!(!copy.path().join("t-0.abc-delete").exists());
    let r = b.read("t", 0, 0, 1 << 20).unwrap();
    assert_eq!(r.log_end_offset, 5);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else if e.file_name() != ".lock" {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn background_housekeeping_applies_retention() {
    let dir = tempfile::tempdir().unwrap();
    let b = Broker::open_with(
        dir.path(),
        BrokerConfig {
            housekeeping_interval: Some(Duration::from_millis(20)),
            ..BrokerConfig::default()
        },
    )
    .unwrap();
    b.create_topic(
        "short",
        Some(1),
        configs(&[("retention.ms", "1"), ("internal.segment.bytes", "500")]),
    )
    .unwrap();
    for i in 0..10 {
        // Timestamps far in the past: expired as soon as housekeeping looks.
        b.append(
            "short",
            0,
            &batch(&i.to_string(), 1, 200, 1_000, Compression::None),
        )
        .unwrap();
    }
    let log = b.partition("short", 0).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while log.log_start_offset() < 10 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        log.log_start_offset(),
        10,
        "housekeeping thread deleted expired data"
    );
    let report = b.run_housekeeping().unwrap();
    assert_eq!(report.segments_deleted, 0, "nothing left to delete");
}

#[test]
fn producer_ids_are_never_reused_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let b = manual(dir.path());
    let first: Vec<i64> = (0..3).map(|_| b.allocate_producer_id().unwrap()).collect();
    assert_eq!(first, [0, 1, 2]);
    drop(b);
    let b = manual(dir.path());
    let next = b.allocate_producer_id().unwrap();
    assert!(
        next > 2,
        "a restart skips the rest of the reserved block: {next}"
    );
}
