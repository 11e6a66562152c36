//! [`Settings`]: the one parser of Kafka's broker setting names. `strom serve` (flags,
//! environment and TOML file layered into names), the Rust API and every binding hand it the
//! same `name = value` strings, so every name works everywhere and is refused the same way.

use crate::broker::BrokerConfig;
use crate::error::{Error, Result};
use crate::group::GroupConfig;
use crate::server::ServerConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Every broker setting strom understands: Kafka's names, plus strom's `metrics.listener`.
pub const NAMES: &[&str] = &[
    "advertised.listeners",
    "auto.create.topics.enable",
    "connections.max.idle.ms",
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.session.timeout.ms",
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
    "offsets.retention.check.interval.ms",
    "offsets.retention.minutes",
    "queued.max.request.bytes",
    "socket.request.max.bytes",
];

/// Setting values by name, each with where it came from (`--listen`, `$STROM_LISTEN`, a
/// file's path), so a refusal can say which layer to fix.
pub type Layers = BTreeMap<String, (String, String)>;

/// A broker's settings, typed. Defaults are Kafka's unless a field says otherwise.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `log.dirs` (or `log.dir`): the data directory, when the settings name one.
    pub data_dir: Option<PathBuf>,
    /// `listeners`: the Kafka listener to serve at open, as `host:port`.
    pub listener: Option<String>,
    /// `metrics.listener` (strom's): where to serve Prometheus text metrics.
    pub metrics_listener: Option<String>,
    /// Storage and topic settings (`num.partitions`, `log.*`).
    pub broker: BrokerConfig,
    /// Connection settings, `advertised.listeners`, `auto.create.topics.enable` and the
    /// group coordinator's `group.*` / `offsets.*`.
    pub server: ServerConfig,
}

impl Settings {
    /// Settings from `name = value` pairs (later pairs win). An unknown name is refused with
    /// the list of known ones, so a typo never silently does nothing.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Settings>
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut layers = Layers::new();
        for (name, value) in pairs {
            let name = name.as_ref();
            check_known(name, "the settings")?;
            layers.insert(
                canonical(name),
                (value.as_ref().to_string(), "the settings".to_string()),
            );
        }
        Self::from_layers(&layers)
    }

    /// Types every value of already-layered settings (names must be known, see
    /// [`check_known`]).
    pub fn from_layers(layers: &Layers) -> Result<Settings> {
        typed(layers)
    }
}

/// Refuses a name strom does not know, saying where it was found.
pub fn check_known(name: &str, place: &str) -> Result<()> {
    if NAMES.contains(&name) {
        return Ok(());
    }
    Err(invalid(
        name,
        format!(
            "unknown broker config in {place} (known: {})",
            NAMES.join(", ")
        ),
    ))
}

/// `log.dir` is Kafka's single-directory spelling of `log.dirs`.
pub fn canonical(name: &str) -> String {
    if name == "log.dir" {
        "log.dirs".into()
    } else {
        name.into()
    }
}

pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        name: name.to_string(),
        reason: reason.into(),
    }
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
    let to_i32 = |n: i64| n.min(i64::from(i32::MAX)) as i32;
    let to_usize = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
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
        n => to_usize(n),
    };
    let max_connections = int("max.connections", 10_000, 1)?;
    let idle = int("connections.max.idle.ms", 600_000, 1)?;
    let retention_check = int("log.retention.check.interval.ms", 300_000, 1)?;
    let dedupe_buffer = int(
        "log.cleaner.dedupe.buffer.size",
        crate::log::cleaner::DEFAULT_DEDUPE_BUFFER_BYTES as i64,
        1 << 20,
    )?;
    let defaults = GroupConfig::default();
    let group = GroupConfig {
        initial_rebalance_delay_ms: int(
            "group.initial.rebalance.delay.ms",
            defaults.initial_rebalance_delay_ms,
            0,
        )?,
        min_session_timeout_ms: to_i32(int(
            "group.min.session.timeout.ms",
            i64::from(defaults.min_session_timeout_ms),
            1,
        )?),
        max_session_timeout_ms: to_i32(int(
            "group.max.session.timeout.ms",
            i64::from(defaults.max_session_timeout_ms),
            1,
        )?),
        offsets_retention_ms: int(
            "offsets.retention.minutes",
            defaults.offsets_retention_ms / 60_000,
            1,
        )?
        .saturating_mul(60_000),
        offsets_retention_check_interval_ms: int(
            "offsets.retention.check.interval.ms",
            defaults.offsets_retention_check_interval_ms,
            1,
        )?,
        offset_metadata_max_bytes: to_usize(int(
            "offset.metadata.max.bytes",
            defaults.offset_metadata_max_bytes as i64,
            0,
        )?),
        max_size: to_usize(int("group.max.size", defaults.max_size as i64, 1)?),
        max_pending_bytes: defaults.max_pending_bytes,
        consumer_session_timeout_ms: int(
            "group.consumer.session.timeout.ms",
            defaults.consumer_session_timeout_ms,
            1,
        )?,
        consumer_heartbeat_interval_ms: to_i32(int(
            "group.consumer.heartbeat.interval.ms",
            i64::from(defaults.consumer_heartbeat_interval_ms),
            1,
        )?),
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
        None => None,
        Some((v, from)) if v.contains(',') => {
            return Err(invalid(
                "log.dirs",
                format!("{v:?} (from {from}): strom keeps one data directory"),
            ))
        }
        Some((v, _)) => Some(PathBuf::from(v.trim())),
    };
    let listener = match get("listeners") {
        None => None,
        // Kafka's `PLAINTEXT://:9092` means every interface.
        Some((v, from)) => Some(socket_address("listeners", v, from, "0.0.0.0")?),
    };
    let advertised = match get("advertised.listeners") {
        None => None,
        Some((v, from)) => {
            let (host, port) = listener_parts("advertised.listeners", v, from)?;
            if host.is_empty() || port == 0 {
                return Err(invalid(
                    "advertised.listeners",
                    format!("{v:?} (from {from}) needs a host and a port"),
                ));
            }
            Some((host, port))
        }
    };
    let metrics_listener = match get("metrics.listener") {
        None => None,
        Some((v, _)) if v.trim().is_empty() => None,
        Some((v, from)) => Some(socket_address("metrics.listener", v, from, "127.0.0.1")?),
    };
    Ok(Settings {
        data_dir,
        listener,
        metrics_listener,
        broker: BrokerConfig {
            default_partitions: to_i32(num_partitions),
            housekeeping_interval: Some(Duration::from_millis(retention_check as u64)),
            cleaner_dedupe_buffer_size: to_usize(dedupe_buffer),
            ..BrokerConfig::default()
        },
        server: ServerConfig {
            max_request_bytes: max_request as usize,
            queued_max_request_bytes: queued,
            max_connections: max_connections.min(1 << 20) as usize,
            idle_timeout: Duration::from_millis(idle as u64),
            auto_create_topics: auto_create,
            advertised,
            group,
            ..ServerConfig::default()
        },
    })
}

