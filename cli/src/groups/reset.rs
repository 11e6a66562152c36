//! `strom groups reset-offsets`: plans new committed offsets for a group (to the earliest or
//! latest offset, an offset, a time, or shifted), prints the plan, and commits it with
//! `--execute`. Like Kafka's tool it refuses while the group has members (they would commit
//! over the reset), and clamps targets into each partition's [log start, log end].

use super::super::common::{print, table, Bootstrap, Explain};
use anyhow::anyhow;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::ExitCode;
use strom::client::admin::OffsetSpec;
use strom::client::Admin;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("to").required(true)
    .args(["to_earliest", "to_latest", "to_offset", "to_datetime", "shift_by"]))]
#[command(group = clap::ArgGroup::new("which").required(true).args(["topics", "all_topics"]))]
pub struct Args {
    #[command(flatten)]
    conn: Bootstrap,
    /// The group whose offsets move
    #[arg(long, short = 'g')]
    group: String,
    /// A topic, or TOPIC:P,P,... for some of its partitions (repeatable)
    #[arg(long = "topic", short = 't', value_name = "TOPIC[:PARTITIONS]")]
    topics: Vec<String>,
    /// Every topic the group has committed offsets for
    #[arg(long)]
    all_topics: bool,
    /// To the first offset still in the log
    #[arg(long)]
    to_earliest: bool,
    /// To the log end (skip everything not consumed yet)
    #[arg(long)]
    to_latest: bool,
    /// To this offset (clamped into the log's range)
    #[arg(long, value_name = "N")]
    to_offset: Option<i64>,
    /// To the first record at or after this time, in ms since the epoch (the end if none)
    #[arg(long, value_name = "MS")]
    to_datetime: Option<i64>,
    /// Move the committed offset by N (negative: back), clamped into the log's range
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    shift_by: Option<i64>,
    /// Commit the new offsets (without it, only print the plan)
    #[arg(long)]
    execute: bool,
    /// Print the plan as one JSON object per partition and line
    #[arg(long)]
    json: bool,
}

/// One partition's move.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Move {
    topic: String,
    partition: i32,
    current: Option<i64>,
    target: i64,
}

/// Where to move, resolved per partition.
#[derive(Debug, Clone, Copy)]
enum Target {
    Earliest,
    Latest,
    Offset(i64),
    Time(i64),
    Shift(i64),
}

