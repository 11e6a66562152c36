//! `Admin`: `strom::client::Admin` for Python. Every method answers with plain Python values
//! (dicts, lists, tuples; `strom.admin` builds its types from them) and takes `aio=True` to
//! return an asyncio awaitable instead of waiting.

use crate::broker::Broker;
use crate::config;
use crate::error::{FResult, Failure, IntoPy};
use crate::producer::endpoint;
use crate::record::Tp;
use crate::runtime::{self, Runtime};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use strom::client::admin::{AlterOp, NewTopic, OffsetSpec};
use strom::client::Admin as CoreAdmin;

#[pyclass(module = "strom._native", subclass, frozen)]
pub struct Admin {
    rt: Arc<Runtime>,
    inner: parking_lot::Mutex<Option<CoreAdmin>>,
}

#[derive(IntoPyObject)]
struct TopicOut {
    name: String,
    id: String,
    internal: bool,
    partitions: Vec<PartitionOut>,
}

#[derive(IntoPyObject)]
struct PartitionOut {
    partition: i32,
    leader: Option<i32>,
    replicas: Vec<i32>,
    isr: Vec<i32>,
}

#[derive(IntoPyObject)]
struct ConfigOut {
    name: String,
    value: Option<String>,
    read_only: bool,
    is_default: bool,
    sensitive: bool,
    source: String,
}

#[derive(IntoPyObject)]
struct GroupListingOut {
    group_id: String,
    protocol_type: String,
    state: Option<String>,
}

#[derive(IntoPyObject)]
struct GroupOut {
    group_id: String,
    state: String,
    protocol_type: String,
    protocol: String,
    coordinator: i32,
    members: Vec<MemberOut>,
}

#[derive(IntoPyObject)]
struct MemberOut {
    member_id: String,
    group_instance_id: Option<String>,
    client_id: String,
    client_host: String,
    assignment: Vec<(String, Vec<i32>)>,
}

#[derive(IntoPyObject)]
struct ClusterOut {
    cluster_id: Option<String>,
    controller: Option<i32>,
    brokers: Vec<(i32, String)>,
}

/// `"earliest"`, `"latest"`, `"max_timestamp"` or a timestamp in ms.
fn spec(value: &Bound<'_, PyAny>) -> FResult<OffsetSpec> {
    if let Ok(s) = value.cast::<PyString>() {
        return match s.to_str()? {
            "earliest" => Ok(OffsetSpec::Earliest),
            "latest" => Ok(OffsetSpec::Latest),
            "max_timestamp" => Ok(OffsetSpec::MaxTimestamp),
            other => Err(Failure::InvalidArgument(format!(
                "offset spec {other:?}: use \"earliest\", \"latest\", \"max_timestamp\" or a \
                 timestamp in ms"
            ))),
        };
    }
    let ts: i64 = value.extract().map_err(|_| {
        Failure::InvalidArgument(
            "an offset spec is \"earliest\", \"latest\", \"max_timestamp\" or a timestamp in ms"
                .into(),
        )
    })?;
    Ok(OffsetSpec::Timestamp(ts))
}

impl Admin {
    fn admin(&self) -> FResult<CoreAdmin> {
        self.rt.check()?;
        self.inner
            .lock()
            .clone()
            .ok_or_else(|| Failure::Closed("the admin client is closed".into()))
    }

    /// Runs `call` on the admin client: waited for here, or as an awaitable with `aio`.
    fn run<F, Fut, T>(&self, py: Python<'_>, aio: bool, call: F) -> PyResult<Py<PyAny>>
    where
        F: FnOnce(CoreAdmin) -> Fut,
        Fut: Future<Output = FResult<T>> + Send + 'static,
        T: for<'py> IntoPyObject<'py> + Send + 'static,
    {
        let admin = self.admin().py_err(py)?;
        runtime::run(py, &self.rt, aio, call(admin))
    }
}

#[pymethods]
impl Admin {
    /// An admin client for `bootstrap_servers` or the embedded `broker`, with Kafka's admin
    /// settings. Fetches metadata once, so a wrong address fails here.
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
        let mut builder = CoreAdmin::builder();
        if let Some(service) = &service {
            builder = builder.in_process(service);
        }
        for (name, value) in &entries {
            builder = builder.set(name, value);
        }
        let admin =
            runtime::block(py, &rt, async move { Ok(builder.build().await?) }).py_err(py)?;
        Ok(Admin {
            rt,
            inner: parking_lot::Mutex::new(Some(admin)),
        })
    }

