//! Topic configuration under Kafka's names and defaults, and the typed [`LogConfig`] a
//! partition log runs on.
//!
//! strom accepts exactly the 34 topic configs Kafka 4.1 accepts (`LogConfig.configNames()`,
//! `internal.segment.bytes` included), parses and validates their values as Kafka's `ConfigDef`
//! does, word for word in its error messages, and refuses any other name with INVALID_CONFIG
//! (`Unknown topic config name: X`). Not every accepted config changes anything on a single
//! node; each entry's doc says which ones do not, so DescribeConfigs tells the truth:
//!
//! | honoured | accepted, no effect on one node |
//! |---|---|
//! | cleanup.policy, compression.type and compression.*.level (recompressed on append), delete.retention.ms, flush.*, index.interval.bytes, max.message.bytes, message.timestamp.*, min.cleanable.dirty.ratio, min/max.compaction.lag.ms, min.insync.replicas (acks=all refused above 1), retention.*, segment.bytes, internal.segment.bytes, segment.index.bytes, segment.ms, segment.jitter.ms | preallocate, file.delete.delay.ms, unclean.leader.election.enable, *.replication.throttled.replicas, local.retention.*, remote.log.* |
//!
//! `compression.type` (with its `compression.*.level`) and `min.insync.replicas` are parsed into
//! [`LogConfig::compression`] and [`LogConfig::min_insync_replicas`] for the append and produce
//! paths.
//! `remote.storage.enable=true` is refused as Kafka refuses it on a broker without tiered
//! storage.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Per-topic overrides, Kafka name → value text, exactly as a user gave them.
pub type TopicConfigs = BTreeMap<String, String>;

/// Kafka's `ConfigDef.Type` as DescribeConfigs numbers it (`ConfigEntry.ConfigType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// A value's validator, as Kafka's `ConfigDef.Validator`s word their refusals.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    /// No validator beyond the type.
    Any,
    /// `Range.atLeast`.
    AtLeast(i64),
    /// `Range.between`, inclusive.
    Between(i64, i64),
    /// `Range.between(0, 1)` on a DOUBLE.
    Ratio,
    /// `GzipCompression.LevelValidator`: 1..=9 or -1.
    GzipLevel,
    /// `ValidString.in` for a STRING, `ValidList.in` for each item of a LIST (case-sensitive).
    OneOf(&'static [&'static str]),
    /// `ThrottledReplicaListValidator`: `*`, or `partition:broker` pairs.
    Replicas,
    /// BOOLEAN that must stay false: strom has no tiered storage.
    NoRemoteStorage,
}

struct Spec {
    name: &'static str,
    ty: ConfigType,
    /// `None` only for `internal.segment.bytes`, which Kafka defines with a null default.
    default: Option<&'static str>,
    check: Check,
    broker_synonym: Option<&'static str>,
    doc: &'static str,
}

const fn spec(
    name: &'static str,
    ty: ConfigType,
    default: &'static str,
    check: Check,
    broker_synonym: &'static str,
    doc: &'static str,
) -> Spec {
    Spec {
        name,
        ty,
        default: Some(default),
        check,
        broker_synonym: if broker_synonym.is_empty() {
            None
        } else {
            Some(broker_synonym)
        },
        doc,
    }
}

use Check::*;
use ConfigType as T;

