//! `NativeProducer`: `strom::client::Producer` with records packed per call (see [`crate::wire`]).

use crate::broker::NativeBroker;
use crate::error::{js, spawn, JsFailure};
use crate::wire;
use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, BufferSlice, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use strom::client::{Endpoint, Producer};

/// The endpoint of a client: the embedded `broker` when given, else `bootstrap.servers`
/// from the config (the core builders read it from there).
pub(crate) fn endpoint(broker: Option<&NativeBroker>) -> Result<Option<Endpoint>, JsFailure> {
    broker
        .map(|b| b.shared.service().map(Endpoint::InProcess))
        .transpose()
}

#[napi]
pub struct NativeProducer {
    /// Taken by `close`: the producer and its connections go once the last send is answered.
    producer: Mutex<Option<Arc<Producer>>>,
}

impl NativeProducer {
    fn producer(&self) -> napi::Result<Arc<Producer>> {
        let p = self.producer.lock().unwrap_or_else(PoisonError::into_inner);
        js(p.clone().ok_or_else(|| JsFailure::closed("producer")))
    }
}

/// Starts a producer with Kafka's config names, attached to `broker` if given.
#[napi(catch_unwind)]
pub fn connect_producer<'env>(
    env: &'env Env,
    config: HashMap<String, String>,
    broker: Option<&NativeBroker>,
) -> napi::Result<PromiseRaw<'env, NativeProducer>> {
    let endpoint = js(endpoint(broker))?;
    spawn(env, async move {
        let mut builder = Producer::builder();
        if let Some(e) = endpoint {
            builder = builder.endpoint(e);
        }
        for (name, value) in &config {
            builder = builder.set(name, value);
        }
        let producer = js(builder.build().await)?;
        Ok(NativeProducer {
            producer: Mutex::new(Some(Arc::new(producer))),
        })
    })
}

#[napi]
impl NativeProducer {
    /// Sends `count` records packed in `records` to `topic` and resolves, once all are
    /// acknowledged, to their packed deliveries (partition, offset, timestamp each).
    #[napi(catch_unwind)]
    pub fn send<'env>(
        &self,
        env: &'env Env,
        topic: String,
        records: BufferSlice,
        count: u32,
    ) -> napi::Result<PromiseRaw<'env, Buffer>> {
        let packed = Bytes::copy_from_slice(&records);
        let producer = self.producer()?;
        spawn(env, async move {
            let owned = js(wire::decode_produce(packed, count as usize))?;
            let refs: Vec<_> = owned.iter().map(wire::OwnedRecord::as_ref).collect();
            let deliveries = js(producer.send_batch(&topic, &refs).await)?;
            drop(refs);
            drop(owned);
            let mut metas = Vec::with_capacity(deliveries.len());
            let mut first_error = None;
            for d in deliveries {
                match d.wait().await {
                    Ok(m) => metas.push(m),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return js(Err(e));
            }
            Ok(Buffer::from(wire::encode_deliveries(&metas)))
        })
    }

    /// Sends what is queued without waiting for `linger.ms` and waits for the answers.
    #[napi(catch_unwind)]
    pub fn flush<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let producer = self.producer()?;
        spawn(env, async move { js(producer.flush().await) })
    }

    /// Partition count of `topic`.
    #[napi(catch_unwind)]
    pub fn partitions_for<'env>(
        &self,
        env: &'env Env,
        topic: String,
    ) -> napi::Result<PromiseRaw<'env, i32>> {
        let producer = self.producer()?;
        spawn(
            env,
            async move { js(producer.partitions_for(&topic).await) },
        )
    }

    /// Delivers what is queued, then stops; later sends fail with a `ClosedError`.
    #[napi(catch_unwind)]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let producer = self
            .producer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        spawn(env, async move {
            match producer {
                Some(p) => js(p.close().await),
                None => Ok(()),
            }
        })
    }
}
