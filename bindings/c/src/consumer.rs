//! `strom_consumer`: `strom::client::Consumer` for C, one record per `strom_consumer_poll`.
//! The core hands records out one at a time (its delivery cursor keeps the rest fetched), so
//! a commit covers exactly the records C was given; nothing is held here.

use crate::broker::strom_broker;
use crate::config::{entries_of, strom_config};
use crate::error::{call, guard, strom_result, Failure, FfiResult};
use crate::ffi::{array_arg, handle, into_handle, str_arg, take_handle, Out};
use crate::message::strom_message;
use crate::runtime::{self, Runtime};
use std::ffi::c_char;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use strom_core::client::{Consumer, ConsumerBuilder, TopicPartition};

/// A Kafka consumer. Made by `strom_consumer_new` or `strom_consumer_new_in_process`,
/// released by `strom_consumer_free`. Calls on one consumer are serialised: use it from one
/// thread at a time (several threads are safe, but wait for each other).
#[derive(Debug)]
pub struct strom_consumer {
    rt: Arc<Runtime>,
    consumer: Mutex<Consumer>,
}

impl strom_consumer {
    fn lock(&self) -> FfiResult<MutexGuard<'_, Consumer>> {
        self.rt.check()?;
        Ok(self.consumer.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn build(
    rt: Arc<Runtime>,
    builder: ConsumerBuilder,
    cfg: Vec<(String, String)>,
) -> FfiResult<strom_consumer> {
    let builder = cfg
        .iter()
        .fold(builder, |b, (name, value)| b.set(name, value));
    let consumer = rt.block_on(builder.build())??;
    Ok(strom_consumer {
        rt,
        consumer: Mutex::new(consumer),
    })
}

/// Creates a consumer in `*out` for the cluster named by `bootstrap.servers` in `cfg`, with
/// the consumer settings of `cfg` (Kafka's names: `group.id`, `auto.offset.reset`,
/// `enable.auto.commit`, `isolation.level`, ...). `STROM_ERR_CONFIG` names an unknown setting
/// or a bad value.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_new(
    cfg: *const strom_config,
    out: *mut *mut strom_consumer,
) -> strom_result {
    call("strom_consumer_new", || {
        let out = Out::required(out, "out")?;
        // SAFETY: the header's contract: NULL or a live config.
        let cfg = unsafe { entries_of(cfg) };
        let consumer = build(runtime::get()?, Consumer::builder(), cfg)?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(consumer)) };
        Ok(())
    })
}

/// Creates a consumer in `*out` that reads from `broker` in this process, without sockets,
/// with exactly the semantics of the network path (groups included: it shares them with TCP
/// clients of the same broker). `cfg` may be NULL (defaults); a `bootstrap.servers` in it is
/// ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_new_in_process(
    broker: *mut strom_broker,
    cfg: *const strom_config,
    out: *mut *mut strom_consumer,
) -> strom_result {
    call("strom_consumer_new_in_process", || {
        // SAFETY: the header's contract: NULL or live handles.
        let (b, cfg) = unsafe { (handle(broker, "broker")?, entries_of(cfg)) };
        let out = Out::required(out, "out")?;
        let builder = Consumer::builder().in_process(b.service()?);
        let consumer = build(Arc::clone(&b.rt), builder, cfg)?;
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(into_handle(consumer)) };
        Ok(())
    })
}

/// Subscribes to the `count` topics of `topics` through the consumer group (needs
/// `group.id`; `STROM_ERR_STATE` otherwise), replacing an earlier subscription or
/// assignment. Partitions come with the next polls, as the group assigns them.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_subscribe(
    consumer: *mut strom_consumer,
    topics: *const *const c_char,
    count: usize,
) -> strom_result {
    call("strom_consumer_subscribe", || {
        // SAFETY: the header's contract: NULL or a live consumer, `count` strings.
        let (c, topics) = unsafe {
            (
                handle(consumer, "consumer")?,
                array_arg(topics, count, "topics")?,
            )
        };
        let names = topics
            .iter()
            .enumerate()
            // SAFETY: each element is NULL or a NUL-terminated string, by the contract.
            .map(|(i, t)| unsafe { str_arg(*t, &format!("topics[{i}]")) })
            .collect::<FfiResult<Vec<&str>>>()?;
        c.lock()?.subscribe(&names)?;
        Ok(())
    })
}

