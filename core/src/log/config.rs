//! Topic configuration under Kafka's names and defaults, and the typed [`LogConfig`] a
//! partition log runs on.
//!
//! Only configs strom acts on are known; any other name is refused with INVALID_CONFIG rather
//! than stored and ignored, so a user is never told a setting took effect when it did not.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Per-topic overrides, Kafka name → value text, exactly as a user gave them.
pub type TopicConfigs = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Integer with an inclusive lower bound.
    Long(i64),
    Int(i64),
    /// One of fixed words.
    Choice(&'static [&'static str]),
    /// Comma-separated subset of fixed words, at least one.
    List(&'static [&'static str]),
}

/// Every topic config strom honours: name, Kafka's default, value kind, what it does, and
/// the broker-level config Kafka names as its default (its "synonym").
#[rustfmt::skip]
const KNOWN: &[(&str, &str, Kind, &str, &str)] = &[
    ("cleanup.policy", "delete", Kind::List(&["delete", "compact"]), "delete old segments, compact by key, or both", "log.cleanup.policy"),
    ("compression.type", "producer", Kind::Choice(&["producer"]), "batches are stored as the producer compressed them", "compression.type"),
    ("delete.retention.ms", "86400000", Kind::Long(0), "how long tombstones survive compaction", "log.cleaner.delete.retention.ms"),
    ("flush.messages", "9223372036854775807", Kind::Long(1), "fsync after this many appended messages", "log.flush.interval.messages"),
    ("flush.ms", "9223372036854775807", Kind::Long(0), "fsync when the oldest unflushed append is this old", "log.flush.interval.ms"),
    ("index.interval.bytes", "4096", Kind::Int(0), "log bytes between offset index entries", "log.index.interval.bytes"),
    ("max.message.bytes", "1048588", Kind::Int(0), "largest record batch accepted", "message.max.bytes"),
    ("message.timestamp.after.max.ms", "9223372036854775807", Kind::Long(0), "refuse CreateTime timestamps further than this in the future", "log.message.timestamp.after.max.ms"),
    ("message.timestamp.before.max.ms", "9223372036854775807", Kind::Long(0), "refuse CreateTime timestamps further than this in the past", "log.message.timestamp.before.max.ms"),
    ("message.timestamp.type", "CreateTime", Kind::Choice(&["CreateTime", "LogAppendTime"]), "keep producer timestamps or stamp the append time", "log.message.timestamp.type"),
    ("min.compaction.lag.ms", "0", Kind::Long(0), "records younger than this are not compacted", "log.cleaner.min.compaction.lag.ms"),
    ("retention.bytes", "-1", Kind::Long(-1), "delete old segments while the partition is larger", "log.retention.bytes"),
    ("retention.ms", "604800000", Kind::Long(-1), "delete segments whose newest record is older", "log.retention.ms"),
    ("segment.bytes", "1073741824", Kind::Int(1), "roll the active segment at this size", "log.segment.bytes"),
    ("segment.index.bytes", "10485760", Kind::Int(12), "preallocated size of each index", "log.index.size.max.bytes"),
    ("segment.ms", "604800000", Kind::Long(1), "roll the active segment after this long", "log.roll.ms"),
];

/// How DescribeConfigs presents a config (Kafka's `ConfigType` numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigInfo {
    pub name: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
    pub broker_synonym: &'static str,
    /// 3 = INT, 5 = LONG, 2 = STRING, 7 = LIST.
    pub type_id: i8,
}

/// Kafka's default for a known config name.
pub fn default_of(name: &str) -> Option<&'static str> {
    KNOWN.iter().find(|k| k.0 == name).map(|k| k.1)
}

/// Every known topic config, for DescribeConfigs.
pub fn known() -> impl Iterator<Item = ConfigInfo> {
    KNOWN.iter().map(|k| ConfigInfo {
        name: k.0,
        default: k.1,
        doc: k.3,
        broker_synonym: k.4,
        type_id: match k.2 {
            Kind::Int(_) => 3,
            Kind::Long(_) => 5,
            Kind::Choice(_) => 2,
            Kind::List(_) => 7,
        },
    })
}

fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// Checks one override against the known names and value kinds.
pub fn validate(name: &str, value: &str) -> Result<()> {
    let kind = KNOWN
        .iter()
        .find(|k| k.0 == name)
        .map(|k| k.2)
        .ok_or_else(|| invalid(name, "unknown or unsupported topic config"))?;
    match kind {
        Kind::Long(min) | Kind::Int(min) => {
            let v: i64 = value
                .trim()
                .parse()
                .map_err(|_| invalid(name, format!("{value:?} is not an integer")))?;
            if v < min {
                return Err(invalid(name, format!("{v} is below the minimum {min}")));
            }
            if matches!(kind, Kind::Int(_)) && v > i32::MAX as i64 {
                return Err(invalid(name, format!("{v} does not fit a 32-bit int")));
            }
        }
        Kind::Choice(words) => {
            if !words.contains(&value) {
                return Err(invalid(name, format!("{value:?} is not one of {words:?}")));
            }
        }
        Kind::List(words) => {
            let parts: Vec<&str> = value.split(',').map(str::trim).collect();
            if parts.is_empty() || parts.iter().any(|p| !words.contains(p)) {
                return Err(invalid(
                    name,
                    format!("{value:?} is not a list of {words:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// The typed settings of one partition log.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub retention_bytes: i64,
    pub retention_ms: i64,
    pub segment_bytes: u64,
    pub segment_index_bytes: usize,
    pub segment_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        // The defaults table is the single source of truth; it always parses.
        Self::from_overrides(&TopicConfigs::new()).unwrap_or_else(|e| panic!("bad defaults: {e}"))
    }
}

impl LogConfig {
    /// Defaults overlaid with `overrides`, each validated.
    pub fn from_overrides(overrides: &TopicConfigs) -> Result<LogConfig> {
        for (k, v) in overrides {
            validate(k, v)?;
        }
        let get = |name: &str| -> &str {
            overrides
                .get(name)
                .map(String::as_str)
                .or_else(|| default_of(name))
                .unwrap_or("0")
        };
        let num = |name: &str| -> Result<i64> {
            get(name)
                .trim()
                .parse()
                .map_err(|_| invalid(name, "not an integer"))
        };
        let policy = get("cleanup.policy");
        Ok(LogConfig {
            delete_enabled: policy.split(',').any(|p| p.trim() == "delete"),
            compact_enabled: policy.split(',').any(|p| p.trim() == "compact"),
            delete_retention_ms: num("delete.retention.ms")?,
            flush_messages: num("flush.messages")?,
            flush_ms: num("flush.ms")?,
            index_interval_bytes: num("index.interval.bytes")? as u64,
            max_message_bytes: num("max.message.bytes")? as usize,
            log_append_time: get("message.timestamp.type") == "LogAppendTime",
            timestamp_after_max_ms: num("message.timestamp.after.max.ms")?,
            timestamp_before_max_ms: num("message.timestamp.before.max.ms")?,
            min_compaction_lag_ms: num("min.compaction.lag.ms")?,
            retention_bytes: num("retention.bytes")?,
            retention_ms: num("retention.ms")?,
            segment_bytes: num("segment.bytes")? as u64,
            segment_index_bytes: num("segment.index.bytes")? as usize,
            segment_ms: num("segment.ms")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafkas() {
        let c = LogConfig::default();
        assert!(c.delete_enabled && !c.compact_enabled);
        assert_eq!(c.retention_ms, 7 * 24 * 3600 * 1000);
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.retention_bytes, -1);
    }

    #[test]
    fn overrides_are_validated() {
        let mut o = TopicConfigs::new();
        o.insert("cleanup.policy".into(), "compact,delete".into());
        o.insert("retention.ms".into(), "1000".into());
        let c = LogConfig::from_overrides(&o).unwrap();
        assert!(c.compact_enabled && c.delete_enabled);
        assert_eq!(c.retention_ms, 1000);
        for (k, v) in [
            ("retention.ms", "soon"),
            ("retention.ms", "-2"),
            ("cleanup.policy", "shred"),
            ("segment.bytes", "99999999999"),
            ("no.such.config", "1"),
            ("message.timestamp.type", "Whenever"),
            ("message.timestamp.after.max.ms", "-1"),
        ] {
            let e = validate(k, v).unwrap_err();
            assert_eq!(e.kafka_code(), 40, "{k}={v}: {e}");
        }
    }
}
