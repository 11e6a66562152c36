//! Compaction: the latest record per key wins, tombstones go after `delete.retention.ms`,
//! offsets are preserved, with every codec.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::collections::BTreeMap;

fn compacting(extra: &[(&str, &str)]) -> strom::log::LogConfig {
    let mut o = vec![
        ("cleanup.policy", "compact"),
        ("internal.segment.bytes", "1200"),
        ("delete.retention.ms", "1000"),
    ];
    o.extend_from_slice(extra);
    config(&o)
}

#[test]
fn latest_value_per_key_survives_with_its_offset_for_every_codec() {
    for codec in CODECS {
        let dir = tempfile::tempdir().unwrap();
        let c = clock(10_000);
        let log = open(dir.path(), compacting(&[]), c.clone(), false);
        // 30 rounds over 7 keys; round r writes value "r" for each key.
        let mut latest: BTreeMap<String, (i64, String)> = BTreeMap::new();
        for round in 0..30 {
            let pairs: Vec<(String, String)> = (0..7)
                .map(|k| (format!("k{k}"), format!("v{round}")))
                .collect();
            let refs: Vec<(&str, Option<&str>)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
                .collect();
            let info = log.append(&keyed(&refs, 10_000, codec)).unwrap();
            for (i, (k, v)) in pairs.iter().enumerate() {
                latest.insert(k.clone(), (info.base_offset + i as i64, v.clone()));
            }
        }
        let before = read_all(&log);
        assert_eq!(before.len(), 210);
        assert!(log.segment_count() > 3, "{codec:?}: needs sealed segments");
        let end = log.log_end_offset();

        let outcome = log.clean().unwrap();
        assert!(outcome.records_removed > 0, "{codec:?}");
        assert!(outcome.bytes_after < outcome.bytes_before);
        let after = read_all(&log);
        assert_eq!(
            log.log_end_offset(),
            end,
            "compaction never moves the log end"
        );
        // Every key's latest value is still there at its original offset.
        for (k, (offset, v)) in &latest {
            let r = after
                .iter()
                .find(|r| r.offset == *offset)
                .unwrap_or_else(|| panic!("{codec:?}: latest {k} at {offset} is gone"));
            assert_eq!(r.key.as_deref(), Some(k.as_bytes()));
            assert_eq!(r.value.as_deref(), Some(v.as_bytes()));
        }
        // In the cleaned segments each key appears once; survivors are a subset of before.
        let active_base = *log.segment_bases().last().unwrap();
        let mut seen = std::collections::HashSet::new();
        for r in after.iter().filter(|r| r.offset < active_base) {
            assert!(
                seen.insert(r.key.clone()),
                "{codec:?}: duplicate key in cleaned part"
            );
        }
        for r in &after {
            assert!(before.contains(r), "{codec:?}: compaction invented {r:?}");
        }
        // A second pass has nothing left to do.
        assert_eq!(log.clean().unwrap().records_removed, 0);
        // Survives a restart.
        log.close().unwrap();
        drop(log);
        let log = open(dir.path(), compacting(&[]), c.clone(), true);
        assert_eq!(read_all(&log), after, "{codec:?}");
        // And a crash restart: recovery must tell compacted segments from lost data.
        drop(log);
        let log = open(dir.path(), compacting(&[]), c, false);
        assert_eq!(read_all(&log), after, "{codec:?} after recovery");
        assert_eq!(log.log_end_offset(), end);
    }
}

#[test]
fn tombstones_are_removed_only_after_delete_retention() {
    for codec in CODECS {
        let dir = tempfile::tempdir().unwrap();
        let c = clock(100_000);
        let log = open(dir.path(), compacting(&[]), c.clone(), false);
        log.append(&keyed(
            &[("a", Some("1")), ("b", Some("1"))],
            100_000,
            codec,
        ))
        .unwrap();
        log.append(&keyed(&[("a", None)], 100_000, codec)).unwrap();
        // Filler on another key to push the above into sealed segments.
        for i in 0..20 {
            let v = format!("{i:0>200}");
            log.append(&keyed(&[("filler", Some(&v))], 100_000, codec))
                .unwrap();
        }
        log.clean().unwrap();
        let recs = read_all(&log);
        assert!(recs
            .iter()
            .all(|r| r.key.as_deref() != Some(b"a".as_slice()) || r.value.is_none()));
        assert!(
            recs.iter().any(|r| r.offset == 2 && r.value.is_none()),
            "{codec:?}: tombstone kept while younger than delete.retention.ms"
        );
        c.advance(1_001);
        // Nothing new is dirty, so (as in Kafka) no pass runs and the tombstone stays...
        assert_eq!(log.clean().unwrap(), strom::log::CleanOutcome::default());
        // ...until new writes make the log dirty enough; that pass cleans the whole log.
        for i in 0..20 {
            let v = format!("{i:0>200}");
            log.append(&keyed(&[("filler", Some(&v))], 101_001, codec))
                .unwrap();
        }
        log.clean().unwrap();
        let recs = read_all(&log);
        assert!(
            !recs
                .iter()
                .any(|r| r.key.as_deref() == Some(b"a".as_slice())),
            "{codec:?}: tombstone dropped after delete.retention.ms"
        );
        assert!(recs
            .iter()
            .any(|r| r.offset == 1 && r.value.as_deref() == Some(b"1".as_slice())));
    }
}

