//! Storage benchmarks for the partition log, each next to the machine's own limit measured in
//! the same binary (memcpy, raw `write(2)`/`pread(2)`, raw `fdatasync`), so the report can give
//! ratios instead of absolute numbers from a shared machine.
//!
//! Groups (criterion ids are `group/name`):
//!
//! - `memcpy`: `copy_from_slice` of 64 MiB, and of one 16 KiB chunk into 64 MiB: the
//!   memory-bandwidth limits.
//! - `append_unsynced`: `PartitionLog::append` of ready-made 16 KiB batches (100 B or 1 KiB
//!   records) into a fresh log, 64 MiB per iteration, no fsync; `raw_write_16KiB` is plain
//!   `write(2)` of the same batch bytes into a fresh file.
//! - `append_fsync`: 8 threads, each appending a 16 KiB batch and then waiting for it to be
//!   durable (group commit), 16 MiB per iteration; raw baselines write + `fdatasync` in 16 KiB
//!   (no sharing) and 128 KiB (8 appends per fsync, perfect sharing) steps.
//! - `read_sequential`: a 256 MiB single-segment log read from offset 0 to the end in 1 MiB
//!   `max_bytes` steps, from page cache; raw `pread` of the segment file in 1 MiB steps into a
//!   reused buffer and into a freshly zeroed one.
//! - `index_lookup`: `read(random offset, 1)` on a 64 MiB log of 16 segments (4 MiB
//!   `segment.bytes`), with 16 KiB batches and with 1 KiB batches; throughput in lookups/s.
//!
//! - `validate`: what checking a produced 16 KiB batch costs, next to the CRC-32C pass over the
//!   same bytes that every broker (Kafka too) already pays: the header check alone
//!   (`split_and_validate`), the record walk (`validate::check_batch`, 100 B records), and the
//!   walk of the same records lz4-compressed (streaming decompression included).
//!
//! Logs live in temporary directories under `$STROM_BENCH_DIR` (default: `target/bench-tmp`
//! of the workspace), which must be on the disk being measured, not on tmpfs.

#![allow(clippy::unwrap_used)]

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use kafka_protocol::records::Compression;
use std::cell::OnceCell;
use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use strom::log::{LogConfig, OpenOptions, PartitionLog};
use strom::records::batch::BatchHeader;
use strom::records::stored::{encode_batch, SimpleRecord};
use tempfile::TempDir;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// Target size of every producer batch.
const BATCH_BYTES: usize = 16 * KIB;
/// Bytes appended per iteration of the unsynced append benches (one fresh log each).
const UNSYNCED_VOLUME: usize = 64 * MIB;
/// Bytes made durable per iteration of the fsync benches (one fresh log each).
const FSYNC_VOLUME: usize = 16 * MIB;
const APPENDERS: usize = 8;
/// Size of the log read sequentially.
const READ_LOG_BYTES: usize = 256 * MIB;
const READ_STEP: usize = MIB;
/// The multi-segment log for lookups: total size and `segment.bytes`.
const LOOKUP_LOG_BYTES: usize = 64 * MIB;
const LOOKUP_SEGMENT_BYTES: u64 = 4 * MIB as u64;
const LOOKUPS_PER_ITER: usize = 1024;

/// Deterministic xorshift64*, enough for payload bytes and random offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// One uncompressed RecordBatch v2 of `record_size`-byte values (no key), as many records as
/// fit in `target` bytes.
fn build_batch(record_size: usize, target: usize) -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ record_size as u64);
    // Stamped now: the log rolls a segment once its first batch is older than `segment.ms`
    // (as Kafka does), so a fixed old timestamp would make every append roll.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut n = (target - 61) / (record_size + 6) + 1;
    loop {
        let records: Vec<SimpleRecord> = (0..n)
            .map(|_| SimpleRecord::new(None::<&[u8]>, Some(rng.bytes(record_size).as_slice()), now))
            .collect();
        let bytes = encode_batch(&records, Compression::None).unwrap();
        if bytes.len() <= target || n == 1 {
            return bytes.to_vec();
        }
        n -= 1;
    }
}

/// Where benchmark logs go: on the same filesystem as the target dir, never tmpfs by default.
fn bench_root() -> PathBuf {
    let root = std::env::var_os("STROM_BENCH_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-tmp"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&root).unwrap();
    root
}

fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("strom-bench-")
        .tempdir_in(bench_root())
        .unwrap()
}

fn open_log(dir: &Path, config: LogConfig) -> PartitionLog {
    PartitionLog::open(
        dir,
        OpenOptions {
            config,
            clock: strom::clock::system(),
            clean_shutdown: true,
        },
    )
    .unwrap()
}

/// A log of `batch` appended until it holds at least `bytes`, then fsync'd so the pages are
/// clean (no writeback under later measurements) but still cached.
struct Fixture {
    _dir: TempDir,
    log: PartitionLog,
    size: usize,
}

