//! `strom_config`: Kafka configuration pairs (`bootstrap.servers`, `linger.ms`, `group.id`,
//! ...) collected for a producer, consumer or admin client, which checks them when it is
//! created.

use crate::error::{call, guard, strom_result};
use crate::ffi::{handle, into_handle, str_arg, take_handle, Out};
use std::ffi::c_char;
use std::sync::Mutex;

/// Configuration for a producer, consumer or admin client: Kafka config names and values.
/// Not checked when set: the client made from it refuses unknown names and bad values.
/// Made by `strom_config_new`, released by `strom_config_free`; clients copy what they need,
/// so a config may be freed or reused once a client is made.
#[derive(Debug, Default)]
pub struct strom_config {
    entries: Mutex<Vec<(String, String)>>,
}

impl strom_config {
    /// The pairs in the order they were first set.
    pub(crate) fn entries(&self) -> Vec<(String, String)> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The entries of an optional config argument (NULL: none).
///
/// # Safety
/// `cfg` is NULL or a live `strom_config`.
pub(crate) unsafe fn entries_of(cfg: *const strom_config) -> Vec<(String, String)> {
    // SAFETY: NULL or live, by the caller's promise.
    unsafe { cfg.as_ref() }
        .map(strom_config::entries)
        .unwrap_or_default()
}

/// Creates an empty configuration in `*out`. Free it with `strom_config_free`.
#[no_mangle]
pub unsafe extern "C" fn strom_config_new(out: *mut *mut strom_config) -> strom_result {
    call("strom_config_new", || {
        let out = Out::required(out, "out")?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(strom_config::default())) };
        Ok(())
    })
}

/// Sets `name` (a Kafka config name, e.g. "bootstrap.servers") to `value`, replacing an
/// earlier value of the same name. Both strings are copied.
#[no_mangle]
pub unsafe extern "C" fn strom_config_set(
    cfg: *mut strom_config,
    name: *const c_char,
    value: *const c_char,
) -> strom_result {
    call("strom_config_set", || {
        // SAFETY: the header's contract: a live config and NUL-terminated strings, or NULL.
        let (cfg, name, value) = unsafe {
            (
                handle(cfg, "cfg")?,
                str_arg(name, "name")?,
                str_arg(value, "value")?,
            )
        };
        let mut entries = cfg
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match entries.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value.to_string(),
            None => entries.push((name.to_string(), value.to_string())),
        }
        Ok(())
    })
}

/// Releases `cfg`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_config_free(cfg: *mut strom_config) {
    // SAFETY: NULL or a config from strom_config_new that the caller gives up.
    guard((), || drop(unsafe { take_handle(cfg) }))
}
