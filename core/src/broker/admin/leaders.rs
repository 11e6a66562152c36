//! Partition leadership on one node: ElectLeaders (`kafka-leader-election`) and
//! ListPartitionReassignments (`kafka-reassign-partitions --list`), answered as Kafka's
//! controller answers them for a cluster whose every partition has its one replica, on this
//! node, as leader: no election is ever needed and no reassignment is ever under way. (The
//! cluster issue gives both real work to do.)

use super::str;
use crate::broker::Broker;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{
    ElectLeadersRequest, ElectLeadersResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse,
};

/// Kafka's `ElectionType`s.
const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

pub fn elect_leaders(broker: &Broker, req: ElectLeadersRequest) -> ElectLeadersResponse {
    let out = ElectLeadersResponse::default();
    if req.election_type != PREFERRED && req.election_type != UNCLEAN {
        return out.with_error_code(ResponseError::InvalidRequest.code());
    }
    let result = |partition: i32, code: i16, message: Option<String>| {
        PartitionResult::default()
            .with_partition_id(partition)
            .with_error_code(code)
            .with_error_message(message.map(str))
    };
    let not_needed = ResponseError::ElectionNotNeeded.code();
    let results = match req.topic_partitions {
        // Every partition: Kafka leaves out those that already have the wanted leader, which
        // here is all of them.
        None => broker
            .topics()
            .into_iter()
            .map(|t| {
                ReplicaElectionResult::default()
                    .with_topic(kafka_protocol::messages::TopicName(str(t.name)))
            })
            .collect(),
        Some(topics) => topics
            .into_iter()
            .map(|t| {
                let known = broker.topic(t.topic.as_str());
                let partition_result = t
                    .partitions
                    .iter()
                    .map(|&p| match &known {
                        Some(d) if (0..d.partitions).contains(&p) => result(p, not_needed, None),
                        Some(_) => result(
                            p,
                            ResponseError::UnknownTopicOrPartition.code(),
                            Some(format!("No such partition as {}-{p}", t.topic.as_str())),
                        ),
                        None => result(
                            p,
                            ResponseError::UnknownTopicOrPartition.code(),
                            Some(format!("No such topic as {}", t.topic.as_str())),
                        ),
                    })
                    .collect();
                ReplicaElectionResult::default()
                    .with_topic(t.topic)
                    .with_partition_result(partition_result)
            })
            .collect(),
    };
    out.with_replica_election_results(results)
}

/// No reassignment is ever under way on one node: the list is empty, for all topics or the
/// ones named (Kafka skips unknown topics here).
pub fn list_partition_reassignments(
    _broker: &Broker,
    _req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    ListPartitionReassignmentsResponse::default().with_error_message(None)
}
