//! Argument parsing and dispatch for the `strom` binary. One file (or folder) per
//! subcommand; what they share (`--bootstrap`, `--property` parsing, the runtime, error hints,
//! output helpers) is in [`common`].

mod bench;
mod common;
mod consume;
mod dump_log;
mod groups;
mod mirror;
mod produce;
mod serve;
mod topics;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "strom",
    version,
    about = "A Kafka-compatible commit log, and tools that work against strom or any Kafka cluster",
    after_help = "Client commands find the cluster with --bootstrap HOST:PORT (default 127.0.0.1:9092, or $STROM_BOOTSTRAP)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, list, describe, alter and delete topics.
    Topics(topics::Args),
    /// Send lines from stdin or a file as records.
    Produce(produce::Args),
    /// Print records of topics, from the beginning, an offset or a time, alone or in a group.
    Consume(consume::Args),
    /// List, describe (with lag), reset the offsets of and delete consumer groups.
    Groups(groups::Args),
    /// Measure produce, consume or end-to-end throughput and latency (kafka-*-perf-test's job).
    Bench(bench::Args),
    /// Copy topics matching a regex from one cluster to another (MirrorMaker's job).
    Mirror(mirror::Args),
    /// Print the batches of a segment file: offsets, timestamps, codec, CRC status.
    DumpLog(dump_log::Args),
    /// Run a broker that speaks the Apache Kafka protocol.
    Serve(serve::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STROM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log_filter())),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal, never in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let outcome: anyhow::Result<ExitCode> = match cli.command {
        Command::Topics(args) => topics::run(args),
        Command::Produce(args) => produce::run(args),
        Command::Consume(args) => consume::run(args),
        Command::Groups(args) => groups::run(args),
        Command::Mirror(args) => mirror::run(args),
        Command::Bench(args) => bench::run(args),
        Command::DumpLog(args) => dump_log::run(args).map_err(Into::into),
        Command::Serve(args) => serve::run(args).map_err(Into::into),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The server logs its life at info; client commands only warnings, so their own output
/// (records, tables, summaries) is not drowned in the client library's chatter.
fn default_log_filter() -> &'static str {
    match std::env::args().nth(1).as_deref() {
        Some("serve") => "info",
        _ => "warn",
    }
}
