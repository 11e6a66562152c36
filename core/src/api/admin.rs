//! Admin requests: the logic lives in [`crate::broker::admin`]; here each is run in the
//! ordered phase, off the async workers where it writes the metadata log or a checkpoint.

use super::{blocking, Context, Reply};
use crate::broker::admin::{cluster, configs, leaders, log_dirs, producers, records, topics};
use kafka_protocol::messages::*;

pub async fn init_producer_id(ctx: &Context, req: InitProducerIdRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::InitProducerId(producers::init_producer_id(&b, req))).await
}

pub async fn create_topics(ctx: &Context, version: i16, req: CreateTopicsRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::CreateTopics(topics::create_topics(&b, req, version))).await
}

pub async fn delete_topics(ctx: &Context, version: i16, req: DeleteTopicsRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::DeleteTopics(topics::delete_topics(&b, req, version))).await
}

pub async fn create_partitions(ctx: &Context, req: CreatePartitionsRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::CreatePartitions(topics::create_partitions(&b, req))).await
}

pub fn describe_configs(ctx: &Context, version: i16, req: DescribeConfigsRequest) -> Reply {
    Reply::Now(ResponseKind::DescribeConfigs(configs::describe_configs(
        &ctx.broker,
        req,
        version,
    )))
}

pub async fn alter_configs(ctx: &Context, req: AlterConfigsRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::AlterConfigs(configs::alter_configs(&b, req))).await
}

pub async fn incremental_alter_configs(
    ctx: &Context,
    req: IncrementalAlterConfigsRequest,
) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || {
        ResponseKind::IncrementalAlterConfigs(configs::incremental_alter_configs(&b, req))
    })
    .await
}

pub fn describe_cluster(ctx: &Context, req: DescribeClusterRequest) -> Reply {
    Reply::Now(ResponseKind::DescribeCluster(cluster::describe_cluster(
        &ctx.broker,
        req,
        &ctx.host,
        ctx.port,
    )))
}

pub fn describe_topic_partitions(ctx: &Context, req: DescribeTopicPartitionsRequest) -> Reply {
    Reply::Now(ResponseKind::DescribeTopicPartitions(
        topics::describe_topic_partitions(&ctx.broker, req),
    ))
}

pub async fn delete_records(ctx: &Context, req: DeleteRecordsRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::DeleteRecords(records::delete_records(&b, req))).await
}

pub fn offset_for_leader_epoch(ctx: &Context, req: OffsetForLeaderEpochRequest) -> Reply {
    Reply::Now(ResponseKind::OffsetForLeaderEpoch(
        records::offset_for_leader_epoch(&ctx.broker, req),
    ))
}

// Both open partition logs that may be closed (sizes, producer state): off the async workers.
pub async fn describe_log_dirs(ctx: &Context, req: DescribeLogDirsRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::DescribeLogDirs(log_dirs::describe_log_dirs(&b, req))).await
}

pub async fn describe_producers(ctx: &Context, req: DescribeProducersRequest) -> Reply {
    let b = ctx.broker.clone();
    blocking(move || ResponseKind::DescribeProducers(producers::describe_producers(&b, req))).await
}

pub fn elect_leaders(ctx: &Context, req: ElectLeadersRequest) -> Reply {
    Reply::Now(ResponseKind::ElectLeaders(leaders::elect_leaders(
        &ctx.broker,
        req,
    )))
}

pub fn list_partition_reassignments(
    ctx: &Context,
    req: ListPartitionReassignmentsRequest,
) -> Reply {
    Reply::Now(ResponseKind::ListPartitionReassignments(
        leaders::list_partition_reassignments(&ctx.broker, req),
    ))
}
