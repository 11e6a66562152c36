//! The README's embedded example: a broker in this process, one topic, one batch in and out.
//! Run with `cargo run --example embedded`.

use kafka_protocol::records::Compression;
use strom::records::stored::{encode_batch, SimpleRecord};
use strom::Broker;

fn main() -> strom::Result<()> {
    let dir = std::env::temp_dir().join(format!("strom-example-{}", std::process::id()));
    let broker = Broker::open(&dir)?;
    broker.create_topic("orders", Some(3), Default::default())?;
    let record = SimpleRecord::new(Some(b"order-1"), Some(b"{\"qty\":2}"), 0);
    let batch = encode_batch(&[record], Compression::Lz4)?;
    let info = broker.append("orders", 0, &batch)?;
    let read = broker.read("orders", 0, info.base_offset, 1 << 20)?;
    println!(
        "appended at offset {}, read back {} bytes of whole batches (log end {})",
        info.base_offset,
        read.records.len(),
        read.log_end_offset
    );
    broker.close()?;
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
