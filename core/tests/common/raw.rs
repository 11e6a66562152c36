//! A raw Kafka protocol harness over real TCP: a served broker, request frames built by hand
//! (any header, any body, including bodies no client library would send), and a client that
//! reads responses or notices a closed connection. Every wait is bounded.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use strom::server::{self, ServerConfig};
use strom::{Broker, BrokerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(20);

/// `strom::server::run` on 127.0.0.1 over a broker in `dir`, housekeeping off.
pub struct Server {
    pub addr: SocketAddr,
    pub broker: Broker,
    stop: oneshot::Sender<()>,
    task: JoinHandle<strom::Result<()>>,
}

impl Server {
    pub async fn start(dir: &Path, config: ServerConfig) -> Server {
        let broker = Broker::open_with(
            dir,
            BrokerConfig {
                housekeeping_interval: None,
                ..BrokerConfig::default()
            },
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, broker.clone(), config, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            broker,
            stop,
            task,
        }
    }

    /// Stops serving and closes the broker; its close result.
    pub async fn stop(self) -> strom::Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }
}

/// A request frame with its length prefix: the header of the right version for the API,
/// with `client_id` as raw bytes, then `body`.
pub fn frame(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: &[u8],
    body: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + client_id.len() + 20);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&(key as i16).to_be_bytes());
    f.extend_from_slice(&version.to_be_bytes());
    f.extend_from_slice(&correlation_id.to_be_bytes());
    f.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    f.extend_from_slice(client_id);
    if key.request_header_version(version) >= 2 {
        f.push(0); // no tagged fields
    }
    f.extend_from_slice(body);
    let len = (f.len() - 4) as u32;
    f[..4].copy_from_slice(&len.to_be_bytes());
    f
}

pub fn encoded<R: Encodable>(req: &R, version: i16) -> Vec<u8> {
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version).unwrap();
    buf.to_vec()
}

pub struct Client {
    stream: TcpStream,
    next_id: i32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            next_id: 1,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next response frame within `within`; `None` on a timeout or a closed connection.
    pub async fn frame_within(&mut self, within: Duration) -> Option<Bytes> {
        tokio::time::timeout(within, async {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await.ok()?;
            let mut body = vec![0; u32::from_be_bytes(len) as usize];
            self.stream.read_exact(&mut body).await.ok()?;
            Some(Bytes::from(body))
        })
        .await
        .ok()
        .flatten()
    }

    pub async fn response<R: Decodable>(&mut self, key: ApiKey, version: i16, id: i32) -> R {
        let mut f = self.frame_within(WAIT).await.expect("no response");
        let header = ResponseHeader::decode(&mut f, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, id);
        R::decode(&mut f, version).unwrap()
    }

    /// One request with correlation id `id` and raw `client_id`; its decoded response.
    pub async fn call_as<Q: Encodable, R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        id: i32,
        client_id: &[u8],
        req: &Q,
    ) -> R {
        self.send(&frame(key, version, id, client_id, &encoded(req, version)))
            .await;
        self.response(key, version, id).await
    }

    /// [`Self::call_as`] with the next correlation id and client id `strom-test`.
    pub async fn call<Q: Encodable, R: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Q,
    ) -> R {
        let id = self.next_id;
        self.next_id += 1;
        self.call_as(key, version, id, b"strom-test", req).await
    }

    /// True once the server has closed the connection.
    pub async fn closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match tokio::time::timeout(WAIT, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}
