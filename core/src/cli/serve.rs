//! `strom serve`: a Kafka-protocol broker on a data directory.
//!
//! Settings use Kafka's broker config names. Each comes from, highest first: a flag, a
//! `STROM_*` environment variable, the `--config` TOML file, the default. Environment names
//! are the Kafka name upper-cased with dots as underscores (`STROM_NUM_PARTITIONS`), plus the
//! short forms `STROM_DATA_DIR`, `STROM_LISTEN` and `STROM_ADVERTISED_LISTENER`. An unknown
//! name in the file is an error naming it, so a typo never silently does nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use strom::group::GroupConfig;
use strom::server::{self, ServerConfig};
use strom::{Broker, BrokerConfig, Error, Result};

use super::common::shutdown_signal;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory (Kafka: log.dirs) [env: STROM_DATA_DIR] [default: ./strom-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address to listen on, host:port or PLAINTEXT://host:port; port 0 picks a free one
    /// [env: STROM_LISTEN] [default: 127.0.0.1:9092]
    #[arg(long)]
    listen: Option<String>,
    /// host:port clients are told to connect to (Kafka: advertised.listeners)
    /// [env: STROM_ADVERTISED_LISTENER] [default: the listen address]
    #[arg(long)]
    advertised_listener: Option<String>,
    /// TOML file of Kafka broker configs, e.g. `num.partitions = 3`
    #[arg(long, env = "STROM_CONFIG")]
    config: Option<PathBuf>,
    /// Serve Prometheus text metrics on host:port (GET /metrics); port 0 picks a free one
    /// (strom's `metrics.listener`) [env: STROM_METRICS] [default: off]
    #[arg(long, value_name = "HOST:PORT")]
    metrics: Option<String>,
}

/// Every broker config name `strom serve` understands (Kafka's, plus strom's
/// `metrics.listener`).
const KNOWN: &[&str] = &[
    "advertised.listeners",
    "auto.create.topics.enable",
    "connections.max.idle.ms",
    "group.initial.rebalance.delay.ms",
    "group.max.session.timeout.ms",
    "group.max.size",
    "group.min.session.timeout.ms",
    "listeners",
    "log.dir",
    "log.cleaner.dedupe.buffer.size",
    "log.dirs",
    "log.retention.check.interval.ms",
    "max.connections",
    "metrics.listener",
    "num.partitions",
    "offset.metadata.max.bytes",
    "offsets.retention.minutes",
    "queued.max.request.bytes",
    "socket.request.max.bytes",
];

/// A value and where it came from, for error messages.
type Layers = BTreeMap<String, (String, String)>;

/// The resolved settings.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    data_dir: PathBuf,
    listen: String,
    advertised: Option<(String, u16)>,
    num_partitions: i32,
    auto_create: bool,
    max_request_bytes: usize,
    queued_max_request_bytes: usize,
    max_connections: usize,
    idle: Duration,
    retention_check: Duration,
    /// `log.cleaner.dedupe.buffer.size`: compaction's key map budget.
    dedupe_buffer: usize,
    group: GroupConfig,
    /// Where to serve Prometheus metrics, if anywhere.
    metrics: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let file = match &args.config {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?,
        )),
        None => None,
    };
    let s = resolve(&args, file, std::env::vars())?;
    // Before anything opens a file: every partition and every connection holds a descriptor.
    let raised = strom::fd_budget::raise_nofile_limit();
    let broker = Broker::open_with(
        &s.data_dir,
        BrokerConfig {
            default_partitions: s.num_partitions,
            housekeeping_interval: Some(s.retention_check),
            cleaner_dedupe_buffer_size: s.dedupe_buffer,
            ..BrokerConfig::default()
        },
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strom")
        .build()
        .map_err(|e| Error::io(&s.data_dir, e))?;
    warn_if_descriptors_are_short(raised, s.max_connections);
    runtime.block_on(serve(s, broker))?;
    Ok(ExitCode::SUCCESS)
}