const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/// Every topic config of Kafka 4.1, sorted by name: type, default, validator and broker
/// synonym as Kafka 4.1's own `LogConfig` defines them (read from its jars). The docs are
/// strom's, short, and say what strom does with each.
#[rustfmt::skip]
const SPECS: &[Spec] = &[
    spec("cleanup.policy", T::List, "delete", OneOf(&["compact", "delete"]), "log.cleanup.policy", "delete old segments, compact by key, both, or (empty) neither"),
    spec("compression.gzip.level", T::Int, "-1", GzipLevel, "compression.gzip.level", "gzip level when compression.type=gzip"),
    spec("compression.lz4.level", T::Int, "9", Between(1, 17), "compression.lz4.level", "lz4 level when compression.type=lz4"),
    spec("compression.type", T::String, "producer", OneOf(COMPRESSION_TYPES), "compression.type", "the codec batches are stored with; producer keeps the producer's"),
    spec("compression.zstd.level", T::Int, "3", Between(-131072, 22), "compression.zstd.level", "zstd level when compression.type=zstd"),
    spec("delete.retention.ms", T::Long, "86400000", AtLeast(0), "log.cleaner.delete.retention.ms", "how long tombstones survive compaction"),
    spec("file.delete.delay.ms", T::Long, "60000", AtLeast(0), "log.segment.delete.delay.ms", "delay before a deleted segment's files are removed. strom removes them at once. Accepted; no effect on a single strom node."),
    spec("flush.messages", T::Long, "9223372036854775807", AtLeast(1), "log.flush.interval.messages", "fsync after this many appended messages"),
    spec("flush.ms", T::Long, "9223372036854775807", AtLeast(0), "log.flush.interval.ms", "fsync when the oldest unflushed append is this old"),
    spec("follower.replication.throttled.replicas", T::List, "", Replicas, "", "replicas throttled on the follower side. strom has one replica per partition and no replication. Accepted; no effect on a single strom node."),
    spec("index.interval.bytes", T::Int, "4096", AtLeast(0), "log.index.interval.bytes", "log bytes between offset index entries"),
    Spec { name: "internal.segment.bytes", ty: T::Int, default: None, check: Any, broker_synonym: None, doc: "for tests: when set, the segment size, overriding segment.bytes and its 1 MiB minimum" },
    spec("leader.replication.throttled.replicas", T::List, "", Replicas, "", "replicas throttled on the leader side. strom has one replica per partition and no replication. Accepted; no effect on a single strom node."),
    spec("local.retention.bytes", T::Long, "-2", AtLeast(-2), "log.local.retention.bytes", "local retention for tiered storage, which strom does not have. Accepted; no effect on a single strom node."),
    spec("local.retention.ms", T::Long, "-2", AtLeast(-2), "log.local.retention.ms", "local retention for tiered storage, which strom does not have. Accepted; no effect on a single strom node."),
    spec("max.compaction.lag.ms", T::Long, "9223372036854775807", AtLeast(1), "log.cleaner.max.compaction.lag.ms", "a log with dirty records older than this is compacted whatever its dirty ratio"),
    spec("max.message.bytes", T::Int, "1048588", AtLeast(0), "message.max.bytes", "largest record batch accepted"),
    spec("message.timestamp.after.max.ms", T::Long, "3600000", AtLeast(0), "log.message.timestamp.after.max.ms", "refuse CreateTime timestamps further than this in the future"),
    spec("message.timestamp.before.max.ms", T::Long, "9223372036854775807", AtLeast(0), "log.message.timestamp.before.max.ms", "refuse CreateTime timestamps further than this in the past"),
    spec("message.timestamp.type", T::String, "CreateTime", OneOf(&["CreateTime", "LogAppendTime"]), "log.message.timestamp.type", "keep producer timestamps or stamp the append time"),
    spec("min.cleanable.dirty.ratio", T::Double, "0.5", Ratio, "log.cleaner.min.cleanable.ratio", "compact a log only when more than this share of it is dirty (written since the last cleaning)"),
    spec("min.compaction.lag.ms", T::Long, "0", AtLeast(0), "log.cleaner.min.compaction.lag.ms", "records younger than this are not compacted"),
    spec("min.insync.replicas", T::Int, "1", AtLeast(1), "min.insync.replicas", "in-sync replicas an acks=all write needs; a strom partition has one"),
    spec("preallocate", T::Boolean, "false", Any, "log.preallocate", "preallocate segment files on disk. strom's segment files grow as they are written. Accepted; no effect on a single strom node."),
    spec("remote.log.copy.disable", T::Boolean, "false", Any, "", "tiered storage, which strom does not have. Accepted; no effect on a single strom node."),
    spec("remote.log.delete.on.disable", T::Boolean, "false", Any, "", "tiered storage, which strom does not have. Accepted; no effect on a single strom node."),
    spec("remote.storage.enable", T::Boolean, "false", NoRemoteStorage, "", "tiered storage: strom has none, so only false is accepted"),
    spec("retention.bytes", T::Long, "-1", Any, "log.retention.bytes", "delete old segments while the partition is larger (negative: no limit)"),
    spec("retention.ms", T::Long, "604800000", AtLeast(-1), "log.retention.ms", "delete segments whose newest record is older"),
    spec("segment.bytes", T::Int, "1073741824", AtLeast(1_048_576), "log.segment.bytes", "roll the active segment at this size"),
    spec("segment.index.bytes", T::Int, "10485760", AtLeast(4), "log.index.size.max.bytes", "preallocated size of each index"),
    spec("segment.jitter.ms", T::Long, "0", AtLeast(0), "log.roll.jitter.ms", "jitter subtracted from segment.ms, per segment (strom draws it from the segment's base offset)"),
    spec("segment.ms", T::Long, "604800000", AtLeast(1), "log.roll.ms", "roll the active segment after this long"),
    spec("unclean.leader.election.enable", T::Boolean, "false", Any, "unclean.leader.election.enable", "elect an out-of-sync replica as leader. strom's one replica is always the leader. Accepted; no effect on a single strom node."),
];

