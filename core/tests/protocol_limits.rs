//! Issue 13, items 9 to 11, over real TCP with raw frames (a client library would refuse to
//! send most of them): a request that decodes far larger than its frame, the bytes of
//! requests in flight across connections (`queued.max.request.bytes`), JoinGroup pending
//! members with huge client ids, and client strings in log lines. Each test checks the
//! answer (an error code or a closed connection), that the broker still serves, and, where
//! memory is the point, the process's peak RSS. Every wait is bounded.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::raw::{encoded, frame, Server, WAIT};
use common::{peak_growth_mib, reset_peak_rss};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use strom::group::GroupConfig;
use strom::server::ServerConfig;

/// A served broker in a temporary directory that lives as long as the test holds it.
async fn start(config: ServerConfig) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Server::start(dir.path(), config).await, dir)
}
const MIB: u64 = 1024 * 1024;

/// The memory checks read the whole process's RSS: one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn list_groups_ok(server: &Server) {
    let mut c = server.client().await;
    let r: ListGroupsResponse = c
        .call_as(
            ApiKey::ListGroups,
            5,
            9,
            b"ok",
            &ListGroupsRequest::default(),
        )
        .await;
    assert_eq!(r.error_code, 0);
}

/// A ListGroups v5 body whose states filter holds `n` empty compact strings: one byte each
/// on the wire, a 32-byte `StrBytes` each decoded.
fn empty_strings(n: usize) -> Vec<u8> {
    strings(n, 0)
}

