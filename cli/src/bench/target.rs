//! Where a bench runs: a cluster given by `--bootstrap`, or an embedded broker started here.

use super::Common;
use anyhow::Context as _;
use std::path::PathBuf;
use strom::api::Service;
use strom::client::{
    Admin, Consumer, ConsumerBuilder, Endpoint, Producer, ProducerBuilder, TopicPartition,
};
use strom::group::GroupConfig;
use strom::Broker;

/// The cluster of one bench run; an embedded broker is closed (and its temporary directory
/// removed) by [`Target::finish`].
pub struct Target {
    pub endpoint: Endpoint,
    embedded: Option<(Service, Broker, Option<PathBuf>)>,
}

impl Target {
    pub async fn open(c: &Common) -> anyhow::Result<Target> {
        if !c.in_process {
            let servers = c
                .bootstrap
                .as_deref()
                .unwrap_or(super::super::common::DEFAULT_BOOTSTRAP);
            return Ok(Target {
                endpoint: Endpoint::bootstrap(servers)?,
                embedded: None,
            });
        }
        let (dir, temporary) = match &c.data_dir {
            Some(d) => (d.clone(), None),
            None => {
                let d = std::env::temp_dir().join(format!("strom-bench-{}", std::process::id()));
                (d.clone(), Some(d))
            }
        };
        let opening = dir.clone();
        let broker = tokio::task::spawn_blocking(move || Broker::open(&opening))
            .await?
            .with_context(|| format!("opening an embedded broker in {}", dir.display()))?;
        let service = Service::start(broker.clone(), GroupConfig::default()).await?;
        Ok(Target {
            endpoint: Endpoint::InProcess(service.clone()),
            embedded: Some((service, broker, temporary)),
        })
    }

    /// Creates the topic unless it exists.
    pub async fn ensure_topic(&self, c: &Common) -> anyhow::Result<()> {
        let admin = Admin::builder()
            .endpoint(self.endpoint.clone())
            .build()
            .await?;
        if !admin.list_topics(false).await?.contains(&c.topic) {
            admin
                .create_topic(&c.topic, Some(c.partitions), &[])
                .await?;
        }
        Ok(())
    }

    /// Every partition of the topic.
    pub async fn partitions(&self, topic: &str) -> anyhow::Result<Vec<TopicPartition>> {
        let admin = Admin::builder()
            .endpoint(self.endpoint.clone())
            .build()
            .await?;
        let described = admin.describe_topics(&[topic.to_string()]).await?;
        let count = described.first().map_or(0, |t| t.partitions.len());
        Ok((0..count)
            .map(|p| TopicPartition::new(topic, i32::try_from(p).unwrap_or(i32::MAX)))
            .collect())
    }

    pub fn producer(&self, c: &Common) -> anyhow::Result<ProducerBuilder> {
        let mut b = Producer::builder().endpoint(self.endpoint.clone());
        for (k, v) in &c.properties {
            b = b.set(k, v);
        }
        Ok(b)
    }

    pub fn consumer(&self, c: &Common) -> anyhow::Result<ConsumerBuilder> {
        let mut b = Consumer::builder()
            .endpoint(self.endpoint.clone())
            .set("auto.offset.reset", "earliest");
        for (k, v) in &c.properties {
            b = b.set(k, v);
        }
        Ok(b)
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        if let Some((service, broker, temporary)) = self.embedded {
            service.stop();
            tokio::task::spawn_blocking(move || broker.close()).await??;
            if let Some(dir) = temporary {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        Ok(())
    }
}
