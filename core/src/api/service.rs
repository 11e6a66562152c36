//! [`Service`]: a broker that answers Kafka requests. It owns what request handling needs
//! beyond storage (the group coordinator and its ticker) so that every way in — a TCP listener
//! ([`crate::server`]) and in-process clients ([`crate::client`]) — shares one coordinator:
//! a consumer attached in-process and a kafka-python consumer over TCP join the same group.

use crate::api::metrics::Metrics;
use crate::api::Context;
use crate::broker::Broker;
use crate::error::{Error, Result};
use crate::group::{GroupConfig, GroupCoordinator};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often group sessions and rebalance deadlines are checked.
const GROUP_TICK: Duration = Duration::from_millis(100);

/// A running broker. Clones share it; [`Service::stop`] ends background work.
#[derive(Debug, Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    broker: Broker,
    groups: GroupCoordinator,
    /// `auto.create.topics.enable` for in-process clients (listeners carry their own).
    auto_create_topics: bool,
    /// Requests answered (TCP and in-process), connections and bytes of its listeners.
    metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
}

impl Service {
    /// Opens the group coordinator on `broker` (replaying `__consumer_offsets`) and starts its
    /// ticker on the current tokio runtime. In-process clients may create topics by writing
    /// to them (Kafka's default `auto.create.topics.enable=true`).
    pub async fn start(broker: Broker, group: GroupConfig) -> Result<Service> {
        Self::start_with(broker, group, true).await
    }

    /// [`Service::start`] with `auto.create.topics.enable` for in-process clients.
    pub async fn start_with(
        broker: Broker,
        group: GroupConfig,
        auto_create_topics: bool,
    ) -> Result<Service> {
        let opening = broker.clone();
        let groups = tokio::task::spawn_blocking(move || {
            GroupCoordinator::open(opening, group, crate::clock::system())
        })
        .await
        .map_err(|e| Error::io(broker.data_dir(), std::io::Error::other(e)))??;
        let (stop, stopped) = watch::channel(false);
        let mut ticker_stop = stopped.clone();
        tokio::spawn(groups.clone().run_ticker(GROUP_TICK, async move {
            let _ = ticker_stop.wait_for(|stop| *stop).await;
        }));
        Ok(Service {
            inner: Arc::new(Inner {
                broker,
                groups,
                auto_create_topics,
                metrics: Arc::new(Metrics::default()),
                stop,
            }),
        })
    }

    pub fn broker(&self) -> &Broker {
        &self.inner.broker
    }

    pub fn groups(&self) -> &GroupCoordinator {
        &self.inner.groups
    }

    /// A handler context advertising `host:port` in Metadata, whose long polls end when
    /// `shutdown` turns true or the service stops.
    pub fn context(
        &self,
        host: String,
        port: i32,
        auto_create_topics: bool,
        shutdown: watch::Receiver<bool>,
    ) -> Context {
        Context {
            broker: self.inner.broker.clone(),
            groups: self.inner.groups.clone(),
            host,
            port,
            auto_create_topics,
            shutdown,
            metrics: Arc::clone(&self.inner.metrics),
        }
    }

    /// The counters of every request this service answered, and of its listeners.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Whether in-process clients create topics by writing to them.
    pub fn auto_create_topics(&self) -> bool {
        self.inner.auto_create_topics
    }

    /// The stop signal of the service itself (for contexts without a listener of their own).
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.inner.stop.subscribe()
    }

    pub fn is_stopped(&self) -> bool {
        *self.inner.stop.borrow()
    }

    /// Stops the ticker and wakes long polls of in-process clients. Does not close the broker.
    pub fn stop(&self) {
        let _ = self.inner.stop.send(true);
    }
}
