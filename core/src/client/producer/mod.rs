//! The producer: `send` puts a record into its partition's batch and returns a
//! [`DeliveryFuture`]; a background [`sender`] ships batches to partition leaders. Kafka's
//! settings by name ([`config`]), murmur2 partitioning with sticky keyless batches
//! ([`crate::client::partitioner`]), every codec, idempotence on by default.

pub mod accumulator;
pub mod config;
pub mod delivery;
pub mod sender;

pub use accumulator::{ProducerRecord, RecordRef};
pub use config::{Acks, ProducerConfig};
pub use delivery::{DeliveryFuture, RecordMetadata};

use crate::api::Service;
use crate::client::cluster::{Cluster, Endpoint};
use crate::client::error::{ClientError, ClientResult};
use crate::client::partitioner::Partitioner;
use accumulator::{Accumulator, AppendBlocked};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// Builds a [`Producer`] from Kafka config names and an endpoint.
#[derive(Debug, Default)]
pub struct ProducerBuilder {
    config: ProducerConfig,
    endpoint: Option<Endpoint>,
    error: Option<ClientError>,
}

impl ProducerBuilder {
    /// `bootstrap.servers`.
    pub fn bootstrap(mut self, servers: &str) -> Self {
        self.config.bootstrap_servers = Some(servers.to_string());
        self
    }

    /// Where the cluster is: bootstrap servers or an embedded broker.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Produce into an embedded broker in this process.
    pub fn in_process(mut self, service: &Service) -> Self {
        self.endpoint = Some(Endpoint::InProcess(service.clone()));
        self
    }

    /// Any producer setting by its Kafka name; errors surface from [`ProducerBuilder::build`].
    pub fn set(mut self, name: &str, value: impl AsRef<str>) -> Self {
        if self.error.is_none() {
            if let Err(e) = self.config.set(name, value.as_ref()) {
                self.error = Some(e);
            }
        }
        self
    }

    /// A custom partitioner.
    pub fn partitioner(mut self, partitioner: Arc<dyn Partitioner>) -> Self {
        self.config.partitioner = partitioner;
        self
    }

    /// Starts the producer (must be called inside a tokio runtime).
    pub async fn build(self) -> ClientResult<Producer> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut config = self.config;
        config.resolve()?;
        let endpoint = match (self.endpoint, &config.bootstrap_servers) {
            (Some(e), _) => e,
            (None, Some(servers)) => Endpoint::bootstrap(servers)?,
            (None, None) => {
                return Err(ClientError::Config(
                    "set bootstrap.servers, or attach the producer to an embedded broker".into(),
                ))
            }
        };
        let cluster = Cluster::new(endpoint, config.cluster.clone());
        Producer::start(cluster, config)
    }
}

