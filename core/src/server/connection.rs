//! One client connection: a reader that decodes and dispatches requests in arrival order, and
//! a writer that sends the responses in that same order.
//!
//! The reader awaits each request's ordered phase (an append, a metadata change) before
//! reading the next, so one connection's appends land in the order they were sent, as with
//! Kafka. What may overlap later requests (an fsync wait, a fetch long poll) is spawned, and
//! its join handle is queued; the writer awaits the queue front to back, so responses leave in
//! request order while the waits run concurrently. The queue is bounded: a client that
//! pipelines without reading responses stops being read.
//!
//! Anything malformed ends the connection with a warning: later requests are not read,
//! responses already queued are still written, and no other connection is affected.
//!
//! Before a frame's body is read, its announced length is reserved from the server-wide
//! `queued.max.request.bytes` pool ([`RequestMemory`]); the reservation, and the one for the
//! decoded request, travel with the request until its response is ready. A full pool stops
//! reading from every connection until requests finish.
//!
//! Every request passes here, so this is where [`Metrics`] are recorded: bytes in and out,
//! and per API the count and the time from a frame's arrival to its response being ready.

use super::dispatch;
use super::memory::RequestMemory;
use super::ServerConfig;
use crate::api::metrics::Metrics;
use crate::api::{Context, Reply};
use crate::log_safe;
use crate::protocol::frame::FrameReader;
use crate::protocol::response;
use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The per-connection share of [`ServerConfig`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    max_request_bytes: usize,
    idle_timeout: Duration,
    max_in_flight: usize,
}

impl From<&ServerConfig> for Limits {
    fn from(c: &ServerConfig) -> Self {
        Limits {
            max_request_bytes: c.max_request_bytes,
            idle_timeout: c.idle_timeout,
            max_in_flight: c.max_in_flight_per_connection.max(1),
        }
    }
}

/// A response in the write queue.
enum Queued {
    Ready(Bytes),
    /// `None` if the response could not be produced: the connection closes there.
    Task(JoinHandle<Option<Bytes>>),
}

pub(super) async fn serve(
    socket: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Context>,
    limits: Limits,
    memory: RequestMemory,
    metrics: Arc<Metrics>,
) {
    tracing::debug!(%peer, "connection opened");
    let (rd, wr) = socket.into_split();
    let (tx, rx) = mpsc::channel(limits.max_in_flight);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let reader = Reader {
        peer,
        ctx: &ctx,
        limits,
        memory: &memory,
        in_flight: Arc::clone(&in_flight),
        metrics: &metrics,
    };
    tokio::join!(
        reader.run(rd, tx),
        write_responses(wr, peer, rx, in_flight, &metrics),
    );
    tracing::debug!(%peer, "connection closed");
}

/// What the read half of a connection works with.
struct Reader<'a> {
    peer: SocketAddr,
    ctx: &'a Context,
    limits: Limits,
    memory: &'a RequestMemory,
    in_flight: Arc<AtomicUsize>,
    metrics: &'a Arc<Metrics>,
}

/// How one wait of the read loop ended.
enum Step<T> {
    Got(T),
    /// Idle while responses are still due: wait again.
    Again,
    /// Close the connection (the reason is logged already).
    Stop,
}

