//! ConsumerGroupDescribe (`kafka-consumer-groups --describe` of a consumer group): epochs,
//! the assignor, and each member's assignment and target, with topic names.

use super::assignor::Assignment;
use super::{state_name, topic_metas};
use crate::broker::admin::operations;
use crate::group::GroupCoordinator;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as DescribedAssignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::HashMap;
use uuid::Uuid;

/// Kafka's member type of a member speaking the consumer protocol.
const MEMBER_TYPE_CONSUMER: i8 = 1;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn described(a: &Assignment, names: &HashMap<Uuid, String>) -> DescribedAssignment {
    DescribedAssignment::default().with_topic_partitions(
        a.iter()
            .map(|(id, ps)| {
                TopicPartitions::default()
                    .with_topic_id(*id)
                    .with_topic_name(TopicName(s(names.get(id).map_or("", String::as_str))))
                    .with_partitions(ps.iter().copied().collect())
            })
            .collect(),
    )
}

impl GroupCoordinator {
    pub fn consumer_group_describe(
        &self,
        req: ConsumerGroupDescribeRequest,
        version: i16,
    ) -> ConsumerGroupDescribeResponse {
        let names: HashMap<Uuid, String> = topic_metas(&self.inner.broker.topics())
            .into_iter()
            .map(|(n, m)| (m.id, n))
            .collect();
        let groups = self.inner.groups.lock();
        let mut out = ConsumerGroupDescribeResponse::default();
        for id in req.group_ids {
            let mut d = DescribedGroup::default()
                .with_group_id(id.clone())
                .with_error_message(None)
                .with_authorized_operations(operations::when_asked(
                    req.include_authorized_operations,
                    operations::GROUP,
                ));
            match groups.get(id.0.as_str()).map(|g| g.consumer.as_deref()) {
                None => {
                    d.error_code = ResponseError::GroupIdNotFound.code();
                    d.error_message = Some(s(&format!("Group {} not found.", id.0.as_str())));
                }
                Some(None) => {
                    d.error_code = ResponseError::GroupIdNotFound.code();
                    d.error_message = Some(s(&format!(
                        "Group {} is not a consumer group.",
                        id.0.as_str()
                    )));
                }
                Some(Some(cg)) => {
                    d.group_state = s(state_name(cg));
                    d.group_epoch = cg.epoch;
                    d.assignment_epoch = cg.assignment_epoch;
                    d.assignor_name = s(&cg.assignor);
                    let none = Assignment::new();
                    d.members = cg
                        .members
                        .values()
                        .map(|m| {
                            let mut out = Member::default()
                                .with_member_id(s(&m.id))
                                .with_instance_id(m.instance_id.as_deref().map(s))
                                .with_rack_id(m.rack_id.as_deref().map(s))
                                .with_member_epoch(m.reconciled.epoch)
                                .with_client_id(s(&m.client_id))
                                .with_client_host(s(&m.client_host))
                                .with_subscribed_topic_names(
                                    m.subscribed_names.iter().map(|n| TopicName(s(n))).collect(),
                                )
                                .with_subscribed_topic_regex(m.subscribed_regex.as_deref().map(s))
                                .with_assignment(described(&m.reconciled.assigned, &names))
                                .with_target_assignment(described(
                                    cg.targets.get(&m.id).unwrap_or(&none),
                                    &names,
                                ));
                            if version >= 1 {
                                out.member_type = MEMBER_TYPE_CONSUMER;
                            }
                            out
                        })
                        .collect();
                }
            }
            out.groups.push(d);
        }
        out
    }
}
