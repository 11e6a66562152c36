//! `strom produce`: one record per input line (stdin or `--file`), like
//! `kafka-console-producer.sh` and `kcat -P`, with strom's producer.
//!
//! Lines are read on a plain thread (stdin blocks) and handed over through a bounded channel;
//! deliveries are awaited by a second task in send order, so reading, sending and
//! acknowledging overlap while memory stays bounded. A summary goes to stderr; the exit status
//! is non-zero if any record failed.

use super::common::{check_reachable, explained, key_value, stop_on_signal, Bootstrap};
use anyhow::anyhow;
use bytes::Bytes;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use strom::client::producer::DeliveryFuture;
use strom::client::{ClientError, Producer, ProducerRecord};
use tokio::sync::mpsc;

/// Lines read ahead of the producer, and deliveries awaited behind it.
const QUEUE: usize = 10_000;
/// Failed records reported one by one before only counting.
const REPORTED_ERRORS: u64 = 5;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    conn: Bootstrap,
    /// Topic to produce to
    #[arg(long, short = 't')]
    topic: String,
    /// Read lines from this file instead of stdin
    #[arg(long, short = 'f')]
    file: Option<PathBuf>,
    /// Split each line at the first SEP: the text before it is the key, the rest the value.
    /// A line without SEP is sent with no key.
    #[arg(long, short = 'K', value_name = "SEP")]
    key_separator: Option<String>,
    /// A header added to every record, e.g. source=cli (repeatable)
    #[arg(long = "header", short = 'H', value_name = "NAME=VALUE", value_parser = key_value)]
    headers: Vec<(String, String)>,
    /// Send every record to this partition instead of the partitioner's choice
    #[arg(long, short = 'p')]
    partition: Option<i32>,
    /// Compression codec (Kafka: compression.type)
    #[arg(long, value_parser = ["none", "gzip", "snappy", "lz4", "zstd"])]
    compression: Option<String>,
    /// Acknowledgements to wait for (Kafka: acks)
    #[arg(long, value_parser = ["0", "1", "all", "-1"])]
    acks: Option<String>,
    /// Any producer config by its Kafka name, e.g. linger.ms=50 (repeatable)
    #[arg(long = "property", short = 'X', value_name = "NAME=VALUE", value_parser = key_value)]
    properties: Vec<(String, String)>,
}

/// How the records went.
#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    failed: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input: Box<dyn BufRead + Send> = match &args.file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .map_err(|e| anyhow!("cannot read --file {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    super::common::run(produce(args, input))
}

