//! Helpers shared by the integration tests: batch builders and a decoding reader (storage),
//! and [`cluster::TestCluster`], the brokers client tests run against.
#![allow(dead_code, clippy::unwrap_used)]

pub mod cluster;
pub mod lying_batch;
pub mod raw;

use kafka_protocol::records::Compression;
use std::path::Path;
use std::sync::Arc;
use strom::clock::{Clock, ManualClock};
use strom::log::{LogConfig, OpenOptions, PartitionLog, TopicConfigs};
use strom::records::batch::BatchHeader;
use strom::records::stored::{decode_batch, encode_batch, SimpleRecord};

pub const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

/// A batch of `n` records `key-{tag}-{i}` → `value-{tag}-{i}` padded to `value_len`.
pub fn batch(tag: &str, n: usize, value_len: usize, ts: i64, codec: Compression) -> Vec<u8> {
    let recs: Vec<SimpleRecord> = (0..n)
        .map(|i| {
            let mut v = format!("value-{tag}-{i}").into_bytes();
            v.resize(value_len.max(v.len()), b'.');
            SimpleRecord::new(Some(format!("key-{tag}-{i}").as_bytes()), Some(&v), ts)
        })
        .collect();
    encode_batch(&recs, codec).unwrap().to_vec()
}

/// A batch with explicit (key, value) pairs; `None` value is a tombstone.
pub fn keyed(pairs: &[(&str, Option<&str>)], ts: i64, codec: Compression) -> Vec<u8> {
    let recs: Vec<SimpleRecord> = pairs
        .iter()
        .map(|(k, v)| SimpleRecord::new(Some(k.as_bytes()), v.map(str::as_bytes), ts))
        .collect();
    encode_batch(&recs, codec).unwrap().to_vec()
}

pub fn config(overrides: &[(&str, &str)]) -> LogConfig {
    let map: TopicConfigs = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LogConfig::from_overrides(&map).unwrap()
}

pub fn open(dir: &Path, config: LogConfig, clock: Arc<dyn Clock>, clean: bool) -> PartitionLog {
    PartitionLog::open(
        dir,
        OpenOptions {
            config,
            clock,
            clean_shutdown: clean,
        },
    )
    .unwrap()
}

pub fn clock(start: i64) -> Arc<ManualClock> {
    ManualClock::new(start)
}

/// One decoded record as the tests compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: i64,
}

/// Reads the whole log from its start, checking batch framing and CRCs on the way.
pub fn read_all(log: &PartitionLog) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    let mut guard = 0;
    while offset < end {
        guard += 1;
        assert!(guard < 1_000_000, "read loop does not advance");
        let chunk = log.read(offset, 64 * 1024).unwrap().records;
        if chunk.is_empty() {
            break;
        }
        let mut at = 0;
        while at < chunk.len() {
            let h = BatchHeader::parse(&chunk[at..]).unwrap();
            let bytes = &chunk[at..at + h.total_len()];
            h.validate_stored(bytes);
            for r in decode_batch(bytes).unwrap() {
                if r.offset >= offset {
                    out.push(Rec {
                        offset: r.offset,
                        key: r.key.map(|b| b.to_vec()),
                        value: r.value.map(|b| b.to_vec()),
                        timestamp: r.timestamp,
                    });
                }
            }
            offset = offset.max(h.last_offset() + 1);
            at += h.total_len();
        }
    }
    out
}

/// CRC and length checks on a stored batch (offset deltas may have gaps after compaction).
pub trait ValidateStored {
    fn validate_stored(&self, bytes: &[u8]);
}

impl ValidateStored for BatchHeader {
    fn validate_stored(&self, bytes: &[u8]) {
        assert!(
            strom::records::batch::crc_matches(self, bytes),
            "stored batch at offset {} fails its CRC",
            self.base_offset
        );
    }
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM).
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Resets the peak RSS to the current one (Linux: `5` in clear_refs) and returns it, in KiB.
pub fn reset_peak_rss() -> u64 {
    // Without the reset the peak only overstates growth: the bounds stay sound.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS")
}

/// How far the peak RSS rose above `base`, in MiB.
pub fn peak_growth_mib(base: u64) -> u64 {
    status_kib("VmHWM").saturating_sub(base) / 1024
}

/// A tmpfs mounted for one test (mount options such as `size=2m`), unmounted when dropped,
/// also when the test panics. `None`, with the reason printed, where mounting needs root.
pub struct TmpfsMount {
    path: std::path::PathBuf,
    _root: tempfile::TempDir,
}

impl TmpfsMount {
    pub fn new(options: &str) -> Option<TmpfsMount> {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&path)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(TmpfsMount { path, _root: root }),
            Ok(out) => {
                println!(
                    "skipped: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("skipped: cannot run mount: {e}");
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}
