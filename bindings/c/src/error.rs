//! [`strom_result`], the calling thread's last error (`strom_last_error`,
//! `strom_last_kafka_code`), the one conversion of core errors into them, and the panic
//! boundary every exported function goes through ([`call`], [`guard`]).

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use strom_core::client::ClientError;
use strom_core::{ErrorInfo, ErrorKind};

/// What a fallible strom function returns. On anything but `STROM_OK` the outputs are left
/// untouched and `strom_last_error()` tells what went wrong.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum strom_result {
    /// Success.
    STROM_OK = 0,
    /// A NULL pointer, a string that is not UTF-8, an index or length out of range; the
    /// message names the argument.
    STROM_ERR_INVALID_ARGUMENT = 1,
    /// An unknown configuration name (the message names it) or a bad value.
    STROM_ERR_CONFIG = 2,
    /// The broker refused the call with a Kafka error: `strom_last_kafka_code()` has its code
    /// (3 UNKNOWN_TOPIC_OR_PARTITION, 36 TOPIC_ALREADY_EXISTS, ...).
    STROM_ERR_KAFKA = 3,
    /// The call did not finish within its time limit.
    STROM_ERR_TIMEOUT = 4,
    /// The handle (or the broker behind it) was closed.
    STROM_ERR_CLOSED = 5,
    /// A file or socket operation failed (opening the data directory, binding a listener).
    STROM_ERR_IO = 6,
    /// A bug in strom (a caught panic). The handle may be unusable; please report it.
    STROM_ERR_INTERNAL = 7,
    /// No connection could be made to a broker, or one was lost.
    STROM_ERR_NETWORK = 8,
    /// A call that does not fit the handle's state: polling before subscribe or assign,
    /// committing without `group.id`, a handle used in a forked child, a call made from
    /// inside a tokio runtime.
    STROM_ERR_STATE = 9,
    /// The broker broke the Kafka protocol or lacks an API version the call needs.
    STROM_ERR_PROTOCOL = 10,
}

/// A failed call on its way to C: the code, the Kafka code (0 when none) and the message.
#[derive(Debug)]
pub struct Failure {
    pub code: strom_result,
    pub kafka_code: i16,
    pub message: String,
}

impl Failure {
    pub fn new(code: strom_result, message: impl Into<String>) -> Self {
        Failure {
            code,
            kafka_code: 0,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(strom_result::STROM_ERR_INVALID_ARGUMENT, message)
    }

    pub fn state(message: impl Into<String>) -> Self {
        Self::new(strom_result::STROM_ERR_STATE, message)
    }

    pub fn io(what: &str, e: std::io::Error) -> Self {
        Self::new(strom_result::STROM_ERR_IO, format!("{what}: {e}"))
    }
}

impl From<ErrorKind> for strom_result {
    /// The one mapping of core's kinds to C codes; the numbers are `ErrorKind::code`.
    fn from(kind: ErrorKind) -> Self {
        use strom_result::*;
        match kind {
            ErrorKind::InvalidArgument => STROM_ERR_INVALID_ARGUMENT,
            ErrorKind::Config => STROM_ERR_CONFIG,
            ErrorKind::Kafka => STROM_ERR_KAFKA,
            ErrorKind::Timeout => STROM_ERR_TIMEOUT,
            ErrorKind::Closed => STROM_ERR_CLOSED,
            ErrorKind::Io => STROM_ERR_IO,
            ErrorKind::Internal => STROM_ERR_INTERNAL,
            ErrorKind::Network => STROM_ERR_NETWORK,
            ErrorKind::IllegalState => STROM_ERR_STATE,
            ErrorKind::Protocol => STROM_ERR_PROTOCOL,
        }
    }
}

impl From<ErrorInfo> for Failure {
    fn from(info: ErrorInfo) -> Self {
        Failure {
            code: info.kind.into(),
            kafka_code: info.kafka_code.unwrap_or(0),
            message: info.message,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        ErrorInfo::from(e).into()
    }
}

impl From<strom_core::Error> for Failure {
    fn from(e: strom_core::Error) -> Self {
        ErrorInfo::from(e).into()
    }
}

/// The result type of exported bodies.
pub type FfiResult<T> = Result<T, Failure>;

struct LastError {
    message: CString,
    kafka_code: i16,
}

thread_local! {
    static LAST: RefCell<LastError> = RefCell::new(LastError {
        message: CString::default(),
        kafka_code: 0,
    });
}

fn set_last(message: &str, kafka_code: i16) {
    // A message is shown to C as a string: an interior NUL would cut it short.
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // `try_with`: during thread teardown the slot may be gone; the code still reports.
    let _ = LAST.try_with(|last| {
        *last.borrow_mut() = LastError {
            message,
            kafka_code,
        }
    });
}

/// Runs the body of fallible exported function `name`: a panic becomes
/// `STROM_ERR_INTERNAL`, an error becomes its code and the thread's last error (prefixed
/// with `name`), success clears the last error.
pub fn call(name: &str, body: impl FnOnce() -> FfiResult<()>) -> strom_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last("", 0);
            strom_result::STROM_OK
        }
        Ok(Err(failure)) => {
            set_last(&format!("{name}: {}", failure.message), failure.kafka_code);
            failure.code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last(&format!("{name}: internal error: {what}"), 0);
            strom_result::STROM_ERR_INTERNAL
        }
    }
}

