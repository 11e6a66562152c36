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
use strom::embedded::settings::{self, canonical, Layers};
use strom::{EmbeddedBroker, Error, Result, Settings};

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

/// What `strom serve` runs: the data directory and listener (with the CLI's defaults) and
/// the rest of the broker's settings.
#[derive(Debug, Clone)]
struct Resolved {
    data_dir: PathBuf,
    listen: String,
    settings: Settings,
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strom")
        .build()
        .map_err(|e| Error::io(&s.data_dir, e))?;
    warn_if_descriptors_are_short(raised, s.settings.server.max_connections);
    runtime.block_on(serve(s))?;
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

async fn serve(s: Resolved) -> Result<()> {
    let mut settings = s.settings;
    // The CLI opens its listener itself, after the broker, so it can print the bound port.
    settings.listener = None;
    let metrics = settings.metrics_listener.take();
    let advertised = match &settings.server.advertised {
        Some((host, port)) => format!(", advertised as {host}:{port}"),
        None => String::new(),
    };
    let broker = EmbeddedBroker::open(&s.data_dir, settings).await?;
    let served = async {
        let local = broker.serve(&s.listen).await?;
        let metrics = match &metrics {
            Some(addr) => Some(broker.serve_metrics(addr).await?),
            None => None,
        };
        Ok::<_, Error>((local, metrics))
    };
    let (local, metrics) = match served.await {
        Ok(bound) => bound,
        Err(e) => {
            let _ = broker.close().await;
            return Err(e);
        }
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
    if let Some(addr) = metrics {
        // A second line, after the one scripts wait for: the metrics port when it was 0.
        let _ = writeln!(out, "strom metrics on http://{addr}/metrics");
    }
    let _ = out.flush();
    drop(out);
    stop.await;
    tracing::info!("shutting down: no new connections, draining requests");
    broker.close().await
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
) -> Result<Resolved> {
    let mut layers = Layers::new();
    if let Some((path, text)) = file {
        let table: toml::Table = text
            .parse()
            .map_err(|e| invalid("--config", format!("{path} is not valid TOML: {e}")))?;
        let mut flat = Vec::new();
        flatten("", &table, &mut flat, &path)?;
        for (name, value) in flat {
            settings::check_known(&name, &path)?;
            layers.insert(canonical(&name), (value, path.clone()));
        }
    }
    let env: BTreeMap<String, String> = env.into_iter().collect();
    for name in settings::NAMES {
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
    let settings = Settings::from_layers(&layers)?;
    Ok(Resolved {
        data_dir: settings
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./strom-data")),
        listen: settings
            .listener
            .clone()
            .unwrap_or_else(|| "127.0.0.1:9092".to_string()),
        settings,
    })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

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
        assert!(s.settings.server.auto_create_topics && s.settings.server.advertised.is_none());
        assert_eq!(s.settings.broker.default_partitions, 1);
        assert_eq!(s.settings.server.max_request_bytes, 104_857_600);
        assert_eq!(s.settings.server.queued_max_request_bytes, 2 * 104_857_600);
        assert_eq!(
            s.settings.server.idle_timeout,
            Duration::from_millis(600_000)
        );
    }

    #[test]
    fn queued_max_request_bytes_follows_kafka() {
        let with = |toml: &str| resolve(&args(&[]), Some(("f.toml".into(), toml.into())), env(&[]));
        let s = with("socket.request.max.bytes = 1000").unwrap();
        assert_eq!(s.settings.server.queued_max_request_bytes, 2000);
        let s = with(
            "queued.max.request.bytes = 5000
socket.request.max.bytes = 1000",
        )
        .unwrap();
        assert_eq!(s.settings.server.queued_max_request_bytes, 5000);
        let s = with("queued.max.request.bytes = -1").unwrap();
        assert_eq!(s.settings.server.queued_max_request_bytes, usize::MAX);
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
            (
                s.settings.broker.default_partitions,
                s.settings.server.auto_create_topics,
                s.settings.server.max_request_bytes
            ),
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
            (
                s.settings.broker.default_partitions,
                s.listen.as_str(),
                s.data_dir.to_str()
            ),
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
        assert_eq!(
            s.settings.server.advertised,
            Some(("kafka.local".to_string(), 9092))
        );
    }

    #[test]
    fn metrics_listener_from_flag_env_or_file() {
        let s = resolve(&args(&[]), None, env(&[])).unwrap();
        assert_eq!(s.settings.metrics_listener, None);
        let file = Some((
            "f.toml".to_string(),
            "metrics.listener = \"0.0.0.0:9644\"".to_string(),
        ));
        let s = resolve(&args(&[]), file.clone(), env(&[])).unwrap();
        assert_eq!(s.settings.metrics_listener.as_deref(), Some("0.0.0.0:9644"));
        let s = resolve(&args(&[]), file.clone(), env(&[("STROM_METRICS", ":1")])).unwrap();
        assert_eq!(s.settings.metrics_listener.as_deref(), Some("127.0.0.1:1"));
        let s = resolve(&args(&["--metrics", "127.0.0.1:0"]), file, env(&[])).unwrap();
        assert_eq!(s.settings.metrics_listener.as_deref(), Some("127.0.0.1:0"));
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
