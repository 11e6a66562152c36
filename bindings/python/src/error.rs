//! [`Failure`]: every error of the module, and its one conversion into a Python exception.
//!
//! The exception classes live in `strom.errors` (Python): this file only tells it what
//! happened — a kind, the Kafka error code when there is one, whether a retry may succeed and
//! the message — and `strom.errors._from_native` picks the class.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use strom::client::ClientError;

pub type FResult<T> = Result<T, Failure>;

/// A failed call on its way to Python.
#[derive(Debug)]
pub enum Failure {
    Client(ClientError),
    Core(strom::Error),
    /// A Python exception (from a callback, a conversion, a signal handler).
    Py(PyErr),
    Closed(String),
    Config(String),
    InvalidArgument(String),
    State(String),
    Timeout(String),
    Io(String),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Client(e)
    }
}

impl From<strom::Error> for Failure {
    fn from(e: strom::Error) -> Self {
        Failure::Core(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Py(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Client(e) => e.fmt(f),
            Failure::Core(e) => e.fmt(f),
            Failure::Py(e) => e.fmt(f),
            Failure::Closed(m)
            | Failure::Config(m)
            | Failure::InvalidArgument(m)
            | Failure::State(m)
            | Failure::Timeout(m)
            | Failure::Io(m) => f.write_str(m),
        }
    }
}

impl Failure {
    /// (kind, Kafka code, retriable) for `strom.errors._from_native`.
    fn parts(&self) -> (&'static str, Option<i16>, bool) {
        match self {
            Failure::Client(e) => {
                let kind = match e {
                    ClientError::Kafka { .. } => "kafka",
                    ClientError::Connect { .. } | ClientError::Disconnected { .. } => "network",
                    ClientError::Timeout(_) => "timeout",
                    ClientError::Config(_) => "config",
                    ClientError::Closed(_) => "closed",
                    ClientError::Protocol(_) | ClientError::Unsupported(_) => "protocol",
                    ClientError::InvalidArgument(_) => "invalid_argument",
                    ClientError::IllegalState(_) => "illegal_state",
                };
                (kind, e.kafka_code(), e.is_retriable())
            }
            Failure::Core(e) => {
                let kind = match e {
                    strom::Error::ShutDown => "closed",
                    strom::Error::Io { .. } | strom::Error::Metadata { .. } => "io",
                    _ => "kafka",
                };
                let code = e.kafka_code();
                (kind, Some(code), e.kafka_error().is_retriable())
            }
            Failure::Py(_) => ("python", None, false),
            Failure::Closed(_) => ("closed", None, false),
            Failure::Config(_) => ("config", Some(40), false),
            Failure::InvalidArgument(_) => ("invalid_argument", None, false),
            Failure::State(_) => ("illegal_state", None, false),
            Failure::Timeout(_) => ("timeout", Some(7), true),
            Failure::Io(_) => ("io", None, false),
        }
    }

    /// The `strom.errors` exception for this failure.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        if let Failure::Py(e) = self {
            return e;
        }
        let (kind, code, retriable) = self.parts();
        let message = self.to_string();
        match make(py, kind, code, retriable, &message) {
            Ok(e) => e,
            // strom.errors could not be imported or failed: still say what happened.
            Err(import) => {
                let e = pyo3::exceptions::PyRuntimeError::new_err(message);
                e.set_cause(py, Some(import));
                e
            }
        }
    }
}

fn make(
    py: Python<'_>,
    kind: &str,
    code: Option<i16>,
    retriable: bool,
    message: &str,
) -> PyResult<PyErr> {
    static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let f = FROM_NATIVE.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("strom.errors")?.getattr("_from_native")?.unbind())
    })?;
    let exc = f.call1(py, (kind, code, retriable, message))?;
    Ok(PyErr::from_value(exc.into_bound(py)))
}

/// Converts a core result for Python.
pub trait IntoPy<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T, E: Into<Failure>> IntoPy<T> for Result<T, E> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| e.into().into_pyerr(py))
    }
}
