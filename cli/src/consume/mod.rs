//! `strom consume`: prints records of topics (names or a regex) like
//! `kafka-console-consumer.sh` and `kcat -C`, in a group (`--group`: subscribe, commit) or by
//! assigning every partition (no group: nothing is committed).
//!
//! Stops after `--max-messages`, at the end offsets seen at start (`--until-end`), after
//! `--timeout-ms` without records, or on SIGINT/SIGTERM; then commits (in a group) and leaves
//! the group cleanly. Every record returned by a poll is printed before the next poll, so the
//! consumer's positions — what auto-commit and the final commit store — are exactly what was
//! printed; when `--max-messages` cuts a batch, the partitions are moved back to the first
//! record not printed before the final commit. stdout is flushed after every batch.

mod format;

use super::common::{
    check_reachable, explained, key_value, partitions_of, print, stop_on_signal, topics_matching,
    Bootstrap, Explain,
};
use anyhow::anyhow;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use strom::client::{Admin, Consumer, ConsumerRecord, TopicPartition};

/// The longest single poll: how quickly `--timeout-ms` and `--until-end` are noticed.
const POLL: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["topics", "pattern"]))]
pub struct Args {
    #[command(flatten)]
    conn: Bootstrap,
    /// Topic to consume (repeatable)
    #[arg(long = "topic", short = 't', value_name = "TOPIC")]
    topics: Vec<String>,
    /// Consume every topic whose whole name matches this regex (internal topics excluded)
    #[arg(long, conflicts_with = "topics")]
    pattern: Option<String>,
    /// Consume as a member of this group: partitions come from the group, progress is
    /// committed. Without it every partition is assigned and nothing is committed
    #[arg(long, short = 'g')]
    group: Option<String>,
    /// Start at the first record (in a group: where the group has no committed offset)
    #[arg(long, conflicts_with_all = ["offset", "from_time"])]
    from_beginning: bool,
    /// Only this partition (not with --group)
    #[arg(long, short = 'p', conflicts_with = "group")]
    partition: Option<i32>,
    /// Start at this offset of --partition (not with --group)
    #[arg(long, short = 'o', requires = "partition", conflicts_with_all = ["group", "from_time"])]
    offset: Option<i64>,
    /// Start at the first record with a timestamp at or after this one, in ms since the epoch
    /// (not with --group)
    #[arg(long, value_name = "MS", conflicts_with = "group")]
    from_time: Option<i64>,
    /// Stop after this many records
    #[arg(long, short = 'n', value_name = "N")]
    max_messages: Option<u64>,
    /// Stop once every assigned partition reached the end offset it had at start
    #[arg(long, short = 'e')]
    until_end: bool,
    /// Stop after this long without records [default: run until Ctrl-C or SIGTERM]
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Output format: %k key, %v value, %p partition, %o offset, %t timestamp, %T topic,
    /// %h headers, %K/%S key/value length, %% percent; \n \t escapes
    #[arg(long, short = 'F', default_value = "%v\\n", conflicts_with = "json")]
    format: String,
    /// One JSON object per record and line: topic, partition, offset, timestamp, key, value,
    /// headers. Keys and values are strings when UTF-8, else {"base64": "..."}
    #[arg(long)]
    json: bool,
    /// Any consumer config by its Kafka name, e.g. partition.assignment.strategy=range
    /// (repeatable)
    #[arg(long = "property", short = 'X', value_name = "NAME=VALUE", value_parser = key_value)]
    properties: Vec<(String, String)>,
}

/// How records are printed.
enum Output {
    Format(Vec<format::Piece>),
    Json,
}

impl Output {
    fn append(&self, r: &ConsumerRecord, out: &mut Vec<u8>) {
        match self {
            Output::Format(pieces) => format::render(pieces, r, out),
            Output::Json => {
                out.extend_from_slice(format::json(r).to_string().as_bytes());
                out.push(b'\n');
            }
        }
    }
}

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    MaxMessages,
    End,
    Idle,
    Signal,
    ReaderGone,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let output = if args.json {
        Output::Json
    } else {
        Output::Format(format::parse(&args.format).map_err(|e| anyhow!(e))?)
    };
    if args.max_messages == Some(0) {
        return Ok(ExitCode::SUCCESS);
    }
    super::common::run(consume(args, output))
}