/// How DescribeConfigs and CreateTopics present a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigInfo {
    pub name: &'static str,
    /// Kafka's default as text; `None` for a config whose default is null.
    pub default: Option<&'static str>,
    pub doc: &'static str,
    /// The broker config Kafka takes the default from, if any.
    pub broker_synonym: Option<&'static str>,
    /// Kafka's `ConfigType` id (BOOLEAN=1, STRING=2, INT=3, LONG=5, DOUBLE=6, LIST=7).
    pub type_id: i8,
    /// Defined with `defineInternal`: reported only when a topic sets it, as Kafka does.
    pub internal: bool,
}

fn info(s: &Spec) -> ConfigInfo {
    ConfigInfo {
        name: s.name,
        default: s.default,
        doc: s.doc,
        broker_synonym: s.broker_synonym,
        type_id: s.ty as i8,
        internal: s.default.is_none(),
    }
}

fn spec_of(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Kafka's default for a known config name (`None` also for a null default).
pub fn default_of(name: &str) -> Option<&'static str> {
    spec_of(name).and_then(|s| s.default)
}

/// The Kafka type of a known config name.
pub fn type_of(name: &str) -> Option<ConfigType> {
    spec_of(name).map(|s| s.ty)
}

/// Every topic config Kafka knows, internal ones included.
pub fn known() -> impl Iterator<Item = ConfigInfo> {
    SPECS.iter().map(info)
}

/// What DescribeConfigs/CreateTopics report for a topic: every public config, plus internal
/// ones the topic sets, each with its value and whether it is the topic's own override.
pub fn describe(overrides: &TopicConfigs) -> Vec<(ConfigInfo, Option<String>, bool)> {
    known()
        .filter_map(|c| match overrides.get(c.name) {
            Some(v) => Some((c, Some(v.clone()), true)),
            None if c.internal => None,
            None => Some((c, c.default.map(str::to_string), false)),
        })
        .collect()
}

/// Kafka's `ConfigException(name, value, message)` wording.
fn bad_value(name: &str, value: impl std::fmt::Display, message: impl std::fmt::Display) -> Error {
    Error::InvalidConfig {
        name: name.to_string(),
        reason: format!("Invalid value {value} for configuration {name}: {message}"),
    }
}

/// A parsed value, as `ConfigDef.parseType` produces it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Bool(bool),
    Str(String),
    Int(i64),
    Double(f64),
    List(Vec<String>),
}

fn parse(s: &Spec, raw: &str) -> Result<Value> {
    // ConfigDef trims every string value before parsing it.
    let v = raw.trim();
    let not_a = |ty: &str| bad_value(s.name, raw, format!("Not a number of type {ty}"));
    Ok(match s.ty {
        T::Boolean => {
            if v.eq_ignore_ascii_case("true") {
                Value::Bool(true)
            } else if v.eq_ignore_ascii_case("false") {
                Value::Bool(false)
            } else {
                return Err(bad_value(
                    s.name,
                    raw,
                    "Expected value to be either true or false",
                ));
            }
        }
        T::String => Value::Str(v.to_string()),
        T::Int => Value::Int(v.parse::<i32>().map_err(|_| not_a("INT"))?.into()),
        T::Long => Value::Int(v.parse::<i64>().map_err(|_| not_a("LONG"))?),
        // Java's Double.parseDouble also takes a float/double suffix ("0.5d").
        T::Double => Value::Double(
            v.strip_suffix(['d', 'D', 'f', 'F'])
                .unwrap_or(v)
                .parse::<f64>()
                .map_err(|_| not_a("DOUBLE"))?,
        ),
        // An empty value is an empty list; otherwise every comma separates an item, even a
        // trailing one (Kafka splits with limit -1).
        T::List if v.is_empty() => Value::List(Vec::new()),
        T::List => Value::List(v.split(',').map(|i| i.trim().to_string()).collect()),
    })
}

