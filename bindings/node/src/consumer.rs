//! `NativeConsumer`: `strom::client::Consumer` behind a tokio mutex (its methods take
//! `&mut self`); polled records come back packed (see [`crate::wire`]). `index.js` serialises
//! the calls of one consumer, so the mutex is rarely contended.

use crate::broker::NativeBroker;
use crate::error::js;
use crate::producer::endpoint;
use crate::wire;
use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use strom::client::consumer::OffsetAndMetadata;
use strom::client::{ClientError, ClientResult, Consumer, TopicPartition};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// The consumer, locked for one call.
type Locked = OwnedMappedMutexGuard<Option<Consumer>, Consumer>;

/// A topic partition.
#[napi(object)]
pub struct JsTopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl From<JsTopicPartition> for TopicPartition {
    fn from(tp: JsTopicPartition) -> Self {
        TopicPartition::new(tp.topic, tp.partition)
    }
}

impl From<TopicPartition> for JsTopicPartition {
    fn from(tp: TopicPartition) -> Self {
        JsTopicPartition {
            topic: tp.topic,
            partition: tp.partition,
        }
    }
}

/// An offset to commit: the next one to consume, as Kafka.
#[napi(object)]
pub struct JsOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub metadata: Option<String>,
}

fn partitions(list: Vec<JsTopicPartition>) -> Vec<TopicPartition> {
    list.into_iter().map(TopicPartition::from).collect()
}

fn js_partitions(list: Vec<TopicPartition>) -> Vec<JsTopicPartition> {
    list.into_iter().map(JsTopicPartition::from).collect()
}

#[napi]
pub struct NativeConsumer {
    /// Taken by `close`: dropping the consumer closes its connections.
    inner: Arc<Mutex<Option<Consumer>>>,
}

/// Creates a consumer with Kafka's config names, attached to `broker` if given.
#[napi(catch_unwind)]
pub fn connect_consumer<'env>(
    env: &'env Env,
    config: HashMap<String, String>,
    broker: Option<&NativeBroker>,
) -> napi::Result<PromiseRaw<'env, NativeConsumer>> {
    let endpoint = js(endpoint(broker))?;
    env.spawn_future(async move {
        let mut builder = Consumer::builder();
        if let Some(e) = endpoint {
            builder = builder.endpoint(e);
        }
        for (name, value) in &config {
            builder = builder.set(name, value);
        }
        let consumer = js(builder.build().await)?;
        Ok(NativeConsumer {
            inner: Arc::new(Mutex::new(Some(consumer))),
        })
    })
}

impl NativeConsumer {
    /// Runs `f` on the locked consumer in a future whose result settles the returned promise.
    fn with<'env, T, F, Fut>(&self, env: &'env Env, f: F) -> napi::Result<PromiseRaw<'env, T>>
    where
        T: napi::bindgen_prelude::ToNapiValue + Send + 'static,
        F: FnOnce(Locked) -> Fut + Send + 'static,
        Fut: Future<Output = ClientResult<T>> + Send,
    {
        let inner = Arc::clone(&self.inner);
        env.spawn_future(async move {
            let consumer = OwnedMutexGuard::try_map(inner.lock_owned().await, Option::as_mut)
                .map_err(|_| ClientError::Closed("consumer"));
            js(f(js(consumer)?).await)
        })
    }
}

