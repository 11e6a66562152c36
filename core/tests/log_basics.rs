//! End-to-end behaviour of one partition log: offsets, rolls, reads, bad input, truncation,
//! the log start offset, timestamps and reopening.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::records::Compression;
use strom::records::batch::BatchHeader;

#[test]
fn offsets_are_assigned_and_read_back_across_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        config(&[
            ("internal.segment.bytes", "4096"),
            ("index.interval.bytes", "512"),
        ]),
        clock(1_000),
        false,
    );
    let mut expected = 0i64;
    for i in 0..100 {
        let info = log
            .append(&batch(&i.to_string(), 5, 100, 1_000 + i, Compression::None))
            .unwrap();
        assert_eq!(info.base_offset, expected);
        assert_eq!(info.last_offset, expected + 4);
        assert_eq!(info.record_count, 5);
        assert_eq!(info.log_append_time, -1);
        expected += 5;
    }
    assert_eq!(log.log_end_offset(), 500);
    assert!(log.segment_count() > 5, "rolled on segment.bytes");
    let all = read_all(&log);
    assert_eq!(all.len(), 500);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        let (b, k) = (i / 5, i % 5);
        assert_eq!(r.key.as_deref(), Some(format!("key-{b}-{k}").as_bytes()));
    }
    // A read from the middle starts at the batch holding the offset.
    let mid = log.read(253, 1).unwrap().records;
    let h = BatchHeader::parse(&mid).unwrap();
    assert_eq!(h.base_offset, 250);
    assert_eq!(h.partition_leader_epoch, 0, "the leader stamps its epoch");
    assert_eq!(
        mid.len(),
        h.total_len(),
        "max_bytes below one batch still returns it"
    );
    // At the end: empty, not an error. Past it: out of range.
    assert!(log.read(500, 1 << 20).unwrap().records.is_empty());
    assert_eq!(log.read(501, 1 << 20).unwrap_err().kafka_code(), 1);
}

#[test]
fn bad_batches_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        config(&[("max.message.bytes", "2000")]),
        clock(0),
        false,
    );
    log.append(&batch("ok", 3, 10, 5, Compression::None))
        .unwrap();
    let size = log.size_bytes();
    let good = batch("x", 2, 10, 5, Compression::None);

    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 1;
    let mut bad_magic = good.clone();
    bad_magic[16] = 9;
    let mut old_magic = good.clone();
    old_magic[16] = 1;
    let short = good[..good.len() - 1].to_vec();
    let mut long_len = good.clone();
    long_len[8..12].copy_from_slice(&10_000i32.to_be_bytes());
    let too_big = batch("big", 1, 3000, 5, Compression::None);
    // A valid batch followed by a corrupt one: the request is refused as a whole.
    let mut half_good = good.clone();
    half_good.extend_from_slice(&bad_crc);

    for (what, bytes, code) in [
        ("crc", bad_crc, 2),
        ("magic", bad_magic, 2),
        ("old magic", old_magic, 43),
        ("short", short, 2),
        ("length", long_len, 2),
        ("too big", too_big, 10),
        ("half good", half_good, 2),
        ("empty", Vec::new(), 87),
    ] {
        let e = log.append(&bytes).unwrap_err();
        assert_eq!(e.kafka_code(), code, "{what}: {e}");
        assert_eq!(log.log_end_offset(), 3, "{what} changed the log");
        assert_eq!(log.size_bytes(), size, "{what} wrote bytes");
    }
    assert_eq!(read_all(&log).len(), 3);
}

#[test]
fn truncate_and_log_start_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        config(&[("internal.segment.bytes", "2048")]),
        clock(0),
        false,
    );
    for i in 0..40 {
        log.append(&batch(&i.to_string(), 4, 50, i, Compression::None))
            .unwrap();
    }
    assert_eq!(log.log_end_offset(), 160);
    // Truncating inside a batch removes the whole batch.
    log.truncate_to(102).unwrap();
    assert_eq!(log.log_end_offset(), 100);
    let all = read_all(&log);
    assert_eq!(all.last().unwrap().offset, 99);
    // Appends continue from the new end.
    assert_eq!(
        log.append(&batch("again", 2, 10, 0, Compression::None))
            .unwrap()
            .base_offset,
        100
    );

    let segments = log.segment_count();
    assert_eq!(log.advance_log_start_offset(61).unwrap(), 61);
    assert!(
        log.segment_count() < segments,
        "whole segments below the start are deleted"
    );
    assert_eq!(log.read(60, 100).unwrap_err().kafka_code(), 1);
    let all = read_all(&log);
    assert_eq!(all.first().unwrap().offset, 61);
    assert_eq!(
        log.advance_log_start_offset(10).unwrap(),
        61,
        "never moves back"
    );
    assert_eq!(
        log.advance_log_start_offset(1000).unwrap_err().kafka_code(),
        1
    );

    // Survives a reopen.
    log.close().unwrap();
    drop(log);
    let log = open(
        dir.path(),
        config(&[("internal.segment.bytes", "2048")]),
        clock(0),
        true,
    );
    assert_eq!(log.log_start_offset(), 61);
    assert_eq!(log.log_end_offset(), 102);

    // Deleting everything leaves an empty log that continues at the end.
    log.advance_log_start_offset(102).unwrap();
    assert!(read_all(&log).is_empty());
    assert_eq!(
        log.append(&batch("z", 1, 1, 0, Compression::None))
            .unwrap()
            .base_offset,
        102
    );
}

