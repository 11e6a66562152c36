//! CreateTopics, DeleteTopics, CreatePartitions and DescribeTopicPartitions.

use super::{error_parts, str};
use crate::broker::{topic_name, Broker};
use crate::error::Error;
use crate::log::config;
use crate::log::TopicConfigs;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use std::collections::HashSet;
use uuid::Uuid;

/// The only broker of a single-node cluster.
pub const NODE_ID: i32 = 1;
/// Config sources in Kafka's numbering.
pub(crate) const SOURCE_TOPIC: i8 = 1;
pub(crate) const SOURCE_DEFAULT: i8 = 5;

fn replication_ok(factor: i16) -> bool {
    factor == -1 || factor == 1
}

pub fn create_topics(
    broker: &Broker,
    req: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let mut seen = HashSet::new();
    let duplicated: HashSet<String> = req
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.0.as_str().to_string()))
        .map(|t| t.name.0.as_str().to_string())
        .collect();
    let mut out = CreateTopicsResponse::default();
    for t in req.topics {
        let name = t.name.0.as_str().to_string();
        let mut result = CreatableTopicResult::default()
            .with_name(t.name.clone())
            .with_error_message(None);
        let outcome = (|| -> Result<(Uuid, i32, TopicConfigs), Error> {
            if duplicated.contains(&name) {
                return Err(Error::InvalidRequest(format!(
                    "topic {name} appears more than once in the request"
                )));
            }
            // Internal topics are created by the broker when it needs them.
            topic_name::refuse_internal(&name)?;
            if !replication_ok(t.replication_factor) {
                return Err(Error::InvalidReplicationFactor(t.replication_factor as i32));
            }
            let partitions = if !t.assignments.is_empty() {
                if t.assignments
                    .iter()
                    .any(|a| a.broker_ids.iter().any(|b| b.0 != NODE_ID) || a.broker_ids.len() > 1)
                {
                    return Err(Error::InvalidReplicaAssignment(
                        "this cluster has one broker, id 1".into(),
                    ));
                }
                Some(t.assignments.len() as i32)
            } else if t.num_partitions == -1 {
                None
            } else {
                Some(t.num_partitions)
            };
            let mut configs = TopicConfigs::new();
            for c in &t.configs {
                let value = c.value.as_ref().ok_or_else(|| Error::InvalidConfig {
                    name: c.name.as_str().to_string(),
                    // Kafka's wording (ConfigurationControlManager).
                    reason: format!(
                        "Null value not supported for topic configs: {}",
                        c.name.as_str()
                    ),
                })?;
                configs.insert(c.name.as_str().to_string(), value.as_str().to_string());
            }
            if req.validate_only {
                let (p, _) = broker.validate_new_topic(&name, partitions, &configs)?;
                return Ok((Uuid::nil(), p, configs));
            }
            let d = broker.create_topic(&name, partitions, configs)?;
            Ok((d.id, d.partitions, d.configs))
        })();
        match outcome {
            Ok((id, partitions, configs)) => {
                result = result
                    .with_topic_id(id)
                    .with_num_partitions(partitions)
                    .with_replication_factor(1);
                if version >= 5 {
                    result = result.with_configs(Some(describe_for_create(&configs)));
                }
            }
            Err(e) => {
                let (code, msg) = error_parts(&e);
                result = result
                    .with_error_code(code)
                    .with_error_message(msg)
                    .with_configs(None);
            }
        }
        out.topics.push(result);
    }
    out
}

fn describe_for_create(overrides: &TopicConfigs) -> Vec<CreatableTopicConfigs> {
    config::describe(overrides)
        .into_iter()
        .map(|(c, value, overridden)| {
            CreatableTopicConfigs::default()
                .with_name(str(c.name))
                .with_value(value.map(str))
                .with_config_source(if overridden {
                    SOURCE_TOPIC
                } else {
                    SOURCE_DEFAULT
                })
        })
        .collect()
}

pub fn delete_topics(
    broker: &Broker,
    req: DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    // v6 addresses topics by name or id in `topics`; older versions by name in `topic_names`.
    let targets: Vec<(Option<String>, Uuid)> = if version >= 6 {
        req.topics
            .iter()
            .map(|t| {
                (
                    t.name.as_ref().map(|n| n.0.as_str().to_string()),
                    t.topic_id,
                )
            })
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| (Some(n.0.as_str().to_string()), Uuid::nil()))
            .collect()
    };
    let mut out = DeleteTopicsResponse::default();
    for (name, id) in targets {
        let resolved = match &name {
            Some(n) => broker.topic(n).map(|d| (d.name, d.id)),
            None => broker.topic_by_id(id).map(|d| (d.name, d.id)),
        };
        let mut r = DeletableTopicResult::default()
            .with_name(name.clone().map(|n| TopicName(str(n))))
            .with_topic_id(id)
            .with_error_message(None);
        match resolved {
            Some((n, tid)) => {
                r = r
                    .with_name(Some(TopicName(str(n.clone()))))
                    .with_topic_id(tid);
                if let Err(e) =
                    topic_name::refuse_internal(&n).and_then(|()| broker.delete_topic(&n))
                {
                    let (code, msg) = error_parts(&e);
                    r = r.with_error_code(code).with_error_message(msg);
                }
            }
            None => {
                let code = if name.is_some() {
                    ResponseError::UnknownTopicOrPartition.code()
                } else {
                    ResponseError::UnknownTopicId.code()
                };
                r = r.with_error_code(code);
            }
        }
        out.responses.push(r);
    }
    out
}

