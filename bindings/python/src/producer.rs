//! `Producer`: `strom::client::Producer` for Python. `send` appends without releasing the GIL
//! when the record fits at once (the common case: a memcpy under a lock) and waits with the
//! GIL released otherwise; `send_batch` borrows the bytes of every record from their Python
//! objects (no copy, no allocation per record) and appends them with the GIL released.

use crate::broker::Broker;
use crate::config;
use crate::error::{FResult, Failure, IntoPy};
use crate::record::{bytes_of, headers_of, Meta};
use crate::runtime::{self, Runtime};
use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use strom::client::producer::{DeliveryFuture as CoreDelivery, RecordRef};
use strom::client::{ClientError, Producer as CoreProducer, ProducerRecord};

type Headers = Vec<(String, Option<Bytes>)>;
/// A record's value, key and headers, borrowed from Python where possible.
type Parts<'a> = (Option<Cow<'a, [u8]>>, Option<Cow<'a, [u8]>>, Headers);

#[pyclass(module = "strom._native", subclass, frozen)]
pub struct Producer {
    rt: Arc<Runtime>,
    /// `None` only while dropping.
    inner: Option<Arc<CoreProducer>>,
}

/// Where a client connects: an embedded broker or `bootstrap.servers`.
pub fn endpoint(
    py: Python<'_>,
    entries: &mut Vec<(String, String)>,
    bootstrap_servers: Option<&Bound<'_, PyAny>>,
    broker: Option<&Bound<'_, Broker>>,
) -> PyResult<(Arc<Runtime>, Option<strom::api::Service>)> {
    if let Some(servers) = bootstrap_servers.filter(|b| !b.is_none()) {
        entries.insert(
            0,
            (
                "bootstrap.servers".into(),
                config::text("bootstrap.servers", servers)?,
            ),
        );
    }
    match broker.filter(|b| !b.is_none()) {
        Some(b) => {
            let b = b.get();
            let service = b.service().py_err(py)?.clone();
            // An in-process client's address is the broker, not a server list.
            entries.retain(|(k, _)| k != "bootstrap.servers");
            Ok((Arc::clone(&b.rt), Some(service)))
        }
        None => Ok((runtime::get().py_err(py)?, None)),
    }
}

impl Producer {
    fn producer(&self) -> FResult<&Arc<CoreProducer>> {
        self.rt.check()?;
        self.inner
            .as_ref()
            .ok_or_else(|| Failure::Closed("the producer is closed".into()))
    }

    /// Appends `records` to `topic`. With `gil`, first tries without waiting (and without
    /// releasing the GIL); `Ok(None)` when `wait` is false and the append would wait.
    fn append(
        &self,
        py: Python<'_>,
        topic: &str,
        records: &[RecordRef<'_>],
        try_first: bool,
        wait: bool,
    ) -> FResult<Option<Vec<CoreDelivery>>> {
        let producer = self.producer()?;
        let mut fut = std::pin::pin!(producer.send_batch(topic, records));
        if try_first {
            let _entered = self.rt.handle().enter();
            if let Poll::Ready(r) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                return Ok(Some(r?));
            }
        }
        if !wait {
            return Ok(None);
        }
        runtime::block(py, &self.rt, async move { Ok(fut.await?) }).map(Some)
    }