impl Args {
    fn target(&self) -> Target {
        match (self.to_offset, self.to_datetime, self.shift_by) {
            (Some(o), _, _) => Target::Offset(o),
            (_, Some(t), _) => Target::Time(t),
            (_, _, Some(s)) => Target::Shift(s),
            _ if self.to_earliest => Target::Earliest,
            _ => Target::Latest,
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let admin = args.conn.admin().await?;
    let group = &args.group;
    let description = admin
        .describe_groups(std::slice::from_ref(group))
        .await
        .explain(|| format!("describing group {group:?}"))?;
    if let Some(d) = description.first().filter(|d| !d.members.is_empty()) {
        return Err(anyhow!(
            "group {group:?} is {} with {} active member(s): offsets can only be reset while the group is inactive — stop its consumers first",
            d.state,
            d.members.len()
        ));
    }
    let committed = admin
        .list_consumer_group_offsets(group)
        .await
        .explain(|| format!("fetching the offsets of group {group:?}"))?;
    let partitions = partitions(&admin, &args, &committed).await?;
    if partitions.is_empty() {
        return Err(anyhow!(
            "nothing to reset: group {group:?} has no committed offsets (name the topics with --topic)"
        ));
    }
    let moves = plan(&admin, &partitions, &committed, args.target()).await?;
    let text = if args.json {
        moves
            .iter()
            .map(|m| {
                format!(
                    "{}\n",
                    json!({"group": group, "topic": m.topic, "partition": m.partition,
                           "current": m.current, "new": m.target})
                )
            })
            .collect()
    } else {
        let rows: Vec<Vec<String>> = moves
            .iter()
            .map(|m| {
                vec![
                    group.clone(),
                    m.topic.clone(),
                    m.partition.to_string(),
                    m.current.map_or_else(|| "-".into(), |c| c.to_string()),
                    m.target.to_string(),
                ]
            })
            .collect();
        table(
            &[
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "NEW-OFFSET",
            ],
            &rows,
        )
    };
    if args.execute {
        let offsets: BTreeMap<(String, i32), i64> = moves
            .iter()
            .map(|m| ((m.topic.clone(), m.partition), m.target))
            .collect();
        admin
            .alter_consumer_group_offsets(group, &offsets)
            .await
            .explain(|| format!("committing the new offsets of group {group:?}"))?;
        eprintln!("reset {} partition(s) of group {group}", moves.len());
    } else {
        eprintln!("dry run: nothing changed (add --execute to commit these offsets)");
    }
    print(&mut std::io::stdout(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The partitions named by `--topic` / `--all-topics`.
async fn partitions(
    admin: &Admin,
    args: &Args,
    committed: &BTreeMap<(String, i32), i64>,
) -> anyhow::Result<Vec<(String, i32)>> {
    if args.all_topics {
        return Ok(committed.keys().cloned().collect());
    }
    let mut out = Vec::new();
    for spec in &args.topics {
        let (topic, listed) = parse_topic(spec)?;
        let described = admin
            .describe_topics(std::slice::from_ref(&topic))
            .await
            .explain(|| format!("describing topic {topic:?}"))?;
        let existing: Vec<i32> = described
            .iter()
            .flat_map(|d| d.partitions.iter().map(|p| p.partition))
            .collect();
        match listed {
            None => out.extend(existing.into_iter().map(|p| (topic.clone(), p))),
            Some(ps) => {
                for p in ps {
                    if !existing.contains(&p) {
                        return Err(anyhow!("topic {topic:?} has no partition {p}"));
                    }
                    out.push((topic.clone(), p));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `topic` or `topic:0,2`.
fn parse_topic(spec: &str) -> anyhow::Result<(String, Option<Vec<i32>>)> {
    match spec.rsplit_once(':') {
        None => Ok((spec.to_string(), None)),
        Some((topic, list)) => {
            let ps = list
                .split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| anyhow!("--topic {spec:?}: expected TOPIC or TOPIC:P,P,..."))?;
            Ok((topic.to_string(), Some(ps)))
        }
    }
}

async fn plan(
    admin: &Admin,
    partitions: &[(String, i32)],
    committed: &BTreeMap<(String, i32), i64>,
    target: Target,
) -> anyhow::Result<Vec<Move>> {
    let lookup = |spec: OffsetSpec| {
        partitions
            .iter()
            .map(|(t, p)| (t.clone(), *p, spec))
            .collect::<Vec<_>>()
    };
    let earliest = admin
        .list_offsets(&lookup(OffsetSpec::Earliest))
        .await
        .explain(|| "looking up the earliest offsets".into())?;
    let latest = admin
        .list_offsets(&lookup(OffsetSpec::Latest))
        .await
        .explain(|| "looking up the latest offsets".into())?;
    let by_time = match target {
        Target::Time(ms) if ms < 0 => {
            return Err(anyhow!("--to-datetime {ms} is before the epoch"));
        }
        Target::Time(ms) => admin
            .list_offsets(&lookup(OffsetSpec::Timestamp(ms)))
            .await
            .explain(|| format!("looking up the offsets at time {ms}"))?,
        _ => BTreeMap::new(),
    };
    let mut moves = Vec::with_capacity(partitions.len());
    for tp in partitions {
        let low = earliest.get(tp).map_or(0, |o| o.offset);
        let high = latest.get(tp).map_or(low, |o| o.offset).max(low);
        let current = committed.get(tp).copied();
        let wanted = match target {
            Target::Earliest => low,
            Target::Latest => high,
            Target::Offset(o) => o,
            // No record at or after the time: the end, as Kafka's tool.
            Target::Time(_) => by_time
                .get(tp)
                .map(|o| o.offset)
                .filter(|o| *o >= 0)
                .unwrap_or(high),
            Target::Shift(by) => {
                let Some(c) = current else {
                    return Err(anyhow!(
                        "cannot shift {}-{}: the group has no committed offset there (use --to-earliest, --to-latest or --to-offset)",
                        tp.0,
                        tp.1
                    ));
                };
                c.saturating_add(by)
            }
        };
        moves.push(Move {
            topic: tp.0.clone(),
            partition: tp.1,
            current,
            target: wanted.clamp(low, high),
        });
    }
    Ok(moves)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn topic_specs() {
        assert_eq!(parse_topic("t").unwrap(), ("t".into(), None));
        assert_eq!(
            parse_topic("a:b:0, 2").unwrap(),
            ("a:b".into(), Some(vec![0, 2]))
        );
        assert!(parse_topic("t:x").is_err());
    }
}