/// Consumes exactly the `count` partitions `(topics[i], partitions[i])`, without group
/// membership (commits still go to `group.id` when set), replacing an earlier subscription
/// or assignment. Each starts at its committed offset, else where `auto.offset.reset` says.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_assign(
    consumer: *mut strom_consumer,
    topics: *const *const c_char,
    partitions: *const i32,
    count: usize,
) -> strom_result {
    call("strom_consumer_assign", || {
        // SAFETY: the header's contract: NULL or a live consumer, arrays of `count`.
        let (c, assignment) = unsafe {
            (
                handle(consumer, "consumer")?,
                partitions_arg(topics, partitions, count)?,
            )
        };
        c.lock()?.assign(&assignment)?;
        Ok(())
    })
}

/// Waits up to `timeout_ms` (-1: no limit, 0: only what is fetched already) for a record and
/// returns it in `*out`, or NULL in `*out` (with `STROM_OK`) when none came in time. Free
/// each record with `strom_message_free`. Joins and rebalances the group, and auto-commits
/// (`enable.auto.commit`, on by default with `group.id`), as Kafka's `poll` does.
/// `STROM_ERR_STATE` before `strom_consumer_subscribe` or `strom_consumer_assign`.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_poll(
    consumer: *mut strom_consumer,
    timeout_ms: i32,
    out: *mut *mut strom_message,
) -> strom_result {
    call("strom_consumer_poll", || {
        // SAFETY: the header's contract: NULL or a live consumer.
        let c = unsafe { handle(consumer, "consumer")? };
        let out = Out::required(out, "out")?;
        let deadline = match timeout_ms {
            -1 => None,
            ms if ms >= 0 => Some(Instant::now() + Duration::from_millis(ms.unsigned_abs().into())),
            ms => {
                return Err(Failure::invalid(format!(
                    "timeout_ms must be -1 or at least 0, not {ms}"
                )))
            }
        };
        let mut consumer = c.lock()?;
        let record = match consumer.take_fetched(1) {
            Some(mut records) => records.pop(),
            None => c.rt.block_on(async {
                loop {
                    let wait = match deadline {
                        // No limit: poll in slices, so the loop stays a loop of Kafka polls.
                        None => Duration::from_secs(60),
                        Some(d) => d.saturating_duration_since(Instant::now()),
                    };
                    let mut records = consumer.poll_up_to(wait, 1).await?;
                    if !records.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                        return FfiResult::Ok(records.pop());
                    }
                }
            })??,
        };
        let message = record.map(strom_message::from);
        // SAFETY: checked non-NULL; the caller gave a writable slot.
        unsafe { out.write(message.map_or(std::ptr::null_mut(), into_handle)) };
        Ok(())
    })
}

/// Commits, and waits for, the position of every assigned partition: the offset after the
/// last record `strom_consumer_poll` returned (needs `group.id`).
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_commit(consumer: *mut strom_consumer) -> strom_result {
    call("strom_consumer_commit", || {
        // SAFETY: the header's contract: NULL or a live consumer.
        let c = unsafe { handle(consumer, "consumer")? };
        let mut consumer = c.lock()?;
        c.rt.block_on(consumer.commit_sync())??;
        Ok(())
    })
}

/// Makes the next poll return records of partition `partition` of `topic` from `offset`.
/// After `strom_consumer_subscribe`, a partition the group has not assigned yet is sought
/// when it is assigned; after `strom_consumer_assign`, `STROM_ERR_STATE` when the partition
/// is not assigned to this consumer.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_seek(
    consumer: *mut strom_consumer,
    topic: *const c_char,
    partition: i32,
    offset: i64,
) -> strom_result {
    call("strom_consumer_seek", || {
        // SAFETY: the header's contract: NULL or a live consumer and a NUL-terminated string.
        let (c, topic) = unsafe { (handle(consumer, "consumer")?, str_arg(topic, "topic")?) };
        if offset < 0 {
            return Err(Failure::invalid(format!("offset is negative: {offset}")));
        }
        c.lock()?
            .seek(&TopicPartition::new(topic, partition), offset)?;
        Ok(())
    })
}

