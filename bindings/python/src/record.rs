//! Records and partitions between Rust and Python: [`Record`] (a consumed record),
//! [`RecordMetadata`] (where a produced one landed), `strom.TopicPartition` named tuples, and
//! the bytes of keys, values and headers.

use crate::error::{FResult, Failure};
use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use std::borrow::Cow;
use std::sync::Arc;
use strom::client::{ConsumerRecord, TopicPartition};
use strom::records::fetched::TimestampType;

/// A record returned by a consumer. Immutable; `key`, `value` and header values are `bytes`.
#[pyclass(module = "strom", frozen)]
pub struct Record {
    #[pyo3(get)]
    topic: Py<PyString>,
    #[pyo3(get)]
    partition: i32,
    #[pyo3(get)]
    offset: i64,
    /// Milliseconds since the epoch.
    #[pyo3(get)]
    timestamp: i64,
    log_append_time: bool,
    #[pyo3(get)]
    key: Option<Py<PyBytes>>,
    #[pyo3(get)]
    value: Option<Py<PyBytes>>,
    headers: Vec<(String, Option<Bytes>)>,
    #[pyo3(get)]
    leader_epoch: Option<i32>,
}

#[pymethods]
impl Record {
    /// `[(name, value)]`, values as `bytes` or `None`.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(
            py,
            self.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref().map(|v| PyBytes::new(py, v)))),
        )
    }

    /// `"create"` (the producer's time) or `"log_append"` (the broker's).
    #[getter]
    fn timestamp_type(&self) -> &'static str {
        if self.log_append_time {
            "log_append"
        } else {
            "create"
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let show = |b: &Option<Py<PyBytes>>| -> PyResult<String> {
            Ok(match b {
                None => "None".into(),
                Some(b) => b.bind(py).repr()?.to_cow()?.into_owned(),
            })
        };
        Ok(format!(
            "Record(topic={}, partition={}, offset={}, timestamp={}, key={}, value={})",
            self.topic.bind(py).repr()?,
            self.partition,
            self.offset,
            self.timestamp,
            show(&self.key)?,
            short(show(&self.value)?),
        ))
    }
}

impl Record {
    pub fn topic_name(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.topic.bind(py).to_str()?.to_string())
    }

    pub fn partition(&self) -> i32 {
        self.partition
    }

    pub fn offset(&self) -> i64 {
        self.offset
    }
}

fn short(s: String) -> String {
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Converts fetched records, sharing one Python string per topic.
#[derive(Default)]
pub struct RecordConverter {
    topics: Vec<(Arc<str>, Py<PyString>)>,
}

impl RecordConverter {
    pub fn convert(&mut self, py: Python<'_>, r: ConsumerRecord) -> PyResult<Py<Record>> {
        let topic = match self.topics.iter().find(|(t, _)| Arc::ptr_eq(t, &r.topic)) {
            Some((_, s)) => s.clone_ref(py),
            None => {
                let s = PyString::new(py, &r.topic).unbind();
                self.topics.push((Arc::clone(&r.topic), s.clone_ref(py)));
                s
            }
        };
        Py::new(
            py,
            Record {
                topic,
                partition: r.partition,
                offset: r.offset,
                timestamp: r.timestamp,
                log_append_time: r.timestamp_type == TimestampType::LogAppend,
                key: r.key.map(|k| PyBytes::new(py, &k).unbind()),
                value: r.value.map(|v| PyBytes::new(py, &v).unbind()),
                headers: r.headers,
                leader_epoch: r.leader_epoch,
            },
        )
    }

    pub fn list<'py>(
        &mut self,
        py: Python<'py>,
        records: impl IntoIterator<Item = ConsumerRecord>,
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for r in records {
            list.append(self.convert(py, r)?)?;
        }
        Ok(list)
    }
}

/// Where a produced record landed.
#[pyclass(module = "strom", frozen)]
pub struct RecordMetadata {
    #[pyo3(get)]
    topic: Py<PyString>,
    #[pyo3(get)]
    partition: i32,
    /// -1 with `acks=0`.
    #[pyo3(get)]
    offset: i64,
    #[pyo3(get)]
    timestamp: i64,
}

