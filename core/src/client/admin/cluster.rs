//! The cluster: its id, controller and brokers (DescribeCluster, or Metadata from brokers
//! older than Kafka 2.8 that lack it).

use super::call::{check, Backoff, Target};
use super::Admin;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::DescribeClusterRequest;

/// What DescribeCluster reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    /// The controller's node id; `None` while there is none. KRaft brokers name a broker
    /// that forwards to the controller quorum, as Kafka's admin client shows it.
    pub controller: Option<i32>,
    /// Node id and `host:port` of every broker, sorted by id.
    pub brokers: Vec<(i32, String)>,
}

impl Admin {
    pub async fn describe_cluster(&self) -> ClientResult<ClusterDescription> {
        let answer = self
            .call(Target::Any, DescribeClusterRequest::default(), |r| {
                Some(r.error_code)
            })
            .await;
        let response = match answer {
            Ok(r) => r,
            Err(ClientError::Unsupported(_)) => return self.describe_cluster_from_metadata().await,
            Err(e) => return Err(e),
        };
        check(response.error_code, response.error_message.as_ref(), || {
            "describing the cluster".to_string()
        })?;
        let mut brokers: Vec<(i32, String)> = response
            .brokers
            .iter()
            .map(|b| (b.broker_id.0, format!("{}:{}", b.host, b.port)))
            .collect();
        brokers.sort();
        Ok(ClusterDescription {
            cluster_id: Some(response.cluster_id.to_string()),
            controller: Some(response.controller_id.0).filter(|c| *c >= 0),
            brokers,
        })
    }

    async fn describe_cluster_from_metadata(&self) -> ClientResult<ClusterDescription> {
        self.refresh(&[], Backoff::new(self).deadline()).await?;
        Ok(ClusterDescription {
            cluster_id: self.cluster.cluster_id(),
            controller: Some(self.cluster.controller()).filter(|c| *c >= 0),
            brokers: self.cluster.brokers(),
        })
    }
}
