//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics; broker resources are
//! described read-only (the defaults topics inherit, under Kafka's broker config names), and
//! so are group resources (the consumer group configs strom's coordinator implements).

use super::topics::{NODE_ID, SOURCE_DEFAULT, SOURCE_TOPIC};
use super::{error_parts, str, RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC};
use crate::broker::{topic_name, Broker};
use crate::error::Error;
use crate::log::config;
use crate::log::TopicConfigs;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

pub fn describe_configs(
    broker: &Broker,
    req: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let mut out = DescribeConfigsResponse::default();
    for res in req.resources {
        let wanted = |name: &str| {
            // Null or empty asks for every config, as in Kafka.
            res.configuration_keys
                .as_ref()
                .is_none_or(|keys| keys.is_empty() || keys.iter().any(|k| k.as_str() == name))
        };
        let show = Show {
            synonyms: req.include_synonyms,
            docs: req.include_documentation,
            version,
        };
        let mut result = DescribeConfigsResult::default()
            .with_resource_type(res.resource_type)
            .with_resource_name(res.resource_name.clone())
            .with_error_message(None);
        match res.resource_type {
            RESOURCE_TOPIC => match broker.topic(res.resource_name.as_str()) {
                Some(t) => {
                    result.configs = config::describe(&t.configs)
                        .into_iter()
                        .filter(|(c, _, _)| wanted(c.name))
                        .map(|(c, value, overridden)| topic_entry(c, value, overridden, show))
                        .collect();
                }
                None => {
                    result.error_code = ResponseError::UnknownTopicOrPartition.code();
                    result.error_message =
                        Some(str(format!("unknown topic {}", res.resource_name.as_str())));
                }
            },
            RESOURCE_BROKER if broker_name_ok(res.resource_name.as_str()) => {
                // The defaults topics inherit, under their broker names, read-only: strom has
                // no dynamic broker configs. Topic configs without a broker synonym are not
                // broker configs.
                result.configs = config::known()
                    .filter_map(|c| Some((c.broker_synonym?, c)))
                    .filter(|(b, _)| wanted(b))
                    .map(|(b, c)| {
                        let value = c.default.map(str::to_string);
                        let synonyms = vec![synonym(b, value.as_deref(), SOURCE_DEFAULT)];
                        entry(
                            b,
                            c.type_id,
                            c.doc,
                            value.as_deref(),
                            SOURCE_DEFAULT,
                            true,
                            synonyms,
                            show,
                        )
                    })
                    .collect();
            }
            RESOURCE_GROUP if !res.resource_name.is_empty() => {
                result.configs = GROUP_CONFIGS
                    .iter()
                    .filter(|g| wanted(g.name))
                    .map(|g| {
                        let synonyms =
                            vec![synonym(g.broker_synonym, Some(g.default), SOURCE_DEFAULT)];
                        entry(
                            g.name,
                            g.type_id,
                            g.doc,
                            Some(g.default),
                            SOURCE_DEFAULT,
                            true,
                            synonyms,
                            show,
                        )
                    })
                    .collect();
            }
            other => {
                result.error_code = ResponseError::InvalidRequest.code();
                result.error_message = Some(str(format!(
                    "config resource type {other} named {:?} is not describable on this broker",
                    res.resource_name.as_str()
                )));
            }
        }
        out.results.push(result);
    }
    out
}

/// A group config strom's coordinator implements, described read-only.
struct GroupConfig {
    name: &'static str,
    default: &'static str,
    /// The broker config Kafka takes the group's default from.
    broker_synonym: &'static str,
    type_id: i8,
    doc: &'static str,
}

/// The consumer-protocol (KIP-848) group configs, with Kafka's broker defaults
/// (`group.consumer.*`). The admin handlers do not see the coordinator's GroupConfig, so the
/// values are Kafka's defaults, which strom's coordinator also uses unless configured
/// otherwise. share.* and streams.* are absent: strom has neither kind of group.
#[rustfmt::skip]
const GROUP_CONFIGS: &[GroupConfig] = &[
    GroupConfig { name: "consumer.heartbeat.interval.ms", default: "5000", broker_synonym: "group.consumer.heartbeat.interval.ms", type_id: 3, doc: "The heartbeat interval given to the members of a consumer group." },
    GroupConfig { name: "consumer.session.timeout.ms", default: "45000", broker_synonym: "group.consumer.session.timeout.ms", type_id: 3, doc: "The timeout to detect client failures when using the consumer group protocol." },
];

