//! Argument parsing and dispatch for the `strom` binary. One file per subcommand.

mod bench;
mod dump_log;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "strom", version, about = "A Kafka-compatible commit log")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure produce, consume or end-to-end throughput and latency (kafka-*-perf-test's job).
    Bench(bench::Args),
    /// Print the batches of a segment file: offsets, timestamps, codec, CRC status.
    DumpLog(dump_log::Args),
    /// Run a broker that speaks the Apache Kafka protocol.
    Serve(serve::Args),
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STROM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal, never in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::DumpLog(args) => dump_log::run(args).map_err(anyhow::Error::from),
        Command::Serve(args) => serve::run(args).map_err(anyhow::Error::from),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strom: {e}");
            ExitCode::FAILURE
        }
    }
}
