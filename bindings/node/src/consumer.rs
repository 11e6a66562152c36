//! `NativeConsumer`: `strom::client::Consumer` behind a tokio mutex (its methods take
//! `&mut self`); polled records come back packed (see [`crate::wire`]). `lib/consumer.js`
//! serialises the calls of one consumer, so the mutex is rarely contended.
//!
//! `paused()` is synchronous, as kafkajs's is, though a running consumer is polling (and so
//! locked) most of the time: it reads the core's `Consumer::paused` as it was when the
//! consumer was last unlocked. Every call that locks the consumer refreshes that copy on its
//! way out, so it is exact whenever no call is in progress, and a `pause` or `resume` is in it
//! by the time its promise resolves.

use crate::broker::NativeBroker;
use crate::error::{js, spawn, JsFailure};
use crate::producer::endpoint;
use crate::wire;
use napi::bindgen_prelude::{BigInt, Buffer, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use strom::client::consumer::OffsetAndMetadata;
use strom::client::{ClientError, ClientResult, Consumer, TopicPartition};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

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

/// Partitions of a topic, kafkajs's shape: `partitions` absent means every partition of the
/// topic assigned now.
#[napi(object)]
pub struct JsTopicPartitions {
    pub topic: String,
    pub partitions: Option<Vec<i32>>,
}

/// An offset to commit: the next one to consume, as Kafka.
#[napi(object)]
pub struct JsOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: BigInt,
    pub metadata: Option<String>,
}

/// An offset from JavaScript: a BigInt that must fit an i64 (never a double, which would have
/// rounded anything past 2^53 already).
pub(crate) fn offset_of(b: &BigInt, what: &str) -> napi::Result<i64> {
    match b.get_i64() {
        (v, true) => Ok(v),
        _ => js(Err(JsFailure::invalid(format!(
            "{what} is out of the 64-bit offset range"
        )))),
    }
}

/// `topics` with absent partition lists replaced by the topic's assigned partitions.
fn expand(consumer: &Consumer, topics: Vec<JsTopicPartitions>) -> Vec<TopicPartition> {
    let assigned = consumer.assignment();
    let mut out = Vec::new();
    for t in topics {
        match t.partitions {
            Some(list) => out.extend(list.into_iter().map(|p| TopicPartition::new(&t.topic, p))),
            None => out.extend(assigned.iter().filter(|tp| tp.topic == t.topic).cloned()),
        }
    }
    out
}

fn partitions(list: Vec<JsTopicPartition>) -> Vec<TopicPartition> {
    list.into_iter().map(TopicPartition::from).collect()
}

fn js_partitions(list: Vec<TopicPartition>) -> Vec<JsTopicPartition> {
    list.into_iter().map(JsTopicPartition::from).collect()
}

/// The consumer's paused partitions as of its last unlock.
type PausedCopy = Arc<std::sync::Mutex<Vec<TopicPartition>>>;

/// The consumer, locked for one call; unlocking refreshes the copy of its paused partitions.
struct Locked {
    consumer: OwnedMappedMutexGuard<Option<Consumer>, Consumer>,
    paused: PausedCopy,
}

impl Deref for Locked {
    type Target = Consumer;
    fn deref(&self) -> &Consumer {
        &self.consumer
    }
}

impl DerefMut for Locked {
    fn deref_mut(&mut self) -> &mut Consumer {
        &mut self.consumer
    }
}

impl Locked {
    fn new(guard: OwnedMutexGuard<Option<Consumer>>, paused: &PausedCopy) -> ClientResult<Self> {
        let consumer = OwnedMutexGuard::try_map(guard, Option::as_mut)
            .map_err(|_| ClientError::Closed("consumer"))?;
        Ok(Locked {
            consumer,
            paused: Arc::clone(paused),
        })
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        let now = self.consumer.paused();
        *self.paused.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }
}

#[napi]
pub struct NativeConsumer {
    /// Taken by `close`: dropping the consumer closes its connections.
    inner: Arc<Mutex<Option<Consumer>>>,
    paused: PausedCopy,
}

