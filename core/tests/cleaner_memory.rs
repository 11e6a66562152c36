//! Compaction's memory follows the number of keys, not the bytes behind them: a partition of
//! highly compressible 1 MiB values (a small file that decompresses to many MiB) is cleaned
//! without its decompressed batches staying pinned by the key map. Alone in its test binary,
//! because it reads the process's peak RSS.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::records::Compression;
use strom::records::stored::{encode_batch, SimpleRecord};

#[test]
fn cleaning_big_compressed_values_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        config(&[
            ("cleanup.policy", "compact"),
            ("internal.segment.bytes", "4096"),
        ]),
        clock(10_000),
        false,
    );
    let value = vec![b'x'; 1 << 20];
    // 2 rounds over 40 keys, one 1 MiB record per zstd batch: 80 MiB decompressed.
    for round in 0..2 {
        for k in 0..40 {
            let r = SimpleRecord::new(
                Some(format!("k{k}-{round}").as_bytes()),
                Some(&value),
                10_000,
            );
            let mut r = r;
            r.key = Some(format!("k{k}").into_bytes().into());
            log.append(&encode_batch(&[r], Compression::Zstd).unwrap())
                .unwrap();
        }
    }
    assert!(
        log.size_bytes() < 4 << 20,
        "stored compressed: {}",
        log.size_bytes()
    );
    // The peak RSS is reset (clear_refs) so it measures the cleaning alone; where it cannot
    // be, the peak only overstates the growth.
    let before = reset_peak_rss();
    let outcome = log.clean().unwrap();
    let grown_mib = peak_growth_mib(before);
    assert!(outcome.records_removed >= 39, "{outcome:?}");
    eprintln!(
        "peak RSS grew by {grown_mib} MiB while removing {} records",
        outcome.records_removed
    );
    // One batch is decoded at a time (1 MiB decompressed, 1 MiB copied out); pinning every
    // decompressed batch, as a key map of key slices did, would take 80 MiB or more.
    assert!(
        grown_mib < 24,
        "cleaning grew the peak RSS by {grown_mib} MiB"
    );
}