#[test]
fn min_compaction_lag_and_delete_policy() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(0);
    let log = open(
        dir.path(),
        compacting(&[("min.compaction.lag.ms", "5000")]),
        c.clone(),
        false,
    );
    for i in 0..20 {
        let v = format!("{i:0>200}");
        log.append(&keyed(&[("same", Some(&v))], 0, CODECS[0]))
            .unwrap();
    }
    assert_eq!(
        log.clean().unwrap().records_removed,
        0,
        "too young to compact"
    );
    c.advance(5_000);
    assert!(log.clean().unwrap().records_removed > 0);

    // With cleanup.policy=delete the cleaner does nothing.
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        config(&[("internal.segment.bytes", "1200")]),
        c,
        false,
    );
    for i in 0..20 {
        let v = format!("{i:0>200}");
        log.append(&keyed(&[("same", Some(&v))], 0, CODECS[0]))
            .unwrap();
    }
    assert_eq!(log.clean().unwrap(), strom::log::CleanOutcome::default());
}

#[test]
fn a_full_key_map_compacts_only_what_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(10_000);
    let log = open(dir.path(), compacting(&[]), c.clone(), false);
    // Key-major: k0 five times, then k1 five times, ...: offsets 0..50 hold k0..k9.
    let mut latest: BTreeMap<String, i64> = BTreeMap::new();
    for k in 0..40 {
        for round in 0..5 {
            let key = format!("k{k}");
            let value = format!("v{round}");
            let info = log
                .append(&keyed(&[(&key, Some(&value))], 10_000, CODECS[0]))
                .unwrap();
            latest.insert(key, info.base_offset);
        }
    }
    assert!(log.segment_count() > 5);
    let latest_survive = |log: &strom::log::PartitionLog| {
        let after = read_all(log);
        for (k, offset) in &latest {
            assert!(
                after.iter().any(|r| r.offset == *offset),
                "latest {k} at {offset} was compacted away"
            );
        }
        after.len()
    };
    // Room for 10 keys: the map stops at k10 (offset 50), so only k0..k9's older values go
    // and nothing past what the map knows is touched.
    let small = log
        .clean_within(10 * strom::log::cleaner::BYTES_PER_ENTRY)
        .unwrap();
    assert_eq!(small.records_removed, 40, "{small:?}");
    assert_eq!(latest_survive(&log), 160);
    // With the default budget every other superseded record in a sealed segment goes too.
    let full = log.clean().unwrap();
    assert!(full.records_removed >= 100, "{full:?}");
    let left = latest_survive(&log);
    assert_eq!(left as u64, 160 - full.records_removed);
}

#[test]
fn compaction_keeps_the_surviving_records_byte_for_byte() {
    use bytes::Bytes;
    use strom::records::batch::Codec;
    use strom::records::{split_batches, BatchBuilder, ProducerFields};
    for codec in [
        Codec::None,
        Codec::Gzip,
        Codec::Snappy,
        Codec::Lz4,
        Codec::Zstd,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(
            dir.path(),
            compacting(&[("internal.segment.bytes", "100")]),
            clock(20_000),
            false,
        );
        // One batch: k's old value, then k's new value with two headers of the same key, as
        // Java's `Headers.add` twice writes them; a later batch rolls the segment.
        let twice = vec![
            ("h".to_string(), Some(Bytes::from_static(b"1"))),
            ("h".to_string(), Some(Bytes::from_static(b"2"))),
        ];
        let mut b = BatchBuilder::new(codec, 256);
        b.append(10_000, Some(b"k"), Some(b"old"), &[]);
        b.append(10_001, Some(b"k"), Some(b"new"), &twice);
        b.append(10_002, Some(b"other"), Some(b"x"), &[]);
        log.append(&b.build(ProducerFields::NONE).unwrap()).unwrap();
        log.append(&keyed(&[("z", Some("z"))], 10_000, CODECS[0]))
            .unwrap();
        assert!(log.segment_count() >= 2);
        let outcome = log.clean().unwrap();
        assert_eq!(outcome.records_removed, 1, "{codec:?}: the old k");
        let data = log.read(0, 1 << 20).unwrap().records;
        let first = split_batches(&data).next().unwrap().unwrap();
        assert!(first.crc_ok(), "{codec:?}");
        assert_eq!(first.header.codec(), Some(codec));
        assert_eq!(
            first.header.last_offset(),
            2,
            "{codec:?}: the last offset stays, as Kafka keeps it"
        );
        let recs = first.records().unwrap();
        assert_eq!(recs.len(), 2, "{codec:?}");
        assert_eq!(
            (recs[0].offset, recs[0].value.as_deref()),
            (1, Some(&b"new"[..]))
        );
        assert_eq!(
            recs[0].headers, twice,
            "{codec:?}: duplicate header keys survive"
        );
        assert_eq!(recs[0].timestamp, 10_001);
        assert_eq!(
            (recs[1].offset, recs[1].key.as_deref()),
            (2, Some(&b"other"[..]))
        );
    }
}

