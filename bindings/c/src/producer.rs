//! `strom_producer`: `strom::client::Producer` for C. `strom_producer_send` waits for the
//! delivery; `strom_producer_send_async` only queues, and the failures of queued records are
//! reported by the next `strom_producer_flush` (or `_close`).

use crate::broker::strom_broker;
use crate::config::{entries_of, strom_config};
use crate::error::{call, guard, strom_result, Failure, FfiResult};
use crate::ffi::{array_arg, bytes_arg, handle, into_handle, str_arg, take_handle, Out};
use crate::message::strom_header;
use crate::runtime::{self, Runtime};
use bytes::Bytes;
use std::ffi::c_char;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use strom_core::client::producer::DeliveryFuture;
use strom_core::client::{ClientError, Producer, ProducerBuilder, ProducerRecord};

/// A Kafka producer. Made by `strom_producer_new` or `strom_producer_new_in_process`,
/// released by `strom_producer_free`. Safe to use from several threads at once.
#[derive(Debug)]
pub struct strom_producer {
    rt: Arc<Runtime>,
    inner: Arc<Producer>,
    pending: Mutex<Pending>,
}

/// Deliveries of `send_async` not yet looked at, and the failures among those already seen.
#[derive(Debug, Default)]
struct Pending {
    deliveries: Vec<DeliveryFuture>,
    /// When `deliveries` is this long, finished ones are sorted out (amortised O(1)).
    sweep_at: usize,
    failed: u64,
    first_error: Option<ClientError>,
}

const SWEEP_MIN: usize = 4096;

impl Pending {
    fn push(&mut self, delivery: DeliveryFuture) {
        self.deliveries.push(delivery);
        if self.deliveries.len() >= self.sweep_at.max(SWEEP_MIN) {
            self.sweep();
            self.sweep_at = 2 * self.deliveries.len();
        }
    }

    /// Drops finished deliveries, remembering failures.
    fn sweep(&mut self) {
        let (failed, first_error) = (&mut self.failed, &mut self.first_error);
        self.deliveries.retain(|d| match d.try_result() {
            None => true,
            Some(Ok(_)) => false,
            Some(Err(e)) => {
                *failed += 1;
                first_error.get_or_insert(e);
                false
            }
        });
    }

    /// The failures since the last report, as one error.
    fn report(&mut self) -> FfiResult<()> {
        self.sweep();
        let failed = std::mem::take(&mut self.failed);
        match self.first_error.take() {
            None => Ok(()),
            Some(e) => {
                let mut failure = Failure::from(e);
                failure.message = format!(
                    "{failed} record(s) queued by strom_producer_send_async failed; the first: {}",
                    failure.message
                );
                Err(failure)
            }
        }
    }
}

fn build(
    rt: Arc<Runtime>,
    builder: ProducerBuilder,
    cfg: Vec<(String, String)>,
) -> FfiResult<strom_producer> {
    let builder = cfg
        .iter()
        .fold(builder, |b, (name, value)| b.set(name, value));
    let producer = rt.block_on(builder.build())??;
    Ok(strom_producer {
        rt,
        inner: Arc::new(producer),
        pending: Mutex::new(Pending::default()),
    })
}

/// Creates a producer in `*out` for the cluster named by `bootstrap.servers` in `cfg` (any
/// Kafka broker, or a strom broker's listener), with the producer settings of `cfg` (Kafka's
/// names: `acks`, `linger.ms`, `compression.type`, `enable.idempotence`, ...).
/// `STROM_ERR_CONFIG` names an unknown setting or a bad value.
#[no_mangle]
pub unsafe extern "C" fn strom_producer_new(
    cfg: *const strom_config,
    out: *mut *mut strom_producer,
) -> strom_result {
    call("strom_producer_new", || {
        let out = Out::required(out, "out")?;
        // SAFETY: the header's contract: NULL or a live config.
        let cfg = unsafe { entries_of(cfg) };
        let producer = build(runtime::get()?, Producer::builder(), cfg)?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(producer)) };
        Ok(())
    })
}

