//! A group's lag per partition: its committed offsets against the partitions' end offsets,
//! with [`crate::group::lag`] doing the arithmetic. One call for `strom groups describe`,
//! every binding's admin and anyone else who asks "how far behind is this group".

use super::records::OffsetSpec;
use super::Admin;
use crate::client::error::ClientResult;
use crate::group::lag::PartitionLag;
use std::collections::{BTreeMap, BTreeSet};

impl Admin {
    /// Every partition `group` has committed, plus the `assigned` ones (a member's partitions
    /// that have no commit yet), with their end offsets. Offsets of a deleted topic stay
    /// committed until they expire: those rows have no end offset.
    pub async fn group_lag(
        &self,
        group: &str,
        assigned: &[(String, i32)],
    ) -> ClientResult<Vec<PartitionLag>> {
        let committed = self.list_consumer_group_offsets(group).await?;
        let all: BTreeSet<(String, i32)> =
            committed.keys().chain(assigned.iter()).cloned().collect();
        if all.is_empty() {
            return Ok(Vec::new());
        }
        let live: BTreeSet<String> = self.list_topics(true).await?.into_iter().collect();
        let query: Vec<(String, i32, OffsetSpec)> = all
            .iter()
            .filter(|(t, _)| live.contains(t))
            .map(|(t, p)| (t.clone(), *p, OffsetSpec::Latest))
            .collect();
        let ends = if query.is_empty() {
            BTreeMap::new()
        } else {
            self.list_offsets(&query).await?
        };
        Ok(all
            .into_iter()
            .map(|tp| PartitionLag {
                committed: committed.get(&tp).copied(),
                end_offset: ends.get(&tp).map(|o| o.offset),
                topic: tp.0,
                partition: tp.1,
            })
            .collect())
    }
}
