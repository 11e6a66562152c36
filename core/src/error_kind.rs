//! [`ErrorKind`] and [`ErrorInfo`]: the one classification of every failure a user can see,
//! from the broker core ([`crate::Error`]) and the client ([`ClientError`]). Each binding maps
//! a kind once: Python and Node raise the class of the same name (`ConfigError`,
//! `NetworkError`, ...), C returns the `strom_result` whose value is [`ErrorKind::code`].
//! A kind's name and code are stable: bindings and their users rely on them.

use crate::client::ClientError;
use crate::error::Error;
use kafka_protocol::error::ResponseError;

/// What kind of failure happened, independent of the language that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A NULL pointer, bad string, or argument out of range (`InvalidArgumentError`).
    InvalidArgument,
    /// An unknown setting name or a bad value, on the client or refused by a broker as
    /// INVALID_CONFIG (`ConfigError`).
    Config,
    /// A broker refused the call with a Kafka error code (`KafkaError` and its subclasses).
    Kafka,
    /// The call did not finish within its time limit (`TimeoutError`).
    Timeout,
    /// The handle, or the broker behind it, was closed (`ClosedError`).
    Closed,
    /// Disk or socket trouble: the data directory, a listener (`StorageError`).
    Io,
    /// A bug in strom: a caught panic (`StromError`).
    Internal,
    /// No connection could be made, or one was lost (`NetworkError`).
    Network,
    /// A call that does not fit the object's state (`IllegalStateError`).
    IllegalState,
    /// The broker broke the protocol or lacks a needed API version (`ProtocolError`).
    Protocol,
}

impl ErrorKind {
    /// Every kind, in code order.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Config,
        ErrorKind::Kafka,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::Io,
        ErrorKind::Internal,
        ErrorKind::Network,
        ErrorKind::IllegalState,
        ErrorKind::Protocol,
    ];

    /// The stable name bindings exchange (`"config"`, `"illegal_state"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Config => "config",
            ErrorKind::Kafka => "kafka",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
            ErrorKind::Network => "network",
            ErrorKind::IllegalState => "illegal_state",
            ErrorKind::Protocol => "protocol",
        }
    }

    /// The stable number C returns (`STROM_ERR_CONFIG` is 2); 0 is success.
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => 1,
            ErrorKind::Config => 2,
            ErrorKind::Kafka => 3,
            ErrorKind::Timeout => 4,
            ErrorKind::Closed => 5,
            ErrorKind::Io => 6,
            ErrorKind::Internal => 7,
            ErrorKind::Network => 8,
            ErrorKind::IllegalState => 9,
            ErrorKind::Protocol => 10,
        }
    }
}

/// A failure as every binding reports it: its kind, the Kafka error code when there is one,
/// whether a retry may succeed, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub kafka_code: Option<i16>,
    pub retriable: bool,
    pub message: String,
}

impl ErrorInfo {
    /// A failure found by a binding itself (a NULL argument, a bad conversion).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let kafka_code = match kind {
            ErrorKind::Config => Some(ResponseError::InvalidConfig.code()),
            ErrorKind::Timeout => Some(ResponseError::RequestTimedOut.code()),
            _ => None,
        };
        ErrorInfo {
            kind,
            kafka_code,
            retriable: kind == ErrorKind::Timeout,
            message: message.into(),
        }
    }
}

/// A Kafka code that names a configuration refusal is a config failure in every language,
/// whether a local check or a broker found it.
fn kind_of_code(code: i16) -> ErrorKind {
    if code == ResponseError::InvalidConfig.code() {
        ErrorKind::Config
    } else {
        ErrorKind::Kafka
    }
}

impl From<&ClientError> for ErrorInfo {
    fn from(e: &ClientError) -> Self {
        let kind = match e {
            ClientError::Kafka { code, .. } => kind_of_code(*code),
            ClientError::Connect { .. } | ClientError::Disconnected { .. } => ErrorKind::Network,
            ClientError::Timeout(_) => ErrorKind::Timeout,
            ClientError::Config(_) => ErrorKind::Config,
            ClientError::Closed(_) => ErrorKind::Closed,
            ClientError::Protocol(_) | ClientError::Unsupported(_) => ErrorKind::Protocol,
            ClientError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            ClientError::IllegalState(_) => ErrorKind::IllegalState,
        };
        ErrorInfo {
            kind,
            kafka_code: e.kafka_code(),
            retriable: e.is_retriable(),
            message: e.to_string(),
        }
    }
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        let kind = match e {
            Error::Io { .. } | Error::Metadata { .. } | Error::Listen { .. } => ErrorKind::Io,
            Error::ShutDown => ErrorKind::Closed,
            Error::InvalidConfig { .. } => ErrorKind::Config,
            _ => ErrorKind::Kafka,
        };
        ErrorInfo {
            kind,
            kafka_code: Some(e.kafka_code()),
            retriable: e.kafka_error().is_retriable(),
            message: e.to_string(),
        }
    }
}

impl From<ClientError> for ErrorInfo {
    fn from(e: ClientError) -> Self {
        ErrorInfo::from(&e)
    }
}

impl From<Error> for ErrorInfo {
    fn from(e: Error) -> Self {
        ErrorInfo::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_unique_and_stable() {
        let names: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.code(), i as i32 + 1, "{kind:?}");
        }
    }

    #[test]
    fn a_config_refusal_is_config_wherever_it_was_found() {
        let local = ErrorInfo::from(ClientError::Config("linger.msec".into()));
        let broker = ErrorInfo::from(ClientError::kafka(40, "creating t", None));
        let core = ErrorInfo::from(Error::InvalidConfig {
            name: "retention.ms".into(),
            reason: "not a number".into(),
        });
        for info in [&local, &broker, &core] {
            assert_eq!((info.kind, info.kafka_code), (ErrorKind::Config, Some(40)));
            assert!(!info.retriable);
        }
    }

    #[test]
    fn core_errors_keep_their_kafka_code() {
        let info = ErrorInfo::from(Error::TopicExists("t".into()));
        assert_eq!((info.kind, info.kafka_code), (ErrorKind::Kafka, Some(36)));
        let info = ErrorInfo::from(Error::ShutDown);
        assert_eq!(info.kind, ErrorKind::Closed);
        let info = ErrorInfo::from(ClientError::Disconnected {
            addr: "a".into(),
            reason: "reset".into(),
        });
        assert_eq!((info.kind, info.retriable), (ErrorKind::Network, true));
    }
}
