//! FindCoordinator, ListGroups, DescribeGroups and DeleteGroups.

use super::state::{Group, GroupState};
use super::store::StoreKey;
use super::GroupCoordinator;
use crate::broker::admin::operations;
use crate::log_safe;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    BrokerId, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId,
    ListGroupsRequest, ListGroupsResponse,
};
use kafka_protocol::protocol::StrBytes;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Kafka's `CoordinatorType`s.
const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;
const KEY_TYPE_SHARE: i8 = 2;

/// The error (and message) FindCoordinator answers for a key type. strom has no transaction
/// coordinator yet. The retriable COORDINATOR_NOT_AVAILABLE made `initTransactions()` and its
/// peers retry for minutes; of the non-retriable errors, TRANSACTIONAL_ID_AUTHORIZATION_FAILED
/// (the broker refuses transactional ids) is the one that every client raises at once: Java
/// and kafkajs fail on any non-retriable error, but librdkafka keeps querying on every other
/// one until its timeout. librdkafka shows the message; Java names the error only.
fn coordinator_answer(key_type: i8) -> (i16, Option<&'static str>) {
    match key_type {
        KEY_TYPE_GROUP => (0, None),
        KEY_TYPE_TRANSACTION => (
            ResponseError::TransactionalIdAuthorizationFailed.code(),
            Some("strom does not support transactions yet: there is no transaction coordinator"),
        ),
        KEY_TYPE_SHARE => (
            ResponseError::UnsupportedVersion.code(),
            Some("strom does not support share groups"),
        ),
        _ => (
            ResponseError::InvalidRequest.code(),
            Some("unknown coordinator key type"),
        ),
    }
}

/// ListGroups' type of a group (KIP-848).
fn group_type(g: &Group) -> &'static str {
    if g.consumer.is_some() {
        "consumer"
    } else {
        "classic"
    }
}

/// The state ListGroups reports: the consumer protocol has states of its own.
fn group_state_name(g: &Group) -> &'static str {
    match &g.consumer {
        Some(cg) => crate::group::consumer::state_name(cg),
        None => g.state.name(),
    }
}

impl GroupCoordinator {
    /// This node coordinates every group. Transactions are not supported, so transaction
    /// coordinator lookups get COORDINATOR_NOT_AVAILABLE.
    pub fn find_coordinator(
        &self,
        req: FindCoordinatorRequest,
        version: i16,
        node_id: i32,
        host: &str,
        port: i32,
    ) -> FindCoordinatorResponse {
        let (code, message) = coordinator_answer(req.key_type);
        let ok = code == 0;
        // v0 has no error message.
        let message = message.filter(|_| version >= 1).map(s);
        if version >= 4 {
            let coordinators = req
                .coordinator_keys
                .iter()
                .map(|k| {
                    Coordinator::default()
                        .with_key(k.clone())
                        .with_node_id(BrokerId(if ok { node_id } else { -1 }))
                        .with_host(s(if ok { host } else { "" }))
                        .with_port(if ok { port } else { -1 })
                        .with_error_code(code)
                        .with_error_message(message.clone())
                })
                .collect();
            return FindCoordinatorResponse::default().with_coordinators(coordinators);
        }
        FindCoordinatorResponse::default()
            .with_error_code(code)
            .with_error_message(message)
            .with_node_id(BrokerId(if ok { node_id } else { -1 }))
            .with_host(s(if ok { host } else { "" }))
            .with_port(if ok { port } else { -1 })
    }

    /// Every committed offset as (group, topic, partition, offset), sorted: what the metrics
    /// endpoint turns into group lag. Copied out under the lock, nothing else done there.
    pub fn committed_offsets(&self) -> Vec<(String, String, i32, i64)> {
        let groups = self.inner.groups.lock();
        let mut out: Vec<_> = groups
            .values()
            .flat_map(|g| {
                g.offsets
                    .iter()
                    .map(|((t, p), c)| (g.id.clone(), t.clone(), *p, c.offset))
            })
            .collect();
        drop(groups);
        out.sort();
        out
    }

