//! `strom mirror`: MirrorMaker's job. Consumes topics matching a regex from the source
//! cluster as group `--group`, produces each record to the same topic on the target with its
//! key, value, headers, timestamp and partition, and commits on the source only what the
//! target acknowledged: at-least-once, so a crash or SIGKILL resumes from the last commit and
//! at most re-sends what was in flight.
//!
//! Missing target topics are created first with the source's partition count. A record from
//! a partition the target topic does not have (it has fewer) is placed by the target's default
//! partitioner instead: murmur2 of the key, or sticky when there is no key.
//!
//! Each poll's records are sent, their deliveries awaited, then their offsets committed
//! before the next poll; a rebalance (which happens inside poll) therefore never revokes a
//! partition with records in flight.

use super::common::{admin, check_reachable, explained, key_value, stop_on_signal, Explain};
use anyhow::anyhow;
use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use strom::client::admin::NewTopic;
use strom::client::consumer::OffsetAndMetadata;
use strom::client::{Admin, Consumer, ConsumerRecord, Producer, ProducerRecord, TopicPartition};

/// TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION.
const ALREADY_EXISTS: i16 = 36;
const UNKNOWN_TOPIC: i16 = 3;
const POLL: Duration = Duration::from_millis(500);
/// How often a progress line goes to stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster to copy from: host:port[,host:port...]
    #[arg(long, env = "STROM_MIRROR_SOURCE", value_name = "HOST:PORT")]
    source: String,
    /// The cluster to copy to: host:port[,host:port...]
    #[arg(long, env = "STROM_MIRROR_TARGET", value_name = "HOST:PORT")]
    target: String,
    /// Copy every topic whose whole name matches this regex (internal topics excluded); new
    /// matching topics are picked up within metadata.max.age.ms (5 s here)
    #[arg(long, value_name = "REGEX")]
    topics: String,
    /// The consumer group on the source that holds the mirror's progress
    #[arg(long, short = 'g', default_value = "strom-mirror")]
    group: String,
    /// Stop after copying this many records
    #[arg(long, value_name = "N")]
    max_messages: Option<u64>,
    /// Stop after this long without new records [default: run until SIGINT/SIGTERM]
    #[arg(long, value_name = "MS")]
    idle_exit_ms: Option<u64>,
    /// A consumer config for the source, by its Kafka name (repeatable)
    #[arg(long = "source-property", value_name = "NAME=VALUE", value_parser = key_value)]
    source_properties: Vec<(String, String)>,
    /// A producer config for the target, by its Kafka name (repeatable)
    #[arg(long = "target-property", value_name = "NAME=VALUE", value_parser = key_value)]
    target_properties: Vec<(String, String)>,
}

/// The target topics known so far: their partition counts.
struct Targets {
    source: Admin,
    target: Admin,
    partitions: HashMap<String, i32>,
}

impl Targets {
    /// The target's partition count of `topic`, creating the topic like the source's first.
    async fn partitions(&mut self, topic: &str) -> anyhow::Result<i32> {
        if let Some(n) = self.partitions.get(topic) {
            return Ok(*n);
        }
        let source_count = count(&self.source, topic)
            .await?
            .ok_or_else(|| anyhow!("source topic {topic:?} disappeared while mirroring it"))?;
        let n = match count(&self.target, topic).await? {
            Some(n) => n,
            None => {
                let created = self
                    .target
                    .create_topics(&[NewTopic::new(topic).partitions(source_count)], false)
                    .await
                    .and_then(|mut r| r.pop().map_or(Ok(()), |(_, r)| r));
                match created {
                    Ok(()) => {
                        eprintln!("created {topic} on the target ({source_count} partitions)")
                    }
                    // Someone else (another mirror instance) was quicker.
                    Err(e) if e.kafka_code() == Some(ALREADY_EXISTS) => {}
                    Err(e) => {
                        return Err(explained(&e, &format!("creating {topic:?} on the target")))
                    }
                }
                count(&self.target, topic).await?.ok_or_else(|| {
                    anyhow!("topic {topic:?} still missing on the target after creating it")
                })?
            }
        };
        if n < source_count {
            eprintln!(
                "warning: {topic} has {n} partitions on the target but {source_count} on the source: \
                 records of source partitions ≥ {n} are placed by key (murmur2)"
            );
        }
        self.partitions.insert(topic.to_string(), n);
        Ok(n)
    }
}

