//! Topics: create (with per-topic results), delete, list, describe (through Metadata) and
//! add partitions.

use super::call::{check, str, topic_name, Target};
use super::Admin;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest,
    MetadataResponse,
};

/// CreateTopics learned "-1 means the broker's default" (KIP-464) in v4.
const BROKER_DEFAULTS_VERSION: i16 = 4;

/// A topic to create. `None` partitions or replication factor take the broker's defaults
/// (`num.partitions`, `default.replication.factor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub partitions: Option<i32>,
    pub replication_factor: Option<i16>,
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions: None,
            replication_factor: None,
            configs: Vec::new(),
        }
    }

    pub fn partitions(mut self, partitions: i32) -> NewTopic {
        self.partitions = Some(partitions);
        self
    }

    pub fn replication_factor(mut self, factor: i16) -> NewTopic {
        self.replication_factor = Some(factor);
        self
    }

    pub fn config(mut self, name: impl Into<String>, value: impl Into<String>) -> NewTopic {
        self.configs.push((name.into(), value.into()));
        self
    }
}

/// One topic as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub id: uuid::Uuid,
    pub internal: bool,
    pub partitions: Vec<PartitionDescription>,
}

/// One partition: its leader (`None` while there is none), replicas and in-sync replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    pub partition: i32,
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// Results of a request about several topics, in the order they were asked for.
pub type TopicResults = Vec<(String, ClientResult<()>)>;

impl Admin {
    /// Creates `topics`; each gets its own result. With `validate_only` the broker only checks
    /// that they could be created.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> ClientResult<TopicResults> {
        let timeout_ms = self.request_timeout_ms();
        let build = |version: i16| {
            let topics = topics
                .iter()
                .map(|t| creatable(t, version))
                .collect::<ClientResult<Vec<_>>>()?;
            Ok(CreateTopicsRequest::default()
                .with_topics(topics)
                .with_timeout_ms(timeout_ms)
                .with_validate_only(validate_only))
        };
        let response = self
            .call_with(Target::Controller, build, |r| {
                r.topics.iter().map(|t| t.error_code).find(|c| *c != 0)
            })
            .await?;
        Ok(per_topic(topics.iter().map(|t| &t.name), |name| {
            let r = response.topics.iter().find(|r| r.name.0.as_str() == name)?;
            Some(check(r.error_code, r.error_message.as_ref(), || {
                format!("creating topic {name:?}")
            }))
        }))
    }

    /// Creates one topic; `None` partitions takes the broker's default.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        configs: &[(&str, &str)],
    ) -> ClientResult<()> {
        let topic = NewTopic {
            partitions,
            configs: configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..NewTopic::new(name)
        };
        single(self.create_topics(&[topic], false).await?)
    }

    /// Deletes `topics`; each gets its own result.
    pub async fn delete_topics(&self, topics: &[String]) -> ClientResult<TopicResults> {
        // v6 names topics in `topics` (by name or id); the client's range stops at v5.
        let request = DeleteTopicsRequest::default()
            .with_topic_names(topics.iter().map(|t| topic_name(t)).collect())
            .with_timeout_ms(self.request_timeout_ms());
        let response = self
            .call(Target::Controller, request, |r| {
                r.responses.iter().map(|t| t.error_code).find(|c| *c != 0)
            })
            .await?;
        Ok(per_topic(topics.iter(), |name| {
            let r = response
                .responses
                .iter()
                .find(|r| r.name.as_ref().is_some_and(|n| n.0.as_str() == name))?;
            Some(check(r.error_code, r.error_message.as_ref(), || {
                format!("deleting topic {name:?}")
            }))
        }))
    }

    pub async fn delete_topic(&self, name: &str) -> ClientResult<()> {
        single(self.delete_topics(&[name.to_string()]).await?)
    }

    /// Names of every topic, sorted; internal ones (`__consumer_offsets`...) only when asked.
    pub async fn list_topics(&self, include_internal: bool) -> ClientResult<Vec<String>> {
        let response = self.metadata(None).await?;
        let mut names: Vec<String> = response
            .topics
            .iter()
            .filter(|t| t.error_code == 0 && (include_internal || !t.is_internal))
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Describes `topics` in the order given; an unknown one fails the call with
    /// UNKNOWN_TOPIC_OR_PARTITION.
    pub async fn describe_topics(&self, topics: &[String]) -> ClientResult<Vec<TopicDescription>> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let response = self.metadata(Some(topics)).await?;
        topics
            .iter()
            .map(|name| {
                let t = response
                    .topics
                    .iter()
                    .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == name))
                    .ok_or_else(|| {
                        ClientError::kafka(
                            ResponseError::UnknownTopicOrPartition.code(),
                            format!("describing topic {name:?}"),
                            Some("the broker did not answer for this topic".into()),
                        )
                    })?;
                check(t.error_code, None, || format!("describing topic {name:?}"))?;
                let mut partitions: Vec<PartitionDescription> = t
                    .partitions
                    .iter()
                    .map(|p| PartitionDescription {
                        partition: p.partition_index,
                        leader: Some(p.leader_id.0).filter(|l| *l >= 0),
                        replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                        isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.partition);
                Ok(TopicDescription {
                    name: name.clone(),
                    id: uuid::Uuid::from_bytes(*t.topic_id.as_bytes()),
                    internal: t.is_internal,
                    partitions,
                })
            })
            .collect()
    }

    /// Grows `topic` to `total` partitions.
    pub async fn create_partitions(&self, topic: &str, total: i32) -> ClientResult<()> {
        let request = CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(topic_name(topic))
                .with_count(total)
                .with_assignments(None)])
            .with_timeout_ms(self.request_timeout_ms());
        let response = self
            .call(Target::Controller, request, |r| {
                r.results.first().map(|t| t.error_code)
            })
            .await?;
        let r = response
            .results
            .iter()
            .find(|r| r.name.0.as_str() == topic)
            .ok_or_else(|| missing_answer("CreatePartitions", topic))?;
        check(r.error_code, r.error_message.as_ref(), || {
            format!("adding partitions to topic {topic:?} (to {total})")
        })
    }

    /// Metadata of `topics` (all with `None`), never auto-creating; retried while a topic has
    /// no leader yet.
    async fn metadata(&self, topics: Option<&[String]>) -> ClientResult<MetadataResponse> {
        let request = MetadataRequest::default()
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        self.call(Target::Any, request, |r| {
            r.topics.iter().map(|t| t.error_code).find(|c| *c != 0)
        })
        .await
    }

    /// `request.timeout.ms` for the brokers' own wait fields.
    pub(super) fn request_timeout_ms(&self) -> i32 {
        i32::try_from(self.cluster.options().request_timeout.as_millis()).unwrap_or(i32::MAX)
    }
}