    /// One record's parts, borrowed from Python where possible, checked.
    fn parts<'a>(
        value: Option<&'a Bound<'_, PyAny>>,
        key: Option<&'a Bound<'_, PyAny>>,
        partition: Option<i32>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> FResult<Parts<'a>> {
        if let Some(p) = partition.filter(|p| *p < 0) {
            return Err(Failure::InvalidArgument(format!(
                "partition must be None (the partitioner chooses) or >= 0, not {p}"
            )));
        }
        let value = match value {
            Some(v) => bytes_of(v, "value")?,
            None => None,
        };
        let key = match key {
            Some(k) => bytes_of(k, "key")?,
            None => None,
        };
        Ok((value, key, headers_of(headers)?))
    }

    #[allow(clippy::too_many_arguments)]
    fn send_inner(
        &self,
        py: Python<'_>,
        topic: &str,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        partition: Option<i32>,
        headers: Option<&Bound<'_, PyAny>>,
        timestamp: Option<i64>,
        wait: bool,
    ) -> FResult<Option<DeliveryFuture>> {
        let (value, key, headers) = Self::parts(value, key, partition, headers)?;
        let record = RecordRef {
            key: key.as_deref(),
            value: value.as_deref(),
            partition,
            timestamp,
            headers: &headers,
        };
        let appended = self.append(py, topic, std::slice::from_ref(&record), true, wait)?;
        Ok(appended
            .and_then(|mut d| d.pop())
            .map(|inner| DeliveryFuture {
                rt: Arc::clone(&self.rt),
                inner,
            }))
    }

    /// `future` run on the runtime as a task of its own, so that giving up on waiting (a
    /// timeout, Ctrl-C, a cancelled asyncio task) never interrupts it half-way.
    fn detached<F>(&self, future: F) -> impl Future<Output = FResult<()>> + Send + 'static
    where
        F: Future<Output = Result<(), ClientError>> + Send + 'static,
    {
        let task = self.rt.spawn(future);
        async move {
            task.await
                .map_err(|e| Failure::Io(format!("producer task failed: {e}")))?
                .map_err(Failure::from)
        }
    }

    fn flush_future(&self) -> FResult<impl Future<Output = FResult<()>> + Send + 'static> {
        let p = Arc::clone(self.producer()?);
        Ok(self.detached(async move { p.flush().await }))
    }

    fn close_future(&self) -> FResult<impl Future<Output = FResult<()>> + Send + 'static> {
        let p = Arc::clone(self.producer()?);
        Ok(self.detached(async move { p.close().await }))
    }
}

