//! `NativeAdmin`: `strom::client::Admin` with its answers as plain JavaScript objects.

use crate::broker::NativeBroker;
use crate::error::{js, spawn, JsFailure};
use crate::producer::endpoint;
use napi::bindgen_prelude::{BigInt, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use std::collections::HashMap;
use std::future::Future;
use strom::client::admin::{NewTopic, TopicResults};
use strom::client::{Admin, ClientResult};

/// A topic to create; null partitions or replication factor take the broker's defaults.
#[napi(object)]
pub struct JsNewTopic {
    pub topic: String,
    pub num_partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    pub configs: Option<HashMap<String, String>>,
}

/// The outcome for one topic or group: `error` is null on success, else an encoded error
/// for `errors.js`.
#[napi(object)]
pub struct JsItemResult {
    pub name: String,
    pub error: Option<String>,
}

#[napi(object)]
pub struct JsPartitionMetadata {
    pub partition_id: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

#[napi(object)]
pub struct JsTopicMetadata {
    pub name: String,
    pub topic_id: String,
    pub is_internal: bool,
    pub partitions: Vec<JsPartitionMetadata>,
}

#[napi(object)]
pub struct JsGroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: Option<String>,
}

#[napi(object)]
pub struct JsMemberAssignment {
    pub topic: String,
    pub partitions: Vec<i32>,
}

#[napi(object)]
pub struct JsGroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub assignment: Vec<JsMemberAssignment>,
}

#[napi(object)]
pub struct JsGroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<JsGroupMember>,
    pub coordinator: i32,
}

#[napi(object)]
pub struct JsGroupOffset {
    pub topic: String,
    pub partition: i32,
    /// A BigInt: offsets are 64-bit.
    pub offset: BigInt,
}

fn results(r: TopicResults) -> Vec<JsItemResult> {
    r.into_iter()
        .map(|(name, outcome)| JsItemResult {
            name,
            error: outcome.err().map(|e| JsFailure::from(e).encode()),
        })
        .collect()
}

#[napi]
pub struct NativeAdmin {
    /// Taken by `close`: dropping the admin client closes its connections.
    admin: std::sync::Mutex<Option<Admin>>,
}

/// Starts an admin client with Kafka's admin config names (fetching metadata once, so a
/// wrong address fails here), attached to `broker` if given.
#[napi(catch_unwind)]
pub fn connect_admin<'env>(
    env: &'env Env,
    config: HashMap<String, String>,
    broker: Option<&NativeBroker>,
) -> napi::Result<PromiseRaw<'env, NativeAdmin>> {
    let endpoint = js(endpoint(broker))?;
    spawn(env, async move {
        let mut builder = Admin::builder();
        if let Some(e) = endpoint {
            builder = builder.endpoint(e);
        }
        for (name, value) in &config {
            builder = builder.set(name, value);
        }
        Ok(NativeAdmin {
            admin: std::sync::Mutex::new(Some(js(builder.build().await)?)),
        })
    })
}

impl NativeAdmin {
    fn call<'env, T, F, Fut>(&self, env: &'env Env, f: F) -> napi::Result<PromiseRaw<'env, T>>
    where
        T: napi::bindgen_prelude::ToNapiValue + Send + 'static,
        F: FnOnce(Admin) -> Fut + Send + 'static,
        Fut: Future<Output = ClientResult<T>> + Send,
    {
        let admin = self
            .admin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let admin = js(admin.ok_or_else(|| JsFailure::closed("admin client")))?;
        spawn(env, async move { js(f(admin).await) })
    }
}

#[napi]
impl NativeAdmin {
    /// Drops the client and its connections; later calls fail with a `ClosedError`.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.admin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }

    /// Creates `topics` (each with its own result).
    #[napi(catch_unwind)]
    pub fn create_topics<'env>(
        &self,
        env: &'env Env,
        topics: Vec<JsNewTopic>,
        validate_only: bool,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsItemResult>>> {
        let mut list = Vec::with_capacity(topics.len());
        for t in topics {
            let factor = t
                .replication_factor
                .map(|f| {
                    i16::try_from(f)
                        .map_err(|_| JsFailure::invalid(format!("replication factor {f}")))
                })
                .transpose();
            list.push(NewTopic {
                name: t.topic,
                partitions: t.num_partitions.filter(|p| *p != -1),
                replication_factor: js(factor)?.filter(|f| *f != -1),
                configs: t.configs.unwrap_or_default().into_iter().collect(),
            });
        }
        self.call(env, move |a| async move {
            Ok(results(a.create_topics(&list, validate_only).await?))
        })
    }

    #[napi(catch_unwind)]
    pub fn delete_topics<'env>(
        &self,
        env: &'env Env,
        topics: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsItemResult>>> {
        self.call(env, move |a| async move {
            Ok(results(a.delete_topics(&topics).await?))
        })
    }

    /// Names of the topics, sorted (internal ones only with `include_internal`).
    #[napi(catch_unwind)]
    pub fn list_topics<'env>(
        &self,
        env: &'env Env,
        include_internal: bool,
    ) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        self.call(env, move |a| async move {
            a.list_topics(include_internal).await
        })
    }

    /// Describes `topics` (every topic when empty).
    #[napi(catch_unwind)]
    pub fn describe_topics<'env>(
        &self,
        env: &'env Env,
        topics: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsTopicMetadata>>> {
        self.call(env, move |a| async move {
            let names = if topics.is_empty() {
                a.list_topics(false).await?
            } else {
                topics
            };
            Ok(a.describe_topics(&names)
                .await?
                .into_iter()
                .map(|t| JsTopicMetadata {
                    name: t.name,
                    topic_id: t.id.to_string(),
                    is_internal: t.internal,
                    partitions: t
                        .partitions
                        .into_iter()
                        .map(|p| JsPartitionMetadata {
                            partition_id: p.partition,
                            leader: p.leader.unwrap_or(-1),
                            replicas: p.replicas,
                            isr: p.isr,
                        })
                        .collect(),
                })
                .collect())
        })
    }

    #[napi(catch_unwind)]
    pub fn list_groups<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsGroupListing>>> {
        self.call(env, |a| async move {
            Ok(a.list_groups()
                .await?
                .into_iter()
                .map(|g| JsGroupListing {
                    group_id: g.group_id,
                    protocol_type: g.protocol_type,
                    state: g.state,
                })
                .collect())
        })
    }

    #[napi(catch_unwind)]
    pub fn describe_groups<'env>(
        &self,
        env: &'env Env,
        groups: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsGroupDescription>>> {
        self.call(env, move |a| async move {
            Ok(a.describe_groups(&groups)
                .await?
                .into_iter()
                .map(|g| JsGroupDescription {
                    group_id: g.group_id,
                    state: g.state,
                    protocol_type: g.protocol_type,
                    protocol: g.protocol,
                    coordinator: g.coordinator,
                    members: g
                        .members
                        .into_iter()
                        .map(|m| JsGroupMember {
                            member_id: m.member_id,
                            group_instance_id: m.group_instance_id,
                            client_id: m.client_id,
                            client_host: m.client_host,
                            assignment: m
                                .assignment
                                .into_iter()
                                .map(|(topic, partitions)| JsMemberAssignment { topic, partitions })
                                .collect(),
                        })
                        .collect(),
                })
                .collect())
        })
    }

    /// Every offset `group` has committed.
    #[napi(catch_unwind)]
    pub fn group_offsets<'env>(
        &self,
        env: &'env Env,
        group: String,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsGroupOffset>>> {
        self.call(env, move |a| async move {
            Ok(a.list_consumer_group_offsets(&group)
                .await?
                .into_iter()
                .map(|((topic, partition), offset)| JsGroupOffset {
                    topic,
                    partition,
                    offset: BigInt::from(offset),
                })
                .collect())
        })
    }

    /// Deletes `groups` (each must be empty), each with its own result.
    #[napi(catch_unwind)]
    pub fn delete_groups<'env>(
        &self,
        env: &'env Env,
        groups: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsItemResult>>> {
        self.call(env, move |a| async move {
            Ok(results(a.delete_groups(&groups).await?))
        })
    }
}
