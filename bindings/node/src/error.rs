//! The one conversion of core errors into JavaScript: a rejected promise whose message starts
//! with a one-line JSON header (`kind`, Kafka `code` and `name`, `retriable`) followed by the
//! human message. `node/errors.js` turns it into the matching `StromError` subclass
//! (`KafkaError`, `ConfigError`, `ClosedError`, `TimeoutError`, ...). napi's errors carry a
//! status and a string only, so the header is how the structured fields cross the boundary.

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::Env;
use std::any::Any;
use std::future::Future;
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

/// What a caught panic says, as the C binding words it.
pub fn panic_failure(payload: &(dyn Any + Send)) -> JsFailure {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    JsFailure::new(ErrorKind::Internal, format!("internal error: {what}"))
}

/// Runs `fut` as a task of its own and gives its result, or an `internal` error if it
/// panicked (the promise's panic boundary; the object it ran on may be unusable then).
pub async fn contained<T, E, F>(fut: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<JsFailure> + Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(panic_failure(&*e.into_panic()).into()),
        Err(_) => Err(JsFailure::new(ErrorKind::Closed, "the runtime is shutting down").into()),
    }
}

/// The one way the binding's asynchronous methods return: a promise settled, on napi-rs's
/// tokio runtime, with `fut`'s result. `#[napi(catch_unwind)]` guards the synchronous part of
/// a method; [`contained`] guards the future, so a panic anywhere rejects the promise with an
/// `internal` error (a `StromError` in JavaScript) instead of unwinding into napi-rs.
pub fn spawn<T, F>(env: &Env, fut: F) -> napi::Result<PromiseRaw<'_, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = napi::Result<T>> + Send + 'static,
{
    env.spawn_future(contained(fut))
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

    #[test]
    fn a_panicking_future_settles_as_an_internal_error() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let ok = rt.block_on(contained(async { Ok::<_, JsFailure>(7) }));
        assert_eq!(ok.ok(), Some(7));
        for r in [
            rt.block_on(contained(async { panic!("kaboom {}", 1) as JsResult<()> })),
            rt.block_on(contained(async { panic!("static kaboom") as JsResult<()> })),
        ] {
            let e = r.err().map(|e| e.encode()).unwrap_or_default();
            assert!(
                e.starts_with(r#"{"strom":1,"kind":"internal""#) && e.contains("internal error: "),
                "{e}"
            );
            assert!(e.contains("kaboom"), "{e}");
        }
    }
}