#[pymethods]
impl Producer {
    /// A producer for `bootstrap_servers` or for the embedded `broker`, configured with
    /// Kafka's producer settings (`config` dict and/or keywords, `linger_ms=5` or
    /// `{"linger.ms": 5}`).
    #[new]
    #[pyo3(signature = (config=None, *, bootstrap_servers=None, broker=None, **kwargs))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        bootstrap_servers: Option<&Bound<'_, PyAny>>,
        broker: Option<&Bound<'_, Broker>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut entries = config::collect(config, kwargs)?;
        let (rt, service) = endpoint(py, &mut entries, bootstrap_servers, broker)?;
        let mut builder = CoreProducer::builder();
        if let Some(service) = &service {
            builder = builder.in_process(service);
        }
        for (name, value) in &entries {
            builder = builder.set(name, value);
        }
        let producer =
            runtime::block(py, &rt, async move { Ok(builder.build().await?) }).py_err(py)?;
        Ok(Producer {
            rt,
            inner: Some(Arc::new(producer)),
        })
    }

    /// Queues a record and returns the future of its delivery. Waits (up to `max.block.ms`)
    /// only for the topic's metadata the first time and when `buffer.memory` is full.
    #[pyo3(signature = (topic, value=None, key=None, partition=None, headers=None, timestamp=None))]
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        py: Python<'_>,
        topic: &str,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        partition: Option<i32>,
        headers: Option<&Bound<'_, PyAny>>,
        timestamp: Option<i64>,
    ) -> PyResult<DeliveryFuture> {
        let sent = self
            .send_inner(py, topic, value, key, partition, headers, timestamp, true)
            .py_err(py)?;
        sent.ok_or_else(|| Failure::State("send did not complete".into()))
            .py_err(py)
    }

    /// `send` when it need not wait, else `None` (nothing queued): asyncio's fast path.
    #[pyo3(signature = (topic, value=None, key=None, partition=None, headers=None, timestamp=None))]
    #[allow(clippy::too_many_arguments)]
    fn try_send(
        &self,
        py: Python<'_>,
        topic: &str,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        partition: Option<i32>,
        headers: Option<&Bound<'_, PyAny>>,
        timestamp: Option<i64>,
    ) -> PyResult<Option<DeliveryFuture>> {
        self.send_inner(py, topic, value, key, partition, headers, timestamp, false)
            .py_err(py)
    }

    /// `send` as an asyncio awaitable that resolves to the `DeliveryFuture` once queued (the
    /// record's bytes are copied: the send may outlive this call).
    #[pyo3(signature = (topic, value=None, key=None, partition=None, headers=None, timestamp=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_async(
        &self,
        py: Python<'_>,
        topic: &str,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        partition: Option<i32>,
        headers: Option<&Bound<'_, PyAny>>,
        timestamp: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let (value, key, headers) = Self::parts(value, key, partition, headers).py_err(py)?;
        let record = ProducerRecord {
            topic: topic.to_string(),
            partition,
            key: key.map(|k| Bytes::copy_from_slice(&k)),
            value: value.map(|v| Bytes::copy_from_slice(&v)),
            headers,
            timestamp,
        };
        let p = Arc::clone(self.producer().py_err(py)?);
        let rt = Arc::clone(&self.rt);
        runtime::spawn_py(py, &self.rt, async move {
            let inner = p.send(record).await?;
            Ok(DeliveryFuture { rt, inner })
        })
    }

    /// Queues many records of one topic in one call: `records` is a sequence of values
    /// (`bytes`, `str` or `None`) or of `(key, value)` pairs. `bytes` are read in place; the
    /// append runs with the GIL released. Returns one future for the lot.
    #[pyo3(signature = (topic, records, partition=None))]
    fn send_batch(
        &self,
        py: Python<'_>,
        topic: &str,
        records: &Bound<'_, PyAny>,
        partition: Option<i32>,
    ) -> PyResult<BatchFuture> {
        if let Some(p) = partition.filter(|p| *p < 0) {
            return Err(Failure::InvalidArgument(format!(
                "partition must be None (the partitioner chooses) or >= 0, not {p}"
            )))
            .py_err(py);
        }
        // Owned references keep every key and value alive (and `bytes` are immutable) while
        // the append reads them without the GIL.
        let mut objects: Vec<(Option<Bound<'_, PyAny>>, Bound<'_, PyAny>)> = Vec::new();
        if let Ok(list) = records.cast::<PyList>() {
            objects.reserve(list.len());
        }
        for item in records.try_iter()? {
            let item = item?;
            if item.is_instance_of::<PyBytes>() || item.is_instance_of::<PyString>() {
                objects.push((None, item));
            } else if let Ok(pair) = item.cast::<PyTuple>() {
                if pair.len() != 2 {
                    return Err(Failure::InvalidArgument(format!(
                        "send_batch takes values or (key, value) pairs; got a tuple of {}",
                        pair.len()
                    )))
                    .py_err(py);
                }
                objects.push((Some(pair.get_item(0)?), pair.get_item(1)?));
            } else {
                objects.push((None, item));
            }
        }
        let mut parts = Vec::with_capacity(objects.len());
        for (key, value) in &objects {
            let key = match key {
                Some(k) => bytes_of(k, "key").py_err(py)?,
                None => None,
            };
            parts.push((key, bytes_of(value, "value").py_err(py)?));
        }
        let refs: Vec<RecordRef<'_>> = parts
            .iter()
            .map(|(key, value)| RecordRef {
                key: key.as_deref(),
                value: value.as_deref(),
                partition,
                timestamp: None,
                headers: &[],
            })
            .collect();
        let deliveries = self
            .append(py, topic, &refs, false, true)
            .py_err(py)?
            .unwrap_or_default();
        Ok(BatchFuture {
            rt: Arc::clone(&self.rt),
            inner: Arc::new(deliveries),
        })
    }

    /// Sends everything queued now, without waiting for `linger.ms`, and waits until each
    /// of those records is answered. With `timeout` (seconds), raises `TimeoutError` when
    /// that is not done in time (the flush goes on in the background).
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let fut = self.flush_future().py_err(py)?;
        runtime::block_for(py, &self.rt, timeout, "flush did not finish", fut).py_err(py)
    }

    fn flush_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let fut = self.flush_future().py_err(py)?;
        runtime::spawn_py(py, &self.rt, fut)
    }

    /// Delivers what is queued, then stops. Later sends raise `ClosedError`.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let fut = self.close_future().py_err(py)?;
        runtime::block_for(py, &self.rt, timeout, "close did not finish", fut).py_err(py)
    }

    fn close_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let fut = self.close_future().py_err(py)?;
        runtime::spawn_py(py, &self.rt, fut)
    }

    /// The number of partitions of `topic` (fetching its metadata if needed).
    fn partitions_for(&self, py: Python<'_>, topic: &str) -> PyResult<i32> {
        let p = Arc::clone(self.producer().py_err(py)?);
        let topic = topic.to_string();
        runtime::block(
            py,
            &self.rt,
            async move { Ok(p.partitions_for(&topic).await?) },
        )
        .py_err(py)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // Dropping without close still delivers what was queued (the sender drains).
        let rt = Arc::clone(&self.rt);
        rt.release(self.inner.take());
    }
}

