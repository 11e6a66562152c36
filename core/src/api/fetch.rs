//! Fetch (v4–16): whole batches from each partition, long-polling until `min_bytes` have
//! arrived or `max_wait_ms` has passed.
//!
//! - The wait is on each partition log's end-offset watch channel, subscribed before the first
//!   read so no append between read and wait is missed; never a sleep loop.
//! - Limits follow KIP-74: the first partition that returns data returns at least one whole
//!   batch even if it exceeds `max_bytes`/`partition_max_bytes`; after that both are hard.
//! - Fetch sessions (v7+) are not kept: every answer has session_id 0, which tells the client
//!   no session was created, so it keeps sending full fetches (valid Kafka behaviour). An
//!   incremental fetch (epoch > 0) gets FETCH_SESSION_ID_NOT_FOUND and the client starts over.
//! - Records are an empty byte string, never null, when there is nothing (librdkafka refuses
//!   null). high_watermark = last_stable_offset = log end: there are no transactions or
//!   replicas to hold either back.

use super::{off_thread, Context, Reply};
use crate::error::Error;
use crate::log::PartitionLog;
use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ResponseKind, TopicName};
use kafka_protocol::ResponseError;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::watch;
use tokio::time::{sleep_until, Duration, Instant};
use uuid::Uuid;

/// Kafka's broker `fetch.max.bytes` default: the most one fetch response carries, whatever
/// the request asks for, so a client cannot make the broker buffer gigabytes.
const FETCH_MAX_BYTES: usize = 57_671_680;

/// One partition the request asks for.
struct Slot {
    topic: usize,
    partition: i32,
    offset: i64,
    max_bytes: usize,
    log: Result<Arc<PartitionLog>, i16>,
}

/// The answer to a fetch that cannot be served at all.
pub(crate) fn error_response(code: i16) -> ResponseKind {
    ResponseKind::Fetch(FetchResponse::default().with_error_code(code))
}

pub(super) fn handle(ctx: &Context, version: i16, req: FetchRequest) -> Reply {
    // Epoch 0 opens a session and -1 is sessionless: both are full fetches.
    if version >= 7 && !matches!(req.session_epoch, 0 | -1) {
        return Reply::Now(error_response(ResponseError::FetchSessionIdNotFound.code()));
    }
    let mut topics = Vec::with_capacity(req.topics.len());
    let mut slots = Vec::new();
    for (ti, t) in req.topics.into_iter().enumerate() {
        let (name, id, topic_error) = if version >= 13 {
            match ctx.broker.topic_by_id(t.topic_id) {
                Some(d) => (d.name, t.topic_id, None),
                None => (
                    String::new(),
                    t.topic_id,
                    Some(ResponseError::UnknownTopicId.code()),
                ),
            }
        } else {
            let name = t.topic.0.to_string();
            let id = ctx.broker.topic(&name).map_or(Uuid::nil(), |d| d.id);
            (name, id, None)
        };
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(TopicName(name.clone().into()))
                .with_topic_id(id),
        );
        for p in t.partitions {
            let log = match topic_error {
                Some(code) => Err(code),
                None => match ctx.broker.partition(&name, p.partition) {
                    Err(e) => Err(e.kafka_code()),
                    // Every partition is at leader epoch 0; a client that knows a later one
                    // is talking to a different cluster than it thinks.
                    Ok(_) if p.current_leader_epoch > 0 => {
                        Err(ResponseError::UnknownLeaderEpoch.code())
                    }
                    Ok(log) => Ok(log),
                },
            };
            slots.push(Slot {
                topic: ti,
                partition: p.partition,
                offset: p.fetch_offset,
                max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0),
                log,
            });
        }
    }
    let poll = LongPoll {
        topics,
        slots: Arc::new(slots),
        max_bytes: usize::try_from(req.max_bytes)
            .unwrap_or(0)
            .min(FETCH_MAX_BYTES),
        min_bytes: usize::try_from(req.min_bytes).unwrap_or(0),
        max_wait: Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)),
        shutdown: ctx.shutdown.clone(),
    };
    Reply::Later(Box::pin(poll.run()))
}

struct LongPoll {
    topics: Vec<FetchableTopicResponse>,
    slots: Arc<Vec<Slot>>,
    max_bytes: usize,
    min_bytes: usize,
    max_wait: Duration,
    shutdown: watch::Receiver<bool>,
}

