//! strom's Rust client on an embedded broker: the same Producer, Consumer and Admin code runs
//! against `strom serve` or Apache Kafka with `.bootstrap("host:port")` instead of
//! `.in_process(broker.service()?)`.
//!
//! `cargo run --example client`

use std::time::Duration;
use strom::client::{Admin, Consumer, Producer, ProducerRecord};
use strom::{EmbeddedBroker, Settings};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("strom-client-example-{}", std::process::id()));
    // One value for the running broker: storage, groups, and (with `serve`) listeners.
    let broker = EmbeddedBroker::open(&dir, Settings::default()).await?;
    let service = broker.service()?;

    let admin = Admin::builder().in_process(service).build().await?;
    admin
        .create_topic("orders", Some(3), &[("retention.ms", "86400000")])
        .await?;

    let producer = Producer::builder()
        .in_process(service)
        .set("compression.type", "lz4")
        .build()
        .await?;
    let delivery = producer
        .send(
            ProducerRecord::new("orders")
                .key("order-1")
                .value(r#"{"qty":2}"#),
        )
        .await?;
    let meta = delivery.wait().await?;
    println!(
        "stored at {}-{} offset {}",
        meta.topic, meta.partition, meta.offset
    );
    producer.close().await?;

    let mut consumer = Consumer::builder()
        .in_process(service)
        .group("billing")
        .set("auto.offset.reset", "earliest")
        .build()
        .await?;
    consumer.subscribe(&["orders"])?;
    let records = loop {
        let records = consumer.poll(Duration::from_millis(500)).await?;
        if !records.is_empty() {
            break records;
        }
    };
    for r in &records {
        println!("read {:?} at offset {}", r.value, r.offset);
    }
    consumer.commit_sync().await?;
    consumer.close().await?;

    broker.close().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
