//! [`TestCluster`]: a broker for client tests — strom in-process, strom over TCP, and, when
//! `STROM_TEST_KAFKA=host:port` is set, an external Kafka — so one test body checks that the
//! client behaves the same on each. Names made with [`TestCluster::unique`] carry a random
//! suffix, so runs against a shared Kafka do not collide.

use std::future::Future;
use std::time::{Duration, Instant};
use strom::api::Service;
use strom::client::Endpoint;
use strom::group::GroupConfig;
use strom::server::{self, ServerConfig};
use strom::{Broker, BrokerConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The environment variable naming an external Kafka broker to test against as well.
pub const KAFKA_ENV: &str = "STROM_TEST_KAFKA";
/// The bound of one test body on one cluster.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    InProcess,
    Tcp,
    Kafka,
}

/// One cluster to test against; dropping or [`TestCluster::shutdown`] ends it.
pub struct TestCluster {
    pub endpoint: Endpoint,
    pub flavor: Flavor,
    suffix: String,
    broker: Option<Broker>,
    service: Option<Service>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<strom::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// Broker settings for tests: no background housekeeping, no rebalance delay.
fn open_broker() -> (tempfile::TempDir, Broker) {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open_with(
        dir.path(),
        BrokerConfig {
            housekeeping_interval: None,
            ..BrokerConfig::default()
        },
    )
    .unwrap();
    (dir, broker)
}

fn group_config() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: 0,
        // Consumer-protocol members reconcile at their heartbeats: keep tests quick.
        consumer_heartbeat_interval_ms: 200,
        ..GroupConfig::default()
    }
}

fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

impl TestCluster {
    /// An embedded broker reached without sockets.
    pub async fn in_process() -> TestCluster {
        let (dir, broker) = open_broker();
        let service = Service::start(broker.clone(), group_config())
            .await
            .unwrap();
        TestCluster {
            endpoint: Endpoint::InProcess(service.clone()),
            flavor: Flavor::InProcess,
            suffix: suffix(),
            broker: Some(broker),
            service: Some(service),
            stop: None,
            server: None,
            _dir: Some(dir),
        }
    }

    /// A strom server on a free port of 127.0.0.1.
    pub async fn tcp() -> TestCluster {
        let (dir, broker) = open_broker();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let config = ServerConfig {
            group: group_config(),
            ..ServerConfig::default()
        };
        let server = tokio::spawn(server::run(listener, broker.clone(), config, async {
            let _ = stopped.await;
        }));
        TestCluster {
            endpoint: Endpoint::bootstrap(&addr.to_string()).unwrap(),
            flavor: Flavor::Tcp,
            suffix: suffix(),
            broker: Some(broker),
            service: None,
            stop: Some(stop),
            server: Some(server),
            _dir: Some(dir),
        }
    }

    /// The broker named by `STROM_TEST_KAFKA`, if set (else a line saying it is skipped).
    pub fn kafka() -> Option<TestCluster> {
        let Ok(servers) = std::env::var(KAFKA_ENV) else {
            println!("{KAFKA_ENV} is not set: skipping the run against Apache Kafka");
            return None;
        };
        Some(TestCluster {
            endpoint: Endpoint::bootstrap(&servers).unwrap(),
            flavor: Flavor::Kafka,
            suffix: suffix(),
            broker: None,
            service: None,
            stop: None,
            server: None,
            _dir: None,
        })
    }

    /// strom in-process, strom over TCP, and Kafka when `STROM_TEST_KAFKA` is set.
    pub async fn all() -> Vec<TestCluster> {
        let mut all = vec![TestCluster::in_process().await, TestCluster::tcp().await];
        all.extend(TestCluster::kafka());
        all
    }

    /// Runs `test` on every cluster of [`TestCluster::all`], each bounded by
    /// [`TEST_TIMEOUT`], saying which one runs so a failure names it.
    pub async fn each<F>(test: F)
    where
        F: AsyncFn(&TestCluster),
    {
        for cluster in TestCluster::all().await {
            println!("--- on {:?}", cluster.flavor);
            let outcome = tokio::time::timeout(TEST_TIMEOUT, test(&cluster)).await;
            assert!(
                outcome.is_ok(),
                "the test did not finish within {TEST_TIMEOUT:?} on {:?}",
                cluster.flavor
            );
            cluster.shutdown().await;
        }
    }

    /// `base` with this cluster's random suffix.
    pub fn unique(&self, base: &str) -> String {
        format!("{base}-{}", self.suffix)
    }

    pub fn is_kafka(&self) -> bool {
        self.flavor == Flavor::Kafka
    }

    /// The embedded broker's service (in-process only).
    pub fn service(&self) -> Option<&Service> {
        self.service.as_ref()
    }

    /// The embedded broker (strom flavors only).
    pub fn broker(&self) -> Option<&Broker> {
        self.broker.as_ref()
    }

    /// Stops the server or service and closes the broker, bounded.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let done = tokio::time::timeout(Duration::from_secs(20), server).await;
            done.expect("the server did not stop in 20 s")
                .unwrap()
                .unwrap();
        }
        if let Some(service) = self.service.take() {
            service.stop();
            if let Some(broker) = self.broker.take() {
                tokio::task::spawn_blocking(move || broker.close())
                    .await
                    .unwrap()
                    .unwrap();
            }
        }
    }
}

/// Polls `probe` until it gives a value, for state an external Kafka propagates
/// asynchronously (strom answers on the first poll). Panics after 30 s.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