impl LongPoll {
    async fn run(mut self) -> ResponseKind {
        let deadline = Instant::now() + self.max_wait;
        // Subscribed before the first read: an append after it wakes the wait below.
        let mut watches: Vec<watch::Receiver<i64>> = self
            .slots
            .iter()
            .filter_map(|s| s.log.as_ref().ok().map(|l| l.watch_end_offset()))
            .collect();
        let mut stopping = false;
        loop {
            let slots = Arc::clone(&self.slots);
            let max_bytes = self.max_bytes;
            let Some(round) = off_thread(move || read_round(&slots, max_bytes)).await else {
                return error_response(ResponseError::UnknownServerError.code());
            };
            let done = round.bytes >= self.min_bytes
                || round.errors
                || self.max_wait.is_zero()
                || watches.is_empty()
                || stopping
                || Instant::now() >= deadline
                || *self.shutdown.borrow();
            if done {
                return self.respond(round.partitions);
            }
            tokio::select! {
                () = any_changed(&mut watches) => {}
                () = sleep_until(deadline) => {}
                changed = self.shutdown.changed() => stopping = changed.is_err() || *self.shutdown.borrow(),
            }
            for w in &mut watches {
                w.borrow_and_update();
            }
        }
    }

    fn respond(mut self, partitions: Vec<(usize, PartitionData)>) -> ResponseKind {
        for (topic, p) in partitions {
            if let Some(t) = self.topics.get_mut(topic) {
                t.partitions.push(p);
            }
        }
        ResponseKind::Fetch(FetchResponse::default().with_responses(self.topics))
    }
}

/// Resolves when any of the receivers sees a new value.
async fn any_changed(watches: &mut [watch::Receiver<i64>]) {
    let mut waits: Vec<_> = watches.iter_mut().map(|w| Box::pin(w.changed())).collect();
    poll_fn(|cx| {
        // A closed channel (its log dropped) also ends the wait; the next read sees why.
        if waits.iter_mut().any(|w| w.as_mut().poll(cx).is_ready()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

struct Round {
    partitions: Vec<(usize, PartitionData)>,
    bytes: usize,
    errors: bool,
}

fn read_round(slots: &[Slot], max_bytes: usize) -> Round {
    let mut remaining = max_bytes;
    // KIP-74: until some partition returns data, one whole batch is returned whatever its size.
    let mut min_one = true;
    let mut bytes = 0;
    let mut errors = false;
    let mut partitions = Vec::with_capacity(slots.len());
    for s in slots {
        let data = match &s.log {
            Err(code) => failed(s.partition, *code, -1, -1),
            Ok(log) => {
                let limit = s.max_bytes.min(remaining);
                match read_one(log, s.offset, limit, min_one) {
                    Ok((records, end, start)) => {
                        if !records.is_empty() {
                            min_one = false;
                            remaining = remaining.saturating_sub(records.len());
                            bytes += records.len();
                        }
                        PartitionData::default()
                            .with_partition_index(s.partition)
                            .with_high_watermark(end)
                            .with_last_stable_offset(end)
                            .with_log_start_offset(start)
                            .with_records(Some(records))
                    }
                    Err(Error::OffsetOutOfRange {
                        log_start, log_end, ..
                    }) => failed(
                        s.partition,
                        ResponseError::OffsetOutOfRange.code(),
                        log_end,
                        log_start,
                    ),
                    Err(e) => failed(s.partition, e.kafka_code(), -1, -1),
                }
            }
        };
        errors |= data.error_code != 0;
        partitions.push((s.topic, data));
    }
    Round {
        partitions,
        bytes,
        errors,
    }
}

/// Records of one partition within `limit` (or one batch if `min_one`), with the log end and
/// start offsets.
fn read_one(
    log: &PartitionLog,
    offset: i64,
    limit: usize,
    min_one: bool,
) -> Result<(Bytes, i64, i64), Error> {
    if limit == 0 && !min_one {
        // No room left in the response; report the offsets (and a bad offset) all the same.
        let (start, end) = (log.log_start_offset(), log.log_end_offset());
        if offset < start || offset > end {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start: start,
                log_end: end,
            });
        }
        return Ok((Bytes::new(), end, start));
    }
    let r = log.read(offset, limit)?;
    // The log always returns at least one batch; past the first partition with data, a batch
    // larger than the limit waits for a fetch where it comes first.
    let records = if r.records.len() > limit && !min_one {
        Bytes::new()
    } else {
        r.records
    };
    Ok((records, r.log_end_offset, r.log_start_offset))
}

fn failed(partition: i32, code: i16, end: i64, start: i64) -> PartitionData {
    PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(code)
        .with_high_watermark(end)
        .with_last_stable_offset(end)
        .with_log_start_offset(start)
        .with_records(Some(Bytes::new()))
}