fn check(s: &Spec, value: &Value) -> Result<()> {
    match (s.check, value) {
        (AtLeast(min), Value::Int(n)) if *n < min => Err(bad_value(
            s.name,
            n,
            format!("Value must be at least {min}"),
        )),
        (Between(min, _), Value::Int(n)) if *n < min => Err(bad_value(
            s.name,
            n,
            format!("Value must be at least {min}"),
        )),
        (Between(_, max), Value::Int(n)) if *n > max => Err(bad_value(
            s.name,
            n,
            format!("Value must be no more than {max}"),
        )),
        // Java compares doubles, so NaN passes both bounds, as in Kafka. `{:?}` prints 2.0 as
        // "2.0", as Java's Double.toString does.
        (Ratio, Value::Double(d)) if *d < 0.0 => Err(bad_value(
            s.name,
            format!("{d:?}"),
            "Value must be at least 0",
        )),
        (Ratio, Value::Double(d)) if *d > 1.0 => Err(bad_value(
            s.name,
            format!("{d:?}"),
            "Value must be no more than 1",
        )),
        (GzipLevel, Value::Int(n)) if !((1..=9).contains(n) || *n == -1) => Err(bad_value(
            s.name,
            n,
            "Value must be between 1 and 9 or equal to -1",
        )),
        (OneOf(words), Value::Str(v)) if !words.contains(&v.as_str()) => Err(bad_value(
            s.name,
            v,
            format!("String must be one of: {}", words.join(", ")),
        )),
        (OneOf(words), Value::List(items)) => {
            match items.iter().find(|i| !words.contains(&i.as_str())) {
                Some(i) => Err(bad_value(
                    s.name,
                    i,
                    format!("String must be one of: {}", words.join(", ")),
                )),
                None => Ok(()),
            }
        }
        (Replicas, Value::List(items)) => {
            let pair = |i: &str| {
                i.is_empty()
                    || i.split_once(':').is_some_and(|(p, b)| {
                        !p.is_empty()
                            && !b.is_empty()
                            && p.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
                    })
            };
            if items.iter().all(|i| pair(i)) || items.concat().trim() == "*" {
                Ok(())
            } else {
                Err(bad_value(
                    s.name,
                    format!("[{}]", items.join(", ")),
                    format!(
                        "{} must be the literal '*' or a list of replicas in the following format: \
                         [partitionId]:[brokerId],[partitionId]:[brokerId],...",
                        s.name
                    ),
                ))
            }
        }
        // Kafka's LogConfig.validateRemoteStorageOnlyIfSystemEnabled, with tiered storage off.
        (NoRemoteStorage, Value::Bool(true)) => Err(Error::InvalidConfig {
            name: s.name.to_string(),
            reason: "Tiered Storage functionality is disabled in the broker. Topic cannot be \
                     configured with remote log storage."
                .into(),
        }),
        _ => Ok(()),
    }
}

fn unknown(name: &str) -> Error {
    Error::InvalidConfig {
        name: name.to_string(),
        reason: format!("Unknown topic config name: {name}"),
    }
}

/// Checks one override: a name Kafka knows and a value its validator accepts.
pub fn validate(name: &str, value: &str) -> Result<()> {
    let s = spec_of(name).ok_or_else(|| unknown(name))?;
    check(s, &parse(s, value)?)
}

/// The codec a topic stores batches with (`compression.type` and its level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicCompression {
    /// `producer`: batches are kept as the producer compressed them.
    Producer,
    Uncompressed,
    /// `compression.gzip.level`; -1 is the codec's default level.
    Gzip {
        level: i32,
    },
    Snappy,
    /// `compression.lz4.level`.
    Lz4 {
        level: i32,
    },
    /// `compression.zstd.level`.
    Zstd {
        level: i32,
    },
}

