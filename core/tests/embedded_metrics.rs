//! The embedded broker's counters see every request, whichever way it came: requests are
//! counted where TCP and in-process requests meet (`api::handle`), so an in-process producer
//! and a TCP producer both show up under Produce.
#![allow(clippy::unwrap_used)]

use kafka_protocol::messages::ApiKey;
use strom::client::{Producer, ProducerRecord};
use strom::{EmbeddedBroker, Settings};

async fn produce_one(producer: Producer, topic: &str) {
    let delivery = producer
        .send(ProducerRecord::new(topic).value("v"))
        .await
        .unwrap();
    delivery.wait().await.unwrap();
    producer.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_and_tcp_requests_are_counted_alike() {
    let dir = tempfile::tempdir().unwrap();
    let b = EmbeddedBroker::open(dir.path(), Settings::default())
        .await
        .unwrap();
    let produce = ApiKey::Produce as i16;
    assert_eq!(b.metrics().requests_of(produce), 0);

    let in_process = Producer::builder()
        .in_process(b.service().unwrap())
        .build()
        .await
        .unwrap();
    produce_one(in_process, "counted").await;
    let after_in_process = b.metrics().requests_of(produce);
    assert!(after_in_process >= 1, "the in-process Produce is counted");

    let addr = b.serve("127.0.0.1:0").await.unwrap();
    let tcp = Producer::builder()
        .bootstrap(&addr.to_string())
        .build()
        .await
        .unwrap();
    produce_one(tcp, "counted").await;
    assert!(
        b.metrics().requests_of(produce) > after_in_process,
        "the TCP Produce is counted in the same counters"
    );
    let text = b.metrics().render(Some(b.service().unwrap()));
    assert!(
        text.contains("strom_requests_total{api=\"Produce\"}"),
        "{text}"
    );
    b.close().await.unwrap();
}
