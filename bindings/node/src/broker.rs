//! `NativeBroker`: an embedded broker (`strom::Broker` with its `broker::Service`) that
//! in-process clients attach to and that serves the Kafka protocol on TCP listeners.

use crate::error::{js, JsFailure};
use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use strom::broker::Service;
use strom::group::GroupConfig;
use strom::server::{self, ServerConfig};
use strom::{Broker, BrokerConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
struct Listener {
    stop: oneshot::Sender<()>,
    task: JoinHandle<strom::Result<()>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) service: Service,
    server: ServerConfig,
    listeners: Mutex<Vec<Listener>>,
    closed: AtomicBool,
}

impl Shared {
    /// The service, for an in-process client; refused once the broker is closed.
    pub(crate) fn service(&self) -> Result<Service, JsFailure> {
        if self.closed.load(Ordering::Acquire) {
            return Err(JsFailure::closed("broker"));
        }
        Ok(self.service.clone())
    }

    async fn close(&self) -> Result<(), JsFailure> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let listeners = std::mem::take(
            &mut *self
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for l in listeners {
            let _ = l.stop.send(());
            // A listener's own failure is not the close's: the broker still closes.
            let _ = l.task.await;
        }
        self.service.stop();
        let broker = self.service.broker().clone();
        tokio::task::spawn_blocking(move || broker.close())
            .await
            .map_err(|e| JsFailure::new("internal", format!("closing the broker: {e}")))??;
        Ok(())
    }
}

/// An embedded broker over one data directory (`Broker.open` in `index.js`).
#[napi]
pub struct NativeBroker {
    pub(crate) shared: Arc<Shared>,
}

/// The broker settings `Broker.open` accepts, by their Kafka broker config names.
#[derive(Debug)]
struct Settings {
    broker: BrokerConfig,
    group: GroupConfig,
    server: ServerConfig,
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, JsFailure> {
    value.trim().parse().map_err(|_| {
        JsFailure::new(
            "config",
            format!("broker config {name}: {value:?} is not a valid number"),
        )
    })
}

fn settings(config: HashMap<String, String>) -> Result<Settings, JsFailure> {
    let mut s = Settings {
        broker: BrokerConfig::default(),
        group: GroupConfig::default(),
        server: ServerConfig::default(),
    };
    for (name, value) in &config {
        match name.as_str() {
            "num.partitions" => s.broker.default_partitions = number(name, value)?,
            "group.initial.rebalance.delay.ms" => {
                s.group.initial_rebalance_delay_ms = number(name, value)?
            }
            "auto.create.topics.enable" => {
                s.server.auto_create_topics = match value.trim() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(JsFailure::new(
                            "config",
                            format!("broker config {name}: true or false, not {value:?}"),
                        ))
                    }
                }
            }
            _ => {
                return Err(JsFailure::new(
                    "config",
                    format!(
                        "unknown broker config {name:?} (Broker.open accepts num.partitions, \
                         group.initial.rebalance.delay.ms, auto.create.topics.enable)"
                    ),
                ))
            }
        }
    }
    s.server.group = s.group.clone();
    Ok(s)
}

/// Opens (or creates) the broker whose data lives in `path`, with Kafka broker configs.
#[napi]
pub fn open_broker(
    env: &Env,
    path: String,
    config: Option<HashMap<String, String>>,
) -> napi::Result<PromiseRaw<'_, NativeBroker>> {
    let Settings {
        broker: broker_config,
        group,
        server,
    } = js(settings(config.unwrap_or_default()))?;
    env.spawn_future(async move {
        let broker =
            js(
                tokio::task::spawn_blocking(move || Broker::open_with(path, broker_config))
                    .await
                    .map_err(|e| JsFailure::new("internal", format!("opening the broker: {e}"))),
            )?;
        let broker = js(broker)?;
        let service = match Service::start(broker.clone(), group).await {
            Ok(s) => s,
            Err(e) => {
                let _ = broker.close();
                return js(Err(e));
            }
        };
        Ok(NativeBroker {
            shared: Arc::new(Shared {
                service,
                server,
                listeners: Mutex::new(Vec::new()),
                closed: AtomicBool::new(false),
            }),
        })
    })
}

#[napi]
impl NativeBroker {
    /// Creates a topic; `partitions` of null takes `num.partitions`.
    #[napi]
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
    #[napi]
    pub fn topics(&self) -> napi::Result<Vec<BrokerTopic>> {
        let service = js(self.shared.service())?;
        Ok(service
            .broker()
            .topics()
            .into_iter()
            .map(BrokerTopic::from)
            .collect())
    }

    #[napi]
    pub fn delete_topic(&self, name: String) -> napi::Result<()> {
        let service = js(self.shared.service())?;
        js(service.broker().delete_topic(&name))
    }

    /// Serves the Kafka protocol on `listen` ("host:port", port 0 picks one) until `close`;
    /// resolves to the bound address.
    #[napi]
    pub fn serve<'env>(
        &self,
        env: &'env Env,
        listen: String,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let shared = Arc::clone(&self.shared);
        env.spawn_future(async move {
            let service = js(shared.service())?;
            let listener = js(tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| JsFailure::io(&format!("binding {listen}"), e)))?;
            let addr = js(listener
                .local_addr()
                .map_err(|e| JsFailure::io("reading the listener's address", e)))?
            .to_string();
            let (stop, stopped) = oneshot::channel::<()>();
            let config = shared.server.clone();
            let task =
                tokio::spawn(
                    async move { server::serve(listener, &service, &config, stopped).await },
                );
            let mut listeners = shared
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Checked under the lock `close` takes the listeners with: none is left behind.
            if shared.closed.load(Ordering::Acquire) {
                let _ = stop.send(());
                return js(Err(JsFailure::closed("broker")));
            }
            listeners.push(Listener { stop, task });
            Ok(addr)
        })
    }

    /// Stops the listeners (draining their requests), flushes and closes the broker. Closing
    /// again does nothing.
    #[napi]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let shared = Arc::clone(&self.shared);
        env.spawn_future(async move { js(shared.close().await) })
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    #[napi(getter)]
    pub fn data_dir(&self) -> String {
        self.shared
            .service
            .broker()
            .data_dir()
            .to_string_lossy()
            .into_owned()
    }
}
