//! `Broker`: an embedded broker (`strom::Broker` with its `broker::Service`), which in-process
//! clients attach to and which can serve the Kafka protocol on TCP listeners.

use crate::config;
use crate::error::{FResult, Failure, IntoPy};
use crate::runtime::{self, Runtime};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strom::broker::admin::topics::NODE_ID;
use strom::broker::{BrokerConfig, Service};
use strom::group::GroupConfig;
use strom::server::{self, ServerConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The broker settings the embedded broker takes, by Kafka's names.
const KNOWN: &[&str] = &[
    "num.partitions",
    "auto.create.topics.enable",
    "log.retention.check.interval.ms",
    "group.initial.rebalance.delay.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "offsets.retention.minutes",
    "group.max.size",
];

#[pyclass(module = "strom._native", subclass, frozen)]
pub struct Broker {
    pub(crate) rt: Arc<Runtime>,
    /// `None` only while dropping.
    service: Option<Service>,
    server: ServerConfig,
    listeners: parking_lot::Mutex<Vec<Listener>>,
    closed: AtomicBool,
    path: String,
}

struct Listener {
    addr: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<strom::Result<()>>,
}

/// A topic with the sizes of its partitions.
#[derive(IntoPyObject)]
struct TopicInfo {
    name: String,
    id: String,
    internal: bool,
    config: BTreeMap<String, String>,
    partitions: Vec<PartitionInfo>,
}

#[derive(IntoPyObject)]
struct PartitionInfo {
    partition: i32,
    leader: Option<i32>,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    start_offset: Option<i64>,
    end_offset: Option<i64>,
    size_bytes: Option<u64>,
    segments: Option<usize>,
}

fn int<T: std::str::FromStr>(name: &str, value: &str) -> FResult<T> {
    value
        .trim()
        .parse()
        .map_err(|_| Failure::Config(format!("{name}={value:?} is not a valid number")))
}

/// The broker's and the server's settings from Kafka's broker config names.
fn settings(entries: &[(String, String)]) -> FResult<(BrokerConfig, ServerConfig)> {
    let mut broker = BrokerConfig::default();
    let mut group = GroupConfig::default();
    let mut server = ServerConfig::default();
    for (name, value) in entries {
        match name.as_str() {
            "num.partitions" => broker.default_partitions = int(name, value)?,
            "auto.create.topics.enable" => {
                server.auto_create_topics = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(Failure::Config(format!(
                            "{name}={value:?} must be true or false"
                        )))
                    }
                }
            }
            "log.retention.check.interval.ms" => {
                broker.housekeeping_interval = Some(Duration::from_millis(int(name, value)?))
            }
            "group.initial.rebalance.delay.ms" => {
                group.initial_rebalance_delay_ms = int(name, value)?
            }
            "group.min.session.timeout.ms" => group.min_session_timeout_ms = int(name, value)?,
            "group.max.session.timeout.ms" => group.max_session_timeout_ms = int(name, value)?,
            "offsets.retention.minutes" => {
                group.offsets_retention_ms = int::<i64>(name, value)?.saturating_mul(60_000)
            }
            "group.max.size" => group.max_size = int(name, value)?,
            _ => {
                return Err(Failure::Config(format!(
                    "unknown broker config {name:?}; the embedded broker takes: {}",
                    KNOWN.join(", ")
                )))
            }
        }
    }
    server.group = group;
    Ok((broker, server))
}

impl Broker {
    /// The service for an in-process client, refusing a closed broker.
    pub(crate) fn service(&self) -> FResult<&Service> {
        self.rt.check()?;
        match &self.service {
            Some(s) if !self.closed.load(Ordering::Acquire) => Ok(s),
            _ => Err(Failure::Closed("the broker is closed".into())),
        }
    }

    fn shut(&self) -> FResult<()> {
        self.rt.check()?;
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let listeners = std::mem::take(&mut *self.listeners.lock());
        for l in listeners {
            let _ = l.stop.send(());
            // A listener's own failure is not the close's: the broker still closes.
            let _ = self.rt.block_on(l.task);
        }
        if let Some(service) = &self.service {
            service.stop();
            service.broker().close()?;
        }
        Ok(())
    }

    fn info(&self, name: &str) -> FResult<TopicInfo> {
        let broker = self.service()?.broker();
        let t = broker
            .topic(name)
            .ok_or_else(|| strom::Error::UnknownTopicOrPartition {
                topic: name.to_string(),
                partition: -1,
            })?;
        let partitions = (0..t.partitions)
            .map(|p| {
                let log = broker.partition(name, p).ok();
                PartitionInfo {
                    partition: p,
                    leader: Some(NODE_ID),
                    replicas: vec![NODE_ID],
                    isr: vec![NODE_ID],
                    start_offset: log.as_ref().map(|l| l.log_start_offset()),
                    end_offset: log.as_ref().map(|l| l.log_end_offset()),
                    size_bytes: log.as_ref().map(|l| l.size_bytes()),
                    segments: log.as_ref().map(|l| l.segment_count()),
                }
            })
            .collect();
        Ok(TopicInfo {
            internal: name.starts_with("__"),
            name: t.name,
            id: t.id.to_string(),
            config: t.configs,
            partitions,
        })
    }
}