/// Creates a producer in `*out` that writes into `broker` in this process, without sockets,
/// with exactly the semantics of the network path. `cfg` may be NULL (defaults); a
/// `bootstrap.servers` in it is ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_producer_new_in_process(
    broker: *mut strom_broker,
    cfg: *const strom_config,
    out: *mut *mut strom_producer,
) -> strom_result {
    call("strom_producer_new_in_process", || {
        // SAFETY: the header's contract: NULL or live handles.
        let (b, cfg) = unsafe { (handle(broker, "broker")?, entries_of(cfg)) };
        let out = Out::required(out, "out")?;
        let builder = Producer::builder().in_process(b.service()?);
        let producer = build(Arc::clone(&b.rt), builder, cfg)?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(producer)) };
        Ok(())
    })
}

/// The record a send call describes.
///
/// # Safety
/// Every pointer is NULL or valid as the header documents for `strom_producer_send`.
#[allow(clippy::too_many_arguments)]
unsafe fn record(
    topic: *const c_char,
    partition: i32,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    headers: *const strom_header,
    header_count: usize,
) -> FfiResult<ProducerRecord> {
    // SAFETY: valid or NULL, by the caller's promise.
    let (topic, key, value, headers) = unsafe {
        (
            str_arg(topic, "topic")?,
            bytes_arg(key, key_len, "key")?,
            bytes_arg(value, value_len, "value")?,
            array_arg(headers, header_count, "headers")?,
        )
    };
    let mut record = ProducerRecord::new(topic);
    record.partition = match partition {
        -1 => None,
        p if p >= 0 => Some(p),
        p => {
            return Err(Failure::invalid(format!(
                "partition must be -1 (the partitioner chooses) or a partition, not {p}"
            )))
        }
    };
    record.key = key.map(Bytes::copy_from_slice);
    record.value = value.map(Bytes::copy_from_slice);
    for (i, h) in headers.iter().enumerate() {
        // SAFETY: each header's pointers are valid or NULL, by the caller's promise.
        let (k, v) = unsafe {
            (
                str_arg(h.key, &format!("headers[{i}].key"))?,
                bytes_arg(h.value, h.value_len, &format!("headers[{i}].value"))?,
            )
        };
        record
            .headers
            .push((k.to_string(), v.map(Bytes::copy_from_slice)));
    }
    Ok(record)
}

/// Sends one record to `topic` and waits until the broker acknowledged it (as `acks` says) or
/// the producer gave up (`delivery.timeout.ms`).
///
/// - `partition`: -1 lets the partitioner choose (murmur2 of the key, as Kafka's Java client;
///   sticky batches for null keys), otherwise the partition.
/// - `key`/`value`: `key_len`/`value_len` bytes, copied; NULL with length 0 for null.
/// - `headers`: `header_count` headers (NULL when 0), copied.
/// - `partition_out`, `offset_out`: where the record landed; either may be NULL. The offset
///   is -1 with `acks=0`.
///
/// `STROM_ERR_CLOSED` after `strom_producer_close`; `STROM_ERR_KAFKA` with the broker's code
/// when it refused the record (3: no such topic and auto-creation is off).
#[no_mangle]
pub unsafe extern "C" fn strom_producer_send(
    producer: *mut strom_producer,
    topic: *const c_char,
    partition: i32,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    headers: *const strom_header,
    header_count: usize,
    partition_out: *mut i32,
    offset_out: *mut i64,
) -> strom_result {
    call("strom_producer_send", || {
        // SAFETY: the header's contract for every pointer argument.
        let (p, record) = unsafe {
            (
                handle(producer, "producer")?,
                record(
                    topic,
                    partition,
                    key,
                    key_len,
                    value,
                    value_len,
                    headers,
                    header_count,
                )?,
            )
        };
        let inner = &p.inner;
        let metadata =
            p.rt.block_on(async { inner.send(record).await?.wait().await })??;
        // SAFETY: NULL or writable, by the header's contract.
        unsafe {
            Out::optional(partition_out).write(metadata.partition);
            Out::optional(offset_out).write(metadata.offset);
        }
        Ok(())
    })
}

