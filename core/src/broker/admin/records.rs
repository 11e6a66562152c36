//! DeleteRecords (advance the log start offset) and OffsetForLeaderEpoch (single-node: every
//! record was written under epoch 0).

use crate::broker::{topic_name, Broker};
use crate::log::partition_log::LEADER_EPOCH;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    DeleteRecordsRequest, DeleteRecordsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
};

/// DeleteRecords' "up to the high watermark".
const TO_HIGH_WATERMARK: i64 = -1;

pub fn delete_records(broker: &Broker, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let mut out = DeleteRecordsResponse::default();
    for t in req.topics {
        let mut tr = DeleteRecordsTopicResult::default().with_name(t.name.clone());
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default()
                .with_partition_index(p.partition_index)
                .with_low_watermark(-1);
            let outcome = topic_name::refuse_internal(t.name.0.as_str())
                .and_then(|()| broker.partition(t.name.0.as_str(), p.partition_index))
                .and_then(|log| {
                    let target = if p.offset == TO_HIGH_WATERMARK {
                        log.log_end_offset()
                    } else {
                        p.offset
                    };
                    log.advance_log_start_offset(target)
                });
            match outcome {
                Ok(low) => pr.low_watermark = low,
                Err(e) => pr.error_code = e.kafka_code(),
            }
            tr.partitions.push(pr);
        }
        out.topics.push(tr);
    }
    out
}

pub fn offset_for_leader_epoch(
    broker: &Broker,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let mut out = OffsetForLeaderEpochResponse::default();
    for t in req.topics {
        let mut tr = OffsetForLeaderTopicResult::default().with_topic(t.topic.clone());
        for p in t.partitions {
            let mut r = EpochEndOffset::default()
                .with_partition(p.partition)
                .with_leader_epoch(-1)
                .with_end_offset(-1);
            match broker.partition(t.topic.0.as_str(), p.partition) {
                Err(e) => r.error_code = e.kafka_code(),
                // The epoch never changes on one node, so a client cannot be behind it
                // (FENCED_LEADER_EPOCH); it can only claim an epoch from the future.
                Ok(_) if p.current_leader_epoch > LEADER_EPOCH => {
                    r.error_code = ResponseError::UnknownLeaderEpoch.code();
                }
                Ok(log) => {
                    // The largest epoch ≤ the one asked about, and where it ends. An epoch
                    // below every known one has no answer (-1, -1), as in Kafka.
                    if p.leader_epoch >= LEADER_EPOCH {
                        r.leader_epoch = LEADER_EPOCH;
                        r.end_offset = log.log_end_offset();
                    }
                }
            }
            tr.partitions.push(r);
        }
        out.topics.push(tr);
    }
    out
}