#[pymethods]
impl Broker {
    /// Opens (creating it if needed) the broker whose data lives in directory `path`.
    #[new]
    #[pyo3(signature = (path, config=None, **kwargs))]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        config: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let entries = config::collect(config, kwargs)?;
        let (broker_config, server) = settings(&entries).py_err(py)?;
        let rt = runtime::get().py_err(py)?;
        let shown = path.display().to_string();
        let group = server.group.clone();
        let service = runtime::block(py, &rt, async move {
            let broker =
                tokio::task::spawn_blocking(move || strom::Broker::open_with(&path, broker_config))
                    .await
                    .map_err(|e| Failure::Io(format!("opening the broker: {e}")))??;
            match Service::start(broker.clone(), group).await {
                Ok(s) => Ok(s),
                Err(e) => {
                    let _ = broker.close();
                    Err(Failure::from(e))
                }
            }
        })
        .py_err(py)?;
        Ok(Broker {
            rt,
            service: Some(service),
            server,
            listeners: parking_lot::Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            path: shown,
        })
    }

    /// The data directory.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The addresses `serve` is listening on.
    #[getter]
    fn listeners(&self) -> Vec<String> {
        self.listeners
            .lock()
            .iter()
            .map(|l| l.addr.clone())
            .collect()
    }

    #[getter]
    fn cluster_id(&self) -> Option<String> {
        let service = self.service.as_ref()?;
        Some(service.broker().cluster_id().to_string())
    }

    /// Creates a topic (`partitions=None`: `num.partitions`) with topic config overrides.
    #[pyo3(signature = (name, partitions=None, config=None))]
    fn create_topic<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        partitions: Option<i32>,
        config: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let configs: BTreeMap<String, String> =
            config::collect(config, None)?.into_iter().collect();
        let broker = self.service().py_err(py)?.broker().clone();
        let name_owned = name.to_string();
        py.detach(move || broker.create_topic(&name_owned, partitions, configs))
            .py_err(py)?;
        Ok(self.info(name).py_err(py)?.into_pyobject(py)?.into_any())
    }

    /// Every topic (internal ones included), with the offsets and sizes of its partitions.
    fn topics<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let names: Vec<String> = self
            .service()
            .py_err(py)?
            .broker()
            .topics()
            .into_iter()
            .map(|t| t.name)
            .collect();
        names
            .iter()
            // A topic deleted meanwhile is left out.
            .filter_map(|n| self.info(n).ok())
            .map(|t| Ok(t.into_pyobject(py)?.into_any()))
            .collect()
    }

    /// One topic, with the offsets and sizes of its partitions.
    fn topic<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.info(name).py_err(py)?.into_pyobject(py)?.into_any())
    }

    /// Deletes a topic and its data.
    fn delete_topic(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        let broker = self.service().py_err(py)?.broker().clone();
        let name = name.to_string();
        py.detach(move || broker.delete_topic(&name)).py_err(py)
    }

    /// Serves the Kafka protocol on a TCP listener bound to `listen` ("host:port"; port 0
    /// picks a free one) until `close()`. Returns the bound address, "127.0.0.1:40123".
    #[pyo3(signature = (listen="127.0.0.1:0"))]
    fn serve(&self, py: Python<'_>, listen: &str) -> PyResult<String> {
        let service = self.service().py_err(py)?.clone();
        let target = listen.to_string();
        let listener = runtime::block(py, &self.rt, async move {
            tokio::net::TcpListener::bind(&target)
                .await
                .map_err(|e| Failure::Io(format!("binding {target}: {e}")))
        })
        .py_err(py)?;
        let addr = listener
            .local_addr()
            .map_err(|e| Failure::Io(format!("reading the listener's address: {e}")))
            .py_err(py)?
            .to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let config = self.server.clone();
        let task = self
            .rt
            .spawn(async move { server::serve(listener, &service, &config, stopped).await });
        self.listeners.lock().push(Listener {
            addr: addr.clone(),
            stop,
            task,
        });
        Ok(addr)
    }

    /// Stops the listeners (draining their requests), flushes and closes the broker. Later
    /// calls on it, and on in-process clients attached to it, fail with `ClosedError`.
    /// Closing again does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.shut()).py_err(py)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if !self.rt.forked() {
            // Errors are lost here: close() reports them.
            let _ = self.shut();
        }
        let rt = Arc::clone(&self.rt);
        let listeners = std::mem::take(&mut *self.listeners.lock());
        // In a forked child this leaks the parent's broker instead of closing its files.
        rt.release((listeners, self.service.take()));
    }
}