/// The delivery of one record: `result(timeout)` waits for its metadata; awaitable.
#[pyclass(module = "strom", frozen)]
pub struct DeliveryFuture {
    rt: Arc<Runtime>,
    inner: CoreDelivery,
}

impl DeliveryFuture {
    fn wait(&self) -> impl Future<Output = FResult<Meta>> + Send + 'static {
        let d = self.inner.clone();
        async move { Ok(Meta(d.wait().await?)) }
    }
}

#[pymethods]
impl DeliveryFuture {
    /// Whether the broker answered (or the producer gave up).
    fn done(&self) -> bool {
        self.inner.try_result().is_some()
    }

    /// The record's `RecordMetadata`, waiting up to `timeout` seconds (`None`: as long as
    /// it takes); raises the delivery's error.
    #[pyo3(signature = (timeout=None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let meta = match self.inner.try_result() {
            Some(r) => Meta(r.py_err(py)?),
            None => runtime::block_for(
                py,
                &self.rt,
                timeout,
                "the record was not delivered",
                self.wait(),
            )
            .py_err(py)?,
        };
        Ok(meta.into_pyobject(py)?.into_any().unbind())
    }

    /// The delivery's error, or `None` once it succeeded.
    #[pyo3(signature = (timeout=None))]
    fn exception(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyErr>> {
        match self.result(py, timeout) {
            Ok(_) => Ok(None),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) => Err(e),
            Err(e) => Ok(Some(e)),
        }
    }

    fn __await__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let awaitable = runtime::spawn_py(py, &self.rt, self.wait())?;
        Ok(awaitable.bind(py).call_method0("__await__")?.unbind())
    }

    fn __repr__(&self) -> String {
        match self.inner.try_result() {
            None => "<DeliveryFuture pending>".into(),
            Some(Ok(m)) => format!(
                "<DeliveryFuture done: {}-{}@{}>",
                m.topic, m.partition, m.offset
            ),
            Some(Err(e)) => format!("<DeliveryFuture failed: {e}>"),
        }
    }
}

/// The deliveries of one `send_batch`.
#[pyclass(module = "strom", frozen)]
pub struct BatchFuture {
    rt: Arc<Runtime>,
    inner: Arc<Vec<CoreDelivery>>,
}

/// Waits for every delivery; the first error after all are answered.
async fn wait_all(deliveries: Arc<Vec<CoreDelivery>>, keep: bool) -> FResult<Vec<Meta>> {
    let mut out = Vec::with_capacity(if keep { deliveries.len() } else { 0 });
    let mut first_error = None;
    for d in deliveries.iter() {
        let r = match d.try_result() {
            Some(r) => r,
            None => d.clone().wait().await,
        };
        match r {
            Ok(m) if keep => out.push(Meta(m)),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(out),
    }
}

#[pymethods]
impl BatchFuture {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Whether every record of the batch was answered.
    fn done(&self) -> bool {
        self.inner.iter().all(|d| d.try_result().is_some())
    }

    /// Waits until every record is answered; returns how many were sent, or raises the
    /// first failure.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<usize> {
        let d = Arc::clone(&self.inner);
        let n = d.len();
        runtime::block_for(
            py,
            &self.rt,
            timeout,
            "the batch was not delivered",
            async move { wait_all(d, false).await.map(|_| n) },
        )
        .py_err(py)
    }

    /// The `RecordMetadata` of every record, in order (raises the first failure).
    #[pyo3(signature = (timeout=None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Vec<Meta>> {
        let d = Arc::clone(&self.inner);
        runtime::block_for(
            py,
            &self.rt,
            timeout,
            "the batch was not delivered",
            wait_all(d, true),
        )
        .py_err(py)
    }

    fn __await__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let awaitable = runtime::spawn_py(py, &self.rt, wait_all(Arc::clone(&self.inner), true))?;
        Ok(awaitable.bind(py).call_method0("__await__")?.unbind())
    }

    fn __repr__(&self) -> String {
        format!(
            "<BatchFuture of {} records{}>",
            self.inner.len(),
            if self.done() { ", done" } else { "" }
        )
    }
}