/// The typed settings of one partition log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    pub delete_enabled: bool,
    pub compact_enabled: bool,
    pub delete_retention_ms: i64,
    pub flush_messages: i64,
    pub flush_ms: i64,
    pub index_interval_bytes: u64,
    pub max_message_bytes: usize,
    pub log_append_time: bool,
    pub timestamp_after_max_ms: i64,
    pub timestamp_before_max_ms: i64,
    pub min_compaction_lag_ms: i64,
    pub max_compaction_lag_ms: i64,
    /// `min.cleanable.dirty.ratio`: compaction waits until the dirty share exceeds it.
    pub min_cleanable_dirty_ratio: f64,
    pub retention_bytes: i64,
    pub retention_ms: i64,
    /// `internal.segment.bytes` when set, else `segment.bytes`, as Kafka's `segmentSize()`.
    pub segment_bytes: u64,
    pub segment_index_bytes: usize,
    pub segment_ms: i64,
    /// Accepted and kept, not applied: rolling (in the append path) uses `segment_ms` as is.
    pub segment_jitter_ms: i64,
    pub compression: TopicCompression,
    pub min_insync_replicas: i32,
}

impl Default for LogConfig {
    fn default() -> Self {
        // The defaults table is the single source of truth; it always parses.
        Self::from_overrides(&TopicConfigs::new()).unwrap_or_else(|e| panic!("bad defaults: {e}"))
    }
}

impl LogConfig {
    /// Settings for overrides already stored in the metadata log. strom before Kafka 4's
    /// rules accepted `segment.bytes` below 1 MiB: such a value is honoured as
    /// `internal.segment.bytes`, and any other stored override that no longer validates is
    /// ignored with a warning, so an existing data directory still opens.
    pub fn from_stored(topic: &str, overrides: &TopicConfigs) -> LogConfig {
        if let Ok(c) = Self::from_overrides(overrides) {
            return c;
        }
        let mut kept = TopicConfigs::new();
        for (k, v) in overrides {
            let small_segment = k == "segment.bytes"
                && v.trim().parse::<i32>().is_ok_and(|n| n < 1_048_576)
                && !overrides.contains_key("internal.segment.bytes");
            if small_segment {
                kept.insert("internal.segment.bytes".into(), v.clone());
            } else if let Err(e) = validate(k, v) {
                tracing::warn!(topic, config = %k, "ignoring a stored topic config: {e}");
            } else {
                kept.insert(k.clone(), v.clone());
            }
        }
        Self::from_overrides(&kept).unwrap_or_else(|e| {
            tracing::warn!(topic, "ignoring the stored topic configs: {e}");
            LogConfig::default()
        })
    }