/// A Kafka producer. Cheap to share behind an `Arc`; `send` takes `&self`.
#[derive(Debug)]
pub struct Producer {
    cluster: Arc<Cluster>,
    config: Arc<ProducerConfig>,
    accumulator: Arc<Accumulator>,
    sender: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Producer {
    pub fn builder() -> ProducerBuilder {
        ProducerBuilder::default()
    }

    fn start(cluster: Arc<Cluster>, config: ProducerConfig) -> ClientResult<Producer> {
        let config = Arc::new(config);
        let accumulator = Arc::new(Accumulator::new(Arc::clone(&config)));
        let sender = sender::Sender {
            accumulator: Arc::clone(&accumulator),
            cluster: Arc::clone(&cluster),
            config: Arc::clone(&config),
            stale: Arc::new(AtomicBool::new(false)),
        };
        let task = tokio::spawn(sender.run());
        Ok(Producer {
            cluster,
            config,
            accumulator,
            sender: parking_lot::Mutex::new(Some(task)),
        })
    }

    /// Queues `record` and returns the future of its delivery. Waits (up to `max.block.ms`)
    /// only for the topic's metadata the first time and when `buffer.memory` is full.
    pub async fn send(&self, record: ProducerRecord) -> ClientResult<DeliveryFuture> {
        // The deadline is only computed once the send has to wait: the fast path reads no clock.
        let mut deadline = None;
        loop {
            match self.accumulator.try_append(&record) {
                Ok(delivery) => return Ok(delivery),
                Err(blocked) => self.unblock(blocked, &record.topic, &mut deadline).await?,
            }
        }
    }

    /// Waits out why an append could not happen (metadata to fetch, `buffer.memory` to free),
    /// up to `max.block.ms` from the first wait; errors that waiting cannot cure are returned.
    async fn unblock(
        &self,
        blocked: AppendBlocked,
        topic: &str,
        deadline: &mut Option<Instant>,
    ) -> ClientResult<()> {
        let deadline = *deadline.get_or_insert_with(|| Instant::now() + self.config.max_block);
        match blocked {
            AppendBlocked::Failed(e) => Err(e),
            AppendBlocked::NeedMetadata => {
                let info = self.cluster.topic_metadata(topic, deadline).await?;
                self.accumulator.add_topic(topic, info.partitions.len());
                Ok(())
            }
            AppendBlocked::BufferFull if Instant::now() >= deadline => {
                Err(ClientError::Timeout(format!(
                    "buffer.memory={} full for max.block.ms={:?}",
                    self.config.buffer_memory, self.config.max_block
                )))
            }
            AppendBlocked::BufferFull => {
                self.accumulator.wait_for_space().await;
                Ok(())
            }
        }
    }

    /// Queues many records of one topic at once: one lock, one clock read and one metadata
    /// check for the lot, so in-process producers reach millions of records a second. Returns
    /// a delivery per record, in order. Waits like [`Producer::send`] when blocked.
    pub async fn send_batch(
        &self,
        topic: &str,
        records: &[RecordRef<'_>],
    ) -> ClientResult<Vec<DeliveryFuture>> {
        let mut out = Vec::with_capacity(records.len());
        let mut deadline = None;
        while out.len() < records.len() {
            let rest = &records[out.len()..];
            if let Err(blocked) = self.accumulator.try_append_batch(topic, rest, &mut out) {
                self.unblock(blocked, topic, &mut deadline).await?;
            }
        }
        Ok(out)
    }

    /// Sends every record and waits for all deliveries; the first error is returned after all
    /// are answered.
    pub async fn send_all(
        &self,
        records: impl IntoIterator<Item = ProducerRecord>,
    ) -> ClientResult<Vec<RecordMetadata>> {
        let mut deliveries = Vec::new();
        for r in records {
            deliveries.push(self.send(r).await?);
        }
        let mut out = Vec::with_capacity(deliveries.len());
        let mut first_error = None;
        for d in deliveries {
            match d.wait().await {
                Ok(m) => out.push(m),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Sends everything queued now, without waiting for `linger.ms`, and waits until each of
    /// those batches is answered.
    pub async fn flush(&self) -> ClientResult<()> {
        let outcomes = self.accumulator.begin_flush();
        for o in &outcomes {
            o.wait().await;
        }
        self.accumulator.end_flush();
        Ok(())
    }

    /// Partition count of `topic` (fetching metadata if needed).
    pub async fn partitions_for(&self, topic: &str) -> ClientResult<i32> {
        let deadline = Instant::now() + self.config.max_block;
        let t = self.cluster.topic_metadata(topic, deadline).await?;
        Ok(t.partitions.len() as i32)
    }

    /// Delivers what is queued, then stops the sender. Later sends fail with `Closed`.
    pub async fn close(&self) -> ClientResult<()> {
        self.flush().await?;
        self.accumulator.close();
        let task = self.sender.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        Ok(())
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }
}

impl Drop for Producer {
    /// Dropping without `close` still delivers what was queued: the sender drains and stops.
    fn drop(&mut self) {
        self.accumulator.close();
    }
}
