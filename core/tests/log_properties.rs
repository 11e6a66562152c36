//! Property test: whatever is appended reads back in order with increasing offsets, across
//! segment rolls, clean and unclean reopens, truncations and retention.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append {
        records: usize,
        value_len: usize,
        codec: usize,
    },
    Reopen {
        clean: bool,
    },
    Truncate {
        back: i64,
    },
    AdvanceStart {
        forward: i64,
    },
    RetentionBytes,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..20, 0usize..300, 0usize..5)
            .prop_map(|(records, value_len, codec)| Op::Append { records, value_len, codec }),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
        1 => (0i64..30).prop_map(|back| Op::Truncate { back }),
        1 => (0i64..30).prop_map(|forward| Op::AdvanceStart { forward }),
        1 => Just(Op::RetentionBytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn appended_records_read_back_in_order(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(&[
            ("internal.segment.bytes", "3000"),
            ("index.interval.bytes", "256"),
            ("segment.index.bytes", "120"),
            ("retention.bytes", "6000"),
        ]);
        let c = clock(1_000);
        let mut log = open(dir.path(), cfg.clone(), c.clone(), false);
        // The model: every record still in the log, by offset.
        let mut model: Vec<Rec> = Vec::new();
        let mut tag = 0;
        for op in ops {
            match op {
                Op::Append { records, value_len, codec } => {
                    tag += 1;
                    let info = log
                        .append(&batch(&tag.to_string(), records, value_len, 5_000, CODECS[codec]))
                        .unwrap();
                    prop_assert_eq!(info.base_offset, log.log_end_offset() - records as i64);
                    for i in 0..records {
                        let mut v = format!("value-{tag}-{i}").into_bytes();
                        v.resize(value_len.max(v.len()), b'.');
                        model.push(Rec {
                            offset: info.base_offset + i as i64,
                            key: Some(format!("key-{tag}-{i}").into_bytes()),
                            value: Some(v),
                            timestamp: 5_000,
                        });
                    }
                }
                Op::Reopen { clean } => {
                    if clean {
                        log.close().unwrap();
                    }
                    drop(log);
                    log = open(dir.path(), cfg.clone(), c.clone(), clean);
                }
                Op::Truncate { back } => {
                    let target = (log.log_end_offset() - back).max(log.log_start_offset());
                    log.truncate_to(target).unwrap();
                    // Whole batches go: the log end may land below `target`.
                    let end = log.log_end_offset();
                    prop_assert!(end <= target);
                    model.retain(|r| r.offset < end);
                }
                Op::AdvanceStart { forward } => {
                    let target = (log.log_start_offset() + forward).min(log.log_end_offset());
                    log.advance_log_start_offset(target).unwrap();
                    model.retain(|r| r.offset >= target);
                }
                Op::RetentionBytes => {
                    log.enforce_retention().unwrap();
                    let start = log.log_start_offset();
                    model.retain(|r| r.offset >= start);
                }
            }
            let got = read_all(&log);
            prop_assert!(got.windows(2).all(|w| w[0].offset < w[1].offset));
            prop_assert_eq!(&got, &model);
        }
    }
}