/// Writes one record per key `k{from}..k{to}` with value `v{round}`, 100 bytes of padding each.
fn put_keys(log: &strom::log::PartitionLog, keys: std::ops::Range<usize>, round: usize, ts: i64) {
    for k in keys {
        let v = format!("v{round}-{:0>100}", k);
        log.append(&keyed(&[(&format!("k{k}"), Some(&v))], ts, CODECS[0]))
            .unwrap();
    }
}

fn live_duplicates(log: &strom::log::PartitionLog) -> usize {
    let recs = read_all(log);
    let keys: std::collections::HashSet<_> = recs.iter().map(|r| r.key.clone()).collect();
    recs.len() - keys.len()
}

#[test]
fn min_cleanable_dirty_ratio_holds_cleaning_until_enough_is_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(10_000);
    let log = open(
        dir.path(),
        compacting(&[("min.cleanable.dirty.ratio", "0.5")]),
        c.clone(),
        false,
    );
    // 60 distinct keys: the first pass (everything dirty) removes nothing but marks it clean.
    put_keys(&log, 0..60, 0, 10_000);
    let first = log.clean().unwrap();
    assert_eq!(first.records_removed, 0);
    let checkpoint = std::fs::read_to_string(dir.path().join("cleaner-offset-checkpoint")).unwrap();
    assert!(
        checkpoint.trim().parse::<i64>().unwrap() > 0,
        "{checkpoint}"
    );

    // Rewrite 10 keys: well under half of the cleanable bytes are dirty, so no pass runs and
    // the duplicates stay.
    put_keys(&log, 0..10, 1, 10_000);
    assert_eq!(log.clean().unwrap(), strom::log::CleanOutcome::default());
    assert!(
        live_duplicates(&log) >= 9,
        "duplicates survive below the ratio"
    );

    // Rewrite the rest: now most of the log is dirty and the pass removes the old values.
    put_keys(&log, 10..60, 1, 10_000);
    let outcome = log.clean().unwrap();
    assert!(outcome.records_removed >= 50, "{outcome:?}");

    // The same log with ratio 0 cleans on any dirty byte at all.
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        compacting(&[("min.cleanable.dirty.ratio", "0")]),
        c,
        false,
    );
    put_keys(&log, 0..60, 0, 10_000);
    log.clean().unwrap();
    put_keys(&log, 0..10, 1, 10_000);
    assert!(log.clean().unwrap().records_removed >= 9);
}

#[test]
fn max_compaction_lag_forces_cleaning_below_the_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let c = clock(10_000);
    let log = open(
        dir.path(),
        // A ratio no log can exceed: only max.compaction.lag.ms can start a pass.
        compacting(&[
            ("min.cleanable.dirty.ratio", "1"),
            ("max.compaction.lag.ms", "60000"),
        ]),
        c.clone(),
        false,
    );
    put_keys(&log, 0..60, 0, 10_000);
    put_keys(&log, 0..60, 1, 10_000);
    assert_eq!(
        log.clean().unwrap(),
        strom::log::CleanOutcome::default(),
        "dirty records younger than max.compaction.lag.ms wait for the ratio"
    );
    c.advance(60_001);
    let outcome = log.clean().unwrap();
    assert!(outcome.records_removed >= 50, "{outcome:?}");
    // Nothing dirty is left, so the next pass does nothing even though the lag has passed.
    assert_eq!(log.clean().unwrap(), strom::log::CleanOutcome::default());
}
