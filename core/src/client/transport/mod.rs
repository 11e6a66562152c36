//! How the client reaches a broker. A [`Connection`] sends one request struct and hands back
//! a future of the response; a [`Connector`] opens connections by address. Two
//! implementations: [`tcp`] (encode, write, read, decode; any Kafka broker) and [`in_process`]
//! (the embedded broker's handlers called with the struct itself: no socket, no encoding).
//! Producer, consumer and admin are written once against these traits.

pub mod in_process;
pub mod tcp;
mod versions;

pub use versions::{client_range, VersionRange, CLIENT_VERSIONS};

use super::error::ClientResult;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The rest of a request after it was sent: resolves to its response.
pub type Pending = BoxFuture<'static, ClientResult<ResponseKind>>;

/// One connection to one broker.
pub trait Connection: Send + Sync + std::fmt::Debug {
    /// The version to send `api` in: the highest both sides support.
    fn version(&self, api: ApiKey) -> ClientResult<i16>;

    /// Sends `request` in `version`. The returned future of the outer call completes once the
    /// request is on its way *in order* (written to the socket; for in-process, the handler's
    /// ordered phase — the append — has run), so requests sent one after another on one
    /// connection are handled in that order. Awaiting [`Pending`] gives the response.
    fn send(&self, request: RequestKind, version: i16) -> BoxFuture<'_, ClientResult<Pending>>;

    /// Whether the connection still works (a broken TCP connection is replaced).
    fn is_alive(&self) -> bool;

    /// Where it goes, for error messages.
    fn address(&self) -> &str;
}

/// Opens connections.
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// Connects to `address` (`host:port`; ignored in-process).
    fn connect<'a>(&'a self, address: &'a str) -> BoxFuture<'a, ClientResult<Arc<dyn Connection>>>;

    /// Whether every address reaches the same embedded broker.
    fn is_in_process(&self) -> bool {
        false
    }
}

/// Sends `request` on `conn` in the best common version and awaits the response.
pub async fn call(conn: &dyn Connection, request: RequestKind) -> ClientResult<ResponseKind> {
    let version = conn.version(api_key_of(&request))?;
    conn.send(request, version).await?.await
}

/// The API key of a request struct. The client builds only requests of APIs strom serves
/// (anything else falls through to ApiVersions, which the version table then refuses).
pub fn api_key_of(request: &RequestKind) -> ApiKey {
    crate::protocol::api_key_of(request).unwrap_or(ApiKey::ApiVersions)
}
