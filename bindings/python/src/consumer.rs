//! `Consumer`: `strom::client::Consumer` for Python. `poll` returns a list of records (at most
//! `max_records`); iteration takes them one at a time from the core, whose delivery cursor
//! keeps the rest fetched, so a commit covers exactly the records Python was given and
//! nothing is held here. Rebalance callbacks run with the GIL on the polling thread.

use crate::broker::Broker;
use crate::config;
use crate::error::{FResult, Failure, IntoPy};
use crate::producer::endpoint;
use crate::record::{core_partitions, Record, RecordConverter, Tp};
use crate::runtime::{self, Runtime};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom::client::consumer::{OffsetAndMetadata, RebalanceListener};
use strom::client::{Consumer as CoreConsumer, ConsumerRecord, TopicPartition};

/// The binding's own setting (kafka-python's name): iteration stops after this long without
/// a record. Without it, iteration waits for records forever.
const ITER_TIMEOUT: &str = "consumer.timeout.ms";
/// How long one wait of an unbounded poll lasts before polling again.
const POLL_SLICE: Duration = Duration::from_secs(3600);

thread_local! {
    /// Set while a rebalance callback runs on this thread.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Up to `max` records, waiting up to `timeout` (`None`: until there are some).
async fn next_batch(
    consumer: &mut CoreConsumer,
    timeout: Option<Duration>,
    max: usize,
) -> FResult<Vec<ConsumerRecord>> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let wait = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => POLL_SLICE,
        };
        let records = consumer.poll_up_to(wait, max).await?;
        if !records.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(records);
        }
    }
}

type Shared = Arc<tokio::sync::Mutex<CoreConsumer>>;
type ErrorSlot = Arc<parking_lot::Mutex<Option<PyErr>>>;

/// Python callables as the core's rebalance listener. An exception is kept and raised by
/// the `poll` that ran the callback.
struct PyListener {
    on_assign: Option<Py<PyAny>>,
    on_revoke: Option<Py<PyAny>>,
    on_lost: Option<Py<PyAny>>,
    error: ErrorSlot,
}

impl PyListener {
    fn call(&self, callback: Option<&Py<PyAny>>, parts: &[TopicPartition]) {
        let Some(callback) = callback else {
            return;
        };
        Python::attach(|py| {
            let list: Vec<Tp> = parts.iter().cloned().map(Tp::from).collect();
            IN_CALLBACK.with(|c| c.set(true));
            let result = callback.call1(py, (list,));
            IN_CALLBACK.with(|c| c.set(false));
            if let Err(e) = result {
                self.error.lock().get_or_insert(e);
            }
        });
    }
}

impl RebalanceListener for PyListener {
    fn on_partitions_revoked(&mut self, partitions: &[TopicPartition]) {
        self.call(self.on_revoke.as_ref(), partitions);
    }

    fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]) {
        self.call(self.on_assign.as_ref(), partitions);
    }

    fn on_partitions_lost(&mut self, partitions: &[TopicPartition]) {
        self.call(
            self.on_lost.as_ref().or(self.on_revoke.as_ref()),
            partitions,
        );
    }
}

#[pyclass(module = "strom._native", subclass, frozen)]
pub struct Consumer {
    rt: Arc<Runtime>,
    /// `None` only while dropping.
    state: Option<Shared>,
    listener_error: ErrorSlot,
    iter_timeout: Option<Duration>,
}

/// Records for Python, converted once the GIL is held.
struct Records(Vec<ConsumerRecord>);

impl<'py> IntoPyObject<'py> for Records {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        RecordConverter::default().list(py, self.0)
    }
}

fn callback_error() -> Failure {
    Failure::State(
        "a consumer cannot be used from inside its own rebalance callback (the poll that runs \
         the callback holds it); act on the partitions after poll returns"
            .into(),
    )
}

impl Consumer {
    fn shared(&self) -> FResult<&Shared> {
        self.rt.check()?;
        self.state
            .as_ref()
            .ok_or_else(|| Failure::Closed("the consumer is closed".into()))
    }

