//! TCP connections to any Kafka broker: requests are encoded with `kafka-protocol`, written
//! under a lock in send order, and matched to responses by correlation id by one reader task.
//! The ApiVersions handshake at connect fixes the version of every API on the connection.

use super::{client_range, BoxFuture, Connection, Connector, Pending};
use crate::client::error::{ClientError, ClientResult};
use crate::protocol::frame::FrameReader;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Largest response frame accepted (fetch responses are bounded by `fetch.max.bytes`; this
/// only stops a broken peer from announcing gigabytes).
const MAX_RESPONSE_BYTES: usize = 1 << 30;
const UNSUPPORTED_VERSION: i16 = 35;

/// Opens TCP connections with a client id and a connect timeout.
#[derive(Debug, Clone)]
pub struct TcpConnector {
    pub client_id: String,
    pub connect_timeout: Duration,
    /// `request.timeout.ms`: how long one response may take.
    pub request_timeout: Duration,
}

impl Connector for TcpConnector {
    fn connect<'a>(&'a self, address: &'a str) -> BoxFuture<'a, ClientResult<Arc<dyn Connection>>> {
        Box::pin(async move {
            let conn = TcpConnection::connect(address, self).await?;
            Ok(conn as Arc<dyn Connection>)
        })
    }
}

type Waiter = oneshot::Sender<ClientResult<(ApiKey, i16, Bytes)>>;

#[derive(Debug)]
struct Shared {
    /// Requests waiting for their response, by correlation id.
    waiting: Mutex<HashMap<i32, (ApiKey, i16, Waiter)>>,
    alive: AtomicBool,
}

/// One TCP connection.
#[derive(Debug)]
pub struct TcpConnection {
    address: String,
    client_id: StrBytes,
    request_timeout: Duration,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    shared: Arc<Shared>,
    next_id: AtomicI32,
    /// The broker's version range per API key, from ApiVersions.
    broker_versions: HashMap<i16, (i16, i16)>,
}

impl TcpConnection {
    /// Connects and performs the ApiVersions handshake (v3, or v0 for old brokers).
    pub async fn connect(address: &str, opts: &TcpConnector) -> ClientResult<Arc<TcpConnection>> {
        let connect_error = |reason: String| ClientError::Connect {
            addr: address.to_string(),
            reason,
        };
        let stream = tokio::time::timeout(opts.connect_timeout, TcpStream::connect(address))
            .await
            .map_err(|_| connect_error(format!("no answer in {:?}", opts.connect_timeout)))?
            .map_err(|e| connect_error(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let shared = Arc::new(Shared {
            waiting: Mutex::new(HashMap::new()),
            alive: AtomicBool::new(true),
        });
        tokio::spawn(read_responses(
            FrameReader::new(rd, MAX_RESPONSE_BYTES),
            Arc::clone(&shared),
            address.to_string(),
        ));
        let mut conn = TcpConnection {
            address: address.to_string(),
            client_id: StrBytes::from_string(opts.client_id.clone()),
            request_timeout: opts.request_timeout,
            writer: tokio::sync::Mutex::new(wr),
            shared,
            next_id: AtomicI32::new(1),
            broker_versions: HashMap::new(),
        };
        conn.broker_versions = conn.handshake().await?;
        Ok(Arc::new(conn))
    }

    async fn handshake(&self) -> ClientResult<HashMap<i16, (i16, i16)>> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("strom"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut response = self
            .exchange(RequestKind::ApiVersions(request.clone()), 3)
            .await?;
        if matches!(&response, ResponseKind::ApiVersions(r) if r.error_code == UNSUPPORTED_VERSION)
        {
            response = self.exchange(RequestKind::ApiVersions(request), 0).await?;
        }
        let ResponseKind::ApiVersions(r) = response else {
            return Err(ClientError::Protocol(
                "ApiVersions answered with another API".into(),
            ));
        };
        ClientError::check(r.error_code, || {
            format!("ApiVersions with {}", self.address)
        })?;
        Ok(r.api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect())
    }

    async fn exchange(&self, request: RequestKind, version: i16) -> ClientResult<ResponseKind> {
        self.send(request, version).await?.await
    }

    fn encode(
        &self,
        api: ApiKey,
        version: i16,
        id: i32,
        request: &RequestKind,
    ) -> ClientResult<Bytes> {
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(id)
            .with_client_id(Some(self.client_id.clone()));
        let mut buf = BytesMut::with_capacity(256);
        buf.put_i32(0);
        let encode_error = |e: anyhow::Error| {
            ClientError::InvalidArgument(format!("cannot encode {api:?} v{version}: {e}"))
        };
        header
            .encode(&mut buf, api.request_header_version(version))
            .map_err(encode_error)?;
        request.encode(&mut buf, version).map_err(encode_error)?;
        let len = i32::try_from(buf.len() - 4)
            .map_err(|_| ClientError::InvalidArgument("request larger than 2 GiB".into()))?;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        Ok(buf.freeze())
    }

    fn disconnected(&self, reason: impl Into<String>) -> ClientError {
        ClientError::Disconnected {
            addr: self.address.clone(),
            reason: reason.into(),
        }
    }
}

impl Connection for TcpConnection {
    fn version(&self, api: ApiKey) -> ClientResult<i16> {
        let ours = client_range(api)
            .ok_or_else(|| ClientError::Unsupported(format!("the client does not send {api:?}")))?;
        if api == ApiKey::ApiVersions {
            return Ok(ours.max);
        }
        let (min, max) = *self.broker_versions.get(&(api as i16)).ok_or_else(|| {
            ClientError::Unsupported(format!("{} does not support {api:?}", self.address))
        })?;
        let version = ours.max.min(max);
        if version < ours.min.max(min) {
            return Err(ClientError::Unsupported(format!(
                "{api:?}: the broker at {} supports v{min}..v{max}, the client v{}..v{}",
                self.address, ours.min, ours.max
            )));
        }
        Ok(version)
    }

    fn send(&self, request: RequestKind, version: i16) -> BoxFuture<'_, ClientResult<Pending>> {
        Box::pin(async move {
            if !self.is_alive() {
                return Err(self.disconnected("the connection is closed"));
            }
            let api = super::api_key_of(&request);
            let no_response = matches!(&request, RequestKind::Produce(p) if p.acks == 0);
            let id = self.next_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
            let frame = self.encode(api, version, id, &request)?;
            let receiver = if no_response {
                None
            } else {
                let (tx, rx) = oneshot::channel();
                self.shared.waiting.lock().insert(id, (api, version, tx));
                Some(rx)
            };
            let written = {
                let mut writer = self.writer.lock().await;
                writer.write_all(&frame).await
            };
            if let Err(e) = written {
                self.shared.waiting.lock().remove(&id);
                self.shared.alive.store(false, Ordering::Release);
                return Err(self.disconnected(e.to_string()));
            }
            let Some(rx) = receiver else {
                return Ok(
                    Box::pin(async { Ok(ResponseKind::Produce(Default::default())) }) as Pending,
                );
            };
            let timeout = timeout_for(&request, self.request_timeout);
            let address = self.address.clone();
            let shared = Arc::clone(&self.shared);
            Ok(Box::pin(async move {
                let outcome = tokio::time::timeout(timeout, rx).await;
                let (api, version, mut body) = match outcome {
                    Ok(Ok(result)) => result?,
                    Ok(Err(_)) => {
                        return Err(ClientError::Disconnected {
                            addr: address,
                            reason: "the connection closed before the response".into(),
                        })
                    }
                    Err(_) => {
                        shared.waiting.lock().remove(&id);
                        return Err(ClientError::Timeout(format!(
                            "{api:?} to {address}: no response in {timeout:?} (request.timeout.ms)"
                        )));
                    }
                };
                ResponseKind::decode(api, &mut body, version).map_err(|e| {
                    ClientError::Protocol(format!("cannot decode {api:?} v{version} response: {e}"))
                })
            }) as Pending)
        })
    }

    fn is_alive(&self) -> bool {
        self.shared.alive.load(Ordering::Acquire)
    }

    fn address(&self) -> &str {
        &self.address
    }
}

/// How long a response may take: `request.timeout.ms`, plus what the request itself asks the
/// broker to wait (a fetch long poll; a JoinGroup held until the rebalance completes), as
/// Java's client does.
fn timeout_for(request: &RequestKind, base: Duration) -> Duration {
    let extra_ms = match request {
        RequestKind::Fetch(f) => f.max_wait_ms,
        RequestKind::JoinGroup(j) => j.rebalance_timeout_ms.max(j.session_timeout_ms),
        _ => 0,
    };
    base + Duration::from_millis(u64::try_from(extra_ms).unwrap_or(0))
}

/// Reads response frames until the connection ends, handing each to its waiter. When the
/// connection ends, every waiter learns why.
async fn read_responses(
    mut reader: FrameReader<tokio::net::tcp::OwnedReadHalf>,
    shared: Arc<Shared>,
    address: String,
) {
    let reason = loop {
        let frame = match reader.read_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break "closed by the broker".to_string(),
            Err(e) => break e.to_string(),
        };
        let Some(id) = frame
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        else {
            break "response shorter than its header".to_string();
        };
        let Some((api, version, waiter)) = shared.waiting.lock().remove(&id) else {
            // A response to a request that timed out: nobody waits for it any more.
            continue;
        };
        let mut body = frame;
        let header = ResponseHeader::decode(&mut body, api.response_header_version(version));
        let result = match header {
            Ok(_) => Ok((api, version, body)),
            Err(e) => Err(ClientError::Protocol(format!("bad response header: {e}"))),
        };
        let _ = waiter.send(result);
    };
    shared.alive.store(false, Ordering::Release);
    tracing::debug!(
        %address,
        reason = %crate::log_safe::escape(&reason),
        "connection ended"
    );
    let waiting: Vec<_> = shared.waiting.lock().drain().collect();
    for (_, (_, _, waiter)) in waiting {
        let _ = waiter.send(Err(ClientError::Disconnected {
            addr: address.clone(),
            reason: reason.clone(),
        }));
    }
}