async fn consume(args: Args, output: Output) -> anyhow::Result<ExitCode> {
    check_reachable(&args.conn.bootstrap, "--bootstrap").await?;
    let admin = args.conn.admin().await?;
    let mut consumer = build(&args).await?;
    let ends = start(&args, &admin, &mut consumer).await?;

    let mut stop = stop_on_signal();
    let mut printed: u64 = 0;
    let mut last_activity = Instant::now();
    let mut assignment: Vec<TopicPartition> = consumer.assignment();
    let mut cut: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    let idle_limit = args.timeout_ms.map(Duration::from_millis);
    let mut stdout = std::io::stdout();
    let reason = loop {
        if let Some(ends) = &ends {
            if reached_end(&mut consumer, ends).await? {
                break Stop::End;
            }
        }
        let wait = idle_limit.map_or(POLL, |l| {
            l.saturating_sub(last_activity.elapsed())
                .clamp(Duration::from_millis(1), POLL)
        });
        let records = tokio::select! {
            r = consumer.poll(wait) => r.explain(|| "consuming".into())?,
            _ = stop.wait_for(|s| *s) => break Stop::Signal,
        };
        let now_assigned = consumer.assignment();
        if now_assigned != assignment {
            // A (re)join took its time inside poll: that is not time without records.
            assignment = now_assigned;
            last_activity = Instant::now();
        }
        if records.is_empty() {
            if idle_limit.is_some_and(|l| last_activity.elapsed() >= l) {
                break Stop::Idle;
            }
            continue;
        }
        last_activity = Instant::now();
        let mut buf = Vec::with_capacity(records.len() * 64);
        let room = args.max_messages.map_or(u64::MAX, |m| m - printed);
        let take = usize::try_from(room)
            .unwrap_or(usize::MAX)
            .min(records.len());
        for r in &records[..take] {
            output.append(r, &mut buf);
        }
        for r in &records[take..] {
            // The first record of each partition that was fetched but not printed.
            cut.entry(TopicPartition::new(r.topic.as_ref(), r.partition))
                .or_insert(r.offset);
        }
        printed += take as u64;
        if !print(&mut stdout, &buf)? {
            break Stop::ReaderGone;
        }
        if args.max_messages.is_some_and(|m| printed >= m) {
            break Stop::MaxMessages;
        }
    };
    for (tp, offset) in &cut {
        // Positions are what the final commit stores: only what was printed counts.
        consumer
            .seek(tp, *offset)
            .explain(|| format!("rewinding {tp} to the first record not printed"))?;
    }
    consumer
        .close()
        .await
        .explain(|| "closing the consumer (final commit, leaving the group)".into())?;
    let why = match reason {
        Stop::MaxMessages => "",
        Stop::End => " (reached the end)",
        Stop::Idle => " (no records for --timeout-ms)",
        Stop::Signal => " (interrupted)",
        Stop::ReaderGone => " (stdout closed)",
    };
    eprintln!("consumed {printed} record(s){why}");
    Ok(ExitCode::SUCCESS)
}

async fn build(args: &Args) -> anyhow::Result<Consumer> {
    let mut builder = Consumer::builder()
        .bootstrap(&args.conn.bootstrap)
        .set("client.id", "strom-consume");
    if let Some(g) = &args.group {
        builder = builder.group(g);
    }
    for (k, v) in &args.properties {
        builder = builder.set(k, v);
    }
    if args.from_beginning {
        builder = builder.set("auto.offset.reset", "earliest");
    }
    builder
        .build()
        .await
        .map_err(|e| explained(&e, "starting the consumer"))
}

