//! The Prometheus endpoint: a minimal HTTP/1.1 responder for `GET /metrics`.
//!
//! Deliberately tiny instead of a web framework: one request per connection (`Connection:
//! close`), the request head bounded in size and time, a bounded number of connections at
//! once. Anything but `GET`/`HEAD` of `/metrics` (or `/`) gets a short error status.

use crate::api::Service;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// The largest request head read; Prometheus sends a few hundred bytes.
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Scrapes served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 16;
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves scrapes on `listener` until the task is dropped or aborted.
pub async fn serve(listener: TcpListener, service: Service) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            return;
        };
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(socket, &service).await {
                tracing::debug!("metrics endpoint: {e}");
            }
            drop(permit);
        });
    }
}

async fn answer(mut socket: TcpStream, service: &Service) -> std::io::Result<()> {
    let metrics = service.metrics();
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut socket)).await {
        Ok(head) => head?,
        Err(_) => return respond(&mut socket, "408 Request Timeout", "text/plain", b"").await,
    };
    let Some(head) = head else {
        return respond(
            &mut socket,
            "431 Request Header Fields Too Large",
            "text/plain",
            b"",
        )
        .await;
    };
    let (status, body) = route(&head, || metrics.render(Some(service)));
    if head.starts_with("HEAD ") {
        return respond_head(&mut socket, status, CONTENT_TYPE, body.len()).await;
    }
    respond(&mut socket, status, CONTENT_TYPE, &body).await
}

/// The status and body for a request head (`render` runs only for a scrape).
fn route(head: &str, render: impl FnOnce() -> String) -> (&'static str, Vec<u8>) {
    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        return (
            "400 Bad Request",
            b"expected an HTTP/1.x request\n".to_vec(),
        );
    }
    if !matches!(method, Some("GET" | "HEAD")) {
        return ("405 Method Not Allowed", b"only GET /metrics\n".to_vec());
    }
    // The query string (Prometheus may add one) does not matter.
    let path = target
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    match path {
        "/metrics" | "/" => ("200 OK", render().into_bytes()),
        _ => ("404 Not Found", b"strom serves /metrics\n".to_vec()),
    }
}

/// Reads up to the blank line ending the request head; `None` if it is too long.
async fn read_head(socket: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            // The client closed early: answer what arrived (a bare request line still works).
            return Ok(Some(String::from_utf8_lossy(&buf).into_owned()));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(String::from_utf8_lossy(&buf).into_owned()));
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
    }
}

async fn respond(
    socket: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write_head(socket, status, content_type, body.len()).await?;
    socket.write_all(body).await?;
    socket.shutdown().await
}

/// The answer to HEAD: GET's status and length, no body.
async fn respond_head(
    socket: &mut TcpStream,
    status: &str,
    content_type: &str,
    len: usize,
) -> std::io::Result<()> {
    write_head(socket, status, content_type, len).await?;
    socket.shutdown().await
}

async fn write_head(
    socket: &mut TcpStream,
    status: &str,
    content_type: &str,
    len: usize,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(head: &str) -> &'static str {
        route(head, || "m".into()).0
    }

    #[test]
    fn routes() {
        assert_eq!(status("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), "200 OK");
        assert_eq!(status("GET /metrics?x=1 HTTP/1.0\r\n\r\n"), "200 OK");
        assert_eq!(status("HEAD / HTTP/1.1\r\n\r\n"), "200 OK");
        assert_eq!(status("GET /other HTTP/1.1\r\n\r\n"), "404 Not Found");
        assert_eq!(
            status("POST /metrics HTTP/1.1\r\n\r\n"),
            "405 Method Not Allowed"
        );
        assert_eq!(status("garbage\r\n\r\n"), "400 Bad Request");
        assert_eq!(status(""), "400 Bad Request");
    }
}