impl RecordMetadata {
    pub fn new(py: Python<'_>, m: &strom::client::RecordMetadata) -> Self {
        RecordMetadata {
            topic: PyString::new(py, &m.topic).unbind(),
            partition: m.partition,
            offset: m.offset,
            timestamp: m.timestamp,
        }
    }
}

#[pymethods]
impl RecordMetadata {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "RecordMetadata(topic={}, partition={}, offset={}, timestamp={})",
            self.topic.bind(py).repr()?,
            self.partition,
            self.offset,
            self.timestamp
        ))
    }
}

/// A produced record's metadata, for results built without the GIL.
pub struct Meta(pub strom::client::RecordMetadata);

impl<'py> IntoPyObject<'py> for Meta {
    type Target = RecordMetadata;
    type Output = Bound<'py, RecordMetadata>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Bound::new(py, RecordMetadata::new(py, &self.0))
    }
}

/// A partition for Python: a `strom.TopicPartition(topic, partition)` named tuple.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tp(pub String, pub i32);

impl From<TopicPartition> for Tp {
    fn from(tp: TopicPartition) -> Self {
        Tp(tp.topic, tp.partition)
    }
}

impl Tp {
    pub fn core(&self) -> TopicPartition {
        TopicPartition::new(self.0.clone(), self.1)
    }
}

impl<'py> IntoPyObject<'py> for Tp {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        static CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let class = CLASS.get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("strom._types")?
                .getattr("TopicPartition")?
                .unbind())
        })?;
        class.bind(py).call1((self.0, self.1))
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Tp {
    type Error = PyErr;

    fn extract(ob: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let (topic, partition): (String, i32) = ob.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "expected a TopicPartition or a (topic, partition) tuple, not {}",
                ob.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        Ok(Tp(topic, partition))
    }
}

/// Partitions from Python as the core's.
pub fn core_partitions(list: Vec<Tp>) -> Vec<TopicPartition> {
    list.iter().map(Tp::core).collect()
}

/// The bytes of a key, value or header value: `bytes` borrowed as they are (immutable, so
/// they may be read without the GIL), `str` as UTF-8, anything else with the buffer protocol
/// (`bytearray`, `memoryview`) copied. `None` stays `None`.
pub fn bytes_of<'a>(ob: &'a Bound<'_, PyAny>, what: &str) -> FResult<Option<Cow<'a, [u8]>>> {
    if ob.is_none() {
        return Ok(None);
    }
    if let Ok(b) = ob.cast::<PyBytes>() {
        return Ok(Some(Cow::Borrowed(b.as_bytes())));
    }
    if let Ok(s) = ob.cast::<PyString>() {
        return Ok(Some(Cow::Borrowed(s.to_str()?.as_bytes())));
    }
    // Anything else with the buffer protocol (bytearray, memoryview, array, numpy), copied:
    // it may change while the GIL is released.
    let refused = || {
        Failure::InvalidArgument(format!(
            "{what} must be bytes, str, a bytes-like object or None, not {}",
            ob.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    };
    let view = ob
        .py()
        .import("builtins")?
        .getattr("memoryview")?
        .call1((ob,))
        .map_err(|_| refused())?;
    let bytes = view.call_method0("tobytes")?;
    let bytes = bytes.cast::<PyBytes>().map_err(|_| refused())?;
    Ok(Some(Cow::Owned(bytes.as_bytes().to_vec())))
}

/// Headers from Python: a list of `(name, value)` pairs or a dict.
pub fn headers_of(ob: Option<&Bound<'_, PyAny>>) -> FResult<Vec<(String, Option<Bytes>)>> {
    let Some(ob) = ob.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let items = if ob.is_instance_of::<pyo3::types::PyDict>() {
        ob.call_method0("items")?
    } else {
        ob.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>().map_err(|_| {
            Failure::InvalidArgument(
                "headers must be a dict or a list of (name, value) pairs".into(),
            )
        })?;
        if pair.len() != 2 {
            return Err(Failure::InvalidArgument(
                "each header is a (name, value) pair".into(),
            ));
        }
        let name: String = pair
            .get_item(0)?
            .extract()
            .map_err(|_| Failure::InvalidArgument("header names must be strings".into()))?;
        let value = pair.get_item(1)?;
        let value = bytes_of(&value, "a header value")?.map(|v| Bytes::copy_from_slice(&v));
        out.push((name, value));
    }
    Ok(out)
}