/// Partition count of `topic`, `None` if it does not exist.
async fn count(admin: &Admin, topic: &str) -> anyhow::Result<Option<i32>> {
    match admin.describe_topics(&[topic.to_string()]).await {
        Ok(d) => Ok(d.first().map(|t| t.partitions.len() as i32)),
        Err(e) if e.kafka_code() == Some(UNKNOWN_TOPIC) => Ok(None),
        Err(e) => Err(explained(&e, &format!("describing {topic:?}"))),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::common::anchored(&args.topics)?;
    if args.source.trim() == args.target.trim() {
        return Err(anyhow!(
            "--source and --target are the same cluster: mirroring would copy every record onto itself forever"
        ));
    }
    super::common::run(mirror(args))
}

async fn mirror(args: Args) -> anyhow::Result<ExitCode> {
    check_reachable(&args.source, "--source").await?;
    check_reachable(&args.target, "--target").await?;
    let mut targets = Targets {
        source: admin(&args.source, "--source").await?,
        target: admin(&args.target, "--target").await?,
        partitions: HashMap::new(),
    };
    let mut consumer = {
        let mut b = Consumer::builder()
            .bootstrap(&args.source)
            .group(&args.group)
            .set("client.id", "strom-mirror")
            // A new mirror copies everything there is, as MirrorMaker does.
            .set("auto.offset.reset", "earliest")
            .set("metadata.max.age.ms", "5000");
        for (k, v) in &args.source_properties {
            b = b.set(k, v);
        }
        // Commits are the mirror's own, after the target acknowledged.
        b.set("enable.auto.commit", "false")
            .build()
            .await
            .map_err(|e| explained(&e, "starting the source consumer"))?
    };
    consumer
        .subscribe_pattern(&args.topics)
        .explain(|| "subscribing to --topics".into())?;
    let producer = {
        let mut b = Producer::builder()
            .bootstrap(&args.target)
            .set("client.id", "strom-mirror")
            .set("acks", "all");
        for (k, v) in &args.target_properties {
            b = b.set(k, v);
        }
        b.build()
            .await
            .map_err(|e| explained(&e, "starting the target producer"))?
    };

    let mut stop = stop_on_signal();
    let idle_limit = args.idle_exit_ms.map(Duration::from_millis);
    let mut copied: u64 = 0;
    let mut last_activity = Instant::now();
    let mut last_progress = Instant::now();
    let mut assignment = consumer.assignment();
    let outcome: anyhow::Result<&str> = loop {
        let records = tokio::select! {
            r = consumer.poll(POLL) => match r {
                Ok(r) => r,
                Err(e) => break Err(explained(&e, "consuming from the source")),
            },
            _ = stop.wait_for(|s| *s) => break Ok(" (interrupted)"),
        };
        let now_assigned = consumer.assignment();
        if now_assigned != assignment {
            assignment = now_assigned;
            last_activity = Instant::now();
        }
        if records.is_empty() {
            if idle_limit.is_some_and(|l| last_activity.elapsed() >= l) {
                break Ok(" (idle)");
            }
            continue;
        }
        last_activity = Instant::now();
        let room = args.max_messages.map_or(u64::MAX, |m| m - copied);
        let take = usize::try_from(room)
            .unwrap_or(usize::MAX)
            .min(records.len());
        if let Err(e) = copy(&records[..take], &producer, &mut targets).await {
            break Err(e);
        }
        if let Err(e) = commit(&mut consumer, &records[..take]).await {
            break Err(e);
        }
        copied += take as u64;
        if last_progress.elapsed() >= PROGRESS_EVERY {
            eprintln!("mirrored {copied} record(s) so far");
            last_progress = Instant::now();
        }
        if args.max_messages.is_some_and(|m| copied >= m) {
            break Ok("");
        }
    };
    // Leave the group (no commit beyond what was acknowledged: auto-commit is off).
    let _ = consumer.close().await;
    let _ = producer.close().await;
    let why = outcome?;
    eprintln!("mirrored {copied} record(s){why}");
    Ok(ExitCode::SUCCESS)
}

/// Sends `records` to the target and waits until every one is acknowledged.
async fn copy(
    records: &[ConsumerRecord],
    producer: &Producer,
    targets: &mut Targets,
) -> anyhow::Result<()> {
    let mut deliveries = Vec::with_capacity(records.len());
    for r in records {
        let partitions = targets.partitions(&r.topic).await?;
        let record = ProducerRecord {
            topic: r.topic.to_string(),
            partition: (r.partition < partitions).then_some(r.partition),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
            timestamp: (r.timestamp >= 0).then_some(r.timestamp),
        };
        let delivery = producer.send(record).await.explain(|| {
            format!(
                "sending {}-{}@{} to the target",
                r.topic, r.partition, r.offset
            )
        })?;
        deliveries.push(delivery);
    }
    for d in deliveries {
        d.wait()
            .await
            .explain(|| "the target did not acknowledge a record".into())?;
    }
    Ok(())
}

/// Commits, on the source, the offset after the last record of each partition.
async fn commit(consumer: &mut Consumer, records: &[ConsumerRecord]) -> anyhow::Result<()> {
    let mut next: BTreeMap<TopicPartition, OffsetAndMetadata> = BTreeMap::new();
    for r in records {
        next.insert(
            TopicPartition::new(r.topic.as_ref(), r.partition),
            OffsetAndMetadata::new(r.offset + 1),
        );
    }
    match consumer.commit_offsets(next).await {
        Ok(()) => Ok(()),
        // ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS: the partitions moved
        // on; their next owner copies from the last commit again (at-least-once).
        Err(e) if matches!(e.kafka_code(), Some(22 | 25 | 27)) => {
            eprintln!("warning: progress not committed ({e}); a rebalance is under way");
            Ok(())
        }
        Err(e) => Err(explained(&e, "committing progress on the source")),
    }
}