impl Reader<'_> {
    /// Waits for `read`, bounded by the idle timeout and the shutdown signal.
    async fn wait<T>(
        &self,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
        read: impl std::future::Future<Output = Result<Option<T>, crate::protocol::ProtocolError>>,
    ) -> Step<T> {
        let peer = self.peer;
        let next = tokio::select! {
            next = tokio::time::timeout(self.limits.idle_timeout, read) => next,
            _ = shutdown.changed() => return Step::Stop,
        };
        match next {
            Err(_idle) if self.in_flight.load(Ordering::SeqCst) > 0 => Step::Again,
            Err(_idle) => {
                tracing::debug!(%peer, "closing idle connection (connections.max.idle.ms)");
                Step::Stop
            }
            Ok(Ok(Some(v))) => Step::Got(v),
            Ok(Ok(None)) => Step::Stop,
            Ok(Err(e)) => {
                tracing::warn!(%peer, "closing connection: {}", log_safe::escape(&e));
                Step::Stop
            }
        }
    }

    async fn run(self, rd: OwnedReadHalf, tx: mpsc::Sender<Queued>) {
        let (peer, ctx, metrics) = (self.peer, self.ctx, self.metrics);
        let mut frames = FrameReader::new(rd, self.limits.max_request_bytes);
        let mut shutdown = ctx.shutdown.clone();
        loop {
            if *shutdown.borrow_and_update() {
                return;
            }
            let len = match self.wait(&mut shutdown, frames.next_len()).await {
                Step::Got(len) => len,
                Step::Again => continue,
                Step::Stop => return,
            };
            // Reserve the frame before its body is read (`queued.max.request.bytes`); a
            // full pool leaves the bytes in the socket.
            let frame_permit = tokio::select! {
                p = self.memory.frames.acquire(len) => p,
                _ = shutdown.changed() => return,
            };
            let frame = match self.wait(&mut shutdown, frames.read_frame()).await {
                Step::Got(frame) => frame,
                Step::Again => continue,
                Step::Stop => return,
            };
            // The 4-byte length prefix is not part of the frame but was read all the same.
            metrics.received(frame.len() + 4);
            let handled =
                match dispatch::dispatch(ctx, peer, frame, Some(&self.memory.decoded)).await {
                    Ok(h) => h,
                    Err(e) => {
                        metrics.rejected();
                        tracing::warn!(%peer, "closing connection: {}", log_safe::escape(&e));
                        return;
                    }
                };
            let (api_key, version, correlation_id) =
                (handled.api_key, handled.version, handled.correlation_id);
            // Both reservations end when the response is ready.
            // Requests are counted where TCP and in-process meet (`api::handle`); only what
            // never reaches a handler (bytes that do not parse, a failed encode) is counted here.
            let permits = (frame_permit, handled.decoded_permit);
            let queued = match handled.reply {
                Reply::Now(body) => match response::encode(api_key, version, correlation_id, &body)
                {
                    Ok(bytes) => {
                        drop(permits);
                        Queued::Ready(bytes)
                    }
                    Err(e) => {
                        metrics.rejected();
                        tracing::error!(%peer, "closing connection: {}", log_safe::escape(&e));
                        return;
                    }
                },
                Reply::Later(pending) => Queued::Task(tokio::spawn(async move {
                    let body = pending.await;
                    drop(permits);
                    let encoded = response::encode(api_key, version, correlation_id, &body)
                        .map_err(|e| {
                            tracing::error!(
                                %peer,
                                "closing connection: {}",
                                log_safe::escape(&e)
                            )
                        })
                        .ok();
                    encoded
                })),
                Reply::Nothing => {
                    drop(permits);
                    continue;
                }
                Reply::Close(why) => {
                    tracing::warn!(%peer, "closing connection: {}", log_safe::escape(&why));
                    return;
                }
            };
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            if tx.send(queued).await.is_err() {
                return;
            }
        }
    }
}

async fn write_responses(
    mut wr: OwnedWriteHalf,
    peer: SocketAddr,
    mut rx: mpsc::Receiver<Queued>,
    in_flight: Arc<AtomicUsize>,
    metrics: &Metrics,
) {
    while let Some(queued) = rx.recv().await {
        let bytes = match queued {
            Queued::Ready(bytes) => Some(bytes),
            Queued::Task(task) => task.await.unwrap_or_else(|e| {
                tracing::error!(%peer, "request task failed: {e}");
                None
            }),
        };
        in_flight.fetch_sub(1, Ordering::SeqCst);
        let Some(bytes) = bytes else { break };
        if let Err(e) = wr.write_all(&bytes).await {
            tracing::debug!(%peer, "write failed: {e}");
            break;
        }
        metrics.sent(bytes.len());
    }
    let _ = wr.shutdown().await;
}