    /// Defaults overlaid with `overrides`, each validated.
    pub fn from_overrides(overrides: &TopicConfigs) -> Result<LogConfig> {
        for (k, v) in overrides {
            validate(k, v)?;
        }
        let value = |name: &str| -> Result<Option<Value>> {
            let s = spec_of(name).ok_or_else(|| unknown(name))?;
            match overrides.get(name).map(String::as_str).or(s.default) {
                Some(raw) => parse(s, raw).map(Some),
                None => Ok(None),
            }
        };
        // Every name below is in SPECS and was parsed by its own type above, so a mismatch
        // is a bug in this file, reported as the config it concerns.
        let mismatch = |name: &str| Error::InvalidConfig {
            name: name.to_string(),
            reason: format!("internal error: {name} has no value of its type"),
        };
        let num = |name: &str| -> Result<i64> {
            match value(name)? {
                Some(Value::Int(n)) => Ok(n),
                _ => Err(mismatch(name)),
            }
        };
        let int =
            |name: &str| -> Result<i32> { i32::try_from(num(name)?).map_err(|_| mismatch(name)) };
        let text = |name: &str| -> Result<String> {
            match value(name)? {
                Some(Value::Str(s)) => Ok(s),
                _ => Err(mismatch(name)),
            }
        };
        let policy = match value("cleanup.policy")? {
            Some(Value::List(items)) => items,
            _ => return Err(mismatch("cleanup.policy")),
        };
        let ratio = match value("min.cleanable.dirty.ratio")? {
            Some(Value::Double(d)) => d,
            _ => return Err(mismatch("min.cleanable.dirty.ratio")),
        };
        let min_lag = num("min.compaction.lag.ms")?;
        let max_lag = num("max.compaction.lag.ms")?;
        if min_lag > max_lag {
            // Kafka's LogConfig.validateValues.
            return Err(Error::InvalidConfig {
                name: "min.compaction.lag.ms".into(),
                reason: format!(
                    "conflict topic config setting min.compaction.lag.ms ({min_lag}) > \
                     max.compaction.lag.ms ({max_lag})"
                ),
            });
        }
        let segment_bytes = match value("internal.segment.bytes")? {
            // Kafka puts no bound on the internal size; below 1 byte every append rolls, as
            // it would with 1.
            Some(Value::Int(n)) => n.max(1),
            _ => num("segment.bytes")?,
        };
        let compression = match text("compression.type")?.as_str() {
            "uncompressed" => TopicCompression::Uncompressed,
            "gzip" => TopicCompression::Gzip {
                level: int("compression.gzip.level")?,
            },
            "snappy" => TopicCompression::Snappy,
            "lz4" => TopicCompression::Lz4 {
                level: int("compression.lz4.level")?,
            },
            "zstd" => TopicCompression::Zstd {
                level: int("compression.zstd.level")?,
            },
            _ => TopicCompression::Producer,
        };
        Ok(LogConfig {
            delete_enabled: policy.iter().any(|p| p == "delete"),
            compact_enabled: policy.iter().any(|p| p == "compact"),
            delete_retention_ms: num("delete.retention.ms")?,
            flush_messages: num("flush.messages")?,
            flush_ms: num("flush.ms")?,
            index_interval_bytes: num("index.interval.bytes")? as u64,
            max_message_bytes: num("max.message.bytes")? as usize,
            log_append_time: text("message.timestamp.type")? == "LogAppendTime",
            timestamp_after_max_ms: num("message.timestamp.after.max.ms")?,
            timestamp_before_max_ms: num("message.timestamp.before.max.ms")?,
            min_compaction_lag_ms: min_lag,
            max_compaction_lag_ms: max_lag,
            min_cleanable_dirty_ratio: ratio,
            retention_bytes: num("retention.bytes")?,
            retention_ms: num("retention.ms")?,
            segment_bytes: segment_bytes as u64,
            segment_index_bytes: num("segment.index.bytes")? as usize,
            segment_ms: num("segment.ms")?,
            segment_jitter_ms: num("segment.jitter.ms")?,
            compression,
            min_insync_replicas: int("min.insync.replicas")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(name: &str, value: &str) -> String {
        match validate(name, value) {
            Err(e @ Error::InvalidConfig { .. }) => {
                assert_eq!(e.kafka_code(), 40, "{name}={value}");
                match e {
                    Error::InvalidConfig { reason, .. } => reason,
                    _ => unreachable!(),
                }
            }
            other => panic!("{name}={value}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_kafkas() {
        let c = LogConfig::default();
        assert!(c.delete_enabled && !c.compact_enabled);
        assert_eq!(c.retention_ms, 7 * 24 * 3600 * 1000);
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.retention_bytes, -1);
        assert_eq!(c.timestamp_after_max_ms, 3_600_000);
        assert_eq!(c.min_cleanable_dirty_ratio, 0.5);
        assert_eq!(c.max_compaction_lag_ms, i64::MAX);
        assert_eq!(c.compression, TopicCompression::Producer);
        assert_eq!(c.min_insync_replicas, 1);
    }

    #[test]
    fn every_kafka_topic_config_is_accepted_with_its_default() {
        assert_eq!(SPECS.len(), 34);
        assert!(SPECS.windows(2).all(|w| w[0].name < w[1].name), "sorted");
        for s in SPECS {
            if let Some(d) = s.default {
                validate(s.name, d).unwrap_or_else(|e| panic!("{}={d}: {e}", s.name));
                let one: TopicConfigs = [(s.name.to_string(), d.to_string())].into();
                assert_eq!(
                    LogConfig::from_overrides(&one).unwrap(),
                    LogConfig::default()
                );
            }
        }
        validate("internal.segment.bytes", "1024").unwrap();
        assert_eq!(
            describe(&TopicConfigs::new()).len(),
            33,
            "internal configs only when set"
        );
    }

    #[test]
    fn values_are_parsed_as_kafka_parses_them() {
        for (k, v) in [
            ("segment.bytes", " 2000000 "),
            ("segment.bytes", "+2000000"),
            ("cleanup.policy", ""),
            ("cleanup.policy", "compact, delete"),
            ("cleanup.policy", "compact,compact"),
            ("min.cleanable.dirty.ratio", "1"),
            ("min.cleanable.dirty.ratio", "1e-1"),
            ("min.cleanable.dirty.ratio", "0.5d"),
            ("preallocate", "TRUE"),
            ("preallocate", " true"),
            ("leader.replication.throttled.replicas", "*"),
            ("leader.replication.throttled.replicas", "0:1,1:1"),
            ("leader.replication.throttled.replicas", ""),
            ("retention.bytes", "-5"),
            ("remote.storage.enable", "false"),
            ("internal.segment.bytes", "-5"),
            ("compression.gzip.level", "-1"),
        ] {
            validate(k, v).unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
    }

    /// Each refusal word for word as Kafka 4.1's `LogConfig.validate` words it.
    #[test]
    fn bad_values_are_refused_with_kafkas_message() {
        let bounds = "must be the literal '*' or a list of replicas in the following format: \
                      [partitionId]:[brokerId],[partitionId]:[brokerId],...";
        #[rustfmt::skip]
        let table: &[(&str, &str, String)] = &[
            ("segment.bytes", "1024", "Invalid value 1024 for configuration segment.bytes: Value must be at least 1048576".into()),
            ("segment.bytes", "abc", "Invalid value abc for configuration segment.bytes: Not a number of type INT".into()),
            ("segment.bytes", "99999999999", "Invalid value 99999999999 for configuration segment.bytes: Not a number of type INT".into()),
            ("segment.bytes", "0x100000", "Invalid value 0x100000 for configuration segment.bytes: Not a number of type INT".into()),
            ("cleanup.policy", "bogus", "Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete".into()),
            ("cleanup.policy", "Compact", "Invalid value Compact for configuration cleanup.policy: String must be one of: compact, delete".into()),
            ("cleanup.policy", "delete,", "Invalid value  for configuration cleanup.policy: String must be one of: compact, delete".into()),
            ("compression.type", "ZSTD", "Invalid value ZSTD for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer".into()),
            ("compression.gzip.level", "0", "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1".into()),
            ("compression.gzip.level", "10", "Invalid value 10 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1".into()),
            ("compression.lz4.level", "0", "Invalid value 0 for configuration compression.lz4.level: Value must be at least 1".into()),
            ("compression.lz4.level", "18", "Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17".into()),
            ("compression.zstd.level", "23", "Invalid value 23 for configuration compression.zstd.level: Value must be no more than 22".into()),
            ("compression.zstd.level", "-131073", "Invalid value -131073 for configuration compression.zstd.level: Value must be at least -131072".into()),
            ("min.cleanable.dirty.ratio", "1.5", "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1".into()),
            ("min.cleanable.dirty.ratio", "-0.1", "Invalid value -0.1 for configuration min.cleanable.dirty.ratio: Value must be at least 0".into()),
            ("min.cleanable.dirty.ratio", "abc", "Invalid value abc for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE".into()),
            ("preallocate", "yes", "Invalid value yes for configuration preallocate: Expected value to be either true or false".into()),
            ("unclean.leader.election.enable", "1", "Invalid value 1 for configuration unclean.leader.election.enable: Expected value to be either true or false".into()),
            ("leader.replication.throttled.replicas", "bogus", format!("Invalid value [bogus] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas {bounds}")),
            ("leader.replication.throttled.replicas", "0:1:2", format!("Invalid value [0:1:2] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas {bounds}")),
            ("leader.replication.throttled.replicas", "*,0:1", format!("Invalid value [*, 0:1] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas {bounds}")),
            ("follower.replication.throttled.replicas", "-1:1", format!("Invalid value [-1:1] for configuration follower.replication.throttled.replicas: follower.replication.throttled.replicas {bounds}")),
            ("message.timestamp.type", "createtime", "Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime".into()),
            ("min.insync.replicas", "0", "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1".into()),
            ("retention.ms", "-2", "Invalid value -2 for configuration retention.ms: Value must be at least -1".into()),
            ("retention.ms", "1.5", "Invalid value 1.5 for configuration retention.ms: Not a number of type LONG".into()),
            ("retention.ms", "9223372036854775808", "Invalid value 9223372036854775808 for configuration retention.ms: Not a number of type LONG".into()),
            ("local.retention.ms", "-3", "Invalid value -3 for configuration local.retention.ms: Value must be at least -2".into()),
            ("local.retention.bytes", "-3", "Invalid value -3 for configuration local.retention.bytes: Value must be at least -2".into()),
            ("internal.segment.bytes", "x", "Invalid value x for configuration internal.segment.bytes: Not a number of type INT".into()),
            ("segment.index.bytes", "3", "Invalid value 3 for configuration segment.index.bytes: Value must be at least 4".into()),
            ("max.compaction.lag.ms", "0", "Invalid value 0 for configuration max.compaction.lag.ms: Value must be at least 1".into()),
            ("segment.ms", "0", "Invalid value 0 for configuration segment.ms: Value must be at least 1".into()),
            ("flush.messages", "0", "Invalid value 0 for configuration flush.messages: Value must be at least 1".into()),
            ("max.message.bytes", "-1", "Invalid value -1 for configuration max.message.bytes: Value must be at least 0".into()),
            ("message.timestamp.after.max.ms", "-1", "Invalid value -1 for configuration message.timestamp.after.max.ms: Value must be at least 0".into()),
            ("file.delete.delay.ms", "-1", "Invalid value -1 for configuration file.delete.delay.ms: Value must be at least 0".into()),
            ("segment.jitter.ms", "-1", "Invalid value -1 for configuration segment.jitter.ms: Value must be at least 0".into()),
            ("remote.storage.enable", "true", "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.".into()),
            ("message.format.version", "3.0", "Unknown topic config name: message.format.version".into()),
            ("no.such.config", "1", "Unknown topic config name: no.such.config".into()),
        ];
        for (k, v, want) in table {
            assert_eq!(&reason(k, v), want, "{k}={v}");
        }
    }

    #[test]
    fn stored_configs_of_an_earlier_strom_still_open() {
        let stored: TopicConfigs = [
            ("segment.bytes".to_string(), "1000".to_string()),
            ("retention.ms".to_string(), "5000".to_string()),
            ("message.format.version".to_string(), "2.8".to_string()),
        ]
        .into();
        assert!(LogConfig::from_overrides(&stored).is_err());
        let c = LogConfig::from_stored("t", &stored);
        assert_eq!((c.segment_bytes, c.retention_ms), (1000, 5000));
    }

    #[test]
    fn typed_settings_follow_the_overrides() {
        let of = |pairs: &[(&str, &str)]| {
            let o: TopicConfigs = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            LogConfig::from_overrides(&o)
        };
        let c = of(&[
            ("cleanup.policy", "compact,delete"),
            ("retention.ms", "1000"),
        ])
        .unwrap();
        assert!(c.compact_enabled && c.delete_enabled);
        assert_eq!(c.retention_ms, 1000);
        let c = of(&[("cleanup.policy", "")]).unwrap();
        assert!(!c.compact_enabled && !c.delete_enabled);
        // internal.segment.bytes wins over segment.bytes, as Kafka's segmentSize().
        let c = of(&[
            ("internal.segment.bytes", "1000"),
            ("segment.bytes", "2000000"),
        ])
        .unwrap();
        assert_eq!(c.segment_bytes, 1000);
        let c = of(&[
            ("compression.type", "zstd"),
            ("compression.zstd.level", "5"),
        ])
        .unwrap();
        assert_eq!(c.compression, TopicCompression::Zstd { level: 5 });
        let c = of(&[("compression.type", "gzip")]).unwrap();
        assert_eq!(c.compression, TopicCompression::Gzip { level: -1 });
        let c = of(&[("compression.type", "lz4"), ("compression.lz4.level", "3")]).unwrap();
        assert_eq!(c.compression, TopicCompression::Lz4 { level: 3 });
        assert_eq!(
            of(&[("compression.type", "snappy")]).unwrap().compression,
            TopicCompression::Snappy
        );
        assert_eq!(
            of(&[("compression.type", "uncompressed")])
                .unwrap()
                .compression,
            TopicCompression::Uncompressed
        );
        let c = of(&[
            ("min.cleanable.dirty.ratio", "0.3"),
            ("max.compaction.lag.ms", "60000"),
        ])
        .unwrap();
        assert_eq!(
            (c.min_cleanable_dirty_ratio, c.max_compaction_lag_ms),
            (0.3, 60_000)
        );
        assert_eq!(
            of(&[("min.insync.replicas", "2")])
                .unwrap()
                .min_insync_replicas,
            2
        );
        match of(&[("min.compaction.lag.ms", "10"), ("max.compaction.lag.ms", "5")]) {
            Err(Error::InvalidConfig { reason, .. }) => assert_eq!(
                reason,
                "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)"
            ),
            other => panic!("{other:?}"),
        }
    }
}
