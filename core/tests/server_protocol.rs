//! `server::run` over real TCP with kafka-protocol-encoded requests: the handshake, metadata,
//! produce and fetch round trips, long polls, offsets, and hostile input that must close only
//! its own connection. Every wait is bounded.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use strom::records::stored::{encode_batch, SimpleRecord};
use strom::server::{self, ServerConfig};
use strom::{Broker, BrokerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    broker: Broker,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<strom::Result<()>>>,
    dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        Self::start_with(ServerConfig::default()).await
    }

    async fn start_with(config: ServerConfig) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open_with(
            dir.path(),
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
            stop: Some(stop),
            task: Some(task),
            dir,
        }
    }

    async fn client(&self) -> Client {
        Client {
            stream: TcpStream::connect(self.addr).await.unwrap(),
            next_id: 1,
        }
    }

    async fn shutdown(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(WAIT, task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        self.dir
    }
}

struct Client {
    stream: TcpStream,
    next_id: i32,
}

impl Client {
    /// Sends a request; returns its correlation id.
    async fn send<R: Encodable>(&mut self, key: ApiKey, version: i16, req: &R) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(id)
            .with_client_id(Some(StrBytes::from_static_str("server-protocol-test")));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        req.encode(&mut buf, version).unwrap();
        self.send_frame(&buf).await;
        id
    }

    async fn send_frame(&mut self, body: &[u8]) {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        self.stream.write_all(&out).await.unwrap();
    }

    /// The next response frame, or `None` when the server closed the connection.
    async fn frame(&mut self) -> Option<Bytes> {
        tokio::time::timeout(WAIT, async {
            let mut len = [0u8; 4];
            if self.stream.read_exact(&mut len).await.is_err() {
                return None;
            }
            let mut body = vec![0; u32::from_be_bytes(len) as usize];
            self.stream.read_exact(&mut body).await.ok()?;
            Some(Bytes::from(body))
        })
        .await
        .expect("no response within the time limit")
    }

    /// Reads one response, checks its correlation id and decodes it.
    async fn response<R: Decodable>(&mut self, key: ApiKey, version: i16, id: i32) -> R {
        let mut frame = self.frame().await.expect("connection closed");
        let header =
            ResponseHeader::decode(&mut frame, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, id);
        R::decode(&mut frame, version).unwrap()
    }

    async fn call<Q: Encodable, R: Decodable>(&mut self, key: ApiKey, version: i16, req: &Q) -> R {
        let id = self.send(key, version, req).await;
        self.response(key, version, id).await
    }

    /// True once the server has closed the connection (read returns EOF or an error).
    async fn closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(WAIT, self.stream.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn batch(values: &[&str], timestamp: i64) -> Bytes {
    let records: Vec<SimpleRecord> = values
        .iter()
        .map(|v| SimpleRecord::new(None::<&[u8]>, Some(v.as_bytes()), timestamp))
        .collect();
    encode_batch(&records, Compression::None).unwrap().freeze()
}

fn produce_req(topic: &str, partition: i32, acks: i16, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

fn fetch_req(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(s(topic)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

fn values(records: &Bytes) -> Vec<(i64, String)> {
    let mut buf = records.clone();
    RecordBatchDecoder::decode_all(&mut buf)
        .unwrap()
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| {
            (
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            )
        })
        .collect()
}

fn fetched(resp: &FetchResponse) -> &PartitionData {
    &resp.responses[0].partitions[0]
}
use kafka_protocol::messages::fetch_response::PartitionData;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_v0_v3_and_an_unsupported_version() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let range = |r: &ApiVersionsResponse, key: ApiKey| {
        r.api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    let v0: ApiVersionsResponse = c
        .call(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default())
        .await;
    assert_eq!(v0.error_code, 0);
    assert_eq!(range(&v0, ApiKey::Produce), Some((3, 11)));
    assert_eq!(range(&v0, ApiKey::Fetch), Some((4, 16)));
    assert_eq!(range(&v0, ApiKey::ListOffsets), Some((1, 9)));
    assert_eq!(range(&v0, ApiKey::Metadata), Some((0, 12)));
    assert_eq!(range(&v0, ApiKey::ApiVersions), Some((0, 4)));
    assert_eq!(range(&v0, ApiKey::CreateTopics), Some((2, 7)));
    assert_eq!(range(&v0, ApiKey::JoinGroup), Some((0, 9)));
    assert_eq!(
        range(&v0, ApiKey::EndTxn),
        None,
        "transactions are not offered"
    );

    // librdkafka's probe: v3 with client software fields. The response header is v0 and the
    // body ends in the tagged fields: the features (Debian's kcat, librdkafka 2.0.2, skips
    // them; tests/clients/test_kcat.py).
    let req = ApiVersionsRequest::default()
        .with_client_software_name(s("librdkafka"))
        .with_client_software_version(s("2.0.2"));
    let id = c.send(ApiKey::ApiVersions, 3, &req).await;
    let mut frame = c.frame().await.unwrap();
    assert_eq!(&frame[..4], &id.to_be_bytes());
    let _ = frame.split_to(4);
    let v3 = ApiVersionsResponse::decode(&mut frame, 3).unwrap();
    assert_eq!(v3.error_code, 0);
    assert_eq!(range(&v3, ApiKey::Fetch), Some((4, 16)));
    // Issue 15 item 4: exactly the features strom implements — metadata.version 3.3-IV3 and
    // group.version 1 (KIP-848); v3 leaves out supported ranges starting at 0 (KAFKA-17492).
    let features = |r: &ApiVersionsResponse| {
        let supported: Vec<_> = r
            .supported_features
            .iter()
            .map(|f| (f.name.to_string(), f.min_version, f.max_version))
            .collect();
        let finalized: Vec<_> = r
            .finalized_features
            .iter()
            .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
            .collect();
        (supported, finalized, r.finalized_features_epoch)
    };
    let metadata_version = ("metadata.version".to_string(), 7, 7);
    let group_version = |min| ("group.version".to_string(), min, 1);
    let finalized = vec![group_version(1), metadata_version.clone()];
    assert_eq!(
        features(&v3),
        (vec![metadata_version.clone()], finalized.clone(), 0)
    );
    let v4: ApiVersionsResponse = c
        .call(ApiKey::ApiVersions, 4, &ApiVersionsRequest::default())
        .await;
    assert_eq!(
        features(&v4),
        (vec![group_version(0), metadata_version], finalized, 0)
    );

    // A version from the future: a v0 answer with UNSUPPORTED_VERSION and the ranges.
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(9)
        .with_correlation_id(77)
        .with_client_id(Some(s("future")));
    let mut buf = BytesMut::new();
    header.encode(&mut buf, 2).unwrap();
    buf.extend_from_slice(&[0, 0, 0]);
    c.send_frame(&buf).await;
    let mut frame = c.frame().await.unwrap();
    assert_eq!(&frame[..4], &77i32.to_be_bytes());
    let _ = frame.split_to(4);
    let fallback = ApiVersionsResponse::decode(&mut frame, 0).unwrap();
    assert_eq!(fallback.error_code, 35);
    assert_eq!(range(&fallback, ApiKey::ApiVersions), Some((0, 4)));
    assert!(frame.is_empty(), "a v0 body has nothing after the array");

    // Fetch v17 is past the table but has a top-level error code: UNSUPPORTED_VERSION.
    let f: FetchResponse = c
        .call(
            ApiKey::Fetch,
            17,
            &FetchRequest::default().with_session_epoch(-1),
        )
        .await;
    assert_eq!(f.error_code, 35);

    // The connection is still usable.
    let again: ApiVersionsResponse = c
        .call(ApiKey::ApiVersions, 4, &ApiVersionsRequest::default())
        .await;
    assert_eq!(again.error_code, 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_describes_the_node_and_auto_creates_topics() {
    let server = Server::start().await;
    let mut c = server.client().await;
    let wanted = |names: &[&str]| {
        Some(
            names
                .iter()
                .map(|n| MetadataRequestTopic::default().with_name(Some(TopicName(s(n)))))
                .collect(),
        )
    };
    let req = MetadataRequest::default()
        .with_topics(wanted(&["auto-1"]))
        .with_allow_auto_topic_creation(true);
    let m: MetadataResponse = c.call(ApiKey::Metadata, 12, &req).await;
    assert_eq!(m.brokers.len(), 1);
    assert_eq!(m.brokers[0].node_id, BrokerId(1));
    assert_eq!(m.brokers[0].host.as_str(), "127.0.0.1");
    assert_eq!(m.brokers[0].port, i32::from(server.addr.port()));
    assert_eq!(m.cluster_id.as_deref(), Some(server.broker.cluster_id()));
    assert_eq!(m.controller_id, BrokerId(1));
    let t = &m.topics[0];
    assert_eq!((t.error_code, t.is_internal), (0, false));
    assert_eq!(t.topic_id, server.broker.topic("auto-1").unwrap().id);
    assert_eq!(t.partitions.len(), 1);
    let p = &t.partitions[0];
    assert_eq!((p.leader_id, p.leader_epoch), (BrokerId(1), 0));
    assert_eq!(
        (p.replica_nodes.clone(), p.isr_nodes.clone()),
        (vec![BrokerId(1)], vec![BrokerId(1)])
    );

    // Not allowed by the request (v4+), an invalid name, and v1's null meaning "all topics".
    let req = MetadataRequest::default()
        .with_topics(wanted(&["nope", "bad name"]))
        .with_allow_auto_topic_creation(false);
    let m: MetadataResponse = c.call(ApiKey::Metadata, 4, &req).await;
    assert_eq!(m.topics[0].error_code, 3);
    assert_eq!(m.topics[1].error_code, 17);
    assert!(server.broker.topic("nope").is_none());
    let m: MetadataResponse = c
        .call(
            ApiKey::Metadata,
            1,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    // The user's topic, and the group coordinator's internal topic flagged as internal.
    assert_eq!(m.topics.len(), 2);
    let internal: Vec<bool> = m.topics.iter().map(|t| t.is_internal).collect();
    assert_eq!(internal.iter().filter(|i| **i).count(), 1);
    // v0 has no flag: auto-creation is always allowed there.
    let m: MetadataResponse = c
        .call(
            ApiKey::Metadata,
            0,
            &MetadataRequest::default().with_topics(wanted(&["auto-0"])),
        )
        .await;
    assert_eq!(m.topics[0].error_code, 0);
    assert!(server.broker.topic("auto-0").is_some());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_acks_1_and_all_then_fetch_the_same_records() {
    let server = Server::start().await;
    server
        .broker
        .create_topic("t", Some(2), Default::default())
        .unwrap();
    let mut c = server.client().await;
    for (version, acks, values_in, base) in [(9, 1, ["a", "b"], 0), (3, -1, ["c", "d"], 2)] {
        let resp: ProduceResponse = c
            .call(
                ApiKey::Produce,
                version,
                &produce_req("t", 1, acks, batch(&values_in, now_ms())),
            )
            .await;
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!((p.index, p.error_code, p.base_offset), (1, 0, base));
        assert_eq!(p.log_append_time_ms, -1);
    }
    assert!(server.broker.partition("t", 1).unwrap().durable_offset() >= 4);
    // Unknown partition: a per-partition error, not a closed connection.
    let resp: ProduceResponse = c
        .call(
            ApiKey::Produce,
            11,
            &produce_req("t", 7, 1, batch(&["x"], 1)),
        )
        .await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 3);

    let expect: Vec<(i64, String)> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, v)| (i as i64, v.to_string()))
        .collect();
    for version in [4, 11, 12] {
        // A fetch returns batches from one segment; a consumer goes on from the next offset.
        let mut got = Vec::new();
        for _ in 0..10 {
            let next = got.len() as i64;
            if next == 4 {
                break;
            }
            let f: FetchResponse = c
                .call(ApiKey::Fetch, version, &fetch_req("t", 1, next, 0))
                .await;
            let p = fetched(&f);
            assert_eq!(
                (p.error_code, p.high_watermark, p.last_stable_offset),
                (0, 4, 4)
            );
            got.extend(
                values(p.records.as_ref().unwrap())
                    .into_iter()
                    .filter(|(o, _)| *o >= next),
            );
        }
        assert_eq!(got, expect, "Fetch v{version}");
    }
    // v13+ addresses topics by id.
    let id = server.broker.topic("t").unwrap().id;
    let mut req = fetch_req("t", 1, 2, 0);
    req.topics[0].topic_id = id;
    let f: FetchResponse = c.call(ApiKey::Fetch, 16, &req).await;
    assert_eq!(f.responses[0].topic_id, id);
    assert_eq!(values(fetched(&f).records.as_ref().unwrap())[0].1, "c");
    req.topics[0].topic_id = uuid::Uuid::new_v4();
    let f: FetchResponse = c.call(ApiKey::Fetch, 16, &req).await;
    assert_eq!(fetched(&f).error_code, 100);
    // Past the end: OFFSET_OUT_OF_RANGE with the log's bounds.
    let f: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("t", 1, 99, 0)).await;
    let p = fetched(&f);
    assert_eq!(
        (p.error_code, p.high_watermark, p.log_start_offset),
        (1, 4, 0)
    );
    assert_eq!(p.records.as_deref(), Some(&b""[..]));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_long_poll_wakes_on_produce_and_times_out_empty() {
    let server = Server::start().await;
    server
        .broker
        .create_topic("lp", Some(1), Default::default())
        .unwrap();
    let mut consumer = server.client().await;
    let mut producer = server.client().await;

    // Times out: empty, non-null records after roughly max_wait_ms.
    let started = Instant::now();
    let f: FetchResponse = consumer
        .call(ApiKey::Fetch, 12, &fetch_req("lp", 0, 0, 300))
        .await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(fetched(&f).records.as_deref(), Some(&b""[..]));
    assert_eq!(fetched(&f).error_code, 0);

    // Wakes as soon as a produce lands, long before max_wait_ms.
    let started = Instant::now();
    let id = consumer
        .send(ApiKey::Fetch, 12, &fetch_req("lp", 0, 0, 20_000))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp: ProduceResponse = producer
        .call(
            ApiKey::Produce,
            9,
            &produce_req("lp", 0, 1, batch(&["wake"], 5)),
        )
        .await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    let f: FetchResponse = consumer.response(ApiKey::Fetch, 12, id).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        values(fetched(&f).records.as_ref().unwrap()),
        vec![(0, "wake".to_string())]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_keep_request_order_and_acks_0_sends_none() {
    let server = Server::start().await;
    server
        .broker
        .create_topic("o", Some(1), Default::default())
        .unwrap();
    let mut c = server.client().await;
    // A long poll first, then quick requests: the quick answers wait their turn.
    let slow = c.send(ApiKey::Fetch, 12, &fetch_req("o", 0, 0, 400)).await;
    let silent = c
        .send(
            ApiKey::Produce,
            9,
            &produce_req("o", 0, 0, batch(&["z"], 1)),
        )
        .await;
    let quick = c
        .send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    let f: FetchResponse = c.response(ApiKey::Fetch, 12, slow).await;
    assert_eq!(fetched(&f).error_code, 0);
    let v: ApiVersionsResponse = c.response(ApiKey::ApiVersions, 3, quick).await;
    assert_eq!(v.error_code, 0);
    assert!(quick > silent);
    assert_eq!(server.broker.partition("o", 0).unwrap().log_end_offset(), 1);
    // acks=0 that fails closes the connection, as Kafka does.
    c.send(
        ApiKey::Produce,
        9,
        &produce_req("missing", 0, 0, batch(&["z"], 1)),
    )
    .await;
    assert!(c.closed_by_server().await);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_earliest_latest_and_by_time() {
    let server = Server::start().await;
    server
        .broker
        .create_topic("lo", Some(1), Default::default())
        .unwrap();
    let mut c = server.client().await;
    for (i, ts) in [1000, 2000, 3000].into_iter().enumerate() {
        let resp: ProduceResponse = c
            .call(
                ApiKey::Produce,
                9,
                &produce_req("lo", 0, 1, batch(&[&format!("v{i}")], ts)),
            )
            .await;
        assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    }
    let ask = |timestamp: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(s("lo")))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp)])])
    };
    for (version, timestamp, offset, ts) in [
        (1, -2, 0, -1),
        (1, -1, 3, -1),
        (5, 1500, 1, 2000),
        (6, 3000, 2, 3000),
        (9, 9999, -1, -1),
        (7, -3, 2, 3000),
        (8, -4, 0, -1),
        (9, -5, -1, -1),
    ] {
        let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, version, &ask(timestamp)).await;
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.offset, p.timestamp),
            (0, offset, ts),
            "v{version} timestamp {timestamp}"
        );
    }
    let mut unknown = ask(-1);
    unknown.topics[0].name = TopicName(s("nope"));
    let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 4, &unknown).await;
    assert_eq!(r.topics[0].partitions[0].error_code, 3);
    server.shutdown().await;
}

