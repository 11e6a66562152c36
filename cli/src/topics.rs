//! `strom topics create|list|describe|alter|delete`: Kafka's `kafka-topics.sh` (and the
//! topic half of `kafka-configs.sh`) over the admin client, against strom or any Kafka.

use super::common::{key_value, print, Bootstrap, Explain};
use anyhow::anyhow;
use serde_json::json;
use std::process::ExitCode;
use strom::client::admin::{AlterOp, ConfigEntry, NewTopic, TopicDescription};
use strom::client::{Admin, ClientError};

/// TOPIC_ALREADY_EXISTS and UNKNOWN_TOPIC_OR_PARTITION.
const ALREADY_EXISTS: i16 = 36;
const UNKNOWN_TOPIC: i16 = 3;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Create a topic.
    ///
    /// Example: strom topics create orders --partitions 6 --config retention.ms=86400000
    Create {
        #[command(flatten)]
        conn: Bootstrap,
        /// Topic name
        topic: String,
        /// Number of partitions [default: the broker's num.partitions]
        #[arg(long, short = 'p')]
        partitions: Option<i32>,
        /// Replication factor [default: the broker's default.replication.factor]
        #[arg(long)]
        replication_factor: Option<i16>,
        /// A topic config with Kafka's name, e.g. cleanup.policy=compact (repeatable)
        #[arg(long = "config", short = 'c', value_name = "NAME=VALUE", value_parser = key_value)]
        configs: Vec<(String, String)>,
        /// Succeed (and change nothing) if the topic already exists
        #[arg(long)]
        if_not_exists: bool,
    },
    /// List topic names, one per line.
    List {
        #[command(flatten)]
        conn: Bootstrap,
        /// Include internal topics such as __consumer_offsets
        #[arg(long)]
        internal: bool,
    },
    /// Show partitions (leaders, replicas, in-sync replicas) and configs of topics.
    ///
    /// Text output lists the configs that differ from the defaults (like kafka-topics.sh);
    /// --json lists every config with its source.
    Describe {
        #[command(flatten)]
        conn: Bootstrap,
        /// Topics to describe [default: every non-internal topic]
        topics: Vec<String>,
        /// One JSON object per topic and line
        #[arg(long)]
        json: bool,
    },
    /// Change a topic: add partitions, set or delete configs (incremental, like
    /// kafka-configs.sh --alter).
    ///
    /// Example: strom topics alter orders --partitions 12 --set retention.ms=3600000 --delete cleanup.policy
    Alter {
        #[command(flatten)]
        conn: Bootstrap,
        /// Topic name
        topic: String,
        /// Grow the topic to this many partitions (partitions are never removed)
        #[arg(long, short = 'p')]
        partitions: Option<i32>,
        /// Set a config, e.g. retention.ms=3600000 (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = key_value)]
        set: Vec<(String, String)>,
        /// Remove a config override so the default applies again (repeatable)
        #[arg(long = "delete", value_name = "NAME")]
        delete: Vec<String>,
    },
    /// Delete topics and their data.
    Delete {
        #[command(flatten)]
        conn: Bootstrap,
        /// Topics to delete
        #[arg(required = true)]
        topics: Vec<String>,
        /// Succeed for topics that do not exist
        #[arg(long)]
        if_exists: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::common::run(async move {
        match args.command {
            Command::Create {
                conn,
                topic,
                partitions,
                replication_factor,
                configs,
                if_not_exists,
            } => {
                let admin = conn.admin().await?;
                let new = NewTopic {
                    partitions,
                    replication_factor,
                    configs,
                    ..NewTopic::new(&topic)
                };
                create(&admin, new, if_not_exists).await
            }
            Command::List { conn, internal } => {
                let admin = conn.admin().await?;
                let names = admin
                    .list_topics(internal)
                    .await
                    .explain(|| "listing topics".into())?;
                let mut text = String::new();
                for name in names {
                    text.push_str(&name);
                    text.push('\n');
                }
                print(&mut std::io::stdout().lock(), text.as_bytes())?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Describe { conn, topics, json } => {
                let admin = conn.admin().await?;
                describe(&admin, topics, json).await
            }
            Command::Alter {
                conn,
                topic,
                partitions,
                set,
                delete,
            } => {
                if partitions.is_none() && set.is_empty() && delete.is_empty() {
                    return Err(anyhow!(
                        "nothing to alter: give --partitions N, --set name=value or --delete name"
                    ));
                }
                let admin = conn.admin().await?;
                alter(&admin, &topic, partitions, set, delete).await
            }
            Command::Delete {
                conn,
                topics,
                if_exists,
            } => {
                let admin = conn.admin().await?;
                delete_topics(&admin, &topics, if_exists).await
            }
        }
    })
}

async fn create(admin: &Admin, topic: NewTopic, if_not_exists: bool) -> anyhow::Result<ExitCode> {
    let name = topic.name.clone();
    let result = admin
        .create_topics(std::slice::from_ref(&topic), false)
        .await
        .and_then(|mut r| r.pop().map_or(Ok(()), |(_, r)| r));
    match result {
        Ok(()) => {
            let count = admin
                .describe_topics(std::slice::from_ref(&name))
                .await
                .map(|d| d.first().map_or(0, |t| t.partitions.len()))
                .unwrap_or(0);
            eprintln!("created topic {name} with {count} partition(s)");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if if_not_exists && e.kafka_code() == Some(ALREADY_EXISTS) => {
            eprintln!("topic {name} already exists");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(super::common::explained(
            &e,
            &format!("creating topic {name:?}"),
        )),
    }
}

async fn describe(admin: &Admin, topics: Vec<String>, json: bool) -> anyhow::Result<ExitCode> {
    let topics = if topics.is_empty() {
        admin
            .list_topics(false)
            .await
            .explain(|| "listing topics".into())?
    } else {
        topics
    };
    let descriptions = admin
        .describe_topics(&topics)
        .await
        .explain(|| format!("describing {}", topics.join(", ")))?;
    let mut out = std::io::stdout().lock();
    for d in descriptions {
        let configs = admin
            .describe_topic_configs(&d.name)
            .await
            .explain(|| format!("describing the configs of {:?}", d.name))?;
        let text = if json {
            format!("{}\n", describe_json(&d, &configs))
        } else {
            describe_text(&d, &configs)
        };
        if !print(&mut out, text.as_bytes())? {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// kafka-topics.sh's layout: a topic line, then one line per partition.
fn describe_text(d: &TopicDescription, configs: &[ConfigEntry]) -> String {
    let overrides: Vec<String> = configs
        .iter()
        .filter(|c| !c.is_default)
        .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("<sensitive>")))
        .collect();
    let replication = d.partitions.first().map_or(0, |p| p.replicas.len());
    let mut s = format!(
        "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {replication}\tConfigs: {}\n",
        d.name,
        d.id,
        d.partitions.len(),
        overrides.join(",")
    );
    let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    for p in &d.partitions {
        s.push_str(&format!(
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\n",
            d.name,
            p.partition,
            p.leader
                .map_or_else(|| "none".to_string(), |l| l.to_string()),
            ids(&p.replicas),
            ids(&p.isr),
        ));
    }
    s
}

fn describe_json(d: &TopicDescription, configs: &[ConfigEntry]) -> serde_json::Value {
    json!({
        "topic": d.name,
        "id": d.id.to_string(),
        "internal": d.internal,
        "partitions": d.partitions.iter().map(|p| json!({
            "partition": p.partition,
            "leader": p.leader,
            "replicas": p.replicas,
            "isr": p.isr,
        })).collect::<Vec<_>>(),
        "configs": configs.iter().map(|c| (c.name.clone(), json!({
            "value": c.value,
            "default": c.is_default,
            "read_only": c.read_only,
            "sensitive": c.sensitive,
            "source": format!("{:?}", c.source),
        }))).collect::<serde_json::Map<_, _>>(),
    })
}

async fn alter(
    admin: &Admin,
    topic: &str,
    partitions: Option<i32>,
    set: Vec<(String, String)>,
    delete: Vec<String>,
) -> anyhow::Result<ExitCode> {
    if let Some(total) = partitions {
        let current = admin
            .describe_topics(&[topic.to_string()])
            .await
            .explain(|| format!("describing topic {topic:?}"))?
            .first()
            .map_or(0, |d| d.partitions.len() as i32);
        if total < current {
            return Err(anyhow!(
                "topic {topic:?} has {current} partitions: partitions can only be added, never removed (--partitions must be ≥ {current})"
            ));
        }
        if total == current {
            eprintln!("topic {topic} already has {current} partitions");
        } else {
            admin
                .create_partitions(topic, total)
                .await
                .explain(|| format!("adding partitions to {topic:?}"))?;
            eprintln!("topic {topic}: {current} → {total} partitions");
        }
    }
    let ops: Vec<AlterOp> = set
        .into_iter()
        .map(|(k, v)| AlterOp::set(k, v))
        .chain(delete.into_iter().map(AlterOp::delete))
        .collect();
    if !ops.is_empty() {
        admin
            .alter_topic_configs(topic, &ops)
            .await
            .explain(|| format!("altering the configs of {topic:?}"))?;
        let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
        eprintln!("topic {topic}: updated {}", names.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

async fn delete_topics(
    admin: &Admin,
    topics: &[String],
    if_exists: bool,
) -> anyhow::Result<ExitCode> {
    let results = admin
        .delete_topics(topics)
        .await
        .explain(|| format!("deleting {}", topics.join(", ")))?;
    let mut failed = 0;
    for (name, result) in results {
        match result {
            Ok(()) => eprintln!("deleted topic {name}"),
            Err(e) if if_exists && e.kafka_code() == Some(UNKNOWN_TOPIC) => {
                eprintln!("topic {name} does not exist")
            }
            Err(e) => {
                failed += 1;
                eprintln!("strom: {}", error_line(&e, &name));
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn error_line(e: &ClientError, topic: &str) -> String {
    super::common::explained(e, &format!("deleting topic {topic:?}")).to_string()
}
