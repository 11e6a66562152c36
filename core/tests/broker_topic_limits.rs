//! Topic creation is all or nothing, and partitions must fit the descriptor budget.
//!
//! A topic of 10,000 partitions used to half-create under a 20,000 descriptor limit (three
//! descriptors per partition), leave its record in the metadata log, and then stop the broker
//! from starting ("Too many open files"). These tests refuse a topic that does not fit the
//! limit (POLICY_VIOLATION), undo one that fails half-way (a filesystem out of inodes), and
//! restart the broker after each.
#![allow(clippy::unwrap_used)]

mod common;

use common::TmpfsMount;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use strom::{Broker, Error};

const CHILD_ENV: &str = "STROM_TOPIC_LIMITS_DIR";

/// Partition directories of `topic` under `dir`.
fn partition_dirs(dir: &Path, topic: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix(topic)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|p| p.parse::<u32>().is_ok())
        })
        .count()
}

fn topic_names(broker: &Broker) -> Vec<String> {
    broker.topics().into_iter().map(|t| t.name).collect()
}

#[test]
fn a_topic_over_the_descriptor_limit_is_refused_and_leaves_nothing() {
    // The limit is lowered in a child process: it is process-wide and would starve the other
    // tests of this binary.
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "low_descriptor_limit_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "{:?}\n{stdout}\n{}",
        child.status,
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(
        stdout.contains("low descriptor limit scenario passed"),
        "{stdout}"
    );
}

#[test]
#[ignore = "run by a_topic_over_the_descriptor_limit_is_refused_and_leaves_nothing"]
fn low_descriptor_limit_child() {
    use rustix::process::{setrlimit, Resource, Rlimit};
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    // Hard and soft: the broker raises the soft limit to the hard one when it opens.
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(600),
            maximum: Some(600),
        },
    )
    .unwrap();
    let broker = Broker::open(dir).unwrap();
    let e = broker
        .create_topic("big", Some(1_000), Default::default())
        .unwrap_err();
    assert!(matches!(e, Error::PolicyViolation(_)), "{e}");
    assert_eq!(e.kafka_code(), 44, "POLICY_VIOLATION");
    assert!(e.to_string().contains("file descriptors"), "{e}");
    let e = broker
        .validate_new_topic("big", Some(1_000), &Default::default())
        .unwrap_err();
    assert_eq!(e.kafka_code(), 44, "validate_only sees the same refusal");
    assert_eq!(partition_dirs(dir, "big"), 0, "nothing on disk");
    assert!(broker.topic("big").is_none());
    // What fits is created, and growing it past the budget is refused the same way.
    broker
        .create_topic("small", Some(50), Default::default())
        .unwrap();
    let e = broker.create_partitions("small", 1_050).unwrap_err();
    assert_eq!(e.kafka_code(), 44, "{e}");
    assert_eq!(broker.topic("small").unwrap().partitions, 50);
    assert_eq!(partition_dirs(dir, "small"), 50);
    broker.append("small", 7, &one_batch()).unwrap();
    broker.close().unwrap();
    drop(broker);
    // Restartable, and the refused topic is not in the metadata log.
    let broker = Broker::open(dir).unwrap();
    assert_eq!(topic_names(&broker), ["small"]);
    assert_eq!(broker.topic("small").unwrap().partitions, 50);
    assert_eq!(broker.partition("small", 7).unwrap().log_end_offset(), 1);
    broker.close().unwrap();
    println!("low descriptor limit scenario passed");
}

fn one_batch() -> Vec<u8> {
    use strom::records::stored::{encode_batch, SimpleRecord};
    let r = SimpleRecord::new(Some(b"k"), Some(b"v"), 1_000);
    encode_batch(&[r], kafka_protocol::records::Compression::None)
        .unwrap()
        .to_vec()
}

#[test]
fn a_topic_that_fails_half_way_is_undone() {
    // A filesystem that runs out of inodes after some partitions: creation fails part way
    // through, as it did when descriptors ran out. Mounting needs root.
    let Some(mount) = TmpfsMount::new("size=64m,nr_inodes=400") else {
        return;
    };
    let mnt = mount.path();
    // The mount goes when `mount` drops, also if an assertion fails.
    let broker = Broker::open(mnt).unwrap();
    let before = strom::error::storage_errors_total();
    // Five inodes a partition (directory, .log, .index, .timeindex, partition.metadata).
    let e = broker
        .create_topic("half", Some(200), Default::default())
        .unwrap_err();
    assert_eq!(e.kafka_code(), 56, "KAFKA_STORAGE_ERROR: {e}");
    assert!(strom::error::storage_errors_total() > before, "counted");
    assert_eq!(partition_dirs(mnt, "half"), 0, "every partition undone");
    assert!(broker.topic("half").is_none());
    // The inodes came back: a smaller topic fits.
    broker
        .create_topic("whole", Some(20), Default::default())
        .unwrap();
    broker.close().unwrap();
    drop(broker);
    let broker = Broker::open(mnt).unwrap();
    assert_eq!(topic_names(&broker), ["whole"]);
    broker.close().unwrap();
}

#[test]
#[ignore = "slow: 10,000 partitions, a minute on a busy disk (the clean close fsyncs each one)"]
fn ten_thousand_partitions_fit_and_restart() {
    // strom's maximum topic size under this process's real limit. With three descriptors a
    // partition this did not fit a 20,000 limit; with one it does. Under a lower hard limit
    // the budget refuses it cleanly instead, which is the other correct outcome.
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open(dir.path()).unwrap();
    let t = Instant::now();
    match broker.create_topic("wide", Some(10_000), Default::default()) {
        Ok(d) => {
            assert_eq!(d.partitions, 10_000);
            println!("created 10,000 partitions in {:?}", t.elapsed());
            broker.append("wide", 9_999, &one_batch()).unwrap();
            let t = Instant::now();
            broker.close().unwrap();
            drop(broker);
            println!("closed 10,000 partitions in {:?}", t.elapsed());
            let t = Instant::now();
            let broker = Broker::open(dir.path()).unwrap();
            println!("reopened 10,000 partitions in {:?}", t.elapsed());
            assert_eq!(broker.topic("wide").unwrap().partitions, 10_000);
            assert_eq!(broker.partition("wide", 9_999).unwrap().log_end_offset(), 1);
            if let (Some(open), Some(limit)) = (
                strom::fd_budget::open_descriptors(),
                strom::fd_budget::nofile_limit(),
            ) {
                println!("descriptors open with 10,000 partitions: {open} of {limit}");
            }
            broker.close().unwrap();
        }
        Err(e) => {
            assert_eq!(e.kafka_code(), 44, "only the budget may refuse it: {e}");
            println!("refused under this limit: {e}");
            assert_eq!(partition_dirs(dir.path(), "wide"), 0);
        }
    }
}