async fn produce(args: Args, input: Box<dyn BufRead + Send>) -> anyhow::Result<ExitCode> {
    check_reachable(&args.conn.bootstrap, "--bootstrap").await?;
    let mut builder = Producer::builder()
        .bootstrap(&args.conn.bootstrap)
        .set("client.id", "strom-produce");
    for (k, v) in &args.properties {
        builder = builder.set(k, v);
    }
    // The dedicated flags win over the same setting given with --property.
    if let Some(c) = &args.compression {
        builder = builder.set("compression.type", c);
    }
    if let Some(a) = &args.acks {
        builder = builder.set("acks", a);
    }
    let producer = builder
        .build()
        .await
        .map_err(|e| explained(&e, "starting the producer"))?;

    let (lines_tx, mut lines) = mpsc::channel::<std::io::Result<Vec<u8>>>(QUEUE);
    std::thread::Builder::new()
        .name("strom-produce-input".into())
        .spawn(move || read_lines(input, lines_tx))
        .map_err(|e| anyhow!("cannot start the input reader: {e}"))?;
    let (deliveries_tx, deliveries) = mpsc::channel::<DeliveryFuture>(QUEUE);
    let acks = tokio::spawn(await_deliveries(deliveries));

    let headers: Vec<(String, Option<Bytes>)> = args
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Some(Bytes::from(v.clone()))))
        .collect();
    let mut stop = stop_on_signal();
    let mut tally = Tally::default();
    let mut input_error = None;
    let mut send_error = None;
    loop {
        let line = tokio::select! {
            line = lines.recv() => line,
            _ = stop.wait_for(|s| *s) => {
                eprintln!("interrupted: delivering what was read so far");
                None
            }
        };
        let line = match line {
            None => break,
            Some(Ok(line)) => line,
            Some(Err(e)) => {
                input_error = Some(e);
                break;
            }
        };
        let record = to_record(&args, &headers, line);
        match producer.send(record).await {
            Ok(delivery) => {
                tally.sent += 1;
                if deliveries_tx.send(delivery).await.is_err() {
                    break;
                }
            }
            Err(e) if only_this_record(&e) => {
                tally.failed += 1;
                if tally.failed <= REPORTED_ERRORS {
                    eprintln!("strom: record {} not sent: {e}", tally.sent + tally.failed);
                }
            }
            Err(e) => {
                // Metadata or buffer timeouts, a closed producer: the next line would fail too.
                tally.failed += 1;
                send_error = Some(e);
                break;
            }
        }
    }
    drop(deliveries_tx);
    let close = producer.close().await;
    let (acked, failed, first) = acks.await.unwrap_or((0, tally.sent, None));
    tally.failed += failed;
    let topic = &args.topic;
    eprintln!(
        "produced {acked} record(s) to {topic}, {} failed",
        tally.failed
    );
    if let Some(e) = first {
        eprintln!(
            "strom: first delivery error: {}",
            explained(&e, "delivering")
        );
    }
    if let Some(e) = send_error {
        return Err(explained(&e, &format!("producing to {topic:?}")));
    }
    if let Some(e) = input_error {
        return Err(anyhow!("reading the input stopped: {e}"));
    }
    close.map_err(|e| explained(&e, "closing the producer"))?;
    Ok(if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn to_record(args: &Args, headers: &[(String, Option<Bytes>)], line: Vec<u8>) -> ProducerRecord {
    let (key, value) = match args.key_separator.as_deref().map(str::as_bytes) {
        Some(sep) if !sep.is_empty() => match find(&line, sep) {
            Some(at) => (
                Some(Bytes::copy_from_slice(&line[..at])),
                Bytes::copy_from_slice(&line[at + sep.len()..]),
            ),
            None => (None, Bytes::from(line)),
        },
        _ => (None, Bytes::from(line)),
    };
    ProducerRecord {
        topic: args.topic.clone(),
        partition: args.partition,
        key,
        value: Some(value),
        headers: headers.to_vec(),
        timestamp: None,
    }
}

/// Whether `send` refused only this record (too large, bad partition), so the next line
/// may go through.
fn only_this_record(e: &ClientError) -> bool {
    /// MESSAGE_TOO_LARGE, INVALID_RECORD.
    const RECORD_CODES: [i16; 2] = [10, 87];
    match e {
        ClientError::InvalidArgument(_) => true,
        ClientError::Kafka { code, .. } => RECORD_CODES.contains(code),
        _ => false,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends each line without its `\n` (or `\r\n`), the last one even without a newline.
fn read_lines(mut input: Box<dyn BufRead + Send>, tx: mpsc::Sender<std::io::Result<Vec<u8>>>) {
    loop {
        let mut line = Vec::new();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                }
                if tx.blocking_send(Ok(line)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}

/// Awaits deliveries in send order: (acknowledged, failed, first error).
async fn await_deliveries(
    mut deliveries: mpsc::Receiver<DeliveryFuture>,
) -> (u64, u64, Option<ClientError>) {
    let (mut ok, mut failed, mut first) = (0, 0, None);
    while let Some(d) = deliveries.recv().await {
        match d.wait().await {
            Ok(_) => ok += 1,
            Err(e) => {
                failed += 1;
                first.get_or_insert(e);
            }
        }
    }
    (ok, failed, first)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    fn args(flags: &[&str]) -> Args {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: Args,
        }
        let mut argv = vec!["t", "--topic", "t"];
        argv.extend_from_slice(flags);
        T::parse_from(argv).a
    }

    #[test]
    fn key_separator_splits_at_the_first_one() {
        let a = args(&["-K", "::", "-H", "h=1"]);
        let headers = vec![("h".to_string(), Some(Bytes::from("1")))];
        let r = to_record(&a, &headers, b"k::v::w".to_vec());
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"v::w"[..]));
        assert_eq!(r.headers, headers);
        let r = to_record(&a, &headers, b"no separator".to_vec());
        assert_eq!(
            (r.key, r.value.as_deref()),
            (None, Some(&b"no separator"[..]))
        );
        let r = to_record(&args(&[]), &[], b"a:b".to_vec());
        assert_eq!((r.key, r.value.as_deref()), (None, Some(&b"a:b"[..])));
    }

    #[test]
    fn lines_lose_their_terminators() {
        let (tx, mut rx) = mpsc::channel(10);
        read_lines(Box::new(&b"a\r\nb\n\nlast"[..]), tx);
        let mut got = Vec::new();
        while let Ok(Ok(line)) = rx.try_recv() {
            got.push(String::from_utf8(line).unwrap());
        }
        assert_eq!(got, ["a", "b", "", "last"]);
    }
}
