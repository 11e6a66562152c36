//! Round trips between the client's builder and reader and the independent `kafka-protocol`
//! encoder/decoder the log uses, for every codec, plus robustness against damaged input.

use super::*;
use crate::records::batch::{patch_base_offset, stamp_log_append_time, BatchHeader, Codec};
use crate::records::stored::{compression_of, decode_batch, encode_batch, SimpleRecord};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

const CODECS: [Codec; 5] = [
    Codec::None,
    Codec::Gzip,
    Codec::Snappy,
    Codec::Lz4,
    Codec::Zstd,
];

/// Null keys and values, empty ones, headers with null values, timestamps on both sides of the
/// first one (negative deltas), and enough bytes at 1000 records to span several compression
/// blocks (32 KiB snappy, 64 KiB lz4).
fn sample(n: usize) -> Vec<SimpleRecord> {
    (0..n)
        .map(|i| {
            let key = match i % 5 {
                0 => None,
                1 => Some(Bytes::new()),
                _ => Some(Bytes::from(format!("key-{i}"))),
            };
            let value = (i % 7 != 3).then(|| Bytes::from(vec![b'a' + (i % 26) as u8; i % 200]));
            let mut headers = Vec::new();
            if i % 3 == 0 {
                headers.push((format!("h-{i}"), Some(Bytes::from(format!("hv{i}")))));
                headers.push(("null".to_string(), None));
                headers.push(("ünï".to_string(), Some(Bytes::new())));
            }
            let step = i as i64 * 1_000;
            let timestamp = 1_700_000_000_000 + if i % 2 == 0 { -step } else { step };
            SimpleRecord {
                key,
                value,
                timestamp,
                headers,
            }
        })
        .collect()
}

fn build(codec: Codec, recs: &[SimpleRecord], producer: ProducerFields) -> Bytes {
    let mut b = BatchBuilder::new(codec, 4096);
    for r in recs {
        b.append(
            r.timestamp,
            r.key.as_deref(),
            r.value.as_deref(),
            &r.headers,
        );
    }
    b.build(producer).unwrap()
}

fn read_all(data: &Bytes) -> Vec<FetchedRecord> {
    let mut out = Vec::new();
    for batch in split_batches(data) {
        let batch = batch.unwrap();
        assert!(batch.crc_ok());
        out.extend(batch.records().unwrap());
    }
    out
}

fn assert_same(got: &[FetchedRecord], want: &[SimpleRecord], base_offset: i64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.offset, base_offset + i as i64, "{what} #{i}");
        assert_eq!(g.timestamp, w.timestamp, "{what} #{i}");
        assert_eq!(g.timestamp_type, TimestampType::Create, "{what} #{i}");
        assert_eq!(g.key, w.key, "{what} #{i}");
        assert_eq!(g.value, w.value, "{what} #{i}");
        assert_eq!(g.headers, w.headers, "{what} #{i}");
    }
}

#[test]
fn builder_output_is_read_by_kafka_protocol() {
    let producer = ProducerFields {
        producer_id: 4242,
        producer_epoch: 7,
        base_sequence: 100,
        transactional: true,
    };
    for codec in CODECS {
        for n in [1, 1000] {
            let recs = sample(n);
            let batch = build(codec, &recs, producer);
            let h = BatchHeader::parse(&batch).unwrap();
            h.validate(&batch).unwrap();
            assert_eq!(h.codec(), Some(codec));
            let decoded = decode_batch(&batch).unwrap();
            assert_eq!(decoded.len(), n, "{codec:?}");
            for (i, (d, w)) in decoded.iter().zip(&recs).enumerate() {
                assert_eq!(d.offset, i as i64);
                assert_eq!(d.timestamp, w.timestamp, "{codec:?} #{i}");
                assert_eq!(d.key, w.key, "{codec:?} #{i}");
                assert_eq!(d.value, w.value, "{codec:?} #{i}");
                assert_eq!((d.producer_id, d.producer_epoch), (4242, 7));
                assert_eq!(d.sequence, 100 + i as i32);
                assert!(d.transactional && !d.control);
                let headers: Vec<(String, Option<Bytes>)> = d
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                assert_eq!(headers, w.headers, "{codec:?} #{i}");
            }
        }
    }
}

