//! Idempotent producer batches: retries are acknowledged with their original offsets and not
//! appended twice, gaps and fenced epochs are refused, and dedup survives restarts.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use kafka_protocol::records::Compression;
use strom::records::batch::Codec;
use strom::records::{BatchBuilder, ProducerFields};

fn idempotent(pid: i64, epoch: i16, first_seq: i32, n: i32) -> Vec<u8> {
    let mut b = BatchBuilder::new(Codec::Lz4, 1024);
    for i in 0..n {
        let key = format!("k{}", first_seq + i);
        b.append(1_000, Some(key.as_bytes()), Some(b"v"), &[]);
    }
    let producer = ProducerFields {
        producer_id: pid,
        producer_epoch: epoch,
        base_sequence: first_seq,
        transactional: false,
    };
    b.build(producer).unwrap().to_vec()
}

#[test]
fn retries_are_deduplicated_gaps_and_old_epochs_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), config(&[]), clock(0), false);
    log.append(&batch("plain", 2, 5, 0, Compression::None))
        .unwrap();
    let first = log.append(&idempotent(42, 0, 0, 3)).unwrap();
    assert_eq!((first.base_offset, first.last_offset), (2, 4));
    let second = log.append(&idempotent(42, 0, 3, 2)).unwrap();
    assert_eq!(second.base_offset, 5);

    // The retry of the first batch lands nowhere new.
    let retry = log.append(&idempotent(42, 0, 0, 3)).unwrap();
    assert_eq!((retry.base_offset, retry.last_offset), (2, 4));
    assert_eq!(log.log_end_offset(), 7);

    assert_eq!(
        log.append(&idempotent(42, 0, 9, 1))
            .unwrap_err()
            .kafka_code(),
        45
    );
    log.append(&idempotent(42, 1, 0, 1)).unwrap();
    assert_eq!(
        log.append(&idempotent(42, 0, 5, 1))
            .unwrap_err()
            .kafka_code(),
        47
    );
    assert_eq!(log.log_end_offset(), 8);
    assert_eq!(read_all(&log).len(), 8);
}

#[test]
fn dedup_survives_clean_and_unclean_restarts_and_truncation() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(
            dir.path(),
            config(&[("internal.segment.bytes", "300")]),
            clock(0),
            false,
        );
        for i in 0..10 {
            log.append(&idempotent(7, 0, i * 2, 2)).unwrap();
        }
        if clean {
            log.close().unwrap();
        } else {
            // A checkpoint mid-way, then more appends the snapshot does not cover.
            log.checkpoint().unwrap();
            log.append(&idempotent(7, 0, 20, 2)).unwrap();
        }
        drop(log);
        let log = open(
            dir.path(),
            config(&[("internal.segment.bytes", "300")]),
            clock(0),
            clean,
        );
        let end = log.log_end_offset();
        let last_seq = if clean { 18 } else { 20 };
        let retry = log.append(&idempotent(7, 0, last_seq, 2)).unwrap();
        assert_eq!(
            retry.last_offset,
            end - 1,
            "clean={clean}: retry after restart"
        );
        assert_eq!(log.log_end_offset(), end);
        let next = log.append(&idempotent(7, 0, last_seq + 2, 2)).unwrap();
        assert_eq!(next.base_offset, end);

        // After truncating the last batch away, re-sending it appends it again.
        log.truncate_to(end).unwrap();
        let again = log.append(&idempotent(7, 0, last_seq + 2, 2)).unwrap();
        assert_eq!(again.base_offset, end);
    }
}
