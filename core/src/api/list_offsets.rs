//! ListOffsets (v1–9): offsets by timestamp, and the special timestamps Kafka defines.
//!
//! | timestamp | meaning | answer |
//! |---|---|---|
//! | -1 | latest | log end offset |
//! | -2 | earliest | log start offset |
//! | -3 | max timestamp (v7+) | the first record with the largest timestamp |
//! | -4 | earliest local (v8+) | log start offset: every segment is local |
//! | -5 | latest tiered (v9+) | -1: nothing is tiered (KIP-1005's answer without tiered storage) |
//! | t ≥ 0 | by time | the first record with timestamp ≥ t, else offset -1 |
//!
//! The timestamp in the answer is -1 except for lookups that found a record. Every partition
//! is at leader epoch 0.

use super::{off_thread, Context, Reply};
use crate::broker::Broker;
use crate::error::Error;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, ResponseKind};
use kafka_protocol::ResponseError;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;

pub(super) async fn handle(ctx: &Context, version: i16, req: ListOffsetsRequest) -> Reply {
    let broker = ctx.broker.clone();
    // Timestamp lookups read segments, so the request runs off the async workers.
    let topics = off_thread(move || {
        req.topics
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let mut out = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_timestamp(-1)
                            .with_offset(-1);
                        let found = if p.current_leader_epoch > 0 {
                            Err(ResponseError::UnknownLeaderEpoch.code())
                        } else {
                            lookup(&broker, &t.name.0, p.partition_index, p.timestamp)
                                .map_err(|e| e.kafka_code())
                        };
                        match found {
                            Ok((offset, timestamp)) => {
                                out.offset = offset;
                                out.timestamp = timestamp;
                                // The field exists from v4; setting it earlier is an encode error.
                                if version >= 4 && offset >= 0 {
                                    out.leader_epoch = 0;
                                }
                            }
                            Err(code) => out.error_code = code,
                        }
                        out
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect()
    })
    .await;
    match topics {
        Some(topics) => Reply::Now(ResponseKind::ListOffsets(
            ListOffsetsResponse::default().with_topics(topics),
        )),
        None => Reply::Close("offset lookup failed".into()),
    }
}

/// The (offset, timestamp) answer for one partition.
fn lookup(
    broker: &Broker,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> Result<(i64, i64), Error> {
    let log = broker.partition(topic, partition)?;
    Ok(match timestamp {
        LATEST => (log.log_end_offset(), -1),
        EARLIEST | EARLIEST_LOCAL => (log.log_start_offset(), -1),
        LATEST_TIERED => (-1, -1),
        MAX_TIMESTAMP => log.max_timestamp_record()?.unwrap_or((-1, -1)),
        t => log.offset_for_timestamp(t)?.unwrap_or((-1, -1)),
    })
}
