//! Retention by time and size with a clock the test controls.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::records::Compression;

#[test]
fn retention_ms_deletes_segments_whose_newest_record_is_old() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(1_000_000);
    let log = open(
        dir.path(),
        config(&[
            ("internal.segment.bytes", "1000"),
            ("retention.ms", "60000"),
        ]),
        c.clone(),
        false,
    );
    // Old records (timestamps 1_000_000..) then newer ones (1_100_000..).
    for i in 0..10 {
        log.append(&batch(
            &format!("old{i}"),
            2,
            200,
            1_000_000 + i,
            Compression::None,
        ))
        .unwrap();
    }
    let old_end = log.log_end_offset();
    for i in 0..10 {
        log.append(&batch(
            &format!("new{i}"),
            2,
            200,
            1_100_000 + i,
            Compression::None,
        ))
        .unwrap();
    }
    c.set(1_070_000);
    let r = log.enforce_retention().unwrap();
    assert!(r.deleted_segments > 0);
    // Everything left is new, and no new record is lost.
    let left = read_all(&log);
    assert_eq!(left.first().unwrap().offset, log.log_start_offset());
    assert!(log.log_start_offset() <= old_end);
    assert!(left.iter().filter(|r| r.timestamp >= 1_100_000).count() == 20);
    assert_eq!(r.log_start_offset, log.log_start_offset());

    // Later, everything expires: the active segment is rolled and deleted too.
    c.set(1_200_000);
    log.enforce_retention().unwrap();
    assert!(read_all(&log).is_empty());
    assert_eq!(log.log_start_offset(), log.log_end_offset());
    assert_eq!(log.segment_count(), 1);
    let next = log
        .append(&batch("z", 1, 1, 1_200_000, Compression::None))
        .unwrap();
    assert_eq!(next.base_offset, 40);
}

#[test]
fn retention_bytes_keeps_the_partition_under_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(0);
    let log = open(
        dir.path(),
        config(&[
            ("internal.segment.bytes", "1000"),
            ("retention.bytes", "3000"),
        ]),
        c,
        false,
    );
    for i in 0..40 {
        log.append(&batch(&i.to_string(), 1, 200, i, Compression::None))
            .unwrap();
    }
    let before = log.size_bytes();
    assert!(before > 3000);
    let r = log.enforce_retention().unwrap();
    assert!(r.deleted_segments > 0);
    assert!(
        log.size_bytes() <= 3000 + 1000,
        "at most one segment over the limit"
    );
    assert!(log.size_bytes() >= 3000 - 1000);
    assert_eq!(r.deleted_bytes, before - log.size_bytes());
    // What remains is a suffix of what was written.
    let left = read_all(&log);
    assert_eq!(left.last().unwrap().offset, 39);
    assert!(left.windows(2).all(|w| w[1].offset == w[0].offset + 1));
}

#[test]
fn retention_minus_one_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(0);
    let log = open(
        dir.path(),
        config(&[("internal.segment.bytes", "1000"), ("retention.ms", "-1")]),
        c.clone(),
        false,
    );
    for i in 0..20 {
        log.append(&batch(&i.to_string(), 1, 200, 0, Compression::None))
            .unwrap();
    }
    c.set(i64::MAX / 2);
    assert_eq!(log.enforce_retention().unwrap().deleted_segments, 0);
    assert_eq!(read_all(&log).len(), 20);
}
