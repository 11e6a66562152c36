//! Crash tests: cut and flip bytes of `.log`, `.index` and `.timeindex` files, reopen, and
//! check that every batch before the damage is intact, nothing after it is served, and
//! nothing panics.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::records::Compression;
use proptest::prelude::*;
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use strom::log::LogConfig;
use strom::records::batch::BatchHeader;

fn cfg() -> LogConfig {
    config(&[
        ("internal.segment.bytes", "4000"),
        ("index.interval.bytes", "300"),
    ])
}

/// Builds a log of several segments; returns its records and whether to close it cleanly.
fn build(dir: &Path, clean: bool) -> Vec<Rec> {
    let log = open(dir, cfg(), clock(0), false);
    for i in 0..40 {
        let codec = CODECS[i % CODECS.len()];
        log.append(&batch(
            &i.to_string(),
            1 + i % 4,
            60 + i * 7,
            1_000 + i as i64,
            codec,
        ))
        .unwrap();
    }
    let all = read_all(&log);
    if clean {
        log.close().unwrap();
    }
    all
}

/// One batch on disk: which file, where, which offsets.
#[derive(Debug, Clone)]
struct Placed {
    file: PathBuf,
    start: u64,
    end: u64,
    last_offset: i64,
}

fn layout(dir: &Path) -> Vec<Placed> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let bytes = fs::read(&f).unwrap();
        let mut at = 0;
        while at < bytes.len() {
            let h = BatchHeader::parse(&bytes[at..]).unwrap();
            out.push(Placed {
                file: f.clone(),
                start: at as u64,
                end: (at + h.total_len()) as u64,
                last_offset: h.last_offset(),
            });
            at += h.total_len();
        }
    }
    out
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn flip(path: &Path, pos: u64, mask: u8) {
    let mut bytes = fs::read(path).unwrap();
    bytes[pos as usize] ^= mask;
    fs::write(path, bytes).unwrap();
}

fn cut(path: &Path, len: u64) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len).unwrap();
}

/// Records that must survive damage in `victim` at byte `pos` of `file`: everything in
/// earlier files and every batch of `file` that ends at or before the damaged batch starts.
fn survivors(all: &[Rec], placed: &[Placed], file: &Path, pos: u64) -> Vec<Rec> {
    let last_good = placed
        .iter()
        .filter(|b| b.file.as_path() < file || (b.file == file && b.end <= pos))
        .map(|b| b.last_offset)
        .max()
        .unwrap_or(-1);
    all.iter()
        .filter(|r| r.offset <= last_good)
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn a_cut_log_file_keeps_every_whole_batch_before_the_cut(which in 0usize..100, frac in 0.0f64..1.0) {
        let dir = tempfile::tempdir().unwrap();
        let all = build(dir.path(), false);
        let placed = layout(dir.path());
        let logs = files_with(dir.path(), "log");
        let victim = &logs[which % logs.len()];
        let len = fs::metadata(victim).unwrap().len();
        let at = (len as f64 * frac) as u64;
        cut(victim, at);
        // A batch cut exactly at its end is whole: the survivors include it.
        let expected = survivors(&all, &placed, victim, at);
        let log = open(dir.path(), cfg(), clock(0), false);
        prop_assert_eq!(read_all(&log), expected.clone());
        let next = expected.last().map_or(0, |r| r.offset + 1);
        prop_assert_eq!(log.log_end_offset(), next);
        // The log takes appends again right after what survived.
        let info = log.append(&batch("after", 2, 10, 5, Compression::None)).unwrap();
        prop_assert_eq!(info.base_offset, next);
    }

    #[test]
    fn a_flipped_byte_in_a_log_file_cuts_there(which in 0usize..100, frac in 0.0f64..1.0, mask in 1u8..=255) {
        let dir = tempfile::tempdir().unwrap();
        let all = build(dir.path(), false);
        let placed = layout(dir.path());
        let logs = files_with(dir.path(), "log");
        let victim = &logs[which % logs.len()];
        let len = fs::metadata(victim).unwrap().len();
        let mut at = ((len as f64 * frac) as u64).min(len - 1);
        // baseOffset (bytes 0..8) and partitionLeaderEpoch (12..16) are outside the CRC by
        // the format's design (the log patches them); Kafka cannot see damage there either.
        let b = placed.iter().find(|b| &b.file == victim && b.start <= at && at < b.end).unwrap();
        let rel = at - b.start;
        if rel < 8 || (12..16).contains(&rel) {
            at = b.start + 16;
        }
        flip(victim, at, mask);
        let expected = survivors(&all, &placed, victim, b.start);
        let log = open(dir.path(), cfg(), clock(0), false);
        prop_assert_eq!(read_all(&log), expected);
    }

    #[test]
    fn damaged_indexes_never_change_what_is_read(
        ext_pick in 0usize..2, which in 0usize..100, frac in 0.0f64..1.0, mask in 1u8..=255, cut_it in any::<bool>(), clean in any::<bool>()
    ) {
        let dir = tempfile::tempdir().unwrap();
        let all = build(dir.path(), clean);
        let ext = ["index", "timeindex"][ext_pick];
        let files: Vec<PathBuf> = files_with(dir.path(), ext)
            .into_iter()
            .filter(|p| fs::metadata(p).unwrap().len() > 0)
            .collect();
        prop_assume!(!files.is_empty());
        let victim = &files[which % files.len()];
        let len = fs::metadata(victim).unwrap().len();
        let at = ((len as f64 * frac) as u64).min(len - 1);
        if cut_it {
            cut(victim, at);
        } else {
            flip(victim, at, mask);
        }
        let log = open(dir.path(), cfg(), clock(0), clean);
        prop_assert_eq!(read_all(&log), all.clone());
        // Reads that start mid-log go through the index lookup.
        for r in all.iter().step_by(7) {
            let bytes = log.read(r.offset, 1).unwrap().records;
            let h = BatchHeader::parse(&bytes).unwrap();
            prop_assert!(h.base_offset <= r.offset && r.offset <= h.last_offset());
        }
    }
}

#[test]
fn garbage_appended_after_a_clean_shutdown_is_cut_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let all = build(dir.path(), true);
    let last = files_with(dir.path(), "log").pop().unwrap();
    let mut f = OpenOptions::new().append(true).open(&last).unwrap();
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(&[0xAB; 100]).unwrap();
    drop(f);
    let log = open(dir.path(), cfg(), clock(0), true);
    assert_eq!(read_all(&log), all);
}

#[test]
fn a_missing_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let all = build(dir.path(), true);
    for p in files_with(dir.path(), "index") {
        fs::remove_file(p).unwrap();
    }
    let log = open(dir.path(), cfg(), clock(0), true);
    assert_eq!(read_all(&log), all);
}

#[test]
fn an_emptied_first_segment_drops_everything_after_it() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), false);
    let first = files_with(dir.path(), "log").remove(0);
    cut(&first, 0);
    let log = open(dir.path(), cfg(), clock(0), false);
    assert!(
        read_all(&log).is_empty(),
        "later segments no longer continue the log"
    );
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.segment_count(), 1);
}