#[test]
fn builder_output_is_read_back_by_the_reader() {
    for codec in CODECS {
        for n in [1, 1000] {
            let recs = sample(n);
            let batch = build(codec, &recs, ProducerFields::NONE);
            assert_same(&read_all(&batch), &recs, 0, codec.name());
        }
    }
}

#[test]
fn reader_reads_kafka_protocol_batches() {
    for codec in CODECS {
        let recs = sample(300);
        let batch = encode_batch(&recs, compression_of(codec)).unwrap().freeze();
        assert_same(&read_all(&batch), &recs, 0, codec.name());
    }
}

#[test]
fn reader_applies_broker_assigned_fields() {
    let recs = sample(20);
    let mut batch = BytesMut::from(&build(Codec::Lz4, &recs, ProducerFields::NONE)[..]);
    patch_base_offset(&mut batch, 5_000);
    batch[12..16].copy_from_slice(&9i32.to_be_bytes());
    // The leader epoch is outside the CRC; LogAppendTime restamps it.
    stamp_log_append_time(&mut batch, 42);
    let data = batch.freeze();
    let got = read_all(&data);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.offset, 5_000 + i as i64);
        assert_eq!(r.timestamp, 42);
        assert_eq!(r.timestamp_type, TimestampType::LogAppend);
        assert_eq!(r.leader_epoch, Some(9));
    }
    let plain = build(Codec::None, &recs, ProducerFields::NONE);
    assert_eq!(read_all(&plain)[0].leader_epoch, None);
}

#[test]
fn uncompressed_records_share_the_fetched_buffer() {
    let recs = sample(10);
    let data = build(Codec::None, &recs, ProducerFields::NONE);
    let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
    for r in read_all(&data) {
        if let Some(v) = r.value.filter(|v| !v.is_empty()) {
            assert!(range.contains(&(v.as_ptr() as usize)));
        }
    }
}

#[test]
fn a_trailing_partial_batch_is_skipped_at_every_cut() {
    let batches: Vec<Bytes> = [(Codec::None, 3), (Codec::Gzip, 5), (Codec::None, 1)]
        .iter()
        .map(|&(c, n)| build(c, &sample(n), ProducerFields::NONE))
        .collect();
    let mut all = BytesMut::new();
    let mut ends = Vec::new();
    for b in &batches {
        all.extend_from_slice(b);
        ends.push(all.len());
    }
    let all = all.freeze();
    for cut in 0..=all.len() {
        let data = all.slice(..cut);
        let mut it = split_batches(&data);
        let whole: Vec<RawBatch> = it.by_ref().map(|b| b.unwrap()).collect();
        let expected = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(whole.len(), expected, "cut at {cut}");
        let consumed = ends.get(expected.wrapping_sub(1)).copied().unwrap_or(0);
        assert_eq!(it.partial_bytes(), cut - consumed, "cut at {cut}");
        for b in whole {
            assert!(b.crc_ok());
            b.records().unwrap();
        }
    }
}

