//! Kafka configuration names as strings: parsing helpers shared by the producer, consumer and
//! admin builders, so `("linger.ms", "5")` means what it means to every Kafka client.

use super::error::{ClientError, ClientResult};
use std::time::Duration;

/// Parses an integer setting.
pub fn int<T: std::str::FromStr>(name: &str, value: &str) -> ClientResult<T> {
    value
        .trim()
        .parse()
        .map_err(|_| ClientError::Config(format!("{name}={value:?} is not a valid number")))
}

/// Parses a millisecond setting.
pub fn millis(name: &str, value: &str) -> ClientResult<Duration> {
    let ms: u64 = int(name, value)?;
    Ok(Duration::from_millis(ms))
}

/// Parses a boolean setting (`true`/`false`, as Kafka).
pub fn boolean(name: &str, value: &str) -> ClientResult<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ClientError::Config(format!(
            "{name}={value:?} must be true or false"
        ))),
    }
}

/// The error for a name the client does not know.
pub fn unknown(kind: &str, name: &str, known: &[&str]) -> ClientError {
    ClientError::Config(format!(
        "unknown {kind} config {name:?}; known names: {}",
        known.join(", ")
    ))
}

/// The error for a value outside a closed set.
pub fn one_of(name: &str, value: &str, allowed: &[&str]) -> ClientError {
    ClientError::Config(format!(
        "{name}={value:?} is not one of: {}",
        allowed.join(", ")
    ))
}
