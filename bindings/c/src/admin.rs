//! `strom_admin`: the topic calls of `strom::client::Admin` for C; `strom_topic_list`: the
//! names `strom_admin_list_topics` returns.

use crate::broker::strom_broker;
use crate::config::{entries_of, strom_config};
use crate::error::{call, guard, strom_result, Failure, FfiResult};
use crate::ffi::{handle, into_handle, str_arg, take_handle, Out};
use crate::runtime::{self, Runtime};
use std::ffi::{c_char, CString};
use std::sync::Arc;
use strom_core::client::{Admin, AdminBuilder};

/// An admin client. Made by `strom_admin_new` or `strom_admin_new_in_process`, released by
/// `strom_admin_free`. Safe to use from several threads at once.
#[derive(Debug)]
pub struct strom_admin {
    rt: Arc<Runtime>,
    inner: Admin,
}

/// Topic names, returned by `strom_admin_list_topics` and released by
/// `strom_topic_list_free`.
#[derive(Debug)]
pub struct strom_topic_list {
    names: Vec<CString>,
}

fn build(
    rt: Arc<Runtime>,
    builder: AdminBuilder,
    cfg: Vec<(String, String)>,
) -> FfiResult<strom_admin> {
    let builder = cfg
        .iter()
        .fold(builder, |b, (name, value)| b.set(name, value));
    let inner = rt.block_on(builder.build())??;
    Ok(strom_admin { rt, inner })
}

/// Creates an admin client in `*out` for the cluster named by `bootstrap.servers` in `cfg`
/// (admin settings: `client.id`, `request.timeout.ms`, `default.api.timeout.ms`, ...). Fetches
/// the cluster's metadata once, so an unreachable cluster fails here.
#[no_mangle]
pub unsafe extern "C" fn strom_admin_new(
    cfg: *const strom_config,
    out: *mut *mut strom_admin,
) -> strom_result {
    call("strom_admin_new", || {
        let out = Out::required(out, "out")?;
        // SAFETY: the header's contract: NULL or a live config.
        let cfg = unsafe { entries_of(cfg) };
        let admin = build(runtime::get()?, Admin::builder(), cfg)?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(admin)) };
        Ok(())
    })
}

/// Creates an admin client in `*out` for `broker` in this process. `cfg` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_admin_new_in_process(
    broker: *mut strom_broker,
    cfg: *const strom_config,
    out: *mut *mut strom_admin,
) -> strom_result {
    call("strom_admin_new_in_process", || {
        // SAFETY: the header's contract: NULL or live handles.
        let (b, cfg) = unsafe { (handle(broker, "broker")?, entries_of(cfg)) };
        let out = Out::required(out, "out")?;
        // The endpoint goes last: a `bootstrap.servers` in `cfg` must not replace it.
        let mut builder = Admin::builder();
        for (name, value) in cfg.iter().filter(|(n, _)| n != "bootstrap.servers") {
            builder = builder.set(name, value);
        }
        let builder = builder.in_process(b.service()?);
        let admin = build(Arc::clone(&b.rt), builder, Vec::new())?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(admin)) };
        Ok(())
    })
}

/// Creates topic `name` with `partitions` partitions (-1: the broker's default).
/// `STROM_ERR_KAFKA` with code 36 (TOPIC_ALREADY_EXISTS) when it exists.
#[no_mangle]
pub unsafe extern "C" fn strom_admin_create_topic(
    admin: *mut strom_admin,
    name: *const c_char,
    partitions: i32,
) -> strom_result {
    call("strom_admin_create_topic", || {
        // SAFETY: the header's contract: NULL or a live admin and a NUL-terminated string.
        let (a, name) = unsafe { (handle(admin, "admin")?, str_arg(name, "name")?) };
        let partitions = match partitions {
            -1 => None,
            p if p > 0 => Some(p),
            p => {
                return Err(Failure::invalid(format!(
                    "partitions must be positive or -1, not {p}"
                )))
            }
        };
        a.rt.block_on(a.inner.create_topic(name, partitions, &[]))??;
        Ok(())
    })
}

/// Deletes topic `name`. `STROM_ERR_KAFKA` with code 3 (UNKNOWN_TOPIC_OR_PARTITION) when
/// there is no such topic.
#[no_mangle]
pub unsafe extern "C" fn strom_admin_delete_topic(
    admin: *mut strom_admin,
    name: *const c_char,
) -> strom_result {
    call("strom_admin_delete_topic", || {
        // SAFETY: the header's contract: NULL or a live admin and a NUL-terminated string.
        let (a, name) = unsafe { (handle(admin, "admin")?, str_arg(name, "name")?) };
        a.rt.block_on(a.inner.delete_topic(name))??;
        Ok(())
    })
}

/// The names of the cluster's topics, sorted, without internal ones (`__consumer_offsets`),
/// in `*out`. Free the list with `strom_topic_list_free`.
#[no_mangle]
pub unsafe extern "C" fn strom_admin_list_topics(
    admin: *mut strom_admin,
    out: *mut *mut strom_topic_list,
) -> strom_result {
    call("strom_admin_list_topics", || {
        // SAFETY: the header's contract: NULL or a live admin.
        let a = unsafe { handle(admin, "admin")? };
        let out = Out::required(out, "out")?;
        let names = a.rt.block_on(a.inner.list_topics(false))??;
        let names = names
            .into_iter()
            .map(|n| CString::new(n).map_err(|_| Failure::invalid("a topic name has a NUL")))
            .collect::<FfiResult<Vec<_>>>()?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(strom_topic_list { names })) };
        Ok(())
    })
}

/// Releases `admin`. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_admin_free(admin: *mut strom_admin) {
    guard((), || {
        // SAFETY: NULL or an admin from strom_admin_new* that the caller gives up.
        if let Some(a) = unsafe { take_handle(admin) } {
            let rt = Arc::clone(&a.rt);
            rt.release(a);
        }
    })
}

/// How many names `list` holds; 0 if `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_topic_list_count(list: *const strom_topic_list) -> usize {
    // SAFETY: the header's contract: NULL or a live list.
    guard(0, || unsafe { list.as_ref() }.map_or(0, |l| l.names.len()))
}

/// Name `index` of `list` (NUL-terminated, owned by the list); NULL when `index` is out of
/// range or `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn strom_topic_list_get(
    list: *const strom_topic_list,
    index: usize,
) -> *const c_char {
    guard(std::ptr::null(), || {
        // SAFETY: the header's contract: NULL or a live list.
        unsafe { list.as_ref() }
            .and_then(|l| l.names.get(index))
            .map_or(std::ptr::null(), |n| n.as_ptr())
    })
}

/// Releases `list` and its names. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_topic_list_free(list: *mut strom_topic_list) {
    // SAFETY: NULL or a list from strom_admin_list_topics that the caller gives up.
    guard((), || drop(unsafe { take_handle(list) }))
}