/// Subscribes or assigns, sets the starting positions, and returns the end offsets to stop
/// at for `--until-end`.
async fn start(
    args: &Args,
    admin: &Admin,
    consumer: &mut Consumer,
) -> anyhow::Result<Option<BTreeMap<TopicPartition, i64>>> {
    let topics = match &args.pattern {
        Some(p) => topics_matching(admin, p).await?,
        None => args.topics.clone(),
    };
    // A group may subscribe to topics that do not exist yet; partitions are only needed to
    // assign them or to know where the end is.
    let needed = args.group.is_none() || args.until_end;
    let mut partitions = if topics.is_empty() || !needed {
        Vec::new()
    } else {
        partitions_of(admin, &topics).await?
    };
    if args.group.is_some() {
        match &args.pattern {
            Some(p) => consumer.subscribe_pattern(p),
            None => consumer.subscribe(&args.topics),
        }
        .explain(|| "subscribing".into())?;
    } else {
        if let Some(p) = args.partition {
            if args.topics.len() != 1 {
                return Err(anyhow!("--partition needs exactly one --topic"));
            }
            partitions.retain(|tp| tp.partition == p);
            if partitions.is_empty() {
                return Err(anyhow!(
                    "topic {:?} has no partition {p} (see `strom topics describe`)",
                    args.topics[0]
                ));
            }
        }
        if partitions.is_empty() {
            return Err(anyhow!(
                "no topic matches --pattern (see `strom topics list`)"
            ));
        }
        consumer
            .assign(&partitions)
            .explain(|| "assigning partitions".into())?;
        position(args, consumer, &partitions).await?;
    }
    if !args.until_end {
        return Ok(None);
    }
    let ends = consumer
        .end_offsets(&partitions)
        .await
        .explain(|| "looking up end offsets".into())?;
    Ok(Some(ends))
}

/// Starting positions of assigned partitions that `auto.offset.reset` does not give (the
/// group's come from its commits).
async fn position(
    args: &Args,
    consumer: &mut Consumer,
    partitions: &[TopicPartition],
) -> anyhow::Result<()> {
    if let Some(offset) = args.offset {
        for tp in partitions {
            consumer
                .seek(tp, offset)
                .explain(|| format!("seeking {tp}"))?;
        }
    } else if let Some(ms) = args.from_time {
        let query: Vec<(TopicPartition, i64)> =
            partitions.iter().map(|tp| (tp.clone(), ms)).collect();
        let found = consumer
            .offsets_for_times(&query)
            .await
            .explain(|| format!("looking up offsets for time {ms}"))?;
        let mut past_the_end = Vec::new();
        for tp in partitions {
            match found.get(tp).filter(|o| o.offset >= 0) {
                Some(o) => consumer
                    .seek(tp, o.offset)
                    .explain(|| format!("seeking {tp}"))?,
                // No record that late yet: start at the end, as Kafka's tools do.
                None => past_the_end.push(tp.clone()),
            }
        }
        if !past_the_end.is_empty() {
            consumer
                .seek_to_end(&past_the_end)
                .await
                .explain(|| "seeking to the end".into())?;
        }
    }
    // --from-beginning is auto.offset.reset=earliest: without a group nothing is committed,
    // so every partition starts there.
    Ok(())
}

/// Whether every assigned partition's position reached its end offset from the start (a
/// partition that appeared since counts as done). In a group, nothing assigned yet is not
/// the end.
async fn reached_end(
    consumer: &mut Consumer,
    ends: &BTreeMap<TopicPartition, i64>,
) -> anyhow::Result<bool> {
    let assigned: BTreeSet<TopicPartition> = consumer.assignment().into_iter().collect();
    if assigned.is_empty() {
        return Ok(false);
    }
    for tp in &assigned {
        let end = ends.get(tp).copied().unwrap_or(0);
        let position = consumer
            .position(tp)
            .await
            .explain(|| format!("reading the position of {tp}"))?;
        if position < end {
            return Ok(false);
        }
    }
    Ok(true)
}