/// Queues one record (arguments as `strom_producer_send`) and returns without waiting for
/// its delivery; it is sent within `linger.ms`. Blocks only when `buffer.memory` is full or
/// the topic's metadata is not known yet (up to `max.block.ms`). A record that fails later is
/// reported by the next `strom_producer_flush` or `strom_producer_close`.
#[no_mangle]
pub unsafe extern "C" fn strom_producer_send_async(
    producer: *mut strom_producer,
    topic: *const c_char,
    partition: i32,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    headers: *const strom_header,
    header_count: usize,
) -> strom_result {
    call("strom_producer_send_async", || {
        // SAFETY: the header's contract for every pointer argument.
        let (p, record) = unsafe {
            (
                handle(producer, "producer")?,
                record(
                    topic,
                    partition,
                    key,
                    key_len,
                    value,
                    value_len,
                    headers,
                    header_count,
                )?,
            )
        };
        let delivery = p.rt.block_on(p.inner.send(record))??;
        p.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(delivery);
        Ok(())
    })
}

/// Sends every queued record now (without waiting for `linger.ms`) and waits up to
/// `timeout_ms` (-1: no limit) until each is acknowledged or failed. `STROM_ERR_TIMEOUT` when
/// the time ran out (the records are still being sent); otherwise the first failure of a
/// record queued by `strom_producer_send_async` since the last flush, if any, with its code.
#[no_mangle]
pub unsafe extern "C" fn strom_producer_flush(
    producer: *mut strom_producer,
    timeout_ms: i32,
) -> strom_result {
    call("strom_producer_flush", || {
        // SAFETY: the header's contract: NULL or a live producer.
        let p = unsafe { handle(producer, "producer")? };
        let limit = match timeout_ms {
            -1 => None,
            ms if ms >= 0 => Some(Duration::from_millis(ms.unsigned_abs().into())),
            ms => {
                return Err(Failure::invalid(format!(
                    "timeout_ms must be -1 or at least 0, not {ms}"
                )))
            }
        };
        p.rt.check()?;
        // A task, so that a flush cut short by the timeout still finishes its bookkeeping.
        let inner = Arc::clone(&p.inner);
        let flushing = p.rt.spawn(async move { inner.flush().await });
        let flushed = p.rt.block_on(async move {
            match limit {
                None => Some(flushing.await),
                Some(limit) => tokio::time::timeout(limit, flushing).await.ok(),
            }
        })?;
        match flushed {
            None => {
                return Err(Failure::new(
                    strom_result::STROM_ERR_TIMEOUT,
                    format!("records still unacknowledged after {timeout_ms} ms"),
                ))
            }
            Some(Err(join)) => {
                return Err(Failure::new(
                    strom_result::STROM_ERR_INTERNAL,
                    format!("the flush task failed: {join}"),
                ))
            }
            Some(Ok(result)) => result?,
        }
        p.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report()
    })
}

/// Delivers every queued record (waiting as long as `delivery.timeout.ms` allows), then
/// stops the producer: later sends fail with `STROM_ERR_CLOSED`. Reports failures of queued
/// records as `strom_producer_flush` does. Closing again succeeds. The handle must still be
/// freed.
#[no_mangle]
pub unsafe extern "C" fn strom_producer_close(producer: *mut strom_producer) -> strom_result {
    call("strom_producer_close", || {
        // SAFETY: the header's contract: NULL or a live producer.
        let p = unsafe { handle(producer, "producer")? };
        p.rt.block_on(p.inner.close())??;
        p.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .report()
    })
}

/// Closes the producer as `strom_producer_close` does (delivering what is queued) and
/// releases it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_producer_free(producer: *mut strom_producer) {
    guard((), || {
        // SAFETY: NULL or a producer from strom_producer_new* that the caller gives up.
        let Some(p) = (unsafe { take_handle(producer) }) else {
            return;
        };
        // Errors are lost here: strom_producer_close reports them. In a forked child or
        // inside a tokio runtime `block_on` refuses, and dropping still drains in the
        // background.
        let _ = p.rt.block_on(p.inner.close());
        let rt = Arc::clone(&p.rt);
        rt.release(p);
    })
}
