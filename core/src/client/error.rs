//! [`ClientError`]: everything a producer, consumer or admin call can fail with. Kafka error
//! codes from a broker keep their code, so the bindings map one type per language.

use kafka_protocol::error::ResponseError;

/// Result alias of the client.
pub type ClientResult<T> = std::result::Result<T, ClientError>;

/// A client failure. `Clone`, because one failed batch fails every record's delivery future.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The broker answered with a Kafka error code.
    #[error("{}: {context}{}", kafka_name(*.code), .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Kafka {
        code: i16,
        /// What the client was doing.
        context: String,
        /// The broker's error message, when it sent one.
        message: Option<String>,
    },
    /// No connection could be made to any broker, or to the one that was needed.
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    /// A connection broke while requests were in flight.
    #[error("connection to {addr} lost: {reason}")]
    Disconnected { addr: String, reason: String },
    /// An operation did not finish in its time limit.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A configuration name or value the client does not accept.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The producer, consumer or admin client was closed.
    #[error("the {0} is closed")]
    Closed(&'static str),
    /// The broker sent bytes the client cannot parse, or broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The broker does not support what the call needs (no common API version).
    #[error("not supported by the broker: {0}")]
    Unsupported(String),
    /// A record or argument that cannot be sent as given.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A consumer call made in a state where it cannot work (e.g. no assignment).
    #[error("illegal state: {0}")]
    IllegalState(String),
}

/// Kafka's upper-case name of an error code, as the Java client prints it.
pub fn kafka_name(code: i16) -> String {
    // kafka-protocol names codes it does not know `Unknown(code)`.
    match ResponseError::try_from_code(code).map(|e| format!("{e:?}")) {
        Some(name) if !name.contains('(') => upper_snake(&name),
        _ => format!("UNKNOWN_ERROR_CODE_{code}"),
    }
}

fn upper_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

impl ClientError {
    /// An error for a non-zero Kafka code.
    pub fn kafka(code: i16, context: impl Into<String>, message: Option<String>) -> Self {
        ClientError::Kafka {
            code,
            context: context.into(),
            message: message.filter(|m| !m.is_empty()),
        }
    }

    /// `Ok(())` for code 0, else the error.
    pub fn check(code: i16, context: impl FnOnce() -> String) -> ClientResult<()> {
        if code == 0 {
            Ok(())
        } else {
            Err(ClientError::kafka(code, context(), None))
        }
    }

    /// The Kafka error code, if this error carries one. Client-side failures map to the code
    /// Kafka's Java client would report for them.
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            ClientError::Kafka { code, .. } => Some(*code),
            ClientError::Timeout(_) => Some(ResponseError::RequestTimedOut.code()),
            ClientError::Connect { .. } | ClientError::Disconnected { .. } => {
                Some(ResponseError::NetworkException.code())
            }
            ClientError::Unsupported(_) => Some(ResponseError::UnsupportedVersion.code()),
            ClientError::Config(_) => Some(ResponseError::InvalidConfig.code()),
            _ => None,
        }
    }

    /// Whether trying again (after a metadata refresh) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { code, .. } => {
                ResponseError::try_from_code(*code).is_some_and(|e| e.is_retriable())
            }
            ClientError::Connect { .. }
            | ClientError::Disconnected { .. }
            | ClientError::Timeout(_) => true,
            _ => false,
        }
    }
}

impl From<crate::Error> for ClientError {
    /// In-process calls into the embedded broker fail with the broker's errors; they reach
    /// users exactly as the same refusal over TCP would.
    fn from(e: crate::Error) -> Self {
        ClientError::kafka(e.kafka_code(), "embedded broker", Some(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_print_java_names_and_keep_codes() {
        let e = ClientError::kafka(3, "producing to t-0", Some("no such topic".into()));
        assert_eq!(
            e.to_string(),
            "UNKNOWN_TOPIC_OR_PARTITION: producing to t-0 (no such topic)"
        );
        assert_eq!(e.kafka_code(), Some(3));
        assert!(e.is_retriable());
        assert!(!ClientError::kafka(10, "x", None).is_retriable());
        assert_eq!(kafka_name(-999), "UNKNOWN_ERROR_CODE_-999");
    }
}
