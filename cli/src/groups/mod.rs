//! `strom groups list|describe|reset-offsets|delete`: Kafka's `kafka-consumer-groups.sh` over
//! the admin client. Describing shows members and, per partition, the committed offset, the
//! log end offset and the lag between them. Resetting offsets lives in [`reset`].

mod reset;

use super::common::{explained, print, table, Bootstrap, Explain};
use serde_json::json;
use std::collections::BTreeMap;
use std::process::ExitCode;
use strom::client::admin::GroupDescription;
use strom::client::Admin;
use strom::group::lag::PartitionLag;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List every consumer group with its state.
    List {
        #[command(flatten)]
        conn: Bootstrap,
        /// One JSON object per group and line
        #[arg(long)]
        json: bool,
    },
    /// Show a group's state, members and, per partition, committed offset, log end offset and
    /// lag.
    Describe {
        #[command(flatten)]
        conn: Bootstrap,
        /// The group (repeatable)
        #[arg(long = "group", short = 'g', required = true)]
        groups: Vec<String>,
        /// One JSON object per group and line
        #[arg(long)]
        json: bool,
    },
    /// Move a group's committed offsets (the group must have no active members).
    ///
    /// Prints the plan and changes nothing unless --execute is given.
    ///
    /// Example: strom groups reset-offsets --group billing --topic orders --to-datetime 1700000000000 --execute
    ResetOffsets(reset::Args),
    /// Delete groups and their committed offsets (each must have no active members).
    Delete {
        #[command(flatten)]
        conn: Bootstrap,
        /// The group (repeatable)
        #[arg(long = "group", short = 'g', required = true)]
        groups: Vec<String>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::common::run(async move {
        match args.command {
            Command::List { conn, json } => list(&conn.admin().await?, json).await,
            Command::Describe { conn, groups, json } => {
                describe(&conn.admin().await?, &groups, json).await
            }
            Command::ResetOffsets(args) => reset::run(args).await,
            Command::Delete { conn, groups } => delete(&conn.admin().await?, &groups).await,
        }
    })
}

async fn list(admin: &Admin, json: bool) -> anyhow::Result<ExitCode> {
    let groups = admin
        .list_groups()
        .await
        .explain(|| "listing groups".into())?;
    let text = if json {
        groups
            .iter()
            .map(|g| {
                format!(
                    "{}\n",
                    json!({"group": g.group_id, "state": g.state, "protocol_type": g.protocol_type})
                )
            })
            .collect()
    } else {
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                vec![
                    g.group_id.clone(),
                    g.state.clone().unwrap_or_else(|| "-".into()),
                    g.protocol_type.clone(),
                ]
            })
            .collect();
        table(&["GROUP", "STATE", "PROTOCOL-TYPE"], &rows)
    };
    print(&mut std::io::stdout(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// One partition of a described group: its lag and the member it is assigned to.
struct Row {
    lag: PartitionLag,
    /// Index into the group's members of the one it is assigned to.
    member: Option<usize>,
}

async fn describe(admin: &Admin, groups: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let descriptions = admin
        .describe_groups(groups)
        .await
        .explain(|| format!("describing {}", groups.join(", ")))?;
    let mut stdout = std::io::stdout();
    for d in descriptions {
        let rows = partition_rows(admin, &d).await?;
        let text = if json {
            format!("{}\n", describe_json(&d, &rows))
        } else {
            describe_text(&d, &rows)
        };
        if !print(&mut stdout, text.as_bytes())? {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Committed and assigned partitions of a group, with end offsets.
async fn partition_rows(admin: &Admin, d: &GroupDescription) -> anyhow::Result<Vec<Row>> {
    let mut owner: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for (i, m) in d.members.iter().enumerate() {
        for (topic, partitions) in &m.assignment {
            for p in partitions {
                owner.insert((topic.clone(), *p), i);
            }
        }
    }
    let assigned: Vec<(String, i32)> = owner.keys().cloned().collect();
    let lags = admin
        .group_lag(&d.group_id, &assigned)
        .await
        .explain(|| format!("fetching the offsets and lag of group {:?}", d.group_id))?;
    Ok(lags
        .into_iter()
        .map(|lag| Row {
            member: owner.get(&(lag.topic.clone(), lag.partition)).copied(),
            lag,
        })
        .collect())
}

fn describe_text(d: &GroupDescription, rows: &[Row]) -> String {
    let dash = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let mut s = format!(
        "Group {}: state {}, protocol {}, {} member(s), coordinator {}\n",
        d.group_id,
        d.state,
        if d.protocol.is_empty() {
            "-"
        } else {
            &d.protocol
        },
        d.members.len(),
        d.coordinator
    );
    let partition_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let m = r.member.and_then(|i| d.members.get(i));
            vec![
                r.lag.topic.clone(),
                r.lag.partition.to_string(),
                dash(r.lag.committed),
                dash(r.lag.end_offset),
                dash(r.lag.lag()),
                m.map_or("-".into(), |m| m.member_id.clone()),
                m.map_or("-".into(), |m| m.client_host.clone()),
                m.map_or("-".into(), |m| m.client_id.clone()),
            ]
        })
        .collect();
    s.push('\n');
    s.push_str(&table(
        &[
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ],
        &partition_rows,
    ));
    if !d.members.is_empty() {
        let member_rows: Vec<Vec<String>> = d
            .members
            .iter()
            .map(|m| {
                let assignment: Vec<String> = m
                    .assignment
                    .iter()
                    .map(|(t, ps)| {
                        let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
                        format!("{t}:{}", ps.join(","))
                    })
                    .collect();
                vec![
                    m.member_id.clone(),
                    m.client_id.clone(),
                    m.client_host.clone(),
                    if assignment.is_empty() {
                        "-".into()
                    } else {
                        assignment.join(" ")
                    },
                ]
            })
            .collect();
        s.push('\n');
        s.push_str(&table(
            &["CONSUMER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"],
            &member_rows,
        ));
    }
    s
}

fn describe_json(d: &GroupDescription, rows: &[Row]) -> serde_json::Value {
    json!({
        "group": d.group_id,
        "state": d.state,
        "protocol_type": d.protocol_type,
        "protocol": d.protocol,
        "coordinator": d.coordinator,
        "members": d.members.iter().map(|m| json!({
            "member_id": m.member_id,
            "instance_id": m.group_instance_id,
            "client_id": m.client_id,
            "host": m.client_host,
            "assignment": m.assignment.iter().cloned().collect::<BTreeMap<_, _>>(),
        })).collect::<Vec<_>>(),
        "offsets": rows.iter().map(|r| json!({
            "topic": r.lag.topic,
            "partition": r.lag.partition,
            "committed": r.lag.committed,
            "end": r.lag.end_offset,
            "lag": r.lag.lag(),
            "member_id": r.member.and_then(|i| d.members.get(i)).map(|m| m.member_id.clone()),
        })).collect::<Vec<_>>(),
    })
}

async fn delete(admin: &Admin, groups: &[String]) -> anyhow::Result<ExitCode> {
    let results = admin
        .delete_groups(groups)
        .await
        .explain(|| format!("deleting {}", groups.join(", ")))?;
    let mut failed = 0;
    for (group, result) in results {
        match result {
            Ok(()) => eprintln!("deleted group {group}"),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "strom: {}",
                    explained(&e, &format!("deleting group {group:?}"))
                );
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