/// Collects `(topics[i], partitions[i])` for `count` partitions.
///
/// # Safety
/// `topics` and `partitions` are NULL or arrays of `count`; each topic NULL or a
/// NUL-terminated string.
unsafe fn partitions_arg(
    topics: *const *const c_char,
    partitions: *const i32,
    count: usize,
) -> FfiResult<Vec<TopicPartition>> {
    // SAFETY: the caller's contract.
    let (topics, partitions) = unsafe {
        (
            array_arg(topics, count, "topics")?,
            array_arg(partitions, count, "partitions")?,
        )
    };
    let mut out = Vec::with_capacity(count);
    for (i, (t, p)) in topics.iter().zip(partitions).enumerate() {
        // SAFETY: each element is NULL or a NUL-terminated string, by the contract.
        let topic = unsafe { str_arg(*t, &format!("topics[{i}]"))? };
        if *p < 0 {
            return Err(Failure::invalid(format!(
                "partitions[{i}] is negative: {p}"
            )));
        }
        out.push(TopicPartition::new(topic, *p));
    }
    Ok(out)
}

/// Pauses (`paused`) or resumes the `count` partitions `(topics[i], partitions[i])`.
///
/// # Safety
/// As `strom_consumer_pause`.
unsafe fn set_paused(
    name: &'static str,
    consumer: *mut strom_consumer,
    topics: *const *const c_char,
    partitions: *const i32,
    count: usize,
    paused: bool,
) -> strom_result {
    call(name, || {
        // SAFETY: the header's contract: NULL or a live consumer, arrays of `count`.
        let (c, list) = unsafe {
            (
                handle(consumer, "consumer")?,
                partitions_arg(topics, partitions, count)?,
            )
        };
        let mut consumer = c.lock()?;
        if paused {
            consumer.pause(&list)?;
        } else {
            consumer.resume(&list)?;
        }
        Ok(())
    })
}

/// Stops `strom_consumer_poll` returning records of the `count` partitions
/// `(topics[i], partitions[i])` until `strom_consumer_resume`; records fetched already wait
/// in the consumer. After `strom_consumer_subscribe`, partitions the group has not assigned
/// yet are paused when it assigns them; after `strom_consumer_assign`, `STROM_ERR_STATE` for
/// a partition not assigned (and none is paused).
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_pause(
    consumer: *mut strom_consumer,
    topics: *const *const c_char,
    partitions: *const i32,
    count: usize,
) -> strom_result {
    // SAFETY: the same contract, passed on.
    unsafe {
        set_paused(
            "strom_consumer_pause",
            consumer,
            topics,
            partitions,
            count,
            true,
        )
    }
}

/// Lets `strom_consumer_poll` return records of the `count` partitions
/// `(topics[i], partitions[i])` again, starting with those fetched while they were paused.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_resume(
    consumer: *mut strom_consumer,
    topics: *const *const c_char,
    partitions: *const i32,
    count: usize,
) -> strom_result {
    // SAFETY: the same contract, passed on.
    unsafe {
        set_paused(
            "strom_consumer_resume",
            consumer,
            topics,
            partitions,
            count,
            false,
        )
    }
}

/// Commits the positions (with `enable.auto.commit`), leaves the group and stops the
/// consumer: later polls fail with `STROM_ERR_CLOSED`. Closing again succeeds. The handle
/// must still be freed.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_close(consumer: *mut strom_consumer) -> strom_result {
    call("strom_consumer_close", || {
        // SAFETY: the header's contract: NULL or a live consumer.
        let c = unsafe { handle(consumer, "consumer")? };
        let mut consumer = c.lock()?;
        c.rt.block_on(consumer.close())??;
        Ok(())
    })
}

/// Closes the consumer as `strom_consumer_close` does and releases it. NULL is ignored.
#[no_mangle]
pub unsafe extern "C" fn strom_consumer_free(consumer: *mut strom_consumer) {
    guard((), || {
        // SAFETY: NULL or a consumer from strom_consumer_new* that the caller gives up.
        let Some(c) = (unsafe { take_handle(consumer) }) else {
            return;
        };
        // Errors are lost here: strom_consumer_close reports them. In a forked child or
        // inside a tokio runtime `lock` refuses and the consumer is only dropped.
        if let Ok(mut consumer) = c.lock() {
            let _ = c.rt.block_on(consumer.close());
        }
        let rt = Arc::clone(&c.rt);
        rt.release(c);
    })
}
