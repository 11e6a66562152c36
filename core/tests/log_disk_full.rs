//! A full filesystem must surface as storage errors, never as a signal: the indexes of the
//! active segment used to be sparse files written through a memory map, and the first store
//! into a page the filesystem could not allocate killed the process with SIGBUS.
//!
//! The scenario runs on a 2 MiB tmpfs (mounting needs root; without it the test prints why it
//! skips) and in a child process, so a SIGBUS shows up as a failed assertion on the child's
//! exit status instead of taking the test harness down with it.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::records::Compression;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

const CHILD_ENV: &str = "STROM_DISK_FULL_DIR";
const PAGE: u64 = 4096;

#[test]
fn a_full_disk_is_a_storage_error_not_a_crash() {
    let Some(mount) = TmpfsMount::new("size=2m") else {
        return;
    };
    let mnt = mount.path();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "disk_full_child", "--ignored", "--nocapture"])
        .env(CHILD_ENV, mnt)
        .output()
        .unwrap();
    drop(mount);
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        child.status.success(),
        "the disk-full scenario failed ({:?}, signal {:?}; 7 is the SIGBUS bug)\n{stdout}\n{stderr}",
        child.status,
        child.status.signal()
    );
    assert!(stdout.contains("disk-full scenario passed"), "{stdout}");
}

/// Fills the filesystem holding `dir` up to the last byte.
fn fill(dir: &Path) -> std::fs::File {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    for chunk in [64 * 1024, 4096, 512, 1] {
        let buf = vec![0xAAu8; chunk];
        while f.write_all(&buf).is_ok() {}
    }
    f
}

#[test]
#[ignore = "run by a_full_disk_is_a_storage_error_not_a_crash in a child process"]
fn disk_full_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let log_dir = dir.join("t-0");
    // An offset index entry for every batch, one time index entry in all (same timestamp).
    let cfg = config(&[("index.interval.bytes", "0")]);
    let log = open(&log_dir, cfg.clone(), clock(1_000), false);
    let one = batch("x", 1, 20, 1_000, Compression::None);
    let len = one.len() as u64;
    // 512 entries fill the index's first page exactly (8 bytes each; the first batch gets
    // none). Pick a count of 512·m + 1 batches after which the log's last page still has room
    // for one more batch: that batch then needs no new page for the log, only for the index.
    let mut batches = 0u64;
    for m in 1.. {
        let k = 512 * m + 1;
        let tail = (k * len) % PAGE;
        if tail != 0 && tail + len <= PAGE {
            for _ in batches..k {
                log.append(&one).unwrap();
            }
            batches = k;
            break;
        }
        assert!(m < 64, "no batch count fits a page boundary");
    }
    assert_eq!(log.log_end_offset(), batches as i64);
    let filler = fill(dir);
    // The store that used to fault: the log write fits the allocated tail page, the index
    // entry starts a new page.
    log.append(&one)
        .expect("a batch that fits the log's allocated page is accepted");
    batches += 1;
    // Keep going until the log itself cannot grow: a storage error, the process alive.
    let mut refused = None;
    for _ in 0..10_000 {
        match log.append(&one) {
            Ok(_) => batches += 1,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let e = refused.expect("a full disk refuses appends");
    assert_eq!(e.kafka_code(), 56, "KAFKA_STORAGE_ERROR: {e}");
    assert!(matches!(e, strom::Error::Io { .. }), "{e}");
    assert_eq!(
        log.log_end_offset(),
        batches as i64,
        "a refused append changes nothing"
    );
    // Sealing writes the indexes out: a full disk fails it cleanly too.
    let closed = log.close();
    println!("close on a full disk: {closed:?}");
    // Space comes back: appends and a clean close work again, and everything reads back.
    drop(filler);
    std::fs::remove_file(dir.join("filler")).unwrap();
    for _ in 0..10 {
        log.append(&one).unwrap();
        batches += 1;
    }
    log.close().unwrap();
    drop(log);
    let log = open(&log_dir, cfg, clock(1_000), true);
    assert_eq!(log.log_end_offset(), batches as i64);
    assert_eq!(read_all(&log).len() as u64, batches);
    // Lookups through the rebuilt index land on the right batch.
    let target = batches as i64 / 2;
    let mid = log.read(target, 1).unwrap().records;
    let h = strom::records::batch::BatchHeader::parse(&mid).unwrap();
    assert_eq!(h.base_offset, target);
    println!("disk-full scenario passed: {batches} batches");
}