/// Warns when `max.connections` clients could not all connect next to the partitions open
/// now: connections beyond the limit are refused by accept(), and topic creation by its
/// descriptor budget, but an operator should hear about it at start rather than at peak.
fn warn_if_descriptors_are_short(raised: strom::fd_budget::Raised, max_connections: usize) {
    use strom::fd_budget;
    let (Some(limit), Some(open)) = (raised.now, fd_budget::open_descriptors()) else {
        return;
    };
    let wanted = open + max_connections as u64 + fd_budget::reserve(limit);
    if wanted > limit {
        tracing::warn!(
            limit,
            hard = ?raised.hard,
            open,
            max_connections,
            "the open file limit leaves room for fewer than max.connections clients; raise it \
             (ulimit -n, LimitNOFILE=) or lower max.connections"
        );
    }
}

async fn serve(s: Settings, broker: Broker) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&s.listen)
        .await
        .map_err(|e| invalid("listeners", format!("cannot listen on {}: {e}", s.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io(&s.data_dir, e))?;
    if s.advertised.is_none() && local.ip().is_unspecified() {
        // Kafka refuses this too: clients would be told to connect to 0.0.0.0.
        return Err(invalid(
            "advertised.listeners",
            format!("listening on {local} needs an advertised listener (--advertised-listener host:port) that clients can reach"),
        ));
    }
    let metrics = match &s.metrics {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            invalid(
                "metrics.listener",
                format!("cannot listen on {addr} for metrics: {e}"),
            )
        })?),
        None => None,
    };
    let advertised = match &s.advertised {
        Some((host, port)) => format!(", advertised as {host}:{port}"),
        None => String::new(),
    };
    // Before the line below: a script may send SIGTERM as soon as it reads it.
    let stop = shutdown_signal();
    // One line, flushed: scripts and tests wait for it to learn the port. A closed stdout
    // must not stop the server, so write errors are ignored (println! would panic).
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "strom listening on {local} (data in {}{advertised})",
        s.data_dir.display()
    );
    if let Some(addr) = metrics.as_ref().and_then(|m| m.local_addr().ok()) {
        // A second line, after the one scripts wait for: the metrics port when it was 0.
        let _ = writeln!(out, "strom metrics on http://{addr}/metrics");
    }
    let _ = out.flush();
    drop(out);
    let config = ServerConfig {
        max_request_bytes: s.max_request_bytes,
        queued_max_request_bytes: s.queued_max_request_bytes,
        max_connections: s.max_connections,
        idle_timeout: s.idle,
        auto_create_topics: s.auto_create,
        advertised: s.advertised,
        group: s.group,
        ..ServerConfig::default()
    };
    server::run_with_metrics(listener, metrics, broker, config, stop).await
}

fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// Layers defaults, the file, the environment and the flags, then types every value.
fn resolve(
    args: &Args,
    file: Option<(String, String)>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings> {
    let mut layers = Layers::new();
    if let Some((path, text)) = file {
        let table: toml::Table = text
            .parse()
            .map_err(|e| invalid("--config", format!("{path} is not valid TOML: {e}")))?;
        let mut flat = Vec::new();
        flatten("", &table, &mut flat, &path)?;
        for (name, value) in flat {
            if !KNOWN.contains(&name.as_str()) {
                return Err(invalid(
                    &name,
                    format!(
                        "unknown broker config in {path} (known: {})",
                        KNOWN.join(", ")
                    ),
                ));
            }
            layers.insert(canonical(&name), (value, path.clone()));
        }
    }
    let env: BTreeMap<String, String> = env.into_iter().collect();
    for name in KNOWN {
        let var = format!("STROM_{}", name.to_uppercase().replace('.', "_"));
        if let Some(v) = env.get(&var) {
            layers.insert(canonical(name), (v.clone(), format!("${var}")));
        }
    }
    let shorthand = [
        (
            "STROM_DATA_DIR",
            "log.dirs",
            &args.data_dir.as_ref().map(|d| d.display().to_string()),
            "--data-dir",
        ),
        ("STROM_LISTEN", "listeners", &args.listen, "--listen"),
        (
            "STROM_METRICS",
            "metrics.listener",
            &args.metrics,
            "--metrics",
        ),
        (
            "STROM_ADVERTISED_LISTENER",
            "advertised.listeners",
            &args.advertised_listener,
            "--advertised-listener",
        ),
    ];
    for (var, name, _, _) in &shorthand {
        if let Some(v) = env.get(*var) {
            layers.insert(name.to_string(), (v.clone(), format!("${var}")));
        }
    }
    for (_, name, flag, flag_name) in &shorthand {
        if let Some(v) = flag {
            layers.insert(name.to_string(), (v.clone(), flag_name.to_string()));
        }
    }
    typed(&layers)
}

/// `log.dir` is Kafka's single-directory spelling of `log.dirs`.
fn canonical(name: &str) -> String {
    if name == "log.dir" {
        "log.dirs".into()
    } else {
        name.into()
    }
}

/// Turns `num.partitions = 3` (which TOML reads as nested tables) back into dotted names.
fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut Vec<(String, String)>,
    path: &str,
) -> Result<()> {
    for (k, v) in table {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let text = match v {
            toml::Value::Table(t) => {
                flatten(&name, t, out, path)?;
                continue;
            }
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    toml::Value::String(s) => Ok(s.clone()),
                    other => Err(invalid(
                        &name,
                        format!("{path}: list items must be strings, not {other}"),
                    )),
                })
                .collect::<Result<Vec<_>>>()?
                .join(","),
            other => {
                return Err(invalid(
                    &name,
                    format!("{path}: expected a string, integer or boolean, not {other}"),
                ))
            }
        };
        out.push((name, text));
    }
    Ok(())
}