    /// The consumer, waiting (GIL released) while another thread uses it.
    fn lock(&self, py: Python<'_>) -> FResult<tokio::sync::MutexGuard<'_, CoreConsumer>> {
        let shared = self.shared()?;
        if let Ok(guard) = shared.try_lock() {
            return Ok(guard);
        }
        if IN_CALLBACK.with(Cell::get) {
            return Err(callback_error());
        }
        Ok(py.detach(|| self.rt.block_on(shared.lock())))
    }

    /// Raises what a rebalance callback raised, else passes `result` on.
    fn checked<T>(&self, result: FResult<T>) -> FResult<T> {
        take_error(&self.listener_error, result)
    }

    fn commit_offsets_of(
        &self,
        offsets: &Bound<'_, PyAny>,
    ) -> PyResult<BTreeMap<TopicPartition, OffsetAndMetadata>> {
        if let Ok(record) = offsets.cast::<Record>() {
            let r = record.get();
            let topic: String = r.topic_name(offsets.py())?;
            return Ok(BTreeMap::from([(
                TopicPartition::new(topic, r.partition()),
                OffsetAndMetadata::new(r.offset() + 1),
            )]));
        }
        let map: BTreeMap<Tp, i64> = offsets.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(
                "offsets must be a dict {TopicPartition: next offset} or a Record",
            )
        })?;
        Ok(map
            .into_iter()
            .map(|(tp, o)| (tp.core(), OffsetAndMetadata::new(o)))
            .collect())
    }
}

fn take_error<T>(slot: &ErrorSlot, result: FResult<T>) -> FResult<T> {
    match slot.lock().take() {
        Some(e) => Err(Failure::Py(e)),
        None => result,
    }
}

