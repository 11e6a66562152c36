//! The one conversion of core errors into JavaScript: a rejected promise whose message starts
//! with a one-line JSON header (`kind`, Kafka `code` and `name`, `retriable`) followed by the
//! human message. `node/errors.js` turns it into the matching `StromError` subclass
//! (`KafkaError`, `ConfigError`, `ClosedError`, `TimeoutError`, ...). napi's errors carry a
//! status and a string only, so the header is how the structured fields cross the boundary.

use strom::client::error::kafka_name;
use strom::client::ClientError;
use strom::{ErrorInfo, ErrorKind};

/// An error on its way to JavaScript.
#[derive(Debug)]
pub struct JsFailure {
    kind: &'static str,
    code: Option<i16>,
    retriable: bool,
    message: String,
}

impl JsFailure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorInfo::new(kind, message).into()
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn closed(what: &str) -> Self {
        Self::new(ErrorKind::Closed, format!("the {what} is closed"))
    }

    pub fn io(what: &str, e: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{what}: {e}"))
    }
}

impl From<ErrorInfo> for JsFailure {
    fn from(info: ErrorInfo) -> Self {
        JsFailure {
            kind: info.kind.name(),
            code: info.kafka_code,
            retriable: info.retriable,
            message: info.message,
        }
    }
}

impl From<ClientError> for JsFailure {
    fn from(e: ClientError) -> Self {
        ErrorInfo::from(e).into()
    }
}

impl From<strom::Error> for JsFailure {
    fn from(e: strom::Error) -> Self {
        ErrorInfo::from(e).into()
    }
}

impl JsFailure {
    /// The header line and the message, as `node/errors.js` reads them.
    pub fn encode(&self) -> String {
        let (code, name) = match self.code {
            Some(c) => (c.to_string(), format!("\"{}\"", kafka_name(c))),
            None => ("null".to_string(), "null".to_string()),
        };
        format!(
            "{{\"strom\":1,\"kind\":\"{}\",\"code\":{code},\"name\":{name},\"retriable\":{}}}\n{}",
            self.kind, self.retriable, self.message
        )
    }
}

impl From<JsFailure> for napi::Error {
    fn from(f: JsFailure) -> Self {
        napi::Error::new(napi::Status::GenericFailure, f.encode())
    }
}

/// Result of a conversion or core call inside the binding.
pub type JsResult<T> = Result<T, JsFailure>;

/// Maps any core error straight to napi's.
pub fn js<T, E: Into<JsFailure>>(r: Result<T, E>) -> napi::Result<T> {
    r.map_err(|e| napi::Error::from(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_carry_name_code_and_retriable() {
        let f = JsFailure::from(ClientError::kafka(3, "producing to t-0", None));
        let text = f.encode();
        let (header, message) = text.split_once('\n').unwrap_or_default();
        assert_eq!(
            header,
            r#"{"strom":1,"kind":"kafka","code":3,"name":"UNKNOWN_TOPIC_OR_PARTITION","retriable":true}"#
        );
        assert!(message.starts_with("UNKNOWN_TOPIC_OR_PARTITION"));
        let closed = JsFailure::from(ClientError::Closed("producer")).encode();
        assert!(closed.starts_with(r#"{"strom":1,"kind":"closed","code":null,"name":null"#));
    }
}
