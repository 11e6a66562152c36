//! The sender: one background task per producer that drains ready batches, builds one
//! Produce request per broker and round, sends it on that broker's connection, and hands every
//! partition's answer back to the accumulator. Metadata is refreshed when a leader is unknown
//! or a broker says NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_OR_PARTITION. With idempotence the
//! producer id comes from InitProducerId before the first batch.

use super::accumulator::{Accumulator, Batch, Drained};
use super::config::{Acks, ProducerConfig};
use super::delivery::Appended;
use crate::client::cluster::Cluster;
use crate::client::error::{ClientError, ClientResult};
use crate::client::transport::api_key_of;
use crate::records::builder::ProducerFields;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    InitProducerIdRequest, ProduceRequest, ProduceResponse, RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;

#[derive(Debug)]
pub struct Sender {
    pub accumulator: Arc<Accumulator>,
    pub cluster: Arc<Cluster>,
    pub config: Arc<ProducerConfig>,
    /// Set when a response says the metadata is stale.
    pub stale: Arc<AtomicBool>,
}

impl Sender {
    /// Runs until the producer is closed and everything queued is answered.
    pub async fn run(self) {
        let producer = match self.producer_fields().await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("producer cannot start: {}", crate::log_safe::escape(&e));
                self.accumulator.close();
                self.accumulator.fail_all(&e);
                return;
            }
        };
        let idempotent = self.config.idempotence;
        loop {
            if self.stale.swap(false, Ordering::AcqRel) {
                self.refresh_metadata().await;
            }
            let drained = self.accumulator.drain(&self.cluster, idempotent);
            if drained.need_metadata {
                self.stale.store(true, Ordering::Release);
            }
            let sent_any = !drained.requests.is_empty();
            for request in drained.requests {
                self.send(request, producer).await;
            }
            if sent_any {
                continue;
            }
            if self.accumulator.is_finished() {
                return;
            }
            let wake = self.accumulator.wake.notified();
            let backoff = if drained.need_metadata {
                Some(Instant::now() + self.config.cluster.retry_backoff)
            } else {
                None
            };
            match drained.next_deadline.into_iter().chain(backoff).min() {
                Some(deadline) => {
                    let _ = tokio::time::timeout_at(deadline.into(), wake).await;
                }
                None => wake.await,
            }
        }
    }

    async fn producer_fields(&self) -> ClientResult<ProducerFields> {
        if !self.config.idempotence {
            return Ok(ProducerFields::NONE);
        }
        let deadline = Instant::now() + self.config.max_block;
        loop {
            let request = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(i32::MAX)
                .with_producer_id((-1).into())
                .with_producer_epoch(-1);
            let result = self.cluster.send_any(request).await.and_then(|r| {
                if r.error_code == 0 {
                    Ok(ProducerFields {
                        producer_id: r.producer_id.0,
                        producer_epoch: r.producer_epoch,
                        base_sequence: -1,
                        transactional: false,
                    })
                } else {
                    Err(ClientError::kafka(
                        r.error_code,
                        "getting a producer id (InitProducerId)",
                        None,
                    ))
                }
            });
            match result {
                Ok(p) => return Ok(p),
                Err(e) if e.is_retriable() && Instant::now() < deadline => {
                    tokio::time::sleep(self.config.cluster.retry_backoff).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn refresh_metadata(&self) {
        let topics = self.accumulator.topic_names();
        if let Err(e) = self.cluster.refresh(&topics).await {
            tracing::debug!(
                "producer metadata refresh failed: {}",
                crate::log_safe::escape(&e)
            );
        }
        for t in self.cluster.topics() {
            self.accumulator.add_topic(&t.name, t.partitions.len());
        }
    }

    /// Sends one drained request; its answer is handled in a task of its own, so the next
    /// request can go out while this one is in flight.
    async fn send(&self, drained: Drained, producer: ProducerFields) {
        let Drained { node, batches } = drained;
        let mut built = Vec::with_capacity(batches.len());
        let mut topics: Vec<TopicProduceData> = Vec::new();
        for (topic, partition, mut batch) in batches {
            match batch.bytes(producer) {
                Ok(bytes) => {
                    let data = PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(bytes));
                    match topics
                        .iter_mut()
                        .find(|t| t.name.0.as_str() == topic.as_ref())
                    {
                        Some(t) => t.partition_data.push(data),
                        None => topics.push(
                            TopicProduceData::default()
                                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                                .with_partition_data(vec![data]),
                        ),
                    }
                    built.push((topic, partition, batch));
                }
                Err(e) => {
                    batch.attempts = u32::MAX;
                    self.accumulator.complete(batch, Err(e));
                }
            }
        }
        if built.is_empty() {
            return;
        }
        let acks = self.config.acks;
        let request = ProduceRequest::default()
            .with_acks(acks.wire())
            .with_timeout_ms(
                i32::try_from(self.config.cluster.request_timeout.as_millis()).unwrap_or(i32::MAX),
            )
            .with_topic_data(topics);
        let request = RequestKind::Produce(request);
        let sent = match self.cluster.connection(node).await {
            Ok(conn) => match conn.version(api_key_of(&request)) {
                Ok(version) => conn.send(request, version).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let accumulator = Arc::clone(&self.accumulator);
        let stale = Arc::clone(&self.stale);
        match sent {
            Err(e) => {
                self.stale.store(true, Ordering::Release);
                for (_, _, batch) in built {
                    accumulator.complete(batch, Err(e.clone()));
                }
            }
            Ok(pending) if acks == Acks::None => {
                drop(pending);
                for (_, _, batch) in built {
                    accumulator.complete(
                        batch,
                        Ok(Appended {
                            base_offset: -1,
                            log_append_time: -1,
                        }),
                    );
                }
            }
            Ok(pending) => {
                tokio::spawn(async move {
                    let response = pending.await;
                    answer(&accumulator, &stale, built, response);
                });
            }
        }
    }
}

/// Hands each partition's part of a Produce response to the accumulator.
fn answer(
    accumulator: &Accumulator,
    stale: &AtomicBool,
    batches: Vec<(Arc<str>, i32, Batch)>,
    response: ClientResult<ResponseKind>,
) {
    let response: ClientResult<ProduceResponse> =
        response.and_then(crate::client::exchange::expect::<ProduceRequest>);
    for (topic, partition, batch) in batches {
        let result = match &response {
            Err(e) => Err(e.clone()),
            Ok(r) => partition_result(r, &topic, partition),
        };
        if let Err(ClientError::Kafka { code, .. }) = &result {
            if matches!(*code, NOT_LEADER_OR_FOLLOWER | UNKNOWN_TOPIC_OR_PARTITION) {
                stale.store(true, Ordering::Release);
            }
        }
        if matches!(
            &result,
            Err(ClientError::Disconnected { .. } | ClientError::Timeout(_))
        ) {
            stale.store(true, Ordering::Release);
        }
        accumulator.complete(batch, result);
    }
}

fn partition_result(r: &ProduceResponse, topic: &str, partition: i32) -> ClientResult<Appended> {
    let found = r
        .responses
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == partition);
    let Some(p) = found else {
        return Err(ClientError::Protocol(format!(
            "the Produce response has no answer for {topic}-{partition}"
        )));
    };
    match p.error_code {
        0 => Ok(Appended {
            base_offset: p.base_offset,
            log_append_time: p.log_append_time_ms,
        }),
        // A retry of a batch the broker already has: it is stored once, which is the point.
        DUPLICATE_SEQUENCE_NUMBER => Ok(Appended {
            base_offset: -1,
            log_append_time: -1,
        }),
        code => Err(ClientError::kafka(
            code,
            format!("producing to {topic}-{partition}"),
            p.error_message.as_ref().map(|m| m.to_string()),
        )),
    }
}