/// What the request asked to be included.
#[derive(Clone, Copy)]
struct Show {
    synonyms: bool,
    docs: bool,
    version: i16,
}

/// A topic config: TOPIC_CONFIG when the topic overrides it, DEFAULT_CONFIG otherwise; its
/// synonyms are the override, then the broker config it would otherwise come from.
fn topic_entry(
    c: config::ConfigInfo,
    value: Option<String>,
    overridden: bool,
    show: Show,
) -> DescribeConfigsResourceResult {
    let source = if overridden {
        SOURCE_TOPIC
    } else {
        SOURCE_DEFAULT
    };
    let mut synonyms = Vec::new();
    if overridden {
        synonyms.push(synonym(c.name, value.as_deref(), SOURCE_TOPIC));
    }
    if c.default.is_some() {
        synonyms.push(synonym(
            c.broker_synonym.unwrap_or(c.name),
            c.default,
            SOURCE_DEFAULT,
        ));
    }
    entry(
        c.name,
        c.type_id,
        c.doc,
        value.as_deref(),
        source,
        false,
        synonyms,
        show,
    )
}

fn broker_name_ok(name: &str) -> bool {
    name.is_empty() || name == NODE_ID.to_string()
}

fn synonym(name: &str, value: Option<&str>, source: i8) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(str(name))
        .with_value(value.map(str))
        .with_source(source)
}

#[allow(clippy::too_many_arguments)]
fn entry(
    name: &str,
    type_id: i8,
    doc: &str,
    value: Option<&str>,
    source: i8,
    read_only: bool,
    synonyms: Vec<DescribeConfigsSynonym>,
    show: Show,
) -> DescribeConfigsResourceResult {
    let mut e = DescribeConfigsResourceResult::default()
        .with_name(str(name))
        .with_value(value.map(str))
        .with_read_only(read_only)
        .with_config_source(source)
        .with_synonyms(if show.synonyms { synonyms } else { Vec::new() })
        .with_documentation(None);
    if show.version >= 3 {
        e.config_type = type_id;
        if show.docs {
            e.documentation = Some(str(doc));
        }
    }
    e
}

/// Configs a client may change on an internal topic: how its segments are laid out and
/// flushed. The rest would break the broker's own writes there (`max.message.bytes`,
/// timestamp limits) or delete what it keeps (retention), so they stay the broker's.
const INTERNAL_TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "delete.retention.ms",
    "flush.messages",
    "flush.ms",
    "index.interval.bytes",
    "internal.segment.bytes",
    "max.compaction.lag.ms",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.ms",
];

fn internal_configs_ok(topic: &str, configs: &TopicConfigs) -> Result<(), Error> {
    let refuse = |name: &str, reason: String| Error::InvalidConfig {
        name: name.to_string(),
        reason,
    };
    if configs.get("cleanup.policy").map(String::as_str) != Some("compact") {
        // Without compaction alone, retention would delete every group's offsets.
        return Err(refuse(
            "cleanup.policy",
            format!("internal topic {topic} must keep cleanup.policy=compact"),
        ));
    }
    if let Some(other) = configs
        .keys()
        .find(|k| !INTERNAL_TOPIC_CONFIGS.contains(&k.as_str()))
    {
        return Err(refuse(
            other,
            format!("is managed by the broker on internal topic {topic}"),
        ));
    }
    Ok(())
}