fn fixture(batch: &[u8], bytes: usize, config: LogConfig) -> Fixture {
    let dir = temp_dir();
    let log = open_log(dir.path(), config);
    let mut size = 0;
    while size < bytes {
        log.append(batch).unwrap();
        size += batch.len();
    }
    log.wait_durable(log.log_end_offset()).unwrap();
    Fixture {
        _dir: dir,
        log,
        size,
    }
}

/// Walks the batches of a read result and returns the offset after the last one.
fn next_offset_after(records: &[u8]) -> i64 {
    let mut pos = 0;
    let mut next = -1;
    while pos < records.len() {
        let h = BatchHeader::parse(&records[pos..]).unwrap();
        next = h.last_offset() + 1;
        pos += h.total_len();
    }
    next
}

fn memcpy(c: &mut Criterion) {
    let mut g = c.benchmark_group("memcpy");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(UNSYNCED_VOLUME as u64));
    // Non-zero fill so every page is really backed before timing.
    let src = vec![0x5au8; UNSYNCED_VOLUME];
    let mut dst = vec![0xa5u8; UNSYNCED_VOLUME];
    g.bench_function("64MiB", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        })
    });
    let chunk = build_batch(1024, BATCH_BYTES);
    let chunk = &chunk[..];
    let whole = UNSYNCED_VOLUME / chunk.len() * chunk.len();
    g.throughput(Throughput::Bytes(whole as u64));
    g.bench_function("16KiB_chunks_into_64MiB", |b| {
        b.iter(|| {
            for piece in dst[..whole].chunks_exact_mut(chunk.len()) {
                piece.copy_from_slice(black_box(chunk));
            }
            black_box(&mut dst);
        })
    });
    g.finish();
}

fn append_unsynced(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_unsynced");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (name, record_size) in [("strom_100B_records", 100), ("strom_1KiB_records", 1024)] {
        let batch = build_batch(record_size, BATCH_BYTES);
        let count = UNSYNCED_VOLUME / batch.len();
        g.throughput(Throughput::Bytes((count * batch.len()) as u64));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = temp_dir();
                    let log = open_log(dir.path(), LogConfig::default());
                    let start = Instant::now();
                    for _ in 0..count {
                        black_box(log.append(&batch).unwrap());
                    }
                    total += start.elapsed();
                    // Deleting before writeback keeps the disk out of it: page cache only.
                    drop(log);
                    drop(dir);
                }
                total
            })
        });
    }
    let batch = build_batch(1024, BATCH_BYTES);
    let count = UNSYNCED_VOLUME / batch.len();
    g.throughput(Throughput::Bytes((count * batch.len()) as u64));
    g.bench_function("raw_write_16KiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = temp_dir();
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(dir.path().join("raw.log"))
                    .unwrap();
                let start = Instant::now();
                for _ in 0..count {
                    file.write_all(&batch).unwrap();
                }
                total += start.elapsed();
                drop(file);
                drop(dir);
            }
            total
        })
    });
    g.finish();
}

fn append_fsync(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_fsync");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let batch = build_batch(1024, BATCH_BYTES);
    let per_thread = FSYNC_VOLUME / APPENDERS / batch.len();
    g.throughput(Throughput::Bytes(
        (APPENDERS * per_thread * batch.len()) as u64,
    ));
    g.bench_function("strom_8_appenders", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = temp_dir();
                let log = open_log(dir.path(), LogConfig::default());
                let barrier = Barrier::new(APPENDERS + 1);
                total += std::thread::scope(|s| {
                    let handles: Vec<_> = (0..APPENDERS)
                        .map(|_| {
                            s.spawn(|| {
                                barrier.wait();
                                for _ in 0..per_thread {
                                    let info = log.append(&batch).unwrap();
                                    log.wait_durable(info.last_offset + 1).unwrap();
                                }
                            })
                        })
                        .collect();
                    barrier.wait();
                    let start = Instant::now();
                    for h in handles {
                        h.join().unwrap();
                    }
                    start.elapsed()
                });
                assert_eq!(log.durable_offset(), log.log_end_offset());
                drop(log);
                drop(dir);
            }
            total
        })
    });
    // Raw limits for the same volume: one fdatasync per 8 batches (what perfect group commit
    // of 8 appenders could reach) and one per batch (no sharing at all).
    for (name, per_sync) in [
        ("raw_write_fdatasync_128KiB", APPENDERS),
        ("raw_write_fdatasync_16KiB", 1),
    ] {
        let rounds = FSYNC_VOLUME / batch.len() / per_sync;
        g.throughput(Throughput::Bytes((rounds * per_sync * batch.len()) as u64));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = temp_dir();
                    let mut file = std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(dir.path().join("raw.log"))
                        .unwrap();
                    let start = Instant::now();
                    for _ in 0..rounds {
                        for _ in 0..per_sync {
                            file.write_all(&batch).unwrap();
                        }
                        file.sync_data().unwrap();
                    }
                    total += start.elapsed();
                    drop(file);
                    drop(dir);
                }
                total
            })
        });
    }
    g.finish();
}