#[napi]
impl NativeConsumer {
    /// Subscribes to `topics` through the consumer group.
    #[napi(catch_unwind)]
    pub fn subscribe<'env>(
        &self,
        env: &'env Env,
        topics: Vec<String>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        self.with(env, |mut c| async move { c.subscribe(&topics) })
    }

    /// Subscribes to every topic whose whole name matches the regular expression `pattern`.
    #[napi(catch_unwind)]
    pub fn subscribe_pattern<'env>(
        &self,
        env: &'env Env,
        pattern: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        self.with(env, |mut c| async move { c.subscribe_pattern(&pattern) })
    }

    /// Consumes exactly `partitions`, without group membership.
    #[napi(catch_unwind)]
    pub fn assign<'env>(
        &self,
        env: &'env Env,
        partitions: Vec<JsTopicPartition>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let list = self::partitions(partitions);
        self.with(env, |mut c| async move { c.assign(&list) })
    }

    #[napi(catch_unwind)]
    pub fn unsubscribe<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        self.with(env, |mut c| async move { c.unsubscribe().await })
    }

    /// Waits up to `timeout_ms` for records; resolves to them packed (possibly none).
    #[napi(catch_unwind)]
    pub fn poll<'env>(
        &self,
        env: &'env Env,
        timeout_ms: u32,
    ) -> napi::Result<PromiseRaw<'env, Buffer>> {
        self.with(env, move |mut c| async move {
            let records = c.poll(Duration::from_millis(u64::from(timeout_ms))).await?;
            Ok(Buffer::from(wire::encode_poll(&records)))
        })
    }

    /// Commits the positions of every assigned partition.
    #[napi(catch_unwind)]
    pub fn commit_sync<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        self.with(env, |mut c| async move { c.commit_sync().await })
    }

    /// Commits the given offsets (the next offset to consume of each partition).
    #[napi(catch_unwind)]
    pub fn commit_offsets<'env>(
        &self,
        env: &'env Env,
        offsets: Vec<JsOffset>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let map: BTreeMap<TopicPartition, OffsetAndMetadata> = offsets
            .into_iter()
            .map(|o| {
                let mut om = OffsetAndMetadata::new(o.offset);
                om.metadata = o.metadata;
                (TopicPartition::new(o.topic, o.partition), om)
            })
            .collect();
        self.with(env, |mut c| async move { c.commit_offsets(map).await })
    }

    /// Makes the next poll return records of the partition from `offset`.
    #[napi(catch_unwind)]
    pub fn seek<'env>(
        &self,
        env: &'env Env,
        topic: String,
        partition: i32,
        offset: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let tp = TopicPartition::new(topic, partition);
        self.with(env, move |mut c| async move { c.seek(&tp, offset) })
    }

    /// Moves `partitions` (every assigned one when empty) to their first offset.
    #[napi(catch_unwind)]
    pub fn seek_to_beginning<'env>(
        &self,
        env: &'env Env,
        partitions: Vec<JsTopicPartition>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let list = self::partitions(partitions);
        self.with(env, |mut c| async move { c.seek_to_beginning(&list).await })
    }

    /// Moves `partitions` (every assigned one when empty) to their end.
    #[napi(catch_unwind)]
    pub fn seek_to_end<'env>(
        &self,
        env: &'env Env,
        partitions: Vec<JsTopicPartition>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let list = self::partitions(partitions);
        self.with(env, |mut c| async move { c.seek_to_end(&list).await })
    }

    /// The next offset poll returns for the partition.
    #[napi(catch_unwind)]
    pub fn position<'env>(
        &self,
        env: &'env Env,
        topic: String,
        partition: i32,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let tp = TopicPartition::new(topic, partition);
        self.with(env, move |mut c| async move { c.position(&tp).await })
    }

    #[napi(catch_unwind)]
    pub fn pause<'env>(
        &self,
        env: &'env Env,
        partitions: Vec<JsTopicPartition>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let list = self::partitions(partitions);
        self.with(env, |mut c| async move { c.pause(&list) })
    }

    #[napi(catch_unwind)]
    pub fn resume<'env>(
        &self,
        env: &'env Env,
        partitions: Vec<JsTopicPartition>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let list = self::partitions(partitions);
        self.with(env, |mut c| async move { c.resume(&list) })
    }

    #[napi(catch_unwind)]
    pub fn paused<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsTopicPartition>>> {
        self.with(env, |c| async move { Ok(js_partitions(c.paused())) })
    }

    #[napi(catch_unwind)]
    pub fn assignment<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<JsTopicPartition>>> {
        self.with(env, |c| async move { Ok(js_partitions(c.assignment())) })
    }

    /// Commits (with auto-commit), leaves the group and stops. Closing again does nothing.
    #[napi(catch_unwind)]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let inner = Arc::clone(&self.inner);
        env.spawn_future(async move {
            let consumer = inner.lock().await.take();
            match consumer {
                Some(mut c) => js(c.close().await),
                None => Ok(()),
            }
        })
    }
}