fn typed(layers: &Layers) -> Result<Settings> {
    let get = |name: &str| layers.get(name);
    let int = |name: &str, default: i64, min: i64| -> Result<i64> {
        match get(name) {
            None => Ok(default),
            Some((v, from)) => match v.trim().parse::<i64>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(invalid(
                    name,
                    format!("{v:?} (from {from}) must be an integer ≥ {min}"),
                )),
            },
        }
    };
    let num_partitions = int("num.partitions", 1, 1)?;
    let max_request = int("socket.request.max.bytes", 104_857_600, 1)?.min(i64::from(i32::MAX));
    // Kafka's -1 (any value ≤ 0) means unbounded; strom's default is twice the largest
    // request (see `ServerConfig::queued_max_request_bytes`). Like Kafka, a bound below
    // socket.request.max.bytes is refused.
    let queued = match int("queued.max.request.bytes", 2 * max_request, -1)? {
        n if n <= 0 => usize::MAX,
        n if n < max_request => {
            return Err(invalid(
                "queued.max.request.bytes",
                format!("{n} must be -1 or at least socket.request.max.bytes ({max_request})"),
            ))
        }
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let max_connections = int("max.connections", 10_000, 1)?;
    let idle = int("connections.max.idle.ms", 600_000, 1)?;
    let retention_check = int("log.retention.check.interval.ms", 300_000, 1)?;
    let dedupe_buffer = int(
        "log.cleaner.dedupe.buffer.size",
        strom::log::cleaner::DEFAULT_DEDUPE_BUFFER_BYTES as i64,
        1 << 20,
    )?;
    let defaults = GroupConfig::default();
    let group = GroupConfig {
        initial_rebalance_delay_ms: int(
            "group.initial.rebalance.delay.ms",
            defaults.initial_rebalance_delay_ms,
            0,
        )?,
        min_session_timeout_ms: int(
            "group.min.session.timeout.ms",
            defaults.min_session_timeout_ms as i64,
            1,
        )?
        .min(i32::MAX as i64) as i32,
        max_session_timeout_ms: int(
            "group.max.session.timeout.ms",
            defaults.max_session_timeout_ms as i64,
            1,
        )?
        .min(i32::MAX as i64) as i32,
        offsets_retention_ms: int(
            "offsets.retention.minutes",
            defaults.offsets_retention_ms / 60_000,
            1,
        )?
        .saturating_mul(60_000),
        offset_metadata_max_bytes: int(
            "offset.metadata.max.bytes",
            defaults.offset_metadata_max_bytes as i64,
            0,
        )? as usize,
        max_size: int("group.max.size", defaults.max_size as i64, 1)? as usize,
        max_pending_bytes: defaults.max_pending_bytes,
    };
    let auto_create = match get("auto.create.topics.enable") {
        None => true,
        Some((v, from)) => v.trim().parse::<bool>().map_err(|_| {
            invalid(
                "auto.create.topics.enable",
                format!("{v:?} (from {from}) must be true or false"),
            )
        })?,
    };
    let data_dir = match get("log.dirs") {
        None => PathBuf::from("./strom-data"),
        Some((v, from)) if v.contains(',') => {
            return Err(invalid(
                "log.dirs",
                format!("{v:?} (from {from}): strom keeps one data directory"),
            ))
        }
        Some((v, _)) => PathBuf::from(v.trim()),
    };
    let listen = match get("listeners") {
        None => "127.0.0.1:9092".to_string(),
        Some((v, from)) => {
            let (host, port) = listener("listeners", v, from)?;
            // Kafka's `PLAINTEXT://:9092` means every interface.
            let host = if host.is_empty() {
                "0.0.0.0"
            } else {
                host.as_str()
            };
            if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        }
    };
    let advertised = match get("advertised.listeners") {
        None => None,
        Some((v, from)) => {
            let (host, port) = listener("advertised.listeners", v, from)?;
            if host.is_empty() || port == 0 {
                return Err(invalid(
                    "advertised.listeners",
                    format!("{v:?} (from {from}) needs a host and a port"),
                ));
            }
            Some((host, port))
        }
    };
    let metrics = match get("metrics.listener") {
        None => None,
        Some((v, _)) if v.trim().is_empty() => None,
        Some((v, from)) => {
            let (host, port) = listener("metrics.listener", v, from)?;
            let host = if host.is_empty() {
                "127.0.0.1"
            } else {
                host.as_str()
            };
            Some(if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            })
        }
    };
    Ok(Settings {
        metrics,
        data_dir,
        listen,
        advertised,
        num_partitions: num_partitions.min(i64::from(i32::MAX)) as i32,
        auto_create,
        max_request_bytes: max_request as usize,
        queued_max_request_bytes: queued,
        max_connections: max_connections.min(1 << 20) as usize,
        idle: Duration::from_millis(idle as u64),
        retention_check: Duration::from_millis(retention_check as u64),
        dedupe_buffer: usize::try_from(dedupe_buffer).unwrap_or(usize::MAX),
        group,
    })
}

