//! Writes a seed corpus for the `record_batch` target: real batches of every codec, with keys,
//! values, nulls and headers, so mutation starts from valid structure.
//! `cargo run --bin seeds -- corpus/record_batch`

use kafka_protocol::records::Compression;
use strom::records::stored::{encode_batch, SimpleRecord};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "corpus/record_batch".into());
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    for (ci, codec) in codecs.into_iter().enumerate() {
        for n in [1usize, 3, 17] {
            let recs: Vec<SimpleRecord> = (0..n)
                .map(|i| {
                    let mut r = SimpleRecord::new(
                        (i % 3 != 0).then(|| format!("key-{i}")),
                        (i % 4 != 1).then(|| "v".repeat(i * 7)),
                        1_700_000_000_000 + i as i64,
                    );
                    if i % 2 == 0 {
                        r.headers
                            .push((format!("h{i}"), Some(bytes::Bytes::from_static(b"hv"))));
                    }
                    r
                })
                .collect();
            let batch = encode_batch(&recs, codec).expect("encode a seed batch");
            std::fs::write(format!("{dir}/seed-{ci}-{n}"), &batch).expect("write a seed");
        }
    }
}
