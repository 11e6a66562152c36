//! What the client subcommands share: the `--bootstrap` flag, `name=value` parsing for
//! `--property`/`--config`/`--header`, the tokio runtime, a reachability check with an error
//! that says what to do, hints for client errors, the shutdown signal, stdout handling and
//! base64 for bytes that are not text.

use anyhow::anyhow;
use std::future::Future;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use strom::client::{Admin, ClientError, ClientResult};

/// The default broker address, as Kafka's tools assume.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:9092";
/// How long the reachability check waits for a TCP connection to one bootstrap server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `--bootstrap`: where the cluster is (strom or any Kafka cluster).
#[derive(Debug, Clone, clap::Args)]
pub struct Bootstrap {
    /// Broker(s) to start from: host:port[,host:port...] of strom or any Kafka cluster
    #[arg(
        long,
        short = 'b',
        env = "STROM_BOOTSTRAP",
        default_value = DEFAULT_BOOTSTRAP,
        value_name = "HOST:PORT"
    )]
    pub bootstrap: String,
}

impl Bootstrap {
    /// An admin client, after checking the broker can be reached at all.
    pub async fn admin(&self) -> anyhow::Result<Admin> {
        admin(&self.bootstrap, "--bootstrap").await
    }
}

/// An admin client for `servers` (named by `flag` in errors).
pub async fn admin(servers: &str, flag: &str) -> anyhow::Result<Admin> {
    check_reachable(servers, flag).await?;
    Admin::builder()
        .bootstrap(servers)
        .build()
        .await
        .explain(|| format!("connecting to {servers} ({flag})"))
}

/// The non-internal topics whose whole name matches `pattern` (as Kafka's regex
/// subscriptions), sorted.
pub async fn topics_matching(admin: &Admin, pattern: &str) -> anyhow::Result<Vec<String>> {
    let regex = anchored(pattern)?;
    let names = admin
        .list_topics(false)
        .await
        .explain(|| "listing topics".into())?;
    Ok(names.into_iter().filter(|t| regex.is_match(t)).collect())
}

/// `pattern` compiled to match whole topic names, or an error naming the flag.
pub fn anchored(pattern: &str) -> anyhow::Result<regex::Regex> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| anyhow!("invalid topic regex {pattern:?}: {e}"))
}

/// Every partition of `topics`, which must exist.
pub async fn partitions_of(
    admin: &Admin,
    topics: &[String],
) -> anyhow::Result<Vec<strom::client::TopicPartition>> {
    let described = admin
        .describe_topics(topics)
        .await
        .explain(|| format!("describing {}", topics.join(", ")))?;
    Ok(described
        .iter()
        .flat_map(|d| {
            d.partitions
                .iter()
                .map(|p| strom::client::TopicPartition::new(&d.name, p.partition))
        })
        .collect())
}

/// Parses `name=value` (the value may be empty or contain `=`); for clap's `value_parser`.
pub fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected name=value, got {s:?}")),
    }
}

/// Runs one command's future on a fresh runtime (each command builds its own, as `serve`).
pub fn run<F>(future: F) -> anyhow::Result<ExitCode>
where
    F: Future<Output = anyhow::Result<ExitCode>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strom-cli")
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(future)
}

/// Fails with an actionable message unless a TCP connection to one of `servers` succeeds.
/// The client would find out too, but only after its retries and with less to say.
pub async fn check_reachable(servers: &str, flag: &str) -> anyhow::Result<()> {
    let list: Vec<&str> = servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.strip_prefix("PLAINTEXT://").unwrap_or(s))
        .collect();
    if list.is_empty() {
        return Err(anyhow!("{flag} is empty: give host:port of a broker"));
    }
    let mut last = String::new();
    for addr in &list {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => last = format!("cannot connect to {addr}: {}", io_reason(&e)),
            Err(_) => {
                last = format!(
                    "cannot connect to {addr}: no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )
            }
        }
    }
    Err(anyhow!(
        "{last} — is a broker running there? ({flag}, default {DEFAULT_BOOTSTRAP} or $STROM_BOOTSTRAP)"
    ))
}