/// Creates a consumer with Kafka's config names, attached to `broker` if given.
#[napi(catch_unwind)]
pub fn connect_consumer<'env>(
    env: &'env Env,
    config: HashMap<String, String>,
    broker: Option<&NativeBroker>,
) -> napi::Result<PromiseRaw<'env, NativeConsumer>> {
    let endpoint = js(endpoint(broker))?;
    spawn(env, async move {
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
            paused: PausedCopy::default(),
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
        let paused = Arc::clone(&self.paused);
        spawn(env, async move {
            let locked = js(Locked::new(inner.lock_owned().await, &paused))?;
            js(f(locked).await)
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

    /// Changes a setting (Kafka's name) before the first poll; `IllegalStateError` after.
    #[napi(catch_unwind)]
    pub fn reconfigure<'env>(
        &self,
        env: &'env Env,
        name: String,
        value: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        self.with(
            env,
            move |mut c| async move { c.reconfigure(&name, &value) },
        )
    }

    /// Waits up to `timeout_ms` for records and resolves to at most `max` of them (and at most
    /// `max.poll.records`), packed; possibly none. Records fetched beyond stay in the core.
    #[napi(catch_unwind)]
    pub fn poll<'env>(
        &self,
        env: &'env Env,
        timeout_ms: u32,
        max: u32,
    ) -> napi::Result<PromiseRaw<'env, Buffer>> {
        self.with(env, move |mut c| async move {
            let timeout = Duration::from_millis(u64::from(timeout_ms));
            let records = c.poll_up_to(timeout, max as usize).await?;
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
        let map = offset_map(offsets)?;
        self.with(env, |mut c| async move { c.commit_offsets(map).await })
    }

    /// Commits the positions of every assigned partition, with `delivered` (the next offset
    /// JavaScript has not delivered, per partition holding undelivered records) in their place.
    #[napi(catch_unwind)]
    pub fn commit_positions_except<'env>(
        &self,
        env: &'env Env,
        delivered: Vec<JsOffset>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let map = offset_map(delivered)?;
        self.with(
            env,
            |mut c| async move { c.commit_positions_except(map).await },
        )
    }

    /// Makes the next poll return records of the partition from `offset`. With a group
    /// subscription, a partition not assigned yet is sought when the group assigns it.
    #[napi(catch_unwind)]
    pub fn seek<'env>(
        &self,
        env: &'env Env,
        topic: String,
        partition: i32,
        offset: BigInt,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let offset = offset_of(&offset, "a seek offset")?;
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
    ) -> napi::Result<PromiseRaw<'env, BigInt>> {
        let tp = TopicPartition::new(topic, partition);
        self.with(env, move |mut c| async move {
            c.position(&tp).await.map(BigInt::from)
        })
    }

    /// Stops handing out records of `topics`' partitions until resumed; their fetched records
    /// wait in the core. With a group subscription, partitions not assigned yet are paused
    /// when the group assigns them.
    #[napi(catch_unwind)]
    pub fn pause<'env>(
        &self,
        env: &'env Env,
        topics: Vec<JsTopicPartitions>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        self.with(env, |mut c| async move {
            let list = expand(&c, topics);
            c.pause(&list)
        })
    }

    #[napi(catch_unwind)]
    pub fn resume<'env>(
        &self,
        env: &'env Env,
        topics: Vec<JsTopicPartitions>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        self.with(env, |mut c| async move {
            let list = expand(&c, topics);
            c.resume(&list)
        })
    }

    /// Paused partitions, including those to be paused once the group assigns them (as of
    /// the last call that held the consumer: see the module notes).
    #[napi(catch_unwind)]
    pub fn paused(&self) -> Vec<JsTopicPartition> {
        let paused = self.paused.lock().unwrap_or_else(PoisonError::into_inner);
        js_partitions(paused.clone())
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
        let paused = Arc::clone(&self.paused);
        spawn(env, async move {
            let consumer = inner.lock().await.take();
            paused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
            match consumer {
                Some(mut c) => js(c.close().await),
                None => Ok(()),
            }
        })
    }
}

/// Offsets from JavaScript, checked, by partition.
fn offset_map(offsets: Vec<JsOffset>) -> napi::Result<BTreeMap<TopicPartition, OffsetAndMetadata>> {
    let mut map = BTreeMap::new();
    for o in offsets {
        let mut om = OffsetAndMetadata::new(offset_of(&o.offset, "a committed offset")?);
        om.metadata = o.metadata;
        map.insert(TopicPartition::new(o.topic, o.partition), om);
    }
    Ok(map)
}