async fn produce_one(good: &mut Client, n: usize) {
    let req = produce_req("good", 0, 1, batch(&[&format!("m{n}")], 1));
    let resp: ProduceResponse = good.call(ApiKey::Produce, 9, &req).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_closes_only_its_own_connection() {
    let server = Server::start_with(ServerConfig {
        max_request_bytes: 1 << 20,
        ..ServerConfig::default()
    })
    .await;
    server
        .broker
        .create_topic("good", Some(1), Default::default())
        .unwrap();
    let mut good = server.client().await;
    produce_one(&mut good, 0).await;

    let metadata_v1 = |body: &[u8]| {
        let mut frame = vec![0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff];
        frame.extend_from_slice(body);
        frame
    };
    let mut attacks: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "garbage frame",
            {
                let mut f = 10u32.to_be_bytes().to_vec();
                f.extend_from_slice(&[0xff; 10]);
                f
            },
            false,
        ),
        (
            "truncated frame",
            {
                let mut f = 100u32.to_be_bytes().to_vec();
                f.extend_from_slice(&[0, 3, 0, 1, 0, 0]);
                f
            },
            true,
        ),
        (
            "oversized length prefix",
            0x7fff_ffffu32.to_be_bytes().to_vec(),
            false,
        ),
        (
            "negative length prefix",
            (-7i32).to_be_bytes().to_vec(),
            false,
        ),
        (
            "unknown api key",
            {
                let body = [0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0xff, 0xff];
                let mut f = (body.len() as u32).to_be_bytes().to_vec();
                f.extend_from_slice(&body);
                f
            },
            false,
        ),
        (
            "metadata topic count of 2^31-1",
            {
                let body = metadata_v1(&i32::MAX.to_be_bytes());
                let mut f = (body.len() as u32).to_be_bytes().to_vec();
                f.extend_from_slice(&body);
                f
            },
            false,
        ),
        (
            "produce v2 (below the table)",
            {
                let body = [0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0, 1];
                let mut f = (body.len() as u32).to_be_bytes().to_vec();
                f.extend_from_slice(&body);
                f
            },
            false,
        ),
        ("empty frame", 0u32.to_be_bytes().to_vec(), false),
    ];
    for (n, (what, bytes, half_close)) in attacks.drain(..).enumerate() {
        let mut bad = server.client().await;
        bad.stream.write_all(&bytes).await.unwrap();
        if half_close {
            bad.stream.shutdown().await.unwrap();
        }
        assert!(bad.closed_by_server().await, "{what}: connection left open");
        produce_one(&mut good, n + 1).await;
    }
    assert_eq!(
        server.broker.partition("good", 0).unwrap().log_end_offset(),
        9
    );
    let dir = server.shutdown().await;
    assert!(dir.path().join(".clean-shutdown").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_a_pending_long_poll_and_closes_the_broker() {
    let server = Server::start().await;
    server
        .broker
        .create_topic("sd", Some(1), Default::default())
        .unwrap();
    let mut c = server.client().await;
    let id = c
        .send(ApiKey::Fetch, 12, &fetch_req("sd", 0, 0, 60_000))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let response = tokio::spawn(async move {
        let f: FetchResponse = c.response(ApiKey::Fetch, 12, id).await;
        f
    });
    let dir = server.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let f = tokio::time::timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(fetched(&f).records.as_deref(), Some(&b""[..]));
    assert!(dir.path().join(".clean-shutdown").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_close_and_the_connection_limit_holds() {
    let server = Server::start_with(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        max_connections: 1,
        ..ServerConfig::default()
    })
    .await;
    let mut first = server.client().await;
    let v: ApiVersionsResponse = first
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    assert_eq!(v.error_code, 0);
    // Over the limit: connected (kernel backlog) but not served while the first one lives.
    let mut second = server.client().await;
    let id = second
        .send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    let mut len = [0u8; 4];
    assert!(
        tokio::time::timeout(
            Duration::from_millis(150),
            second.stream.read_exact(&mut len)
        )
        .await
        .is_err(),
        "a second connection was served beyond max.connections=1"
    );
    // The first goes idle and is closed; then the second is served.
    let started = Instant::now();
    assert!(first.closed_by_server().await);
    assert!(started.elapsed() < Duration::from_secs(5));
    let v: ApiVersionsResponse = second.response(ApiKey::ApiVersions, 3, id).await;
    assert_eq!(v.error_code, 0);
    server.shutdown().await;
}