#[test]
fn other_magic_and_impossible_lengths_are_errors() {
    let good = build(Codec::None, &sample(2), ProducerFields::NONE);
    let mut two = BytesMut::from(&good[..]);
    two.extend_from_slice(&good);
    two[good.len() + 16] = 1;
    let data = two.freeze();
    let mut it = split_batches(&data);
    assert!(it.next().unwrap().is_ok());
    let e = it.next().unwrap().unwrap_err();
    assert_eq!(e.kafka_code(), 2, "{e}");
    assert!(it.next().is_none(), "the iterator stops after an error");

    let mut short = BytesMut::from(&good[..]);
    short[8..12].copy_from_slice(&10i32.to_be_bytes());
    let short = short.freeze();
    assert!(split_batches(&short).next().unwrap().is_err());
    let mut negative = BytesMut::from(&good[..]);
    negative[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    let negative = negative.freeze();
    assert!(split_batches(&negative).next().unwrap().is_err());
}

/// Rewrites a built uncompressed batch's record count and records section (CRC left stale:
/// `records()` does not check it).
fn with_section(good: &Bytes, count: i32, section: &[u8]) -> RawBatch {
    let mut b = BytesMut::from(&good[..61]);
    b.extend_from_slice(section);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    let bytes = b.freeze();
    RawBatch {
        header: BatchHeader::parse(&bytes).unwrap(),
        bytes,
    }
}

#[test]
fn malformed_records_are_errors() {
    let good = build(Codec::None, &sample(1), ProducerFields::NONE);
    let section = good.slice(61..);
    let cases: Vec<(&str, i32, Vec<u8>)> = vec![
        ("overlong length varint", 1, vec![0xff; 8]),
        ("negative record length", 1, vec![0x01, 0, 0, 0, 0, 0, 0]),
        ("length past the end", 1, vec![0x40, 0, 0, 0, 0, 0, 0]),
        ("count beyond the bytes", 1_000, section.to_vec()),
        ("negative count", -1, section.to_vec()),
        ("a record missing", 2, section.to_vec()),
        ("trailing bytes", 1, [&section[..], &[0u8; 3]].concat()),
        // length 6: attributes, ts 0, offset 0, key len -3, ...
        ("negative key length", 1, vec![0x0c, 0, 0, 0, 0x05, 0, 0]),
        ("key past the record", 1, vec![0x0c, 0, 0, 0, 0x08, 0, 0]),
        ("null header key", 1, vec![0x10, 0, 0, 0, 1, 1, 2, 1, 1]),
        ("huge header count", 1, vec![0x0e, 0, 0, 0, 1, 1, 0x7e, 0]),
        (
            "record longer than its fields",
            1,
            vec![0x0e, 0, 0, 0, 1, 1, 0, 0],
        ),
    ];
    for (what, count, bytes) in cases {
        let batch = with_section(&good, count, &bytes);
        let e = batch.records().unwrap_err();
        assert_eq!(e.kafka_code(), 2, "{what}: {e}");
    }
    // The unmodified section still reads, so the helper itself is sound.
    assert_eq!(with_section(&good, 1, &section).records().unwrap().len(), 1);
}

#[test]
fn hand_made_batches_with_a_lying_header_are_errors() {
    let good = build(Codec::None, &sample(1), ProducerFields::NONE);
    let mut header = BatchHeader::parse(&good).unwrap();
    header.batch_length = -1;
    let batch = RawBatch {
        header,
        bytes: good.slice(..10),
    };
    assert!(!batch.crc_ok());
    assert!(batch.records().is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Damaged fetch data yields errors or fewer records, never a panic.
    #[test]
    fn damaged_batches_never_panic(
        codec in 0usize..5,
        flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 0..6),
        cut in any::<usize>(),
        truncate in any::<bool>(),
    ) {
        let recs = sample(12);
        let mut bytes = BytesMut::from(&build(CODECS[codec], &recs, ProducerFields::NONE)[..]);
        for (at, x) in flips {
            let at = at % bytes.len();
            bytes[at] ^= x;
        }
        if truncate {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let data = bytes.freeze();
        for batch in split_batches(&data).flatten() {
            let _ = batch.crc_ok();
            let _ = batch.records();
        }
    }
}

#[test]
fn read_micro_check() {
    // Not a timed assertion: prints the per-record decode cost of an uncompressed batch.
    let mut b = BatchBuilder::new(Codec::None, 0);
    for i in 0..1_000 {
        b.append(i, Some(&[7u8; 10]), Some(&[9u8; 100]), &[]);
    }
    let data = b.build(ProducerFields::NONE).unwrap();
    let mut best = u128::MAX;
    for _ in 0..50 {
        let start = std::time::Instant::now();
        let batch = split_batches(&data).next().unwrap().unwrap();
        let n = batch.records().unwrap().len();
        best = best.min(start.elapsed().as_nanos() / n as u128);
    }
    println!("read: {best} ns/record (debug builds are much slower)");
}