    #[pyo3(signature = (name, partitions=None, replication_factor=None, config=None, *, aio=false))]
    fn create_topic(
        &self,
        py: Python<'_>,
        name: String,
        partitions: Option<i32>,
        replication_factor: Option<i16>,
        config: Option<&Bound<'_, PyAny>>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut topic = NewTopic::new(name);
        topic.partitions = partitions;
        topic.replication_factor = replication_factor;
        topic.configs = config::collect(config, None)?;
        self.run(py, aio, |a| async move {
            let results = a.create_topics(&[topic], false).await?;
            for (_, r) in results {
                r?;
            }
            Ok(())
        })
    }

    #[pyo3(signature = (name, *, aio=false))]
    fn delete_topic(&self, py: Python<'_>, name: String, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move { Ok(a.delete_topic(&name).await?) })
    }

    #[pyo3(signature = (internal=false, *, aio=false))]
    fn list_topics(&self, py: Python<'_>, internal: bool, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(
            py,
            aio,
            |a| async move { Ok(a.list_topics(internal).await?) },
        )
    }

    #[pyo3(signature = (names, *, aio=false))]
    fn describe_topics(
        &self,
        py: Python<'_>,
        names: Vec<String>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            let found = a.describe_topics(&names).await?;
            Ok(found
                .into_iter()
                .map(|t| TopicOut {
                    name: t.name,
                    id: t.id.to_string(),
                    internal: t.internal,
                    partitions: t
                        .partitions
                        .into_iter()
                        .map(|p| PartitionOut {
                            partition: p.partition,
                            leader: p.leader,
                            replicas: p.replicas,
                            isr: p.isr,
                        })
                        .collect(),
                })
                .collect::<Vec<_>>())
        })
    }

    #[pyo3(signature = (topic, total, *, aio=false))]
    fn create_partitions(
        &self,
        py: Python<'_>,
        topic: String,
        total: i32,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            Ok(a.create_partitions(&topic, total).await?)
        })
    }

    #[pyo3(signature = (topic, *, aio=false))]
    fn describe_configs(&self, py: Python<'_>, topic: String, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            let entries = a.describe_topic_configs(&topic).await?;
            Ok(entries
                .into_iter()
                .map(|e| ConfigOut {
                    name: e.name,
                    value: e.value,
                    read_only: e.read_only,
                    is_default: e.is_default,
                    sensitive: e.sensitive,
                    source: format!("{:?}", e.source),
                })
                .collect::<Vec<_>>())
        })
    }

    /// Sets (a value) or removes (None) topic config overrides.
    #[pyo3(signature = (topic, changes, *, aio=false))]
    fn alter_configs(
        &self,
        py: Python<'_>,
        topic: String,
        changes: BTreeMap<String, Option<Bound<'_, PyAny>>>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        let ops = changes
            .into_iter()
            .map(|(name, value)| {
                let name = name.replace('_', ".");
                Ok(match value {
                    Some(v) if !v.is_none() => {
                        let text = config::text(&name, &v)?;
                        AlterOp::set(name, text)
                    }
                    _ => AlterOp::delete(name),
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.run(py, aio, |a| async move {
            Ok(a.alter_topic_configs(&topic, &ops).await?)
        })
    }

    #[pyo3(signature = (*, aio=false))]
    fn list_groups(&self, py: Python<'_>, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            Ok(a.list_groups()
                .await?
                .into_iter()
                .map(|g| GroupListingOut {
                    group_id: g.group_id,
                    protocol_type: g.protocol_type,
                    state: g.state,
                })
                .collect::<Vec<_>>())
        })
    }

    #[pyo3(signature = (groups, *, aio=false))]
    fn describe_groups(
        &self,
        py: Python<'_>,
        groups: Vec<String>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            Ok(a.describe_groups(&groups)
                .await?
                .into_iter()
                .map(|g| GroupOut {
                    group_id: g.group_id,
                    state: g.state,
                    protocol_type: g.protocol_type,
                    protocol: g.protocol,
                    coordinator: g.coordinator,
                    members: g
                        .members
                        .into_iter()
                        .map(|m| MemberOut {
                            member_id: m.member_id,
                            group_instance_id: m.group_instance_id,
                            client_id: m.client_id,
                            client_host: m.client_host,
                            assignment: m.assignment,
                        })
                        .collect(),
                })
                .collect::<Vec<_>>())
        })
    }

    #[pyo3(signature = (group, *, aio=false))]
    fn delete_group(&self, py: Python<'_>, group: String, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(
            py,
            aio,
            |a| async move { Ok(a.delete_group(&group).await?) },
        )
    }

    /// {TopicPartition: committed offset} of a group.
    #[pyo3(signature = (group, *, aio=false))]
    fn list_group_offsets(&self, py: Python<'_>, group: String, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            let found = a.list_consumer_group_offsets(&group).await?;
            Ok(found
                .into_iter()
                .map(|((t, p), o)| (Tp(t, p), o))
                .collect::<BTreeMap<_, _>>())
        })
    }

    /// [(TopicPartition, committed, end offset, lag)] of every partition a group committed;
    /// the lag is core's (`strom::group::lag`), `None` where a side is unknown.
    #[pyo3(signature = (group, *, aio=false))]
    fn group_lag(&self, py: Python<'_>, group: String, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            Ok(a.group_lag(&group, &[])
                .await?
                .into_iter()
                .map(|l| {
                    let lag = l.lag();
                    (Tp(l.topic, l.partition), l.committed, l.end_offset, lag)
                })
                .collect::<Vec<_>>())
        })
    }

    /// Sets a group's committed offsets (the group must have no members).
    #[pyo3(signature = (group, offsets, *, aio=false))]
    fn alter_group_offsets(
        &self,
        py: Python<'_>,
        group: String,
        offsets: BTreeMap<Tp, i64>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        let offsets: BTreeMap<(String, i32), i64> = offsets
            .into_iter()
            .map(|(tp, o)| ((tp.0, tp.1), o))
            .collect();
        self.run(py, aio, |a| async move {
            Ok(a.alter_consumer_group_offsets(&group, &offsets).await?)
        })
    }

    #[pyo3(signature = (group, partitions, *, aio=false))]
    fn delete_group_offsets(
        &self,
        py: Python<'_>,
        group: String,
        partitions: Vec<Tp>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        let partitions: Vec<(String, i32)> =
            partitions.into_iter().map(|tp| (tp.0, tp.1)).collect();
        self.run(py, aio, |a| async move {
            Ok(a.delete_consumer_group_offsets(&group, &partitions).await?)
        })
    }

    /// {TopicPartition: (offset, timestamp)} for {TopicPartition: spec}, a spec being
    /// "earliest", "latest", "max_timestamp" or a timestamp in ms.
    #[pyo3(signature = (query, *, aio=false))]
    fn list_offsets(
        &self,
        py: Python<'_>,
        query: BTreeMap<Tp, Bound<'_, PyAny>>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        let asked = query
            .iter()
            .map(|(tp, s)| Ok((tp.0.clone(), tp.1, spec(s)?)))
            .collect::<FResult<Vec<_>>>()
            .py_err(py)?;
        self.run(py, aio, |a| async move {
            let found = a.list_offsets(&asked).await?;
            Ok(found
                .into_iter()
                .map(|((t, p), o)| (Tp(t, p), (o.offset, o.timestamp)))
                .collect::<BTreeMap<_, _>>())
        })
    }

    /// Deletes records before {TopicPartition: offset}; answers the new low watermarks.
    #[pyo3(signature = (before, *, aio=false))]
    fn delete_records(
        &self,
        py: Python<'_>,
        before: BTreeMap<Tp, i64>,
        aio: bool,
    ) -> PyResult<Py<PyAny>> {
        let asked: Vec<(String, i32, i64)> =
            before.into_iter().map(|(tp, o)| (tp.0, tp.1, o)).collect();
        self.run(py, aio, |a| async move {
            let found = a.delete_records(&asked).await?;
            Ok(found
                .into_iter()
                .map(|((t, p), o)| (Tp(t, p), o))
                .collect::<BTreeMap<_, _>>())
        })
    }

    #[pyo3(signature = (*, aio=false))]
    fn describe_cluster(&self, py: Python<'_>, aio: bool) -> PyResult<Py<PyAny>> {
        self.run(py, aio, |a| async move {
            let c = a.describe_cluster().await?;
            Ok(ClusterOut {
                cluster_id: c.cluster_id,
                controller: c.controller,
                brokers: c.brokers,
            })
        })
    }

    /// Releases the connections. Later calls raise `ClosedError`.
    fn close(&self) {
        let admin = self.inner.lock().take();
        self.rt.release(admin);
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        let admin = self.inner.lock().take();
        self.rt.release(admin);
    }
}