pub fn create_partitions(
    broker: &Broker,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut out = CreatePartitionsResponse::default();
    for t in req.topics {
        let name = t.name.0.as_str().to_string();
        let outcome = (|| -> Result<(), Error> {
            topic_name::refuse_internal(&name)?;
            if let Some(assignments) = &t.assignments {
                if assignments
                    .iter()
                    .any(|a| a.broker_ids.iter().any(|b| *b != BrokerId(NODE_ID)))
                {
                    return Err(Error::InvalidReplicaAssignment(
                        "this cluster has one broker, id 1".into(),
                    ));
                }
            }
            let current = broker
                .topic(&name)
                .ok_or_else(|| Error::UnknownTopicOrPartition {
                    topic: name.clone(),
                    partition: -1,
                })?
                .partitions;
            if req.validate_only {
                if t.count <= current {
                    return Err(Error::InvalidPartitions(format!(
                        "topic {name} has {current} partitions; the new count {} must be larger",
                        t.count
                    )));
                }
                return Ok(());
            }
            broker.create_partitions(&name, t.count).map(|_| ())
        })();
        let mut r = CreatePartitionsTopicResult::default()
            .with_name(t.name)
            .with_error_message(None);
        if let Err(e) = outcome {
            let (code, msg) = error_parts(&e);
            r = r.with_error_code(code).with_error_message(msg);
        }
        out.results.push(r);
    }
    out
}

pub fn describe_topic_partitions(
    broker: &Broker,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let mut names: Vec<String> = if req.topics.is_empty() {
        broker.topics().into_iter().map(|t| t.name).collect()
    } else {
        req.topics
            .iter()
            .map(|t| t.name.0.as_str().to_string())
            .collect()
    };
    names.sort();
    names.dedup();
    let (cursor_topic, cursor_partition) = match &req.cursor {
        Some(c) => (Some(c.topic_name.0.as_str().to_string()), c.partition_index),
        None => (None, 0),
    };
    let limit = req.response_partition_limit.max(1) as usize;
    let mut budget = limit;
    let mut out = DescribeTopicPartitionsResponse::default();
    for name in names {
        if cursor_topic.as_ref().is_some_and(|c| name < *c) {
            continue;
        }
        let first = if cursor_topic.as_ref() == Some(&name) {
            cursor_partition.max(0)
        } else {
            0
        };
        let Some(d) = broker.topic(&name) else {
            out.topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(TopicName(str(name))))
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code()),
            );
            continue;
        };
        if budget == 0 {
            out.next_cursor = Some(
                Cursor::default()
                    .with_topic_name(TopicName(str(name)))
                    .with_partition_index(first),
            );
            break;
        }
        let mut topic = DescribeTopicPartitionsResponseTopic::default()
            .with_name(Some(TopicName(str(name.clone()))))
            .with_topic_id(d.id)
            // Kafka fills these in DescribeTopicPartitions without being asked.
            .with_topic_authorized_operations(super::operations::TOPIC);
        let mut p = first;
        while p < d.partitions {
            if budget == 0 {
                out.next_cursor = Some(
                    Cursor::default()
                        .with_topic_name(TopicName(str(name.clone())))
                        .with_partition_index(p),
                );
                break;
            }
            topic.partitions.push(
                DescribeTopicPartitionsResponsePartition::default()
                    .with_partition_index(p)
                    .with_leader_id(BrokerId(NODE_ID))
                    .with_leader_epoch(crate::log::partition_log::LEADER_EPOCH)
                    .with_replica_nodes(vec![BrokerId(NODE_ID)])
                    .with_isr_nodes(vec![BrokerId(NODE_ID)])
                    .with_eligible_leader_replicas(Some(Vec::new()))
                    .with_last_known_elr(Some(Vec::new())),
            );
            budget -= 1;
            p += 1;
        }
        out.topics.push(topic);
        if out.next_cursor.is_some() {
            break;
        }
    }
    out
}
