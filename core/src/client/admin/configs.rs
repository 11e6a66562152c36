//! Configs: describe a topic's or a broker's configs (DescribeConfigs) and change a topic's
//! (IncrementalAlterConfigs only: the older AlterConfigs replaces every override, which is
//! not what a caller changing one key means).

use super::call::{check, str, Target};
use super::Admin;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest,
};

/// Kafka's `ConfigResource.Type` codes.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// Where a config value comes from (Kafka's `ConfigEntry.ConfigSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    DynamicBrokerLogger,
    ClientMetrics,
    Group,
    /// A code this client does not know (or 0, Kafka's UNKNOWN).
    Unknown(i8),
}

impl From<i8> for ConfigSource {
    fn from(code: i8) -> Self {
        match code {
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            6 => ConfigSource::DynamicBrokerLogger,
            7 => ConfigSource::ClientMetrics,
            8 => ConfigSource::Group,
            other => ConfigSource::Unknown(other),
        }
    }
}

/// One config of a topic or broker. `value` is `None` for sensitive configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub read_only: bool,
    /// Whether the value is the built-in default (Kafka's `isDefault`).
    pub is_default: bool,
    pub sensitive: bool,
    pub source: ConfigSource,
}

/// What an [`AlterOp`] does (Kafka's `AlterConfigOp.OpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigOp {
    /// Sets the value.
    Set,
    /// Removes the override: the default applies again.
    Delete,
    /// Adds items to a list config.
    Append,
    /// Removes items from a list config.
    Subtract,
}

impl ConfigOp {
    fn code(self) -> i8 {
        match self {
            ConfigOp::Set => 0,
            ConfigOp::Delete => 1,
            ConfigOp::Append => 2,
            ConfigOp::Subtract => 3,
        }
    }
}

/// One change of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterOp {
    pub name: String,
    pub op: ConfigOp,
    /// Ignored by [`ConfigOp::Delete`].
    pub value: Option<String>,
}

impl AlterOp {
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> AlterOp {
        AlterOp {
            name: name.into(),
            op: ConfigOp::Set,
            value: Some(value.into()),
        }
    }

    pub fn delete(name: impl Into<String>) -> AlterOp {
        AlterOp {
            name: name.into(),
            op: ConfigOp::Delete,
            value: None,
        }
    }
}

impl Admin {
    /// Every config of `topic`, sorted by name.
    pub async fn describe_topic_configs(&self, topic: &str) -> ClientResult<Vec<ConfigEntry>> {
        let response = self
            .describe_configs(Target::Any, RESOURCE_TOPIC, topic)
            .await?;
        entries(
            response,
            &format!("describing the configs of topic {topic:?}"),
        )
    }

    /// Every config of broker `node`, sorted by name (asked of that broker: only it knows
    /// its static configs).
    pub async fn describe_broker_configs(&self, node: i32) -> ClientResult<Vec<ConfigEntry>> {
        let response = self
            .describe_configs(Target::Node(node), RESOURCE_BROKER, &node.to_string())
            .await?;
        entries(
            response,
            &format!("describing the configs of broker {node}"),
        )
    }

    async fn describe_configs(
        &self,
        target: Target<'_>,
        resource_type: i8,
        name: &str,
    ) -> ClientResult<DescribeConfigsResponse> {
        let request = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(str(name))
                .with_configuration_keys(None),
        ]);
        self.call(target, request, |_| None).await
    }

    /// Applies `ops` to `topic`'s configs, all or none.
    pub async fn alter_topic_configs(&self, topic: &str, ops: &[AlterOp]) -> ClientResult<()> {
        let configs = ops
            .iter()
            .map(|o| {
                AlterableConfig::default()
                    .with_name(str(&o.name))
                    .with_config_operation(o.op.code())
                    .with_value(match o.op {
                        ConfigOp::Delete => None,
                        _ => o.value.as_deref().map(str),
                    })
            })
            .collect();
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(RESOURCE_TOPIC)
                .with_resource_name(str(topic))
                .with_configs(configs),
        ]);
        let response = self
            .call(Target::Any, request, |r| {
                r.responses.first().map(|r| r.error_code)
            })
            .await?;
        let r = response.responses.first().ok_or_else(|| {
            ClientError::Protocol("IncrementalAlterConfigs answered for no resource".into())
        })?;
        check(r.error_code, r.error_message.as_ref(), || {
            format!("altering the configs of topic {topic:?}")
        })
    }
}

/// The entries of a one-resource DescribeConfigs answer.
fn entries(response: DescribeConfigsResponse, context: &str) -> ClientResult<Vec<ConfigEntry>> {
    let result =
        response.results.into_iter().next().ok_or_else(|| {
            ClientError::Protocol(format!("{context}: the answer names no resource"))
        })?;
    check(result.error_code, result.error_message.as_ref(), || {
        context.to_string()
    })?;
    let mut out: Vec<ConfigEntry> = result
        .configs
        .into_iter()
        .map(|c| {
            let source = ConfigSource::from(c.config_source);
            ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                read_only: c.read_only,
                is_default: source == ConfigSource::Default,
                sensitive: c.is_sensitive,
                source,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
