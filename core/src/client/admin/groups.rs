//! Consumer groups: list (every broker), describe and delete (at each group's coordinator),
//! and their committed offsets: fetch, set (only while the group is empty, as Kafka's admin
//! does it) and delete.

use super::call::{by_topic, check, str, topic_name, Backoff, Target, TopicPartition};
use super::Admin;
use crate::client::error::{ClientError, ClientResult};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, GroupId, ListGroupsRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest,
};
use std::collections::BTreeMap;

/// OffsetFetch v1 cannot ask for "every partition" (null topics came in v2).
const FETCH_ALL_VERSION: i16 = 2;
/// The protocol type of groups whose members are Kafka consumers.
const CONSUMER_PROTOCOL: &str = "consumer";

/// A group as ListGroups reports it. `state` is `None` from brokers older than ListGroups v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: Option<String>,
}

/// A group as its coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    /// Kafka's state name: `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance`,
    /// `Dead`.
    pub state: String,
    pub protocol_type: String,
    /// The chosen protocol (for consumers: the assignor's name).
    pub protocol: String,
    pub members: Vec<MemberDescription>,
    /// The node id of the coordinator.
    pub coordinator: i32,
}

/// One member. `assignment` is decoded for consumer groups and empty otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub assignment: Vec<(String, Vec<i32>)>,
}

impl Admin {
    /// Every group of every broker, sorted by id.
    pub async fn list_groups(&self) -> ClientResult<Vec<GroupListing>> {
        self.refresh(&[], Backoff::new(self).deadline()).await?;
        let mut out = BTreeMap::new();
        for (node, _) in self.cluster.brokers() {
            let response = self
                .call(Target::Node(node), ListGroupsRequest::default(), |r| {
                    Some(r.error_code)
                })
                .await?;
            check(response.error_code, None, || {
                format!("listing the groups of broker {node}")
            })?;
            for g in response.groups {
                let state = g.group_state.to_string();
                out.insert(
                    g.group_id.0.to_string(),
                    GroupListing {
                        group_id: g.group_id.0.to_string(),
                        protocol_type: g.protocol_type.to_string(),
                        state: (!state.is_empty()).then_some(state),
                    },
                );
            }
        }
        Ok(out.into_values().collect())
    }

