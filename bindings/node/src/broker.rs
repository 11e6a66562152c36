//! `NativeBroker`: the embedded broker (`strom::EmbeddedBroker`) that in-process clients
//! attach to and that serves the Kafka protocol on TCP listeners. Only conversion lives here.

use crate::error::{js, spawn, JsFailure};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::Arc;
use strom::api::Service;
use strom::{EmbeddedBroker, Settings};

/// A topic of the embedded broker.
#[napi(object)]
pub struct BrokerTopic {
    pub name: String,
    pub id: String,
    pub partitions: i32,
    pub configs: HashMap<String, String>,
}

impl From<strom::TopicDescription> for BrokerTopic {
    fn from(t: strom::TopicDescription) -> Self {
        BrokerTopic {
            name: t.name,
            id: t.id.to_string(),
            partitions: t.partitions,
            configs: t.configs.into_iter().collect(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    embedded: EmbeddedBroker,
}

impl Shared {
    /// The service, for an in-process client; refused once the broker is closed.
    pub(crate) fn service(&self) -> Result<Service, JsFailure> {
        if self.embedded.is_closed() {
            return Err(JsFailure::closed("broker"));
        }
        Ok(self.embedded.service()?.clone())
    }
}

/// An embedded broker over one data directory (`Broker.open` in `node/lib/broker.js`).
#[napi]
pub struct NativeBroker {
    pub(crate) shared: Arc<Shared>,
}

/// Opens (or creates) the broker whose data lives in `path`, with broker settings by Kafka's
/// names (every name `strom serve` takes).
#[napi(catch_unwind)]
pub fn open_broker(
    env: &Env,
    path: String,
    config: Option<HashMap<String, String>>,
) -> napi::Result<PromiseRaw<'_, NativeBroker>> {
    let settings = js(Settings::from_pairs(config.unwrap_or_default()))?;
    spawn(env, async move {
        let embedded = js(EmbeddedBroker::open(path, settings).await)?;
        Ok(NativeBroker {
            shared: Arc::new(Shared { embedded }),
        })
    })
}

#[napi]
impl NativeBroker {
    /// Creates a topic; `partitions` of null takes `num.partitions`.
    #[napi(catch_unwind)]
    pub fn create_topic(
        &self,
        name: String,
        partitions: Option<i32>,
        configs: Option<HashMap<String, String>>,
    ) -> napi::Result<BrokerTopic> {
        let service = js(self.shared.service())?;
        let configs = configs.unwrap_or_default().into_iter().collect();
        js(service.broker().create_topic(&name, partitions, configs)).map(BrokerTopic::from)
    }

    /// Every topic, sorted by name.
    #[napi(catch_unwind)]
    pub fn topics(&self) -> napi::Result<Vec<BrokerTopic>> {
        let service = js(self.shared.service())?;
        Ok(service
            .broker()
            .topics()
            .into_iter()
            .map(BrokerTopic::from)
            .collect())
    }

    #[napi(catch_unwind)]
    pub fn delete_topic(&self, name: String) -> napi::Result<()> {
        let service = js(self.shared.service())?;
        js(service.broker().delete_topic(&name))
    }

    /// Serves the Kafka protocol on `listen` ("host:port", port 0 picks one) until `close`;
    /// resolves to the bound address.
    #[napi(catch_unwind)]
    pub fn serve<'env>(
        &self,
        env: &'env Env,
        listen: String,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let shared = Arc::clone(&self.shared);
        spawn(env, async move {
            js(shared.service())?;
            Ok(js(shared.embedded.serve(&listen).await)?.to_string())
        })
    }

    /// Serves Prometheus text metrics (`GET /metrics`) on `listen` until `close`; resolves
    /// to the bound address.
    #[napi(catch_unwind)]
    pub fn serve_metrics<'env>(
        &self,
        env: &'env Env,
        listen: String,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let shared = Arc::clone(&self.shared);
        spawn(env, async move {
            js(shared.service())?;
            Ok(js(shared.embedded.serve_metrics(&listen).await)?.to_string())
        })
    }

    /// The addresses the Kafka listeners are bound to.
    #[napi(getter, catch_unwind)]
    pub fn listeners(&self) -> Vec<String> {
        let bound = self.shared.embedded.listeners();
        bound.iter().map(|a| a.to_string()).collect()
    }

    /// Stops the listeners (draining their requests), flushes and closes the broker. Closing
    /// again does nothing.
    #[napi(catch_unwind)]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let shared = Arc::clone(&self.shared);
        spawn(env, async move { js(shared.embedded.close().await) })
    }

    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.shared.embedded.is_closed()
    }

    #[napi(getter, catch_unwind)]
    pub fn data_dir(&self) -> String {
        let dir = self.shared.embedded.data_dir();
        dir.to_string_lossy().into_owned()
    }
}
