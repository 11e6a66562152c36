//! DescribeLogDirs (`kafka-log-dirs --describe`): strom keeps every partition in its one data
//! directory, so the answer is that directory, the size on disk of each partition asked for,
//! and (v4) the file system's total and usable bytes.

use super::str;
use crate::broker::Broker;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use std::collections::BTreeMap;

pub fn describe_log_dirs(broker: &Broker, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    // Null asks for every partition; a topic or partition strom does not have is left out,
    // as Kafka leaves out what is not in its log dirs.
    let wanted: BTreeMap<String, Vec<i32>> = match req.topics {
        None => broker
            .topics()
            .into_iter()
            .map(|t| (t.name, (0..t.partitions).collect()))
            .collect(),
        Some(topics) => {
            let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for t in topics {
                let Some(d) = broker.topic(t.topic.as_str()) else {
                    continue;
                };
                let parts = out.entry(d.name).or_default();
                for p in t.partitions {
                    if (0..d.partitions).contains(&p) && !parts.contains(&p) {
                        parts.push(p);
                    }
                }
            }
            out
        }
    };
    let topics = wanted
        .into_iter()
        .filter_map(|(name, partitions)| {
            let partitions: Vec<_> = partitions
                .into_iter()
                .filter_map(|p| {
                    let log = broker.partition(&name, p).ok()?;
                    Some(
                        DescribeLogDirsPartition::default()
                            .with_partition_index(p)
                            .with_partition_size(
                                i64::try_from(log.size_bytes()).unwrap_or(i64::MAX),
                            )
                            // A current (not future) replica: no lag behind itself.
                            .with_offset_lag(0)
                            .with_is_future_key(false),
                    )
                })
                .collect();
            (!partitions.is_empty()).then(|| {
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(str(name)))
                    .with_partitions(partitions)
            })
        })
        .collect();
    let dir = broker.data_dir();
    // -1 (the schema's default) when the file system cannot say.
    let (total, usable) = rustix::fs::statvfs(dir).map_or((-1, -1), |s| {
        let bytes =
            |blocks: u64| i64::try_from(blocks.saturating_mul(s.f_frsize)).unwrap_or(i64::MAX);
        (bytes(s.f_blocks), bytes(s.f_bavail))
    });
    let path = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(str(path.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(total)
        .with_usable_bytes(usable)])
}
