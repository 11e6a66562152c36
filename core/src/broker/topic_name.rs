//! Kafka's rules for topic names, so strom refuses exactly what Kafka refuses.

use crate::error::{Error, Result};

/// Longest topic name Kafka accepts.
pub const MAX_LEN: usize = 249;
/// The metadata log's topic; never a user topic.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// Topics Kafka marks internal: the broker writes them, clients only read them.
pub const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];

pub fn is_internal(name: &str) -> bool {
    INTERNAL_TOPICS.contains(&name)
}

/// Refuses a client's write, deletion or repartitioning of an internal topic, as Kafka does
/// (INVALID_TOPIC_EXCEPTION): a produced record there would forge another group's offsets, and
/// a deleted or trimmed `__consumer_offsets` loses every group's.
pub fn refuse_internal(name: &str) -> Result<()> {
    if is_internal(name) {
        return Err(refuse(
            name,
            "an internal topic: only the broker itself writes, deletes or resizes it",
        ));
    }
    Ok(())
}

fn refuse(name: &str, reason: &'static str) -> Error {
    Error::InvalidTopic {
        name: name.to_string(),
        reason,
    }
}

/// Empty, `.`, `..`, longer than 249 characters, or characters outside `[a-zA-Z0-9._-]`.
pub fn validate(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(refuse(name, "the name is empty"));
    }
    if name == "." || name == ".." {
        return Err(refuse(name, "'.' and '..' are not allowed"));
    }
    if name.len() > MAX_LEN {
        return Err(refuse(name, "longer than 249 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err(refuse(
            name,
            "only ASCII letters, digits, '.', '_' and '-' are allowed",
        ));
    }
    if name == METADATA_TOPIC {
        return Err(refuse(name, "reserved for the metadata log"));
    }
    Ok(())
}

/// Kafka treats `.` and `_` as the same character in metric names, so it refuses a topic
/// whose name collides with an existing one that way.
pub fn collides(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_rules() {
        for ok in ["t", "orders.v1", "a_b-C9", &"x".repeat(249)] {
            validate(ok).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            "with space",
            "ü",
            "a/b",
            &"x".repeat(250),
            METADATA_TOPIC,
        ] {
            let e = validate(bad).unwrap_err();
            assert_eq!(e.kafka_code(), 17, "{bad:?}");
        }
        assert!(collides("a.b", "a_b"));
        assert!(!collides("a.b", "a.b"));
        assert!(!collides("ab", "a_b"));
    }
}