fn creatable(t: &NewTopic, version: i16) -> ClientResult<CreatableTopic> {
    if version < BROKER_DEFAULTS_VERSION
        && (t.partitions.is_none() || t.replication_factor.is_none())
    {
        return Err(ClientError::Unsupported(format!(
            "topic {:?}: the broker speaks CreateTopics v{version}, which needs an explicit \
             partition count and replication factor",
            t.name
        )));
    }
    Ok(CreatableTopic::default()
        .with_name(topic_name(&t.name))
        .with_num_partitions(t.partitions.unwrap_or(-1))
        .with_replication_factor(t.replication_factor.unwrap_or(-1))
        .with_configs(
            t.configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(str(k))
                        .with_value(Some(str(v)))
                })
                .collect(),
        ))
}

/// One result per name asked about; a name the broker left out is a protocol error.
fn per_topic<'a>(
    names: impl Iterator<Item = &'a String>,
    result: impl Fn(&str) -> Option<ClientResult<()>>,
) -> TopicResults {
    names
        .map(|name| {
            let outcome = result(name).unwrap_or_else(|| Err(missing_answer("the broker", name)));
            (name.clone(), outcome)
        })
        .collect()
}

fn missing_answer(who: &str, topic: &str) -> ClientError {
    ClientError::Protocol(format!("{who} did not answer for topic {topic:?}"))
}

/// The result of a one-topic request.
fn single(results: TopicResults) -> ClientResult<()> {
    results.into_iter().next().map_or_else(
        || Err(ClientError::Protocol("no result".into())),
        |(_, r)| r,
    )
}
