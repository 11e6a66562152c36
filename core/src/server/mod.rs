//! The Kafka protocol server, in mini-redis's shape: [`run`] accepts connections until the
//! shutdown future resolves, each connection runs in its own task (see [`connection`]), the
//! number of connections is bounded by a semaphore, so are the bytes of requests in flight
//! across all of them ([`memory`], `queued.max.request.bytes`), and shutdown drains in-flight requests
//! for a bounded time before closing the broker (which flushes and writes the clean-shutdown
//! marker). Connections and bytes are counted into the service's
//! [`crate::api::metrics::Metrics`] (requests are counted where TCP and in-process meet, in
//! [`crate::api::handle`]); [`serve_metrics`] serves them to Prometheus.

mod config;
mod connection;
pub mod dispatch;
pub(crate) mod memory;
mod metrics_http;

pub use config::ServerConfig;
pub use metrics_http::serve as serve_metrics;

use crate::api::Context;
use crate::api::Service;
use crate::broker::Broker;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};

/// Serves the Kafka protocol on `listener` until `shutdown` resolves, then drains and closes
/// `broker`. Returns the broker's close result. (A broker with several listeners, metrics
/// and in-process clients is [`crate::EmbeddedBroker`].)
pub async fn run(
    listener: TcpListener,
    broker: Broker,
    config: ServerConfig,
    shutdown: impl Future,
) -> crate::Result<()> {
    let service = Service::start_with(
        broker.clone(),
        config.group.clone(),
        config.auto_create_topics,
    )
    .await?;
    serve(listener, &service, &config, shutdown).await?;
    service.stop();
    let closing = broker.clone();
    match tokio::task::spawn_blocking(move || closing.close()).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!("closing the broker failed: {e}");
            Err(crate::Error::ShutDown)
        }
    }
}

/// Serves the Kafka protocol for `service` on `listener` until `shutdown` resolves (or the
/// service stops), then stops accepting and drains in-flight requests for the grace period.
/// The broker stays open: in-process clients of the same service go on working.
pub async fn serve(
    listener: TcpListener,
    service: &Service,
    config: &ServerConfig,
    shutdown: impl Future,
) -> crate::Result<()> {
    let local = listener
        .local_addr()
        .map_err(|e| crate::Error::io(service.broker().data_dir(), e))?;
    let (host, port) = config
        .advertised
        .clone()
        .unwrap_or_else(|| (local.ip().to_string(), local.port()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = Arc::new(service.context(host, i32::from(port), config.auto_create_topics, stop_rx));
    let mut service_stopped = service.stopped();
    // Every connection task holds a clone of `done_tx`; `recv` returns `None` once all are gone.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let accepting = accept_loop(&listener, &ctx, config, &done_tx);
    tokio::select! {
        () = accepting => {}
        _ = shutdown => tracing::info!("shutting down: no new connections, draining requests"),
        _ = service_stopped.wait_for(|stop| *stop) => tracing::info!("service stopped: closing the listener"),
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_tx);
    if tokio::time::timeout(config.shutdown_grace, done_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = config.shutdown_grace.as_millis() as u64,
            "connections still busy after the shutdown grace period; closing anyway"
        );
    }
    Ok(())
}

/// Accepts until the task is dropped; never returns on its own.
async fn accept_loop(
    listener: &TcpListener,
    ctx: &Arc<Context>,
    config: &ServerConfig,
    done: &mpsc::Sender<()>,
) {
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let memory = memory::RequestMemory::new(config.queued_max_request_bytes);
    let mut backoff = Duration::from_millis(5);
    loop {
        // Waiting here when the limit is reached leaves new connections in the kernel's
        // backlog instead of accepting and dropping them.
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            return;
        };
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => {
                backoff = Duration::from_millis(5);
                accepted
            }
            Err(e) => {
                // Out of file descriptors and the like: wait and try again rather than exit.
                tracing::warn!("accept failed: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let ctx = Arc::clone(ctx);
        let limits = connection::Limits::from(config);
        let metrics = Arc::clone(&ctx.metrics);
        let done = done.clone();
        let memory = memory.clone();
        tokio::spawn(async move {
            let open = metrics.connection();
            connection::serve(socket, peer, ctx, limits, memory, metrics).await;
            drop(open);
            drop(permit);
            drop(done);
        });
    }
}
