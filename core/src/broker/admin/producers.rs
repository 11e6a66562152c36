//! InitProducerId and DescribeProducers for idempotent producers. Transactions are not
//! supported yet.

use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeProducersResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProducerId,
};

pub fn init_producer_id(broker: &Broker, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let out = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if req.transactional_id.is_some() {
        // No transaction coordinator yet: say "not supported" rather than fake one.
        return out.with_error_code(ResponseError::UnsupportedVersion.code());
    }
    // KIP-360 (v3+): a producer that knows its id asks for the next epoch after a fatal
    // sequence error; when the epoch is exhausted it gets a new id.
    if req.producer_id.0 >= 0 && req.producer_epoch >= 0 && req.producer_epoch < i16::MAX - 1 {
        return out
            .with_producer_id(req.producer_id)
            .with_producer_epoch(req.producer_epoch + 1);
    }
    match broker.allocate_producer_id() {
        Ok(id) => out.with_producer_id(ProducerId(id)).with_producer_epoch(0),
        Err(e) => out.with_error_code(e.kafka_code()),
    }
}

/// DescribeProducers (`kafka-transactions describe-producers`): the idempotent producers each
/// partition keeps state for. strom has no transactions, so no coordinator epoch and no open
/// transaction (-1 for both, Kafka's "none").
pub fn describe_producers(
    broker: &Broker,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let known = broker.topic(t.name.as_str());
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&p| {
                    let out = PartitionResponse::default()
                        .with_partition_index(p)
                        .with_error_message(None);
                    let log = match &known {
                        Some(d) if (0..d.partitions).contains(&p) => broker.partition(&d.name, p),
                        _ => {
                            return out
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        }
                    };
                    match log {
                        Ok(log) => {
                            let state = log.producer_state();
                            let mut active: Vec<ProducerState> = state
                                .producers()
                                .map(|(id, e)| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(id))
                                        .with_producer_epoch(i32::from(e.epoch))
                                        .with_last_sequence(e.last_sequence())
                                        .with_last_timestamp(e.last_timestamp)
                                        .with_coordinator_epoch(-1)
                                        .with_current_txn_start_offset(-1)
                                })
                                .collect();
                            active.sort_by_key(|s| s.producer_id.0);
                            out.with_active_producers(active)
                        }
                        Err(e) => {
                            let (code, message) = super::error_parts(&e);
                            out.with_error_code(code).with_error_message(message)
                        }
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