    pub fn list_groups(&self, req: ListGroupsRequest) -> ListGroupsResponse {
        let groups = self.inner.groups.lock();
        let mut listed: Vec<ListedGroup> = groups
            .values()
            .filter(|g| {
                req.states_filter.is_empty()
                    || req
                        .states_filter
                        .iter()
                        .any(|f| f.as_str().eq_ignore_ascii_case(group_state_name(g)))
            })
            .filter(|g| {
                req.types_filter.is_empty()
                    || req
                        .types_filter
                        .iter()
                        .any(|t| t.as_str().eq_ignore_ascii_case(group_type(g)))
            })
            .map(|g| {
                ListedGroup::default()
                    .with_group_id(GroupId(s(&g.id)))
                    .with_protocol_type(s(g.protocol_type.as_deref().unwrap_or("")))
                    .with_group_state(s(group_state_name(g)))
                    .with_group_type(s(group_type(g)))
            })
            .collect();
        listed.sort_by(|a, b| a.group_id.0.as_str().cmp(b.group_id.0.as_str()));
        ListGroupsResponse::default().with_groups(listed)
    }

    pub fn describe_groups(
        &self,
        req: DescribeGroupsRequest,
        version: i16,
    ) -> DescribeGroupsResponse {
        let groups = self.inner.groups.lock();
        let mut out = DescribeGroupsResponse::default();
        for id in req.groups {
            let mut d = DescribedGroup::default()
                .with_group_id(id.clone())
                .with_error_message(None)
                .with_authorized_operations(operations::when_asked(
                    version >= 3 && req.include_authorized_operations,
                    operations::GROUP,
                ));
            match groups.get(id.0.as_str()) {
                None => {
                    d.group_state = s(GroupState::Dead.name());
                    if version >= 6 {
                        d.error_code = ResponseError::GroupIdNotFound.code();
                    }
                }
                Some(g) if g.consumer.is_some() => {
                    // Kafka 4: a consumer group is described by ConsumerGroupDescribe.
                    d.group_state = s(GroupState::Dead.name());
                    if version >= 6 {
                        d.error_code = ResponseError::GroupIdNotFound.code();
                        d.error_message =
                            Some(s(&format!("Group {} is not a classic group.", g.id)));
                    }
                }
                Some(g) => {
                    d.group_state = s(g.state.name());
                    d.protocol_type = s(g.protocol_type.as_deref().unwrap_or(""));
                    d.protocol_data = s(g.protocol.as_deref().unwrap_or(""));
                    let protocol = g.protocol.clone().unwrap_or_default();
                    d.members = g
                        .members
                        .values()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(s(&m.id))
                                .with_group_instance_id(m.instance_id.as_deref().map(s))
                                .with_client_id(s(&m.client_id))
                                .with_client_host(s(&m.client_host))
                                .with_member_metadata(m.metadata_for(&protocol))
                                .with_member_assignment(if g.state == GroupState::Stable {
                                    m.assignment.clone()
                                } else {
                                    Default::default()
                                })
                        })
                        .collect();
                }
            }
            out.groups.push(d);
        }
        out
    }

    /// Deletes empty groups and their offsets.
    pub fn delete_groups(&self, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
        let now = self.inner.clock.now_ms();
        let mut out = DeleteGroupsResponse::default();
        let mut changes = Vec::new();
        {
            let mut groups = self.inner.groups.lock();
            for id in req.groups_names {
                let code = match groups.get(id.0.as_str()) {
                    None => ResponseError::GroupIdNotFound.code(),
                    Some(g) if g.state != GroupState::Empty => ResponseError::NonEmptyGroup.code(),
                    Some(g) => {
                        for (topic, partition) in g.offsets.keys() {
                            changes.push((
                                StoreKey::Offset {
                                    group: g.id.clone(),
                                    topic: topic.clone(),
                                    partition: *partition,
                                },
                                None,
                            ));
                        }
                        changes.push((
                            StoreKey::Group {
                                group: g.id.clone(),
                            },
                            None,
                        ));
                        groups.remove(id.0.as_str());
                        0
                    }
                };
                out.results.push(
                    DeletableGroupResult::default()
                        .with_group_id(id)
                        .with_error_code(code),
                );
            }
        }
        if !changes.is_empty() {
            if let Err(e) = self.inner.store.append(&changes, now) {
                tracing::warn!("could not record group deletion: {}", log_safe::escape(&e));
            }
        }
        out
    }
}
