//! Produce (v3–11): appends each partition's batches, then answers per partition.
//!
//! - acks=0: no response at all, as Kafka does; a failed append closes the connection instead,
//!   so the producer notices and refreshes its metadata (also Kafka's behaviour).
//! - acks=1: answers once the batches are in the log.
//! - acks=-1: answers once they are fsync'd (`wait_durable`, group-committed across
//!   producers); the wait runs after the ordered phase, so later requests on the same
//!   connection are not held behind an fsync, while the response order is kept.
//!
//! Transactional produce is refused with INVALID_REQUEST: strom has no transaction
//! coordinator yet, so a client can only get here by skipping InitProducerId (which strom does
//! not offer). INVALID_REQUEST is non-retriable in every client, so the producer fails fast
//! with a clear error instead of retrying; TRANSACTIONAL_ID_AUTHORIZATION_FAILED would blame
//! ACLs that do not exist, and UNSUPPORTED_VERSION would suggest a different request version
//! could work. Idempotent batches (producer id ≥ 0) are stored as plain batches for now.

use super::{off_thread, Context, Reply};
use crate::broker::topic_name;
use crate::error::Error;
use crate::log::{AppendInfo, PartitionLog};
use crate::log_safe::escape;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// One partition's outcome: where it went and how it ended.
struct Outcome {
    topic: usize,
    partition: i32,
    result: Result<(AppendInfo, Arc<PartitionLog>), Error>,
}

pub(super) async fn handle(ctx: &Context, version: i16, req: ProduceRequest) -> Reply {
    let acks = req.acks;
    let refusal = if req.transactional_id.is_some() {
        Some((
            ResponseError::InvalidRequest.code(),
            "transactions are not supported by this strom broker yet",
        ))
    } else if !matches!(acks, -1..=1) {
        Some((
            ResponseError::InvalidRequiredAcks.code(),
            "acks must be -1 (all), 0 or 1",
        ))
    } else {
        None
    };
    if let Some((code, why)) = refusal {
        if acks == 0 {
            return Reply::Close(format!("acks=0 produce refused: {why}"));
        }
        return Reply::Now(refuse_all(&req, code, why, version));
    }

    let names: Vec<String> = req
        .topic_data
        .iter()
        .map(|t| t.name.0.to_string())
        .collect();
    let broker = ctx.broker.clone();
    // The append itself is the ordered phase: it completes before the next request is read.
    let outcomes = off_thread(move || {
        let mut out = Vec::new();
        for (ti, topic) in req.topic_data.into_iter().enumerate() {
            for p in topic.partition_data {
                let result = match p.records {
                    None => Err(Error::InvalidRecord("the partition has no records".into())),
                    Some(records) => topic_name::refuse_internal(&topic.name.0)
                        .and_then(|()| broker.partition(&topic.name.0, p.index))
                        .and_then(|log| {
                            if acks == -1 {
                                enough_replicas(&log, &topic.name.0, p.index)?;
                            }
                            log.append(&records).map(|info| (info, log))
                        }),
                };
                if let Err(e) = &result {
                    tracing::debug!(topic = %escape(&topic.name.0), partition = p.index, "produce refused: {}", escape(e));
                }
                out.push(Outcome {
                    topic: ti,
                    partition: p.index,
                    result,
                });
            }
        }
        out
    })
    .await;
    let Some(mut outcomes) = outcomes else {
        return Reply::Close("produce failed".into());
    };

    match acks {
        0 => match outcomes.iter().find_map(|o| o.result.as_ref().err()) {
            Some(e) => Reply::Close(format!("acks=0 produce failed: {e}")),
            None => Reply::Nothing,
        },
        1 => Reply::Now(respond(version, &names, outcomes)),
        _ => Reply::Later(Box::pin(async move {
            let places: Vec<(usize, i32)> =
                outcomes.iter().map(|o| (o.topic, o.partition)).collect();
            let waited = off_thread(move || {
                for o in &mut outcomes {
                    if let Ok((info, log)) = &o.result {
                        if let Err(e) = log.wait_durable(info.last_offset + 1) {
                            o.result = Err(e);
                        }
                    }
                }
                outcomes
            })
            .await;
            match waited {
                Some(outcomes) => respond(version, &names, outcomes),
                // The fsync wait panicked: durability is unknown, so say so per partition.
                None => {
                    let unknown = places
                        .into_iter()
                        .map(|(topic, partition)| Outcome {
                            topic,
                            partition,
                            result: Err(Error::io(
                                "",
                                std::io::Error::other("the durability wait failed"),
                            )),
                        })
                        .collect();
                    respond(version, &names, unknown)
                }
            }
        })),
    }
}

/// The replicas in sync with a partition on one node: its leader, this node.
const IN_SYNC_REPLICAS: i32 = 1;

/// acks=all needs `min.insync.replicas` replicas in sync; Kafka checks before appending, so a
/// refused batch is not stored (NOT_ENOUGH_REPLICAS, which producers retry).
fn enough_replicas(log: &PartitionLog, topic: &str, partition: i32) -> Result<(), Error> {
    let required = log.config().min_insync_replicas;
    if required > IN_SYNC_REPLICAS {
        return Err(Error::NotEnoughReplicas {
            topic: topic.to_string(),
            partition,
            required,
            in_sync: IN_SYNC_REPLICAS,
        });
    }
    Ok(())
}

fn respond(version: i16, names: &[String], outcomes: Vec<Outcome>) -> ResponseKind {
    let mut topics: Vec<TopicProduceResponse> = names
        .iter()
        .map(|n| TopicProduceResponse::default().with_name(StrBytes::from_string(n.clone()).into()))
        .collect();
    for o in outcomes {
        let p = match o.result {
            Ok((info, _)) => PartitionProduceResponse::default()
                .with_index(o.partition)
                .with_base_offset(info.base_offset)
                .with_log_append_time_ms(info.log_append_time)
                .with_log_start_offset(info.log_start_offset),
            Err(e) => failed(o.partition, e.kafka_code(), &e.to_string(), version)
                .with_record_errors(record_errors(&e, version)),
        };
        if let Some(t) = topics.get_mut(o.topic) {
            t.partition_responses.push(p);
        }
    }
    ResponseKind::Produce(ProduceResponse::default().with_responses(topics))
}

fn failed(partition: i32, code: i16, message: &str, version: i16) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(partition)
        .with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message((version >= 8).then(|| StrBytes::from_string(message.to_string())))
}

/// Produce v8+ names each rejected record of the batch by its index.
fn record_errors(e: &Error, version: i16) -> Vec<BatchIndexAndErrorMessage> {
    if version < 8 {
        return Vec::new();
    }
    e.record_errors()
        .iter()
        .map(|r| {
            BatchIndexAndErrorMessage::default()
                .with_batch_index(r.index)
                .with_batch_index_error_message(Some(StrBytes::from_string(r.message.clone())))
        })
        .collect()
}

fn refuse_all(req: &ProduceRequest, code: i16, why: &str, version: i16) -> ResponseKind {
    let topics = req
        .topic_data
        .iter()
        .map(|t| {
            TopicProduceResponse::default()
                .with_name(t.name.clone())
                .with_partition_responses(
                    t.partition_data
                        .iter()
                        .map(|p| failed(p.index, code, why, version))
                        .collect(),
                )
        })
        .collect();
    ResponseKind::Produce(ProduceResponse::default().with_responses(topics))
}