fn read_sequential(c: &mut Criterion) {
    let mut g = c.benchmark_group("read_sequential");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let fix = OnceCell::new();
    let get = || {
        fix.get_or_init(|| {
            fixture(
                &build_batch(1024, BATCH_BYTES),
                READ_LOG_BYTES,
                LogConfig::default(),
            )
        })
    };
    g.throughput(Throughput::Bytes(READ_LOG_BYTES as u64));
    g.bench_function("strom_read_1MiB", |b| {
        let f = get();
        let end = f.log.log_end_offset();
        b.iter(|| {
            let mut offset = 0;
            let mut bytes = 0;
            while offset < end {
                let r = f.log.read(offset, READ_STEP).unwrap();
                bytes += r.records.len();
                offset = next_offset_after(&r.records);
            }
            assert_eq!(bytes, f.size);
            bytes
        })
    });
    let segment = || {
        let f = get();
        assert_eq!(f.log.segment_count(), 1);
        let path = f.log.dir().join("00000000000000000000.log");
        (File::open(path).unwrap(), f.size as u64)
    };
    g.bench_function("pread_1MiB_reused_buf", |b| {
        let (file, size) = segment();
        let mut buf = vec![0u8; READ_STEP];
        b.iter(|| {
            let mut pos = 0u64;
            while pos < size {
                let n = (size - pos).min(READ_STEP as u64) as usize;
                file.read_exact_at(&mut buf[..n], pos).unwrap();
                black_box(&buf);
                pos += n as u64;
            }
        })
    });
    g.bench_function("pread_1MiB_fresh_zeroed_buf", |b| {
        let (file, size) = segment();
        b.iter(|| {
            let mut pos = 0u64;
            while pos < size {
                let n = (size - pos).min(READ_STEP as u64) as usize;
                let mut buf = bytes::BytesMut::zeroed(n);
                file.read_exact_at(&mut buf, pos).unwrap();
                black_box(buf.freeze());
                pos += n as u64;
            }
        })
    });
    g.finish();
}

fn index_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("index_lookup");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(LOOKUPS_PER_ITER as u64));
    let config = LogConfig {
        segment_bytes: LOOKUP_SEGMENT_BYTES,
        ..LogConfig::default()
    };
    for (label, batch_bytes) in [("16KiB_batches", BATCH_BYTES), ("1KiB_batches", KIB)] {
        // Built on first use: criterion calls the routine once per sample, and not at all
        // when a filter excludes it.
        let setup = OnceCell::new();
        g.bench_function(BenchmarkId::new("strom_read_one_batch", label), |b| {
            let (f, offsets) = setup.get_or_init(|| {
                let f = fixture(
                    &build_batch(100, batch_bytes),
                    LOOKUP_LOG_BYTES,
                    config.clone(),
                );
                assert!(f.log.segment_count() >= 16, "{}", f.log.segment_count());
                let end = f.log.log_end_offset() as u64;
                let mut rng = Rng(42);
                let offsets: Vec<i64> = (0..LOOKUPS_PER_ITER)
                    .map(|_| (rng.next() % end) as i64)
                    .collect();
                (f, offsets)
            });
            b.iter(|| {
                for &o in offsets {
                    let r = f.log.read(o, 1).unwrap();
                    debug_assert!(next_offset_after(&r.records) > o);
                    black_box(r);
                }
            })
        });
    }
    g.finish();
}

fn validate(c: &mut Criterion) {
    use strom::log::validate::{check_batch, Rules};
    use strom::records::batch::split_and_validate;
    let mut g = c.benchmark_group("validate");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let plain = build_batch(100, BATCH_BYTES);
    let rules = Rules::of(&LogConfig::default(), 0);
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_function("crc32c_16KiB", |b| {
        b.iter(|| black_box(crc32c::crc32c(black_box(&plain[21..]))))
    });
    g.bench_function("header_16KiB", |b| {
        b.iter(|| black_box(split_and_validate(black_box(&plain), 1 << 20).unwrap()))
    });
    let h = strom::records::batch::BatchHeader::parse(&plain).unwrap();
    g.bench_function("records_16KiB_100B", |b| {
        b.iter(|| black_box(check_batch(&h, black_box(&plain), &rules).unwrap()))
    });
    let recs: Vec<strom::records::stored::SimpleRecord> =
        strom::records::stored::decode_batch(&plain)
            .unwrap()
            .into_iter()
            .map(|r| strom::records::stored::SimpleRecord {
                key: r.key,
                value: r.value,
                timestamp: r.timestamp,
                headers: Vec::new(),
            })
            .collect();
    let lz4 = strom::records::stored::encode_batch(&recs, Compression::Lz4)
        .unwrap()
        .to_vec();
    let hz = strom::records::batch::BatchHeader::parse(&lz4).unwrap();
    g.bench_function("records_16KiB_100B_lz4", |b| {
        b.iter(|| black_box(check_batch(&hz, black_box(&lz4), &rules).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    memcpy,
    validate,
    append_unsynced,
    append_fsync,
    read_sequential,
    index_lookup
);
criterion_main!(benches);
