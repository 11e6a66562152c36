//! `strom bench produce|consume|e2e`: kafka-producer-perf-test's job with strom's client,
//! against any Kafka cluster (`--bootstrap`) or an embedded broker in this process
//! (`--in-process`). Reports records/s, MB/s and latency percentiles from an HdrHistogram,
//! shows a progress bar on a terminal, and prints one JSON object with `--json`.

mod consume;
mod e2e;
mod produce;
mod report;
mod target;

use clap::{Args as ClapArgs, Subcommand};
use std::process::ExitCode;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send records as fast as possible (or at --throughput) and measure acknowledgements.
    Produce(Common),
    /// Read records from the beginning of a topic (in-process: produced first, untimed).
    Consume(Common),
    /// Produce at a fixed rate and consume in the same process: end-to-end latency.
    E2e(Common),
}

/// Options every bench mode shares.
#[derive(Debug, Clone, ClapArgs)]
pub struct Common {
    /// Kafka brokers, host:port[,host:port...].
    #[arg(long, env = "STROM_BOOTSTRAP", conflicts_with = "in_process")]
    bootstrap: Option<String>,
    /// Run against an embedded broker in this process (no sockets, no encoding).
    #[arg(long)]
    in_process: bool,
    /// Data directory of the embedded broker (default: a temporary one, removed afterwards).
    #[arg(long, requires = "in_process")]
    data_dir: Option<std::path::PathBuf>,
    /// Topic to use; created with --partitions if missing.
    #[arg(long, default_value = "strom-bench")]
    topic: String,
    /// Partitions of the topic when it is created.
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    /// Records to send or read.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    record_size: usize,
    /// Records per second to send (fixed rate; latency is measured from each record's
    /// scheduled time, so a stall is not hidden). Unlimited when absent.
    #[arg(long)]
    throughput: Option<u64>,
    /// Hand records to the producer this many at a time (`send_batch`); 0 sends them one by one.
    #[arg(long, default_value_t = 0)]
    batch: usize,
    /// Client setting by Kafka name, e.g. --property acks=1 (repeatable).
    #[arg(long = "property", value_name = "NAME=VALUE", value_parser = super::common::key_value)]
    properties: Vec<(String, String)>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// How the report names the client: the transport matters to the figures.
fn client_name(c: &Common) -> &'static str {
    if c.in_process {
        "strom-in-process"
    } else {
        "strom"
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::common::run(async move {
        let report = match args.command {
            Command::Produce(c) => produce::run(&c).await,
            Command::Consume(c) => consume::run(&c).await,
            Command::E2e(c) => e2e::run(&c).await,
        }?;
        report.print();
        Ok(ExitCode::SUCCESS)
    })
}