#[test]
fn timestamps_lookup_and_log_append_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        config(&[
            ("internal.segment.bytes", "1500"),
            ("index.interval.bytes", "100"),
        ]),
        clock(0),
        false,
    );
    // Batches with increasing timestamps, one record per 10 ms.
    for i in 0..50i64 {
        log.append(&batch(
            &i.to_string(),
            1,
            40,
            10_000 + i * 10,
            Compression::None,
        ))
        .unwrap();
    }
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 10_000)));
    assert_eq!(
        log.offset_for_timestamp(10_205).unwrap(),
        Some((21, 10_210))
    );
    assert_eq!(
        log.offset_for_timestamp(10_490).unwrap(),
        Some((49, 10_490))
    );
    assert_eq!(log.offset_for_timestamp(10_491).unwrap(), None);
    assert_eq!(log.max_timestamp_record().unwrap(), Some((49, 10_490)));

    let dir2 = tempfile::tempdir().unwrap();
    let c = clock(777_000);
    let log = open(
        dir2.path(),
        config(&[("message.timestamp.type", "LogAppendTime")]),
        c.clone(),
        false,
    );
    let info = log.append(&batch("t", 3, 5, 1, Compression::Lz4)).unwrap();
    assert_eq!(info.log_append_time, 777_000);
    let bytes = log.read(0, 1 << 20).unwrap().records;
    let h = BatchHeader::parse(&bytes).unwrap();
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, 777_000);
    assert!(strom::records::batch::crc_matches(&h, &bytes));
    assert_eq!(
        log.offset_for_timestamp(777_000).unwrap(),
        Some((0, 777_000))
    );
}

#[test]
fn segment_ms_rolls_and_clean_reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(1_000_000);
    let cfg = config(&[("segment.ms", "60000")]);
    let log = open(dir.path(), cfg.clone(), c.clone(), false);
    log.append(&batch("a", 2, 10, 1_000_000, Compression::Gzip))
        .unwrap();
    c.advance(30_000);
    log.append(&batch("b", 2, 10, 1_030_000, Compression::Gzip))
        .unwrap();
    assert_eq!(log.segment_count(), 1);
    c.advance(31_000);
    log.append(&batch("c", 2, 10, 1_061_000, Compression::Gzip))
        .unwrap();
    assert_eq!(log.segment_count(), 2, "rolled on segment.ms");
    let before = read_all(&log);
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), cfg, c, true);
    assert_eq!(read_all(&log), before);
    assert_eq!(
        log.append(&batch("d", 1, 1, 0, Compression::None))
            .unwrap()
            .base_offset,
        6
    );
}

#[test]
fn group_commit_makes_appends_durable_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(open(dir.path(), config(&[]), clock(0), false));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..20 {
                    let info = log
                        .append(&batch(&format!("{t}-{i}"), 2, 100, 0, Compression::None))
                        .unwrap();
                    log.wait_durable(info.last_offset + 1).unwrap();
                    assert!(log.durable_offset() > info.last_offset);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(log.log_end_offset(), 8 * 20 * 2);
    assert_eq!(log.durable_offset(), 320);
}

#[test]
fn old_producer_timestamps_do_not_roll_every_append() {
    let dir = tempfile::tempdir().unwrap();
    // The broker's clock is far ahead of the producer's timestamps (replayed data).
    let log = open(
        dir.path(),
        config(&[("segment.ms", "60000")]),
        clock(1_700_000_000_000),
        false,
    );
    for i in 0..20 {
        log.append(&batch(&i.to_string(), 1, 10, 1_000 + i, Compression::None))
            .unwrap();
    }
    assert_eq!(
        log.segment_count(),
        1,
        "segment.ms compares batch timestamps, as Kafka does"
    );
    log.append(&batch("late", 1, 10, 1_000 + 60_001, Compression::None))
        .unwrap();
    assert_eq!(log.segment_count(), 2);
}

#[test]
fn sealed_segments_hold_no_descriptor_unless_read() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&[("internal.segment.bytes", "400")]);
    {
        let log = open(dir.path(), cfg.clone(), clock(1_000), false);
        for i in 0..40 {
            log.append(&batch(&format!("b{i}"), 3, 40, 1_000, CODECS[0]))
                .unwrap();
        }
        log.close().unwrap();
    }
    let log = open(dir.path(), cfg, clock(1_000), true);
    let segments = log.segment_count();
    assert!(segments > 10, "{segments}");
    assert_eq!(log.open_files(), 1, "only the active segment after open");
    // Reading old data opens its segment again; two idle passes close it.
    let r = log.read(0, 1 << 20).unwrap();
    assert!(!r.records.is_empty());
    assert_eq!(log.open_files(), 2);
    assert_eq!(log.close_idle_files(), 0, "read since the last pass");
    assert_eq!(log.close_idle_files(), 1);
    assert_eq!(log.open_files(), 1);
    // Everything is still readable from the start.
    assert_eq!(read_all(&log).len(), 120);
}