/// Runs the body of an infallible exported function (accessors, `_free`): a panic gives
/// `fallback` and leaves the last error alone.
pub fn guard<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The message of the last failed call on this thread ("" after a successful one). Never
/// NULL. Owned by the library: valid until the next fallible strom call on this thread;
/// copy it to keep it.
#[no_mangle]
pub extern "C" fn strom_last_error() -> *const c_char {
    guard(c"".as_ptr(), || {
        LAST.try_with(|last| last.borrow().message.as_ptr())
            .unwrap_or(c"".as_ptr())
    })
}

/// The Kafka error code of the last failed call on this thread: the broker's code with
/// `STROM_ERR_KAFKA`, the code Kafka's Java client reports for timeouts (7), network errors
/// (13) and bad configurations (40), and 0 when there is none or the last call succeeded.
#[no_mangle]
pub extern "C" fn strom_last_kafka_code() -> i16 {
    guard(0, || {
        LAST.try_with(|last| last.borrow().kafka_code).unwrap_or(0)
    })
}

/// A static, NUL-terminated name of `result` ("STROM_OK", "STROM_ERR_CONFIG", ...); never
/// NULL ("STROM_ERR_UNKNOWN" for a value that is not a `strom_result`).
#[no_mangle]
pub extern "C" fn strom_result_name(result: i32) -> *const c_char {
    guard(c"STROM_ERR_UNKNOWN".as_ptr(), || {
        result_name(result).as_ptr()
    })
}

fn result_name(result: i32) -> &'static CStr {
    match result {
        0 => c"STROM_OK",
        1 => c"STROM_ERR_INVALID_ARGUMENT",
        2 => c"STROM_ERR_CONFIG",
        3 => c"STROM_ERR_KAFKA",
        4 => c"STROM_ERR_TIMEOUT",
        5 => c"STROM_ERR_CLOSED",
        6 => c"STROM_ERR_IO",
        7 => c"STROM_ERR_INTERNAL",
        8 => c"STROM_ERR_NETWORK",
        9 => c"STROM_ERR_STATE",
        10 => c"STROM_ERR_PROTOCOL",
        _ => c"STROM_ERR_UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        // SAFETY: strom_last_error never returns NULL and its string lives until the next call.
        unsafe { CStr::from_ptr(strom_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn errors_set_and_success_clears_the_message() {
        let r = call("strom_x", || Err(Failure::invalid("dir is NULL")));
        assert_eq!(r, strom_result::STROM_ERR_INVALID_ARGUMENT);
        assert_eq!(last(), "strom_x: dir is NULL");
        assert_eq!(call("strom_y", || Ok(())), strom_result::STROM_OK);
        assert_eq!(last(), "");
        assert_eq!(strom_last_kafka_code(), 0);
    }

    #[test]
    fn every_kind_returns_its_stable_code() {
        for kind in ErrorKind::ALL {
            assert_eq!(strom_result::from(kind) as i32, kind.code(), "{kind:?}");
        }
    }

    #[test]
    fn panics_become_internal_errors() {
        let r = call("strom_boom", || panic!("kaboom"));
        assert_eq!(r, strom_result::STROM_ERR_INTERNAL);
        assert!(last().contains("kaboom"), "{}", last());
    }

    #[test]
    fn kafka_codes_and_interior_nuls_reach_c() {
        let e = ClientError::kafka(3, "producing to t-0", Some("a\0b".into()));
        let r = call("strom_send", || Err(e.into()));
        assert_eq!(r, strom_result::STROM_ERR_KAFKA);
        assert_eq!(strom_last_kafka_code(), 3);
        assert!(last().contains("UNKNOWN_TOPIC_OR_PARTITION") && last().contains("a\\0b"));
    }

    #[test]
    fn result_names_cover_every_code() {
        for code in 0..=10 {
            // SAFETY: static NUL-terminated strings.
            let name = unsafe { CStr::from_ptr(strom_result_name(code)) };
            assert!(name
                .to_str()
                .is_ok_and(|n| n.starts_with("STROM_") && !n.contains("UNKNOWN")));
        }
    }
}