/// A ListGroups v5 body whose states filter holds `n` compact strings of `len` (< 127) bytes.
fn strings(n: usize, len: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(n * (len + 1) + 8);
    let mut count = n as u32 + 1;
    while count >= 0x80 {
        body.push((count as u8) | 0x80);
        count >>= 7;
    }
    body.push(count as u8);
    for _ in 0..n {
        body.push(len as u8 + 1);
        body.resize(body.len() + len, b's');
    }
    body.extend_from_slice(&[1, 0]); // empty types filter, no tagged fields
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_would_decode_32_times_its_frame_closes_its_connection() {
    let _serial = SERIAL.lock().await;
    let (server, _dir) = start(ServerConfig::default()).await;
    // A few thousand empty strings are a fine request.
    let mut c = server.client().await;
    c.send(&frame(ApiKey::ListGroups, 5, 1, b"t", &empty_strings(2000)))
        .await;
    let r: ListGroupsResponse = c.response(ApiKey::ListGroups, 5, 1).await;
    assert_eq!(r.error_code, 0);

    // 24 MiB of them (under socket.request.max.bytes) would decode to 768 MiB.
    let attack = frame(ApiKey::ListGroups, 5, 2, b"t", &empty_strings(24 << 20));
    let base = reset_peak_rss();
    let mut bad = server.client().await;
    bad.send(&attack).await;
    assert!(bad.closed_by_server().await, "connection left open");
    drop(attack);
    let grew = peak_growth_mib(base);
    eprintln!("peak RSS growth: {grew} MiB");
    // The frame itself (24 MiB) is read; its decode (768 MiB) must never happen.
    assert!(grew < 160, "peak RSS grew {grew} MiB");
    list_groups_ok(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_share_queued_max_request_bytes_across_connections() {
    let _serial = SERIAL.lock().await;
    let (server, _dir) = start(ServerConfig {
        max_request_bytes: MIB as usize,
        queued_max_request_bytes: MIB as usize,
        ..ServerConfig::default()
    })
    .await;
    // One connection announces a frame of the whole budget and sends only its start.
    let mut hog = server.client().await;
    hog.send(&(MIB as u32).to_be_bytes()).await;
    hog.send(&[0, 18, 0, 3, 0, 0, 0, 1]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Any other connection's request now waits for memory, however small.
    let api_versions = frame(
        ApiKey::ApiVersions,
        3,
        7,
        b"waiting",
        &encoded(&ApiVersionsRequest::default(), 3),
    );
    let mut other = server.client().await;
    other.send(&api_versions).await;
    assert!(
        other
            .frame_within(Duration::from_millis(400))
            .await
            .is_none(),
        "answered while the budget was taken"
    );

    // The hog goes away mid-frame: its reservation comes back and the request is answered.
    drop(hog);
    let r: ApiVersionsResponse = other.response(ApiKey::ApiVersions, 3, 7).await;
    assert_eq!(r.error_code, 0);

    // A frame of nearly the whole budget, which decodes to more than the budget, still goes
    // through on its own.
    let mut big = server.client().await;
    let body = strings(100_000, 8);
    assert!(body.len() > 800_000 && body.len() < MIB as usize - 100);
    big.send(&frame(ApiKey::ListGroups, 5, 3, b"t", &body))
        .await;
    let r: ListGroupsResponse = big.response(ApiKey::ListGroups, 5, 3).await;
    assert_eq!(r.error_code, 0);
}

fn join(group: &[u8], member: &str, session_ms: i32) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(
            String::from_utf8(group.to_vec()).unwrap(),
        )))
        .with_session_timeout_ms(session_ms)
        .with_rebalance_timeout_ms(session_ms)
        .with_member_id(StrBytes::from_string(member.to_string()))
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from_static(&[0, 0, 0, 0, 0, 0]))])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_group_pending_members_are_capped_and_keep_little_of_the_client_id() {
    let _serial = SERIAL.lock().await;
    let (server, _dir) = start(ServerConfig {
        group: GroupConfig {
            max_size: 100,
            ..GroupConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let client_id = vec![b'c'; 30_000];
    let base = reset_peak_rss();
    let mut c = server.client().await;
    let mut codes = std::collections::BTreeMap::new();
    // 2,000 JoinGroups with an empty member id and a 30 KB client id: 60 MB of ids if kept.
    for i in 0..2000 {
        let r: JoinGroupResponse = c
            .call_as(
                ApiKey::JoinGroup,
                5,
                i,
                &client_id,
                &join(b"g", "", 1_800_000),
            )
            .await;
        if r.error_code == 79 {
            assert_eq!(
                r.member_id.len(),
                256 + 1 + 36,
                "client id cut to 256 bytes"
            );
        }
        *codes.entry(r.error_code).or_insert(0) += 1;
    }
    // MEMBER_ID_REQUIRED up to group.max.size, then GROUP_MAX_SIZE_REACHED.
    assert_eq!(codes, [(79, 100), (81, 1900)].into());
    let grew = peak_growth_mib(base);
    eprintln!("peak RSS growth: {grew} MiB");
    assert!(grew < 40, "peak RSS grew {grew} MiB");
    // The broker serves on, and other groups still take members.
    let r: JoinGroupResponse = c
        .call_as(
            ApiKey::JoinGroup,
            5,
            5000,
            b"t",
            &join(b"other", "", 30_000),
        )
        .await;
    assert_eq!(r.error_code, 79);
    list_groups_ok(&server).await;
}

/// Log lines of the whole process, from the first test that asks.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("strom=trace"))
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_strings_in_log_lines_are_escaped_and_cut() {
    let _serial = SERIAL.lock().await;
    let logs = captured_logs();
    let (server, _dir) = start(ServerConfig {
        group: GroupConfig {
            min_session_timeout_ms: 10,
            initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let mut c = server.client().await;
    // A client id that would forge a line (it is logged at trace level with every request).
    let mut client_id = b"evil\nERROR forged by the client id ".to_vec();
    client_id.resize(20_000, b'x');
    let r: ApiVersionsResponse = c
        .call_as(
            ApiKey::ApiVersions,
            3,
            1,
            &client_id,
            &ApiVersionsRequest::default(),
        )
        .await;
    assert_eq!(r.error_code, 0);
    // A group id that would forge one when its member's session times out.
    let mut group = b"g\nWARN forged by the group id ".to_vec();
    group.resize(30_000, b'y');
    let r: JoinGroupResponse = c
        .call_as(ApiKey::JoinGroup, 0, 2, b"t", &join(&group, "", 100))
        .await;
    assert_eq!(r.error_code, 0, "joined as the only member");
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        if text.contains("session timed out") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(text.contains("session timed out"), "no expiry logged");
    assert!(
        text.contains("evil\\nERROR forged by the client id xxx"),
        "{text:.2000}"
    );
    assert!(text.contains("g\\nWARN forged by the group id yyy"));
    assert!(text.contains("…[20000 bytes]") && text.contains("…[30000 bytes]"));
    for line in text.lines() {
        assert!(!line.starts_with("ERROR forged") && !line.starts_with("WARN forged"));
        assert!(line.len() < 4096, "a line of {} bytes", line.len());
    }
    list_groups_ok(&server).await;
}