    /// Describes `groups` in the order given. A group that does not exist is described as
    /// `Dead` with no members (as Kafka answers DescribeGroups before v6).
    pub async fn describe_groups(&self, groups: &[String]) -> ClientResult<Vec<GroupDescription>> {
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(str(group))]);
            let response = self
                .call(Target::Coordinator(group), request, |r| {
                    r.groups.first().map(|g| g.error_code)
                })
                .await?;
            let d = response
                .groups
                .into_iter()
                .find(|d| d.group_id.0.as_str() == group)
                .ok_or_else(|| {
                    ClientError::Protocol(format!("DescribeGroups did not answer for {group:?}"))
                })?;
            check(d.error_code, d.error_message.as_ref(), || {
                format!("describing group {group:?}")
            })?;
            let consumer = d.protocol_type.as_str() == CONSUMER_PROTOCOL;
            out.push(GroupDescription {
                group_id: group.clone(),
                state: d.group_state.to_string(),
                protocol_type: d.protocol_type.to_string(),
                protocol: d.protocol_data.to_string(),
                members: d
                    .members
                    .into_iter()
                    .map(|m| MemberDescription {
                        member_id: m.member_id.to_string(),
                        group_instance_id: m.group_instance_id.map(|i| i.to_string()),
                        client_id: m.client_id.to_string(),
                        client_host: m.client_host.to_string(),
                        assignment: if consumer {
                            decode_member_assignment(&m.member_assignment)
                        } else {
                            Vec::new()
                        },
                    })
                    .collect(),
                coordinator: self.cluster.coordinator(group).await?,
            });
        }
        Ok(out)
    }

    /// Deletes `groups` (each must be empty); each gets its own result.
    pub async fn delete_groups(
        &self,
        groups: &[String],
    ) -> ClientResult<Vec<(String, ClientResult<()>)>> {
        let mut out = Vec::with_capacity(groups.len());
        for group in groups {
            out.push((group.clone(), self.delete_group(group).await));
        }
        Ok(out)
    }

    pub async fn delete_group(&self, group: &str) -> ClientResult<()> {
        let request = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(str(group))]);
        let response = self
            .call(Target::Coordinator(group), request, |r| {
                r.results.first().map(|g| g.error_code)
            })
            .await?;
        let r = response
            .results
            .iter()
            .find(|r| r.group_id.0.as_str() == group)
            .ok_or_else(|| {
                ClientError::Protocol(format!("DeleteGroups did not answer for {group:?}"))
            })?;
        check(r.error_code, None, || format!("deleting group {group:?}"))
    }

    /// Every offset `group` has committed.
    pub async fn list_consumer_group_offsets(
        &self,
        group: &str,
    ) -> ClientResult<BTreeMap<TopicPartition, i64>> {
        let build = |version: i16| {
            if version < FETCH_ALL_VERSION {
                return Err(ClientError::Unsupported(format!(
                    "listing every offset of group {group:?} needs OffsetFetch v2 (the broker speaks v{version})"
                )));
            }
            Ok(OffsetFetchRequest::default()
                .with_group_id(GroupId(str(group)))
                .with_topics(None))
        };
        let response = self
            .call_with(Target::Coordinator(group), build, |r| Some(r.error_code))
            .await?;
        let context = || format!("fetching the offsets of group {group:?}");
        check(response.error_code, None, context)?;
        let mut out = BTreeMap::new();
        for t in response.topics {
            for p in t.partitions {
                check(p.error_code, None, || {
                    format!("{} ({}-{})", context(), t.name.0, p.partition_index)
                })?;
                // -1: nothing committed (only answered when partitions are named).
                if p.committed_offset >= 0 {
                    out.insert(
                        (t.name.0.to_string(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
        Ok(out)
    }

    /// Commits `offsets` for `group` as the admin client does (generation -1, no member):
    /// the coordinator accepts it only while the group has no members.
    pub async fn alter_consumer_group_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> ClientResult<()> {
        let topics = by_topic(offsets.iter().map(|(tp, o)| (tp.clone(), *o)))
            .into_iter()
            .map(|(topic, partitions)| {
                OffsetCommitRequestTopic::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(
                        partitions
                            .into_iter()
                            .map(|(p, offset)| {
                                OffsetCommitRequestPartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(offset)
                                    .with_committed_metadata(Some(str("")))
                            })
                            .collect(),
                    )
            })
            .collect();
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(str(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(str(""))
            .with_topics(topics);
        let response = self
            .call(Target::Coordinator(group), request, |r| {
                first_error(
                    r.topics
                        .iter()
                        .flat_map(|t| t.partitions.iter().map(|p| p.error_code)),
                )
            })
            .await?;
        for t in &response.topics {
            for p in &t.partitions {
                check(p.error_code, None, || {
                    format!(
                        "committing the offset of group {group:?} for {}-{}",
                        t.name.0, p.partition_index
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Deletes `group`'s committed offsets of `partitions` (refused for topics the group's
    /// members are subscribed to).
    pub async fn delete_consumer_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> ClientResult<()> {
        let topics = by_topic(partitions.iter().map(|tp| (tp.clone(), ())))
            .into_iter()
            .map(|(topic, partitions)| {
                OffsetDeleteRequestTopic::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(
                        partitions
                            .into_iter()
                            .map(|(p, ())| {
                                OffsetDeleteRequestPartition::default().with_partition_index(p)
                            })
                            .collect(),
                    )
            })
            .collect();
        let request = OffsetDeleteRequest::default()
            .with_group_id(GroupId(str(group)))
            .with_topics(topics);
        let response = self
            .call(Target::Coordinator(group), request, |r| Some(r.error_code))
            .await?;
        let context = || format!("deleting offsets of group {group:?}");
        check(response.error_code, None, context)?;
        for t in &response.topics {
            for p in &t.partitions {
                check(p.error_code, None, || {
                    format!("{} ({}-{})", context(), t.name.0, p.partition_index)
                })?;
            }
        }
        Ok(())
    }
}

fn first_error(codes: impl IntoIterator<Item = i16>) -> Option<i16> {
    codes.into_iter().find(|c| *c != 0)
}

/// The topics and partitions in a member's assignment (Kafka's ConsumerProtocolAssignment,
/// decoded by the assignor module's bounds-checked reader). Bytes that do not parse — another
/// protocol's, truncated, garbage — give an empty list: describing a group never fails on
/// what one member sent.
fn decode_member_assignment(bytes: &[u8]) -> Vec<(String, Vec<i32>)> {
    crate::client::assignor::protocol::decode_assignment(bytes)
        .map(|a| a.partitions.into_iter().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(version: i16, topics: &[(&str, &[i32])], user_data: Option<&[u8]>) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend((topics.len() as i32).to_be_bytes());
        for (name, partitions) in topics {
            b.extend((name.len() as i16).to_be_bytes());
            b.extend(name.as_bytes());
            b.extend((partitions.len() as i32).to_be_bytes());
            for p in *partitions {
                b.extend(p.to_be_bytes());
            }
        }
        match user_data {
            Some(d) => {
                b.extend((d.len() as i32).to_be_bytes());
                b.extend(d);
            }
            None => b.extend((-1i32).to_be_bytes()),
        }
        b
    }

    #[test]
    fn decodes_every_version_and_ignores_user_data() {
        for version in 0..=3 {
            let bytes = encode(version, &[("a", &[0, 2]), ("bb", &[])], Some(b"xyz"));
            assert_eq!(
                decode_member_assignment(&bytes),
                vec![("a".to_string(), vec![0, 2]), ("bb".to_string(), vec![])]
            );
        }
        assert!(decode_member_assignment(&encode(0, &[], None)).is_empty());
    }

    #[test]
    fn garbage_gives_an_empty_list() {
        let good = encode(1, &[("topic", &[1, 2, 3])], None);
        for cut in 0..good.len() - 4 {
            assert!(
                decode_member_assignment(&good[..cut]).is_empty(),
                "cut {cut}"
            );
        }
        assert!(decode_member_assignment(&[]).is_empty());
        // A count of i32::MAX topics with nothing behind it.
        assert!(decode_member_assignment(&[0, 0, 0x7f, 0xff, 0xff, 0xff]).is_empty());
        // Negative version, negative counts, invalid UTF-8.
        assert!(decode_member_assignment(&encode(-1, &[("t", &[0])], None)).is_empty());
        assert!(decode_member_assignment(&[0, 0, 0xff, 0xff, 0xff, 0xff]).is_empty());
        let mut bad_utf8 = encode(0, &[("t", &[0])], None);
        bad_utf8[8] = 0xff;
        assert!(decode_member_assignment(&bad_utf8).is_empty());
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_member_assignment(&bytes);
        }
    }
}