#[pymethods]
impl Consumer {
    /// A consumer for `bootstrap_servers` or the embedded `broker`, configured with Kafka's
    /// consumer settings (`group_id="g"`, `{"auto.offset.reset": "earliest"}`, ...).
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
        let mut iter_timeout = None;
        let mut builder = CoreConsumer::builder();
        if let Some(service) = &service {
            builder = builder.in_process(service);
        }
        for (name, value) in &entries {
            if name == ITER_TIMEOUT {
                let ms: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| Failure::Config(format!("{name}={value:?} is not a number of ms")))
                    .py_err(py)?;
                iter_timeout = Some(Duration::from_millis(ms));
            } else {
                builder = builder.set(name, value);
            }
        }
        let consumer =
            runtime::block(py, &rt, async move { Ok(builder.build().await?) }).py_err(py)?;
        Ok(Consumer {
            rt,
            state: Some(Arc::new(tokio::sync::Mutex::new(consumer))),
            listener_error: Arc::new(parking_lot::Mutex::new(None)),
            iter_timeout,
        })
    }

    /// Subscribes to `topics` (a name, a list of names, or a regex starting with `^`) or to
    /// every topic matching `pattern`, through the consumer group (needs `group.id`).
    /// `on_assign(partitions)`, `on_revoke(partitions)` and `on_lost(partitions)` run on the
    /// polling thread around rebalances.
    #[pyo3(signature = (topics=None, *, pattern=None, on_assign=None, on_revoke=None, on_lost=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        topics: Option<&Bound<'_, PyAny>>,
        pattern: Option<String>,
        on_assign: Option<Py<PyAny>>,
        on_revoke: Option<Py<PyAny>>,
        on_lost: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let (names, pattern): (Vec<String>, Option<String>) = match (topics, pattern) {
            (Some(t), None) if t.is_instance_of::<PyString>() => {
                let t: String = t.extract()?;
                match t.strip_prefix('^') {
                    Some(_) => (Vec::new(), Some(t)),
                    None => (vec![t], None),
                }
            }
            (Some(t), None) => (t.extract()?, None),
            (None, Some(p)) => (Vec::new(), Some(p)),
            _ => {
                return Err(Failure::InvalidArgument(
                    "subscribe takes topics or pattern=, not both or neither".into(),
                ))
                .py_err(py)
            }
        };
        let listener = PyListener {
            on_assign,
            on_revoke,
            on_lost,
            error: Arc::clone(&self.listener_error),
        };
        let mut st = self.lock(py).py_err(py)?;
        st.set_rebalance_listener(Box::new(listener));
        match pattern {
            Some(p) => st.subscribe_pattern(&p),
            None => st.subscribe(&names),
        }
        .py_err(py)
    }

    /// Consumes exactly `partitions` (TopicPartition or (topic, partition)), without group
    /// membership (commits still go to `group.id` if set).
    fn assign(&self, py: Python<'_>, partitions: Vec<Tp>) -> PyResult<()> {
        let mut st = self.lock(py).py_err(py)?;
        st.assign(&core_partitions(partitions)).py_err(py)
    }

    /// Drops the subscription or assignment, leaving the group.
    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        let shared = Arc::clone(self.shared().py_err(py)?);
        let result = runtime::block(py, &self.rt, async move {
            let mut st = shared.lock().await;
            Ok(st.unsubscribe().await?)
        });
        self.checked(result).py_err(py)
    }

    /// The partitions assigned now.
    fn assignment(&self, py: Python<'_>) -> PyResult<Vec<Tp>> {
        let st = self.lock(py).py_err(py)?;
        Ok(st.assignment().into_iter().map(Tp::from).collect())
    }

    /// The subscribed topics (for a pattern: the topics it matched last).
    fn subscription(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        Ok(self.lock(py).py_err(py)?.subscription())
    }

    /// The records fetched since the last call (at most `max_records`, and at most
    /// `max.poll.records`), waiting up to `timeout` seconds for some (`None`: until there are
    /// some). Runs rebalances (and their callbacks), position resets and auto-commits.
    #[pyo3(signature = (timeout=None, max_records=None))]
    fn poll<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        max_records: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let timeout = timeout.map(runtime::seconds).transpose().py_err(py)?;
        let mut st = self.lock(py).py_err(py)?;
        let st = &mut *st;
        let max = max_records.unwrap_or(usize::MAX);
        let records = runtime::block(py, &self.rt, next_batch(st, timeout, max));
        let records = self.checked(records).py_err(py)?;
        RecordConverter::default().list(py, records)
    }

    /// `poll` as an asyncio awaitable.
    #[pyo3(signature = (timeout=None, max_records=None))]
    fn poll_async(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        max_records: Option<usize>,
    ) -> PyResult<Py<PyAny>> {
        let timeout = timeout.map(runtime::seconds).transpose().py_err(py)?;
        let shared = Arc::clone(self.shared().py_err(py)?);
        let slot = Arc::clone(&self.listener_error);
        let max = max_records.unwrap_or(usize::MAX);
        runtime::spawn_py(py, &self.rt, async move {
            let mut st = match shared.try_lock() {
                Ok(st) => st,
                Err(_) if IN_CALLBACK.with(Cell::get) => return Err(callback_error()),
                Err(_) => shared.lock().await,
            };
            let records = next_batch(&mut st, timeout, max).await;
            take_error(&slot, records).map(Records)
        })
    }

    /// Up to `max_records` records fetched already, without waiting: an empty list when a
    /// poll has to run first (a rebalance, an auto-commit, nothing fetched, another thread
    /// polling). What asyncio iteration takes before it awaits `poll_async`.
    #[pyo3(signature = (max_records=1))]
    fn take_fetched<'py>(
        &self,
        py: Python<'py>,
        max_records: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let shared = self.shared().py_err(py)?;
        let records = match shared.try_lock() {
            Ok(mut st) => st.take_fetched(max_records).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        RecordConverter::default().list(py, records)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next record, waiting for it (up to `consumer_timeout_ms` when set, after which
    /// iteration stops).
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<Record>>> {
        let mut st = self.lock(py).py_err(py)?;
        // Records fetched already are taken without releasing the GIL; else a poll of one.
        let record = match st.take_fetched(1) {
            Some(mut records) => records.pop(),
            None => {
                let st = &mut *st;
                let timeout = self.iter_timeout;
                let batch = runtime::block(py, &self.rt, next_batch(st, timeout, 1));
                self.checked(batch).py_err(py)?.pop()
            }
        };
        record
            .map(|r| RecordConverter::default().convert(py, r))
            .transpose()
    }

    /// Commits the positions of every assigned partition (after the records handed out so
    /// far), or `offsets` ({TopicPartition: next offset to read}), or the offset after a
    /// `Record`. `asynchronous=True` commits the positions in the background.
    #[pyo3(signature = (offsets=None, *, asynchronous=false))]
    fn commit(
        &self,
        py: Python<'_>,
        offsets: Option<&Bound<'_, PyAny>>,
        asynchronous: bool,
    ) -> PyResult<()> {
        let offsets = offsets
            .filter(|o| !o.is_none())
            .map(|o| self.commit_offsets_of(o))
            .transpose()?;
        let mut st = self.lock(py).py_err(py)?;
        let st = &mut *st;
        if asynchronous && offsets.is_none() {
            let _entered = self.rt.handle().enter();
            // The outcome is not reported, as Kafka's commitAsync without a callback.
            drop(st.commit_async().py_err(py)?);
            return Ok(());
        }
        let result = runtime::block(py, &self.rt, async move {
            match offsets {
                Some(o) => Ok(st.commit_offsets(o).await?),
                None => Ok(st.commit_sync().await?),
            }
        });
        self.checked(result).py_err(py)
    }

    /// `commit` as an asyncio awaitable.
    #[pyo3(signature = (offsets=None))]
    fn commit_async(
        &self,
        py: Python<'_>,
        offsets: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let offsets = offsets
            .filter(|o| !o.is_none())
            .map(|o| self.commit_offsets_of(o))
            .transpose()?;
        let shared = Arc::clone(self.shared().py_err(py)?);
        runtime::spawn_py(py, &self.rt, async move {
            let mut st = shared.lock().await;
            match offsets {
                Some(o) => Ok(st.commit_offsets(o).await?),
                None => Ok(st.commit_sync().await?),
            }
        })
    }

    /// The committed offsets of `partitions`: {TopicPartition: offset or None}.
    fn committed(
        &self,
        py: Python<'_>,
        partitions: Vec<Tp>,
    ) -> PyResult<BTreeMap<Tp, Option<i64>>> {
        let st = self.lock(py).py_err(py)?;
        let asked = core_partitions(partitions);
        let found =
            runtime::block(py, &self.rt, async { Ok(st.committed(&asked).await?) }).py_err(py)?;
        Ok(asked
            .into_iter()
            .map(|tp| {
                let offset = found.get(&tp).map(|o| o.offset);
                (Tp::from(tp), offset)
            })
            .collect())
    }

    /// Makes the next poll return records of `partition` from `offset`. After `subscribe`, a
    /// partition the group has not assigned yet is sought when it is assigned.
    fn seek(&self, py: Python<'_>, partition: Tp, offset: i64) -> PyResult<()> {
        let mut st = self.lock(py).py_err(py)?;
        st.seek(&partition.core(), offset).py_err(py)
    }

    /// Moves `partitions` (default: all assigned) to their first offset.
    #[pyo3(signature = (partitions=None))]
    fn seek_to_beginning(&self, py: Python<'_>, partitions: Option<Vec<Tp>>) -> PyResult<()> {
        let mut st = self.lock(py).py_err(py)?;
        let st = &mut *st;
        let list = core_partitions(partitions.unwrap_or_default());
        runtime::block(py, &self.rt, async move {
            Ok(st.seek_to_beginning(&list).await?)
        })
        .py_err(py)
    }

    /// Moves `partitions` (default: all assigned) to their end.
    #[pyo3(signature = (partitions=None))]
    fn seek_to_end(&self, py: Python<'_>, partitions: Option<Vec<Tp>>) -> PyResult<()> {
        let mut st = self.lock(py).py_err(py)?;
        let st = &mut *st;
        let list = core_partitions(partitions.unwrap_or_default());
        runtime::block(
            py,
            &self.rt,
            async move { Ok(st.seek_to_end(&list).await?) },
        )
        .py_err(py)
    }

    /// The offset of the next record poll (or iteration) returns for `partition`.
    fn position(&self, py: Python<'_>, partition: Tp) -> PyResult<i64> {
        let mut st = self.lock(py).py_err(py)?;
        let st = &mut *st;
        let tp = partition.core();
        runtime::block(py, &self.rt, async move { Ok(st.position(&tp).await?) }).py_err(py)
    }

    /// Stops returning records of `partitions` until `resume` (records fetched already wait
    /// in the consumer). After `subscribe`, partitions not assigned yet are paused when the
    /// group assigns them.
    fn pause(&self, py: Python<'_>, partitions: Vec<Tp>) -> PyResult<()> {
        let mut st = self.lock(py).py_err(py)?;
        st.pause(&core_partitions(partitions)).py_err(py)
    }

    fn resume(&self, py: Python<'_>, partitions: Vec<Tp>) -> PyResult<()> {
        let mut st = self.lock(py).py_err(py)?;
        st.resume(&core_partitions(partitions)).py_err(py)
    }

    fn paused(&self, py: Python<'_>) -> PyResult<Vec<Tp>> {
        let st = self.lock(py).py_err(py)?;
        Ok(st.paused().into_iter().map(Tp::from).collect())
    }

    /// {TopicPartition: first offset}.
    fn beginning_offsets(
        &self,
        py: Python<'_>,
        partitions: Vec<Tp>,
    ) -> PyResult<BTreeMap<Tp, i64>> {
        let st = self.lock(py).py_err(py)?;
        let asked = core_partitions(partitions);
        let found = runtime::block(py, &self.rt, async {
            Ok(st.beginning_offsets(&asked).await?)
        })
        .py_err(py)?;
        Ok(found.into_iter().map(|(tp, o)| (Tp::from(tp), o)).collect())
    }

    /// {TopicPartition: end offset (the high watermark)}.
    fn end_offsets(&self, py: Python<'_>, partitions: Vec<Tp>) -> PyResult<BTreeMap<Tp, i64>> {
        let st = self.lock(py).py_err(py)?;
        let asked = core_partitions(partitions);
        let found =
            runtime::block(py, &self.rt, async { Ok(st.end_offsets(&asked).await?) }).py_err(py)?;
        Ok(found.into_iter().map(|(tp, o)| (Tp::from(tp), o)).collect())
    }

    /// For each {TopicPartition: timestamp ms}, the first (offset, timestamp) at or after
    /// it, or None past the end.
    fn offsets_for_times(
        &self,
        py: Python<'_>,
        query: BTreeMap<Tp, i64>,
    ) -> PyResult<BTreeMap<Tp, Option<(i64, i64)>>> {
        let st = self.lock(py).py_err(py)?;
        let asked: Vec<(TopicPartition, i64)> =
            query.iter().map(|(tp, t)| (tp.core(), *t)).collect();
        let found = runtime::block(py, &self.rt, async {
            Ok(st.offsets_for_times(&asked).await?)
        })
        .py_err(py)?;
        Ok(query
            .into_keys()
            .map(|tp| {
                let hit = found
                    .get(&tp.core())
                    .filter(|o| o.offset >= 0)
                    .map(|o| (o.offset, o.timestamp));
                (tp, hit)
            })
            .collect())
    }

    /// Topic names the cluster has.
    fn list_topics(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let st = self.lock(py).py_err(py)?;
        runtime::block(py, &self.rt, async { Ok(st.list_topics().await?) }).py_err(py)
    }

    /// Commits (with auto-commit), leaves the group and stops. Closing again does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let mut st = self.lock(py).py_err(py)?;
        let st = &mut *st;
        let result = runtime::block(py, &self.rt, async move { Ok(st.close().await?) });
        self.checked(result).py_err(py)
    }

    fn close_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let shared = Arc::clone(self.shared().py_err(py)?);
        runtime::spawn_py(py, &self.rt, async move {
            let mut st = shared.lock().await;
            Ok(st.close().await?)
        })
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let rt = Arc::clone(&self.rt);
        rt.release(self.state.take());
    }
}
