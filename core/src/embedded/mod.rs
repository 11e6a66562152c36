//! [`EmbeddedBroker`]: a running broker inside this process — storage ([`Broker`]), the
//! request-answering [`Service`] with its group coordinator, and any number of Kafka-protocol
//! listeners plus an optional metrics listener — opened from [`Settings`] by Kafka's names.
//! `strom serve`, the Rust API and the Python, Node and C bindings all run a broker through
//! this one type, so its life (open, serve, close in order) is written once.

pub mod settings;

pub use settings::Settings;

use crate::api::metrics::Metrics;
use crate::api::Service;
use crate::broker::Broker;
use crate::error::{Error, Result};
use crate::server::{self, ServerConfig};
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A broker serving in this process. Clones share it. Needs a tokio runtime for its async
/// methods; [`crate::runtime`] offers the one the bindings share.
#[derive(Debug, Clone)]
pub struct EmbeddedBroker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: Service,
    server: ServerConfig,
    listeners: Mutex<Vec<Listener>>,
    metrics: Mutex<Option<(SocketAddr, JoinHandle<()>)>>,
    closed: AtomicBool,
}

#[derive(Debug)]
struct Listener {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<()>>,
}

impl EmbeddedBroker {
    /// Opens (or creates) the broker whose data lives in `dir`, starts its group coordinator
    /// and serves what `settings` names (`listeners`, `metrics.listener`). A `log.dirs`
    /// setting must name `dir` too, or be left out.
    pub async fn open(dir: impl AsRef<Path>, settings: Settings) -> Result<EmbeddedBroker> {
        let dir = dir.as_ref().to_path_buf();
        if let Some(named) = &settings.data_dir {
            if named != &dir {
                return Err(settings::invalid(
                    "log.dirs",
                    format!(
                        "{} differs from the directory the broker is opened on ({})",
                        named.display(),
                        dir.display()
                    ),
                ));
            }
        }
        let Settings {
            listener,
            metrics_listener,
            broker,
            server,
            ..
        } = settings;
        let opening = dir.clone();
        let storage = tokio::task::spawn_blocking(move || Broker::open_with(&opening, broker))
            .await
            .map_err(|e| Error::io(&dir, std::io::Error::other(e)))??;
        let started = Service::start_with(
            storage.clone(),
            server.group.clone(),
            server.auto_create_topics,
        );
        let service = match started.await {
            Ok(service) => service,
            Err(e) => {
                let _ = storage.close();
                return Err(e);
            }
        };
        let embedded = EmbeddedBroker {
            inner: Arc::new(Inner {
                service,
                server,
                listeners: Mutex::new(Vec::new()),
                metrics: Mutex::new(None),
                closed: AtomicBool::new(false),
            }),
        };
        let served = async {
            if let Some(addr) = &listener {
                embedded.serve(addr).await?;
            }
            if let Some(addr) = &metrics_listener {
                embedded.serve_metrics(addr).await?;
            }
            Ok::<(), Error>(())
        };
        if let Err(e) = served.await {
            let _ = embedded.close().await;
            return Err(e);
        }
        Ok(embedded)
    }

    /// Serves the Kafka protocol on `addr` (`host:port`, `PLAINTEXT://host:port`; port 0
    /// picks a free one) until [`close`](Self::close). Returns the bound address. May be
    /// called any number of times; each listener advertises its own address unless
    /// `advertised.listeners` is set.
    pub async fn serve(&self, addr: &str) -> Result<SocketAddr> {
        self.check_open()?;
        let target = addr
            .strip_prefix("PLAINTEXT://")
            .or_else(|| addr.strip_prefix("plaintext://"))
            .unwrap_or(addr);
        let (listener, local) = self.bind(target).await?;
        if self.inner.server.advertised.is_none() && local.ip().is_unspecified() {
            // Kafka refuses this too: clients would be told to connect to 0.0.0.0.
            return Err(settings::invalid(
                "advertised.listeners",
                format!(
                    "listening on {local} needs an advertised listener (host:port) that clients can reach"
                ),
            ));
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let service = self.inner.service.clone();
        let config = self.inner.server.clone();
        let task =
            tokio::spawn(async move { server::serve(listener, &service, &config, stopped).await });
        let mut listeners = self.inner.listeners.lock();
        if self.inner.closed.load(Ordering::Acquire) {
            // Closed while binding: this listener must not outlive the broker.
            let _ = stop.send(());
            return Err(Error::ShutDown);
        }
        listeners.push(Listener {
            addr: local,
            stop,
            task,
        });
        Ok(local)
    }

    /// Stops the Kafka listener bound to `addr` (draining its requests); false when no
    /// listener has that address.
    pub async fn stop_serving(&self, addr: SocketAddr) -> bool {
        let found = {
            let mut listeners = self.inner.listeners.lock();
            let at = listeners.iter().position(|l| l.addr == addr);
            at.map(|i| listeners.remove(i))
        };
        let Some(l) = found else {
            return false;
        };
        let _ = l.stop.send(());
        let _ = l.task.await;
        true
    }

    /// Serves Prometheus text metrics (`GET /metrics`) on `addr`; returns the bound address.
    /// One metrics listener per broker: a second call is refused.
    pub async fn serve_metrics(&self, addr: &str) -> Result<SocketAddr> {
        self.check_open()?;
        if self.inner.metrics.lock().is_some() {
            return Err(settings::invalid(
                "metrics.listener",
                "the broker already serves metrics",
            ));
        }
        let (listener, local) = self.bind(addr).await?;
        let task = tokio::spawn(server::serve_metrics(listener, self.inner.service.clone()));
        *self.inner.metrics.lock() = Some((local, task));
        Ok(local)
    }

    /// The addresses the Kafka listeners are bound to, in the order they were opened.
    pub fn listeners(&self) -> Vec<SocketAddr> {
        self.inner.listeners.lock().iter().map(|l| l.addr).collect()
    }

    /// The metrics listener's address, when one is served.
    pub fn metrics_listener(&self) -> Option<SocketAddr> {
        self.inner.metrics.lock().as_ref().map(|(addr, _)| *addr)
    }

    /// The service in-process clients attach to; refused once the broker is closed.
    pub fn service(&self) -> Result<&Service> {
        self.check_open()?;
        Ok(&self.inner.service)
    }

    /// The storage: topics, partitions, offsets.
    pub fn broker(&self) -> &Broker {
        self.inner.service.broker()
    }

    /// Counters of every request answered (TCP and in-process).
    pub fn metrics(&self) -> &Arc<Metrics> {
        self.inner.service.metrics()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.broker().data_dir().to_path_buf()
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Stops the listeners (draining their requests), the group coordinator, then flushes and
    /// closes the storage (writing the clean-shutdown marker). Closing again does nothing.
    pub async fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let listeners = std::mem::take(&mut *self.inner.listeners.lock());
        for l in listeners {
            let _ = l.stop.send(());
            // A listener's own failure is not the close's: the broker still closes.
            let _ = l.task.await;
        }
        if let Some((_, task)) = self.inner.metrics.lock().take() {
            task.abort();
        }
        self.inner.service.stop();
        let storage = self.broker().clone();
        tokio::task::spawn_blocking(move || storage.close())
            .await
            .map_err(|e| Error::io(self.data_dir(), std::io::Error::other(e)))?
    }

    /// Binds a listener and reads back the address it got (port 0 picks one).
    async fn bind(&self, addr: &str) -> Result<(TcpListener, SocketAddr)> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::io(self.data_dir(), e))?;
        Ok((listener, local))
    }

    fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::ShutDown);
        }
        Ok(())
    }
}
