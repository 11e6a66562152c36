//! DescribeCluster: this node, the cluster id, and this node as the controller.

use super::topics::NODE_ID;
use super::{operations, str};
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

/// Kafka's `EndpointType.BROKER`.
const ENDPOINT_BROKER: i8 = 1;

pub fn describe_cluster(
    broker: &Broker,
    req: DescribeClusterRequest,
    host: &str,
    port: i32,
) -> DescribeClusterResponse {
    let mut out = DescribeClusterResponse::default()
        .with_cluster_id(str(broker.cluster_id()))
        .with_controller_id(BrokerId(NODE_ID))
        .with_error_message(None)
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_authorized_operations(operations::when_asked(
            req.include_cluster_authorized_operations,
            operations::CLUSTER,
        ));
    if req.endpoint_type != ENDPOINT_BROKER {
        out.error_code = ResponseError::UnsupportedEndpointType.code();
        out.error_message = Some(str("only broker endpoints can be described"));
        return out;
    }
    out.brokers.push(
        DescribeClusterBroker::default()
            .with_broker_id(BrokerId(NODE_ID))
            .with_host(str(host))
            .with_port(port)
            .with_rack(None),
    );
    out
}
