//! `strom_broker`: the embedded broker (`strom::EmbeddedBroker`) that in-process clients
//! attach to and that serves the Kafka protocol on TCP listeners. Only conversion lives here.

use crate::config::{entries_of, strom_config};
use crate::error::{call, guard, strom_result, Failure, FfiResult};
use crate::ffi::{handle, into_handle, str_arg, take_handle, Out};
use crate::runtime::{self, Runtime};
use std::ffi::c_char;
use std::sync::Arc;
use strom_core::api::Service;
use strom_core::{EmbeddedBroker, Settings};

/// An embedded broker: the whole broker inside this process, storing its data in a
/// directory. Made by `strom_broker_open`, released by `strom_broker_free`. Safe to use from
/// several threads at once.
#[derive(Debug)]
pub struct strom_broker {
    pub(crate) rt: Arc<Runtime>,
    embedded: EmbeddedBroker,
}

impl strom_broker {
    /// The service for an in-process client, refusing a closed broker.
    pub(crate) fn service(&self) -> FfiResult<&Service> {
        self.rt.check()?;
        if self.embedded.is_closed() {
            return Err(Failure::new(
                strom_result::STROM_ERR_CLOSED,
                "the broker is closed",
            ));
        }
        Ok(self.embedded.service()?)
    }

    fn close(&self) -> FfiResult<()> {
        self.rt.check()?;
        Ok(self.rt.block_on(self.embedded.close())??)
    }
}

/// Opens (creating it if needed) the broker whose data lives in directory `dir`, in `*out`,
/// with default settings. One broker per directory: a second open of the same directory
/// fails with `STROM_ERR_IO`. Close it with `strom_broker_free`.
#[no_mangle]
pub unsafe extern "C" fn strom_broker_open(
    dir: *const c_char,
    out: *mut *mut strom_broker,
) -> strom_result {
    // SAFETY: forwarded under the same contract, with no config.
    unsafe { open("strom_broker_open", dir, std::ptr::null(), out) }
}

/// `strom_broker_open` with broker settings by Kafka's names in `cfg` (every name
/// `strom serve` takes: `num.partitions`, `group.initial.rebalance.delay.ms`, `listeners`,
/// `metrics.listener`, ...; NULL: the defaults). An unknown name or a bad value fails with
/// `STROM_ERR_CONFIG`. `cfg` may be freed once this returns.
#[no_mangle]
pub unsafe extern "C" fn strom_broker_open_with(
    dir: *const c_char,
    cfg: *const strom_config,
    out: *mut *mut strom_broker,
) -> strom_result {
    // SAFETY: forwarded under the same contract.
    unsafe { open("strom_broker_open_with", dir, cfg, out) }
}

/// # Safety
/// `dir` is NULL or NUL-terminated, `cfg` NULL or live, `out` NULL or writable.
unsafe fn open(
    what: &'static str,
    dir: *const c_char,
    cfg: *const strom_config,
    out: *mut *mut strom_broker,
) -> strom_result {
    call(what, || {
        // SAFETY: the header's contract: a NUL-terminated string or NULL.
        let dir = unsafe { str_arg(dir, "dir")? };
        let out = Out::required(out, "out")?;
        // SAFETY: NULL or a live config, by the header's contract.
        let settings = Settings::from_pairs(unsafe { entries_of(cfg) })?;
        let rt = runtime::get()?;
        let embedded = rt.block_on(EmbeddedBroker::open(dir, settings))??;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(strom_broker { rt, embedded })) };
        Ok(())
    })
}

/// Creates topic `name` with `partitions` partitions (-1: the broker's default,
/// `num.partitions`). `STROM_ERR_KAFKA` with code 36 (TOPIC_ALREADY_EXISTS) when it exists.
#[no_mangle]
pub unsafe extern "C" fn strom_broker_create_topic(
    broker: *mut strom_broker,
    name: *const c_char,
    partitions: i32,
) -> strom_result {
    call("strom_broker_create_topic", || {
        // SAFETY: the header's contract: a live broker and a NUL-terminated string, or NULL.
        let (b, name) = unsafe { (handle(broker, "broker")?, str_arg(name, "name")?) };
        let partitions = match partitions {
            -1 => None,
            p if p > 0 => Some(p),
            p => {
                return Err(Failure::invalid(format!(
                    "partitions must be positive or -1, not {p}"
                )))
            }
        };
        b.service()?
            .broker()
            .create_topic(name, partitions, Default::default())?;
        Ok(())
    })
}

/// Serves the Kafka protocol for this broker on a TCP listener bound to `listen`
/// ("host:port"; port 0 picks a free one) in the background, until `strom_broker_free`.
/// Writes the bound address ("127.0.0.1:40123", NUL-terminated) to `addr_out`, which has
/// room for `addr_cap` bytes (64 is always enough); `addr_out` may be NULL. A listener that
/// was bound but whose address does not fit is closed again and the call fails.
#[no_mangle]
pub unsafe extern "C" fn strom_broker_serve(
    broker: *mut strom_broker,
    listen: *const c_char,
    addr_out: *mut c_char,
    addr_cap: usize,
) -> strom_result {
    call("strom_broker_serve", || {
        // SAFETY: the header's contract: a live broker and a NUL-terminated string, or NULL.
        let (b, listen) = unsafe { (handle(broker, "broker")?, str_arg(listen, "listen")?) };
        b.service()?;
        // A copy of the handle's broker: the listener outlives no close (close stops it).
        let embedded = b.embedded.clone();
        let bound =
            b.rt.block_on(async move { embedded.serve(listen).await })??;
        let addr = bound.to_string();
        if !addr_out.is_null() && addr.len() >= addr_cap {
            let embedded = b.embedded.clone();
            b.rt.block_on(async move { embedded.stop_serving(bound).await })?;
            return Err(Failure::invalid(format!(
                "addr_cap {addr_cap} has no room for {addr:?} and its NUL"
            )));
        }
        if !addr_out.is_null() {
            // SAFETY: `addr_out` has room for `addr_cap` > addr.len() bytes, by the caller's
            // promise; the source is a Rust string that cannot overlap it.
            unsafe {
                std::ptr::copy_nonoverlapping(addr.as_ptr(), addr_out.cast::<u8>(), addr.len());
                addr_out.add(addr.len()).write(0);
            }
        }
        Ok(())
    })
}

/// Stops the listeners (draining their requests), flushes and closes the broker, writing
/// its clean-shutdown marker. Later calls on it (and on in-process clients attached to it)
/// fail with `STROM_ERR_CLOSED`; closing again succeeds. The handle must still be freed.
#[no_mangle]
pub unsafe extern "C" fn strom_broker_close(broker: *mut strom_broker) -> strom_result {
    call("strom_broker_close", || {
        // SAFETY: the header's contract: a live broker or NULL.
        unsafe { handle(broker, "broker")? }.close()
    })
}

/// Closes the broker (see `strom_broker_close`, which reports what this cannot) and releases
/// the handle. Free the clients attached to it first. NULL is ignored. In a forked child, a
/// broker opened by the parent is released without closing anything: the parent still owns
/// its files.
#[no_mangle]
pub unsafe extern "C" fn strom_broker_free(broker: *mut strom_broker) {
    guard((), || {
        // SAFETY: NULL or a broker from strom_broker_open that the caller gives up.
        let Some(b) = (unsafe { take_handle(broker) }) else {
            return;
        };
        if !b.rt.forked() {
            // Errors are lost here: strom_broker_close reports them.
            let _ = b.close();
        }
        let rt = Arc::clone(&b.rt);
        rt.release(b);
    })
}
