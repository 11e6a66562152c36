//! Metadata (v0–12): this one node as the whole cluster, and the topics asked for, created on
//! first mention when `auto.create.topics.enable` and the request allow it.
//!
//! Kafka answers an auto-created topic with LEADER_NOT_AVAILABLE and lets the client retry,
//! because creation there is asynchronous. strom creates the topic before answering, so the
//! first response already carries its partitions.

use super::{off_thread, Context, Reply, NODE_ID};
use crate::broker::admin::operations;
use crate::broker::{topic_name, TopicDescription};
use crate::error::Error;
use crate::log_safe;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, MetadataRequest, MetadataResponse, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::collections::HashSet;
use uuid::Uuid;

/// One topic the request names, by name or (v10+) by id.
enum Wanted {
    Name(String),
    Id(Uuid),
}

pub(super) async fn handle(ctx: &Context, version: i16, req: MetadataRequest) -> Reply {
    // Before v4 there is no flag and Kafka always allowed auto-creation.
    let allow_create = ctx.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    // v0 has no null: an empty list meant "all topics" then, and means "none" from v1 on.
    let wanted: Option<Vec<Wanted>> = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(topics) => {
            let mut seen = HashSet::new();
            Some(
                topics
                    .into_iter()
                    .filter_map(|t| match t.name {
                        Some(name) => Some(Wanted::Name(name.0.to_string())),
                        None if !t.topic_id.is_nil() => Some(Wanted::Id(t.topic_id)),
                        None => None,
                    })
                    .filter(|w| {
                        seen.insert(match w {
                            Wanted::Name(n) => n.clone(),
                            Wanted::Id(id) => id.to_string(),
                        })
                    })
                    .collect(),
            )
        }
    };
    // v8+ may ask for the operations on each topic, and v8–v10 on the cluster.
    let topic_operations = operations::when_asked(
        version >= 8 && req.include_topic_authorized_operations,
        operations::TOPIC,
    );
    let cluster_operations = operations::when_asked(
        (8..=10).contains(&version) && req.include_cluster_authorized_operations,
        operations::CLUSTER,
    );
    let broker = ctx.broker.clone();
    // Auto-creation writes the metadata log, so the whole lookup runs off the async workers.
    let topics = off_thread(move || match wanted {
        None => broker.topics().iter().map(describe).collect::<Vec<_>>(),
        Some(wanted) => wanted
            .into_iter()
            .map(|w| match w {
                Wanted::Name(name) => by_name(&broker, &name, allow_create),
                Wanted::Id(id) => match broker.topic_by_id(id) {
                    Some(t) => describe(&t),
                    // The name is nullable only from v12; before, an empty one stands in.
                    None => MetadataResponseTopic::default()
                        .with_name((version < 12).then(|| TopicName(StrBytes::new())))
                        .with_topic_id(id)
                        .with_error_code(ResponseError::UnknownTopicId.code()),
                },
            })
            .collect(),
    })
    .await;
    let Some(mut topics) = topics else {
        return Reply::Close("metadata lookup failed".into());
    };
    for t in topics.iter_mut().filter(|t| t.error_code == 0) {
        t.topic_authorized_operations = topic_operations;
    }
    Reply::Now(ResponseKind::Metadata(
        MetadataResponse::default()
            .with_brokers(vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(NODE_ID))
                .with_host(StrBytes::from_string(ctx.host.clone()))
                .with_port(ctx.port)
                .with_rack(None)])
            .with_cluster_id(Some(StrBytes::from_string(
                ctx.broker.cluster_id().to_string(),
            )))
            .with_controller_id(BrokerId(NODE_ID))
            .with_cluster_authorized_operations(cluster_operations)
            .with_topics(topics),
    ))
}

fn by_name(broker: &crate::Broker, name: &str, allow_create: bool) -> MetadataResponseTopic {
    if let Some(t) = broker.topic(name) {
        return describe(&t);
    }
    let failed = |code: i16| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
            .with_error_code(code)
    };
    // Kafka reports an invalid name as such whether or not it would have created the topic.
    if let Err(e) = topic_name::validate(name) {
        return failed(e.kafka_code());
    }
    // Kafka's internal topics are created by their coordinators with their own settings
    // (partition count, compaction), never by a client's Metadata request with defaults.
    if !allow_create || topic_name::is_internal(name) {
        return failed(ResponseError::UnknownTopicOrPartition.code());
    }
    match broker.create_topic(name, None, Default::default()) {
        Ok(t) => {
            tracing::info!(
                topic = %log_safe::escape(name),
                partitions = t.partitions,
                "auto-created topic"
            );
            describe(&t)
        }
        // Another connection created it in the meantime.
        Err(Error::TopicExists(_)) => match broker.topic(name) {
            Some(t) => describe(&t),
            None => failed(ResponseError::UnknownTopicOrPartition.code()),
        },
        Err(e) => {
            tracing::warn!(
                topic = %log_safe::escape(name),
                "auto-creating topic failed: {}",
                log_safe::escape(&e)
            );
            failed(e.kafka_code())
        }
    }
}

fn describe(t: &TopicDescription) -> MetadataResponseTopic {
    let partitions = (0..t.partitions)
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(BrokerId(NODE_ID))
                .with_leader_epoch(0)
                .with_replica_nodes(vec![BrokerId(NODE_ID)])
                .with_isr_nodes(vec![BrokerId(NODE_ID)])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(t.name.clone()))))
        .with_topic_id(t.id)
        .with_is_internal(topic_name::is_internal(&t.name))
        .with_partitions(partitions)
}