/// Host and port of a listener: `host:port`, `[v6]:port` or `PLAINTEXT://host:port`.
fn listener(name: &str, value: &str, from: &str) -> Result<(String, u16)> {
    let bad = |why: &str| invalid(name, format!("{value:?} (from {from}): {why}"));
    let v = value.trim();
    if v.contains(',') {
        return Err(bad("strom has one listener"));
    }
    let v = match v.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("PLAINTEXT") => rest,
        Some(_) => return Err(bad("only PLAINTEXT listeners are supported")),
        None => v,
    };
    let (host, port) = v
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port must be 0-65535"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(flags: &[&str]) -> Args {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: Args,
        }
        let mut argv = vec!["t"];
        argv.extend_from_slice(flags);
        T::parse_from(argv).a
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let s = resolve(&args(&[]), None, env(&[])).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("./strom-data"));
        assert_eq!(s.listen, "127.0.0.1:9092");
        assert!(s.auto_create && s.advertised.is_none());
        assert_eq!(s.num_partitions, 1);
        assert_eq!(s.max_request_bytes, 104_857_600);
        assert_eq!(s.queued_max_request_bytes, 2 * 104_857_600);
        assert_eq!(s.idle, Duration::from_millis(600_000));
    }

    #[test]
    fn queued_max_request_bytes_follows_kafka() {
        let with = |toml: &str| resolve(&args(&[]), Some(("f.toml".into(), toml.into())), env(&[]));
        let s = with("socket.request.max.bytes = 1000").unwrap();
        assert_eq!(s.queued_max_request_bytes, 2000);
        let s = with(
            "queued.max.request.bytes = 5000
socket.request.max.bytes = 1000",
        )
        .unwrap();
        assert_eq!(s.queued_max_request_bytes, 5000);
        let s = with("queued.max.request.bytes = -1").unwrap();
        assert_eq!(s.queued_max_request_bytes, usize::MAX);
        let e = with(
            "queued.max.request.bytes = 999
socket.request.max.bytes = 1000",
        )
        .unwrap_err();
        assert!(e.to_string().contains("queued.max.request.bytes"), "{e}");
        let e = resolve(
            &args(&[]),
            None,
            env(&[("STROM_QUEUED_MAX_REQUEST_BYTES", "-2")]),
        );
        assert!(e.is_err());
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let file = Some((
            "strom.toml".to_string(),
            "num.partitions = 3\nauto.create.topics.enable = false\nlisteners = \"PLAINTEXT://127.0.0.1:1111\"\n\"log.dirs\" = \"/file\"\n[socket.request]\nmax.bytes = 1000\n".to_string(),
        ));
        let s = resolve(&args(&[]), file.clone(), env(&[])).unwrap();
        assert_eq!(
            (s.num_partitions, s.auto_create, s.max_request_bytes),
            (3, false, 1000)
        );
        assert_eq!(
            (s.listen.as_str(), s.data_dir.to_str()),
            ("127.0.0.1:1111", Some("/file"))
        );

        let e = env(&[
            ("STROM_NUM_PARTITIONS", "5"),
            ("STROM_LISTEN", "127.0.0.1:2222"),
            ("STROM_DATA_DIR", "/env"),
        ]);
        let s = resolve(&args(&[]), file.clone(), e.clone()).unwrap();
        assert_eq!(
            (s.num_partitions, s.listen.as_str(), s.data_dir.to_str()),
            (5, "127.0.0.1:2222", Some("/env"))
        );

        let s = resolve(
            &args(&[
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                "/flag",
                "--advertised-listener",
                "kafka.local:9092",
            ]),
            file,
            e,
        )
        .unwrap();
        assert_eq!(
            (s.listen.as_str(), s.data_dir.to_str()),
            ("127.0.0.1:0", Some("/flag"))
        );
        assert_eq!(s.advertised, Some(("kafka.local".to_string(), 9092)));
    }

    #[test]
    fn metrics_listener_from_flag_env_or_file() {
        let s = resolve(&args(&[]), None, env(&[])).unwrap();
        assert_eq!(s.metrics, None);
        let file = Some((
            "f.toml".to_string(),
            "metrics.listener = \"0.0.0.0:9644\"".to_string(),
        ));
        let s = resolve(&args(&[]), file.clone(), env(&[])).unwrap();
        assert_eq!(s.metrics.as_deref(), Some("0.0.0.0:9644"));
        let s = resolve(&args(&[]), file.clone(), env(&[("STROM_METRICS", ":1")])).unwrap();
        assert_eq!(s.metrics.as_deref(), Some("127.0.0.1:1"));
        let s = resolve(&args(&["--metrics", "127.0.0.1:0"]), file, env(&[])).unwrap();
        assert_eq!(s.metrics.as_deref(), Some("127.0.0.1:0"));
        let e = resolve(&args(&["--metrics", "nope"]), None, env(&[])).unwrap_err();
        assert!(e.to_string().contains("metrics.listener"), "{e}");
    }

    #[test]
    fn refusals_name_the_setting() {
        let bad = |toml: &str| {
            resolve(&args(&[]), Some(("f.toml".into(), toml.into())), env(&[]))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("log.retention.hour = 1").contains("log.retention.hour"));
        assert!(bad("num.partitions = 0").contains("num.partitions"));
        assert!(bad("auto.create.topics.enable = \"yes\"").contains("auto.create.topics.enable"));
        assert!(bad("listeners = \"SSL://h:1\"").contains("PLAINTEXT"));
        assert!(bad("num.partitions = 1.5").contains("num.partitions"));
        let e = resolve(&args(&[]), None, env(&[("STROM_MAX_CONNECTIONS", "x")])).unwrap_err();
        assert!(e.to_string().contains("STROM_MAX_CONNECTIONS"));
    }
}
