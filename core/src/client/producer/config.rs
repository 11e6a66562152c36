//! [`ProducerConfig`]: the producer's settings under Kafka's names, with Kafka's defaults and
//! its rules for idempotence (on by default; turned off quietly only when the user chose a
//! conflicting setting without asking for idempotence, refused when both were asked for).

use crate::client::cluster::ClusterOptions;
use crate::client::config::{boolean, int, millis, one_of, unknown};
use crate::client::error::{ClientError, ClientResult};
use crate::client::partitioner::{partitioner_by_name, DefaultPartitioner, Partitioner};
use crate::records::batch::Codec;
use std::sync::Arc;
use std::time::Duration;

const KNOWN: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "acks",
    "linger.ms",
    "batch.size",
    "compression.type",
    "enable.idempotence",
    "retries",
    "delivery.timeout.ms",
    "max.in.flight.requests.per.connection",
    "partitioner",
    "partitioner.class",
    "request.timeout.ms",
    "retry.backoff.ms",
    "buffer.memory",
    "max.request.size",
    "max.block.ms",
    "socket.connection.setup.timeout.ms",
];

/// `acks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    None,
    Leader,
    All,
}

impl Acks {
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub bootstrap_servers: Option<String>,
    pub cluster: ClusterOptions,
    pub acks: Acks,
    pub linger: Duration,
    pub batch_size: usize,
    pub compression: Codec,
    pub idempotence: bool,
    pub retries: u32,
    pub delivery_timeout: Duration,
    pub max_in_flight: usize,
    pub partitioner: Arc<dyn Partitioner>,
    pub buffer_memory: usize,
    pub max_request_size: usize,
    pub max_block: Duration,
    /// Which settings the user gave, for the idempotence rules.
    explicit: Vec<&'static str>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            bootstrap_servers: None,
            cluster: ClusterOptions {
                client_id: "strom-producer".into(),
                ..ClusterOptions::default()
            },
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            compression: Codec::None,
            idempotence: true,
            retries: i32::MAX as u32,
            delivery_timeout: Duration::from_millis(120_000),
            max_in_flight: 5,
            partitioner: Arc::new(DefaultPartitioner::default()),
            buffer_memory: 32 * 1024 * 1024,
            max_request_size: 1_048_576,
            max_block: Duration::from_millis(60_000),
            explicit: Vec::new(),
        }
    }
}

impl ProducerConfig {
    /// Applies one setting by its Kafka name.
    pub fn set(&mut self, name: &str, value: &str) -> ClientResult<()> {
        let Some(known) = KNOWN.iter().find(|k| **k == name) else {
            return Err(unknown("producer", name, KNOWN));
        };
        self.explicit.push(known);
        match name {
            "bootstrap.servers" => self.bootstrap_servers = Some(value.to_string()),
            "client.id" => self.cluster.client_id = value.to_string(),
            "acks" => {
                self.acks = match value.trim() {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "-1" | "all" => Acks::All,
                    _ => return Err(one_of(name, value, &["0", "1", "all", "-1"])),
                }
            }
            "linger.ms" => self.linger = millis(name, value)?,
            "batch.size" => self.batch_size = int::<usize>(name, value)?.max(1),
            "compression.type" => {
                self.compression = match value.trim() {
                    "none" => Codec::None,
                    "gzip" => Codec::Gzip,
                    "snappy" => Codec::Snappy,
                    "lz4" => Codec::Lz4,
                    "zstd" => Codec::Zstd,
                    _ => {
                        return Err(one_of(
                            name,
                            value,
                            &["none", "gzip", "snappy", "lz4", "zstd"],
                        ))
                    }
                }
            }
            "enable.idempotence" => self.idempotence = boolean(name, value)?,
            "retries" => self.retries = int(name, value)?,
            "delivery.timeout.ms" => self.delivery_timeout = millis(name, value)?,
            "max.in.flight.requests.per.connection" => {
                self.max_in_flight = int::<usize>(name, value)?.max(1)
            }
            "partitioner" | "partitioner.class" => {
                self.partitioner = partitioner_by_name(value.trim()).ok_or_else(|| {
                    ClientError::Config(format!(
                        "{name}={value:?}: unknown partitioner (use default, murmur2_random, \
                         murmur2, round_robin, or set a custom one in code)"
                    ))
                })?
            }
            "request.timeout.ms" => self.cluster.request_timeout = millis(name, value)?,
            "retry.backoff.ms" => self.cluster.retry_backoff = millis(name, value)?,
            "buffer.memory" => self.buffer_memory = int(name, value)?,
            "max.request.size" => self.max_request_size = int(name, value)?,
            "max.block.ms" => self.max_block = millis(name, value)?,
            "socket.connection.setup.timeout.ms" => {
                self.cluster.connect_timeout = millis(name, value)?
            }
            _ => return Err(unknown("producer", name, KNOWN)),
        }
        Ok(())
    }

    /// Applies Kafka's idempotence rules; called once by the builder.
    pub fn resolve(&mut self) -> ClientResult<()> {
        let asked = self.explicit.contains(&"enable.idempotence") && self.idempotence;
        let conflicts = [
            (self.acks != Acks::All, "acks must be all"),
            (
                self.max_in_flight > 5,
                "max.in.flight.requests.per.connection must be at most 5",
            ),
            (self.retries == 0, "retries must be greater than 0"),
        ];
        if let Some((_, why)) = conflicts.iter().find(|(c, _)| *c) {
            if asked {
                return Err(ClientError::Config(format!(
                    "enable.idempotence=true but {why}"
                )));
            }
            self.idempotence = false;
        }
        if self.delivery_timeout < self.linger + self.cluster.request_timeout {
            return Err(ClientError::Config(
                "delivery.timeout.ms must be at least linger.ms + request.timeout.ms".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotence_follows_kafkas_rules() {
        let mut c = ProducerConfig::default();
        c.set("acks", "1").unwrap();
        c.resolve().unwrap();
        assert!(!c.idempotence, "quietly off when not asked for");

        let mut c = ProducerConfig::default();
        c.set("acks", "1").unwrap();
        c.set("enable.idempotence", "true").unwrap();
        assert!(c.resolve().is_err(), "refused when asked for");

        let mut c = ProducerConfig::default();
        c.resolve().unwrap();
        assert!(c.idempotence && c.acks == Acks::All);
    }

    #[test]
    fn bad_names_and_values_are_refused_with_the_name() {
        let mut c = ProducerConfig::default();
        let e = c.set("linger.msec", "5").unwrap_err().to_string();
        assert!(e.contains("linger.msec"), "{e}");
        let e = c.set("compression.type", "brotli").unwrap_err().to_string();
        assert!(e.contains("brotli") && e.contains("zstd"), "{e}");
        assert!(c.set("batch.size", "lots").is_err());
        c.set("compression.type", "lz4").unwrap();
        assert_eq!(c.compression, Codec::Lz4);
    }
}