/// The short lower-case reason of a connect error ("connection refused").
fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        TimedOut => "timed out".into(),
        AddrNotAvailable => "address not available".into(),
        _ => {
            let text = e.to_string();
            // "failed to lookup address information: Name or service not known"
            text.split(" (os error").next().unwrap_or(&text).to_string()
        }
    }
}

/// What to do about a client error, when there is something to say.
pub fn hint(e: &ClientError) -> Option<&'static str> {
    match e {
        ClientError::Connect { .. } | ClientError::Disconnected { .. } => {
            Some("is a broker running there? (--bootstrap)")
        }
        ClientError::Timeout(_) => {
            Some("the cluster did not answer in time; is it overloaded or unreachable?")
        }
        ClientError::Config(_) => {
            Some("check the --property names and values (Kafka's client config names)")
        }
        ClientError::Kafka { code, .. } => match *code {
            3 => Some("does the topic exist? (strom topics list)"),
            36 => Some("pass --if-not-exists to accept an existing topic"),
            37 => Some("partitions can only be added, never removed"),
            40 | 41 => Some("see `strom topics describe` for the current configs"),
            68 => Some("stop the group's consumers first"),
            69 => Some("see `strom groups list` for the groups that exist"),
            _ => None,
        },
        _ => None,
    }
}

/// Turns a client result into one whose error says what was being done, and what to do.
pub trait Explain<T> {
    fn explain(self, doing: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T> Explain<T> for ClientResult<T> {
    fn explain(self, doing: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| explained(&e, &doing()))
    }
}

/// `doing: error — hint`. A Kafka error names what it was about already, so it goes
/// without the `doing: ` prefix.
pub fn explained(e: &ClientError, doing: &str) -> anyhow::Error {
    let what = match e {
        ClientError::Kafka { .. } => e.to_string(),
        _ => format!("{doing}: {e}"),
    };
    match hint(e) {
        Some(h) => anyhow!("{what} — {h}"),
        None => anyhow!("{what}"),
    }
}

/// Installs the SIGINT and SIGTERM handlers now and returns a future that resolves on the
/// first of them. Installing before anything announces the process (the "listening" line)
/// matters: a signal before installation would take the default action and kill it.
/// Must be called inside a tokio runtime.
pub fn shutdown_signal() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => Box::pin(async move {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("cannot watch SIGTERM/SIGINT ({e}); only Ctrl-C stops");
                Box::pin(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
            }
        }
    }
    #[cfg(not(unix))]
    {
        Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// A watch that turns `true` once SIGINT or SIGTERM arrives (the handler is installed at
/// once, so a signal right after this call is not missed).
pub fn stop_on_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let signalled = shutdown_signal();
    tokio::spawn(async move {
        signalled.await;
        let _ = tx.send(true);
    });
    rx
}

/// Writes `text` to stdout and flushes. A closed pipe (`strom ... | head`) is reported as
/// `Ok(false)`: the reader is gone, the command should stop quietly.
pub fn print(out: &mut impl Write, text: &[u8]) -> anyhow::Result<bool> {
    match out.write_all(text).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(anyhow!("cannot write to stdout: {e}")),
    }
}

/// Prints `rows` as left-aligned columns under `headers`.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = w - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// Standard base64 with padding (RFC 4648), for keys and values that are not UTF-8.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn key_values() {
        assert_eq!(key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(key_value("a=").unwrap(), ("a".into(), String::new()));
        assert!(key_value("=b").is_err());
        assert!(key_value("ab").is_err());
    }

    #[test]
    fn tables_align() {
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    BB\nxyz  1\n");
    }

    #[tokio::test]
    async fn unreachable_broker_says_what_to_do() {
        // Port 9 (discard) is closed on test machines; what matters is the message shape.
        let e = check_reachable("127.0.0.1:9", "--bootstrap")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot connect to 127.0.0.1:9: "), "{e}");
        assert!(e.contains("is a broker running there? (--bootstrap"), "{e}");
    }
}
