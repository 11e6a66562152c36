//! `Broker`: the embedded broker (`strom::EmbeddedBroker`) that in-process clients attach to
//! and that serves the Kafka protocol on TCP listeners. Only conversion lives here.

use crate::config;
use crate::error::{FResult, Failure, IntoPy};
use crate::runtime::{self, Runtime};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::BTreeMap;
use std::sync::Arc;
use strom::api::Service;
use strom::broker::admin::topics::NODE_ID;
use strom::{EmbeddedBroker, Settings};

#[pyclass(module = "strom._native", subclass, frozen)]
pub struct Broker {
    pub(crate) rt: Arc<Runtime>,
    /// `None` only while dropping.
    embedded: Option<EmbeddedBroker>,
    path: String,
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

impl Broker {
    /// The service for an in-process client, refusing a closed broker.
    pub(crate) fn service(&self) -> FResult<&Service> {
        self.rt.check()?;
        match &self.embedded {
            Some(b) if !b.is_closed() => Ok(b.service()?),
            _ => Err(Failure::Closed("the broker is closed".into())),
        }
    }

    fn embedded(&self) -> FResult<&EmbeddedBroker> {
        self.service()?;
        self.embedded
            .as_ref()
            .ok_or_else(|| Failure::Closed("the broker is closed".into()))
    }

    fn shut(&self) -> FResult<()> {
        self.rt.check()?;
        match &self.embedded {
            Some(b) => Ok(self.rt.block_on(b.close())?),
            None => Ok(()),
        }
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
    /// Opens (creating it if needed) the broker whose data lives in directory `path`, with
    /// broker settings by Kafka's names (every name `strom serve` takes; see
    /// `strom::embedded::settings::NAMES`).
    #[new]
    #[pyo3(signature = (path, config=None, **kwargs))]
    fn new(
        py: Python<'_>,
        path: std::path::PathBuf,
        config: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let entries = config::collect(config, kwargs)?;
        let settings = Settings::from_pairs(entries)
            .map_err(Failure::from)
            .py_err(py)?;
        let rt = runtime::get().py_err(py)?;
        let shown = path.display().to_string();
        let embedded = runtime::block(py, &rt, async move {
            Ok::<_, Failure>(EmbeddedBroker::open(&path, settings).await?)
        })
        .py_err(py)?;
        Ok(Broker {
            rt,
            embedded: Some(embedded),
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
        self.embedded.as_ref().is_none_or(|b| b.is_closed())
    }

    /// The addresses `serve` is listening on.
    #[getter]
    fn listeners(&self) -> Vec<String> {
        self.embedded
            .as_ref()
            .map(|b| b.listeners().iter().map(|a| a.to_string()).collect())
            .unwrap_or_default()
    }

    /// The address `serve_metrics` (or the `metrics.listener` setting) serves metrics on.
    #[getter]
    fn metrics_listener(&self) -> Option<String> {
        let addr = self.embedded.as_ref()?.metrics_listener()?;
        Some(addr.to_string())
    }

    #[getter]
    fn cluster_id(&self) -> Option<String> {
        let broker = self.embedded.as_ref()?;
        Some(broker.broker().cluster_id().to_string())
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
        let embedded = self.embedded().py_err(py)?.clone();
        let target = listen.to_string();
        let addr = runtime::block(py, &self.rt, async move {
            Ok::<_, Failure>(embedded.serve(&target).await?)
        })
        .py_err(py)?;
        Ok(addr.to_string())
    }

    /// Serves Prometheus text metrics (`GET /metrics`) on `listen` until `close()`. Returns
    /// the bound address.
    #[pyo3(signature = (listen="127.0.0.1:0"))]
    fn serve_metrics(&self, py: Python<'_>, listen: &str) -> PyResult<String> {
        let embedded = self.embedded().py_err(py)?.clone();
        let target = listen.to_string();
        let addr = runtime::block(py, &self.rt, async move {
            Ok::<_, Failure>(embedded.serve_metrics(&target).await?)
        })
        .py_err(py)?;
        Ok(addr.to_string())
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
        // In a forked child this leaks the parent's broker instead of closing its files.
        rt.release(self.embedded.take());
    }
}