/// Applies one resource's change to a topic, or says why not.
fn alter_topic(
    broker: &Broker,
    resource_type: i8,
    name: &StrBytes,
    validate_only: bool,
    change: impl FnOnce(&mut TopicConfigs) -> Result<(), Error>,
) -> Result<(), Error> {
    if resource_type == RESOURCE_GROUP {
        return Err(Error::InvalidRequest(format!(
            "group {:?}: group configs are read-only on strom (its coordinator uses the broker defaults)",
            name.as_str()
        )));
    }
    if resource_type != RESOURCE_TOPIC {
        return Err(Error::InvalidRequest(format!(
            "config resource type {resource_type} cannot be altered: strom has no dynamic broker configs"
        )));
    }
    let topic = broker
        .topic(name.as_str())
        .ok_or_else(|| Error::UnknownTopicOrPartition {
            topic: name.as_str().to_string(),
            partition: -1,
        })?;
    let mut configs = topic.configs;
    change(&mut configs)?;
    if topic_name::is_internal(name.as_str()) {
        internal_configs_ok(name.as_str(), &configs)?;
    }
    if validate_only {
        crate::log::LogConfig::from_overrides(&configs).map(|_| ())
    } else {
        broker.set_topic_configs(name.as_str(), configs).map(|_| ())
    }
}

/// AlterConfigs: the given set replaces every override of the topic.
pub fn alter_configs(broker: &Broker, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut out = AlterConfigsResponse::default();
    for res in req.resources {
        let outcome = alter_topic(
            broker,
            res.resource_type,
            &res.resource_name,
            req.validate_only,
            |c| {
                c.clear();
                for a in &res.configs {
                    if let Some(v) = &a.value {
                        c.insert(a.name.as_str().to_string(), v.as_str().to_string());
                    }
                }
                Ok(())
            },
        );
        let mut r = alter_configs_response::AlterConfigsResourceResponse::default()
            .with_resource_type(res.resource_type)
            .with_resource_name(res.resource_name)
            .with_error_message(None);
        if let Err(e) = outcome {
            let (code, msg) = error_parts(&e);
            r = r.with_error_code(code).with_error_message(msg);
        }
        out.responses.push(r);
    }
    out
}

/// IncrementalAlterConfigs: SET (0), DELETE (1), APPEND (2) and SUBTRACT (3) per config.
pub fn incremental_alter_configs(
    broker: &Broker,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut out = IncrementalAlterConfigsResponse::default();
    for res in req.resources {
        let outcome = alter_topic(
            broker,
            res.resource_type,
            &res.resource_name,
            req.validate_only,
            |c| {
                for a in &res.configs {
                    let name = a.name.as_str().to_string();
                    let value = a.value.as_ref().map(|v| v.as_str().to_string());
                    apply_op(c, name, a.config_operation, value)?;
                }
                Ok(())
            },
        );
        let mut r = incremental_alter_configs_response::AlterConfigsResourceResponse::default()
            .with_resource_type(res.resource_type)
            .with_resource_name(res.resource_name)
            .with_error_message(None);
        if let Err(e) = outcome {
            let (code, msg) = error_parts(&e);
            r = r.with_error_code(code).with_error_message(msg);
        }
        out.responses.push(r);
    }
    out
}

fn apply_op(
    c: &mut TopicConfigs,
    name: String,
    op: i8,
    value: Option<String>,
) -> Result<(), Error> {
    let need_value = |v: Option<String>| {
        v.ok_or_else(|| Error::InvalidConfig {
            name: name.clone(),
            reason: "this operation needs a value".into(),
        })
    };
    match op {
        0 => {
            let v = need_value(value)?;
            c.insert(name, v);
        }
        1 => {
            c.remove(&name);
        }
        2 | 3 => {
            let v = need_value(value)?;
            // Kafka: only LIST configs take APPEND/SUBTRACT (unknown names are refused by
            // the validation that follows).
            if config::type_of(&name).is_some_and(|t| t != config::ConfigType::List) {
                return Err(Error::InvalidConfig {
                    reason: format!(
                        "Config value {} is not allowed for config key: {name}",
                        if op == 2 { "append" } else { "subtract" }
                    ),
                    name,
                });
            }
            let current = c
                .get(&name)
                .cloned()
                .or_else(|| config::default_of(&name).map(str::to_string))
                .unwrap_or_default();
            let mut items: Vec<String> = current
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if op == 2 {
                    if !items.iter().any(|i| i == item) {
                        items.push(item.to_string());
                    }
                } else {
                    items.retain(|i| i != item);
                }
            }
            c.insert(name, items.join(","));
        }
        other => {
            return Err(Error::InvalidRequest(format!(
                "unknown config operation {other}"
            )));
        }
    }
    Ok(())
}
