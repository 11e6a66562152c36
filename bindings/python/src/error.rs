//! [`Failure`]: every error of the module, and its one conversion into a Python exception.
//!
//! The exception classes live in `strom.errors` (Python): this file only tells it what
//! happened — a kind, the Kafka error code when there is one, whether a retry may succeed and
//! the message — and `strom.errors._from_native` picks the class.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use strom::client::ClientError;
use strom::{ErrorInfo, ErrorKind};

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
    /// (kind, Kafka code, retriable) for `strom.errors._from_native`: core's classification
    /// ([`ErrorInfo`]) for core and client errors, the same kinds for the binding's own.
    fn parts(&self) -> (&'static str, Option<i16>, bool) {
        let info = |i: ErrorInfo| (i.kind.name(), i.kafka_code, i.retriable);
        let own = |kind: ErrorKind| info(ErrorInfo::new(kind, ""));
        match self {
            Failure::Client(e) => info(ErrorInfo::from(e)),
            Failure::Core(e) => info(ErrorInfo::from(e)),
            Failure::Py(_) => ("python", None, false),
            Failure::Closed(_) => own(ErrorKind::Closed),
            Failure::Config(_) => own(ErrorKind::Config),
            Failure::InvalidArgument(_) => own(ErrorKind::InvalidArgument),
            Failure::State(_) => own(ErrorKind::IllegalState),
            Failure::Timeout(_) => own(ErrorKind::Timeout),
            Failure::Io(_) => own(ErrorKind::Io),
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