/// A listener setting as an address to bind, `host:port` (`[v6]:port`); an empty host is
/// `empty_host`.
fn socket_address(name: &str, value: &str, from: &str, empty_host: &str) -> Result<String> {
    let (host, port) = listener_parts(name, value, from)?;
    let host = if host.is_empty() {
        empty_host
    } else {
        host.as_str()
    };
    Ok(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// Host and port of a listener: `host:port`, `[v6]:port` or `PLAINTEXT://host:port`.
fn listener_parts(name: &str, value: &str, from: &str) -> Result<(String, u16)> {
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

    #[test]
    fn defaults_are_kafkas() {
        let s = Settings::from_pairs(Vec::<(&str, &str)>::new()).unwrap();
        assert!(s.data_dir.is_none() && s.listener.is_none() && s.metrics_listener.is_none());
        assert_eq!(s.broker.default_partitions, 1);
        assert!(s.server.auto_create_topics && s.server.advertised.is_none());
        assert_eq!(s.server.max_request_bytes, 104_857_600);
        assert_eq!(s.server.queued_max_request_bytes, 2 * 104_857_600);
        assert_eq!(s.server.idle_timeout, Duration::from_millis(600_000));
        assert_eq!(s.server.group.initial_rebalance_delay_ms, 3000);
    }

    #[test]
    fn every_name_is_typed() {
        let s = Settings::from_pairs([
            ("num.partitions", "3"),
            ("auto.create.topics.enable", "false"),
            ("group.initial.rebalance.delay.ms", "0"),
            ("group.min.session.timeout.ms", "10"),
            ("group.max.session.timeout.ms", "20"),
            ("group.max.size", "7"),
            ("offsets.retention.minutes", "2"),
            ("offset.metadata.max.bytes", "99"),
            ("log.retention.check.interval.ms", "1234"),
            ("log.cleaner.dedupe.buffer.size", "2097152"),
            ("connections.max.idle.ms", "5000"),
            ("max.connections", "12"),
            ("socket.request.max.bytes", "1000"),
            ("queued.max.request.bytes", "5000"),
            ("log.dir", "/data"),
            ("listeners", "PLAINTEXT://:9092"),
            ("advertised.listeners", "PLAINTEXT://kafka.local:9092"),
            ("metrics.listener", ":9644"),
        ])
        .unwrap();
        assert_eq!(s.broker.default_partitions, 3);
        assert_eq!(
            s.broker.housekeeping_interval,
            Some(Duration::from_millis(1234))
        );
        assert_eq!(s.broker.cleaner_dedupe_buffer_size, 2_097_152);
        let g = &s.server.group;
        assert_eq!(
            (
                g.initial_rebalance_delay_ms,
                g.min_session_timeout_ms,
                g.max_session_timeout_ms
            ),
            (0, 10, 20)
        );
        assert_eq!((g.max_size, g.offsets_retention_ms), (7, 120_000));
        assert_eq!(g.offset_metadata_max_bytes, 99);
        assert!(!s.server.auto_create_topics);
        assert_eq!(s.server.idle_timeout, Duration::from_millis(5000));
        assert_eq!(
            (
                s.server.max_connections,
                s.server.max_request_bytes,
                s.server.queued_max_request_bytes
            ),
            (12, 1000, 5000)
        );
        assert_eq!(s.data_dir, Some(PathBuf::from("/data")));
        assert_eq!(s.listener.as_deref(), Some("0.0.0.0:9092"));
        assert_eq!(s.server.advertised, Some(("kafka.local".to_string(), 9092)));
        assert_eq!(s.metrics_listener.as_deref(), Some("127.0.0.1:9644"));
    }

    #[test]
    fn refusals_name_the_setting() {
        let bad = |name: &str, value: &str| match Settings::from_pairs([(name, value)]) {
            Err(Error::InvalidConfig { name: n, reason }) => format!("{n}: {reason}"),
            other => panic!("{name}={value} was accepted: {other:?}"),
        };
        assert!(bad("log.retention.hour", "1").starts_with("log.retention.hour: unknown"));
        assert!(bad("num.partitions", "0").starts_with("num.partitions"));
        assert!(bad("num.partitions", "1.5").starts_with("num.partitions"));
        assert!(bad("auto.create.topics.enable", "yes").starts_with("auto.create"));
        assert!(bad("listeners", "SSL://h:1").contains("PLAINTEXT"));
        assert!(bad("listeners", "a:1,b:2").contains("one listener"));
        assert!(bad("advertised.listeners", ":9092").contains("needs a host"));
        assert!(bad("log.dirs", "/a,/b").contains("one data directory"));
        assert!(bad("queued.max.request.bytes", "-2").starts_with("queued.max.request.bytes"));
        let e = Settings::from_pairs([
            ("socket.request.max.bytes", "1000"),
            ("queued.max.request.bytes", "999"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("queued.max.request.bytes"), "{e}");
    }

    #[test]
    fn queued_bytes_unbounded_with_kafkas_minus_one() {
        let s = Settings::from_pairs([("queued.max.request.bytes", "-1")]).unwrap();
        assert_eq!(s.server.queued_max_request_bytes, usize::MAX);
        let s = Settings::from_pairs([("socket.request.max.bytes", "1000")]).unwrap();
        assert_eq!(s.server.queued_max_request_bytes, 2000);
    }
}
