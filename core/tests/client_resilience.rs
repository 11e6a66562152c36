//! The client across broker trouble: an idempotent producer keeps sending while its broker
//! restarts on the same address and every acknowledged record is stored exactly once; a
//! consumer group resumes from its commits after the restart. Every wait is bounded.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use strom::client::{Admin, Consumer, Producer, ProducerRecord, TopicPartition};
use strom::group::GroupConfig;
use strom::server::{self, ServerConfig};
use strom::{Broker, BrokerConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A strom server on a fixed address that can be stopped and started again.
struct Restartable {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    running: Option<(oneshot::Sender<()>, JoinHandle<strom::Result<()>>)>,
}

impl Restartable {
    async fn start() -> Restartable {
        let mut s = Restartable {
            addr: "127.0.0.1:0".parse().unwrap(),
            dir: tempfile::tempdir().unwrap(),
            running: None,
        };
        s.up().await;
        s
    }

    async fn up(&mut self) {
        let broker = Broker::open_with(
            self.dir.path(),
            BrokerConfig {
                housekeeping_interval: None,
                ..BrokerConfig::default()
            },
        )
        .unwrap();
        // The port is free again once the previous server dropped its listener; retry a
        // little in case the kernel lags.
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("rebinding {}: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot rebind {}: {e}", self.addr),
            }
        };
        self.addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let config = ServerConfig {
            group: GroupConfig {
                initial_rebalance_delay_ms: 0,
                ..GroupConfig::default()
            },
            shutdown_grace: Duration::from_secs(2),
            ..ServerConfig::default()
        };
        let task = tokio::spawn(server::run(listener, broker, config, async {
            let _ = stopped.await;
        }));
        self.running = Some((stop, task));
    }

    async fn down(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer_rides_out_a_broker_restart_exactly_once() {
    let mut server = Restartable::start().await;
    let bootstrap = server.addr.to_string();
    let admin = Admin::builder()
        .bootstrap(&bootstrap)
        .build()
        .await
        .unwrap();
    admin.create_topic("survive", Some(2), &[]).await.unwrap();
    drop(admin);
    let producer = Producer::builder()
        .bootstrap(&bootstrap)
        .set("linger.ms", "1")
        .set("retry.backoff.ms", "50")
        .set("request.timeout.ms", "3000")
        .set("delivery.timeout.ms", "60000")
        .build()
        .await
        .unwrap();
    assert!(
        producer.config().idempotence,
        "idempotence is on by default"
    );
    let mut deliveries = Vec::new();
    for i in 0..600 {
        if i == 200 {
            server.down().await;
        }
        if (200..300).contains(&i) && i % 20 == 0 {
            // The sender tries (and fails) to reach the broker while it is down.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if i == 300 {
            server.up().await;
        }
        let record = ProducerRecord::new("survive")
            .key(format!("k{}", i % 17))
            .value(format!("{i}"));
        deliveries.push(producer.send(record).await.unwrap());
    }
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for d in deliveries {
        let m = tokio::time::timeout(Duration::from_secs(60), d.wait())
            .await
            .expect("delivery answered in time")
            .expect("every record is delivered despite the restart");
        per_partition.entry(m.partition).or_default().push(m.offset);
    }
    producer.close().await.unwrap();

    let mut consumer = Consumer::builder()
        .bootstrap(&bootstrap)
        .build()
        .await
        .unwrap();
    let tps = [
        TopicPartition::new("survive", 0),
        TopicPartition::new("survive", 1),
    ];
    consumer.assign(&tps).unwrap();
    consumer.seek_to_beginning(&tps).await.unwrap();
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while values.len() < 600 && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    let mut sorted: Vec<u32> = values.iter().map(|v| v.parse().unwrap()).collect();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..600).collect::<Vec<_>>(),
        "every record exactly once"
    );
    for (p, offsets) in per_partition {
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "partition {p}: acknowledged offsets increase"
        );
    }
    server.down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_commit_and_async_commits_survive_a_restart() {
    let mut server = Restartable::start().await;
    let bootstrap = server.addr.to_string();
    let producer = Producer::builder()
        .bootstrap(&bootstrap)
        .build()
        .await
        .unwrap();
    producer
        .send_all((0..100).map(|i| ProducerRecord::new("commits").value(format!("{i}"))))
        .await
        .unwrap();
    producer.close().await.unwrap();

    let consumer = |auto: bool| {
        Consumer::builder()
            .bootstrap(&bootstrap)
            .group(if auto { "auto" } else { "manual" })
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", if auto { "true" } else { "false" })
            .set("auto.commit.interval.ms", "100")
            .set("max.poll.records", "30")
    };
    // Auto-commit: offsets are committed by poll and on close.
    let mut a = consumer(true).build().await.unwrap();
    a.subscribe(&["commits"]).unwrap();
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < 60 && Instant::now() < deadline {
        got += a.poll(Duration::from_millis(100)).await.unwrap().len();
    }
    a.close().await.unwrap();
    // Manual async commit of what was consumed.
    let mut m = consumer(false).build().await.unwrap();
    m.assign(&[TopicPartition::new("commits", 0)]).unwrap();
    let first = m.poll(Duration::from_secs(5)).await.unwrap();
    let committed_to = first.last().unwrap().offset + 1;
    m.commit_async().unwrap().await.unwrap().unwrap();
    m.close().await.unwrap();

    server.down().await;
    server.up().await;

    let mut a = consumer(true).build().await.unwrap();
    a.subscribe(&["commits"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let resumed = loop {
        let batch = a.poll(Duration::from_millis(100)).await.unwrap();
        if let Some(r) = batch.first() {
            break r.offset;
        }
        assert!(Instant::now() < deadline, "auto-commit group got nothing");
    };
    assert_eq!(
        resumed as usize, got,
        "auto-commit group resumes where it stopped"
    );
    a.close().await.unwrap();
    let mut m = consumer(false).build().await.unwrap();
    let tp = TopicPartition::new("commits", 0);
    m.assign(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(
        m.committed(std::slice::from_ref(&tp)).await.unwrap()[&tp].offset,
        committed_to
    );
    assert_eq!(
        m.poll(Duration::from_secs(5)).await.unwrap()[0].offset,
        committed_to
    );
    m.close().await.unwrap();
    server.down().await;
}
