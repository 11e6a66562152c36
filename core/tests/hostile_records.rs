//! Hostile record batches over real TCP (raw Produce requests no client library would send),
//! and poisoned bytes on disk: every lie is refused with Kafka's error code and its record
//! errors, nothing is stored, the broker keeps serving, and it restarts.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::lying_batch::{compress, Codec, Field, LyingBatch, LyingRecord};
use common::raw::{Client, Server};
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strom::records::stored::{encode_batch, SimpleRecord};
use strom::server::ServerConfig;

const CORRUPT_MESSAGE: i16 = 2;
const INVALID_TOPIC: i16 = 17;
const INVALID_TIMESTAMP: i16 = 32;
const INVALID_CONFIG: i16 = 40;
const INVALID_RECORD: i16 = 87;

/// Raw requests of these tests, over the shared raw client.
trait Requests {
    async fn produce(&mut self, topic: &str, records: Vec<u8>) -> PartitionProduceResponse;
    async fn list_offset(&mut self, topic: &str, timestamp: i64) -> (i16, i64, i64);
    async fn alter_topic_configs(&mut self, topic: &str, configs: &[(&str, &str)]) -> i16;
}

impl Requests for Client {
    /// AlterConfigs v1 of one topic; its error code.
    async fn alter_topic_configs(&mut self, topic: &str, configs: &[(&str, &str)]) -> i16 {
        let configs = configs
            .iter()
            .map(|(k, v)| {
                AlterableConfig::default()
                    .with_name(s(k))
                    .with_value(Some(s(v)))
            })
            .collect();
        let req =
            AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(topic))
                .with_configs(configs)]);
        let resp: AlterConfigsResponse = self.call(ApiKey::AlterConfigs, 1, &req).await;
        resp.responses[0].error_code
    }

    /// Produce v9 (record errors and messages) of one batch to partition 0.
    async fn produce(&mut self, topic: &str, records: Vec<u8>) -> PartitionProduceResponse {
        let req = ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(s(topic)))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(Bytes::from(records)))])]);
        let resp: ProduceResponse = self.call(ApiKey::Produce, 9, &req).await;
        resp.responses[0].partition_responses[0].clone()
    }

    /// ListOffsets v7 of partition 0 at `timestamp` (-1 latest): (offset, timestamp).
    async fn list_offset(&mut self, topic: &str, timestamp: i64) -> (i16, i64, i64) {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp)])]);
        let resp: ListOffsetsResponse = self.call(ApiKey::ListOffsets, 7, &req).await;
        let p = &resp.topics[0].partitions[0];
        (p.error_code, p.offset, p.timestamp)
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

fn good_batch(n: usize) -> Vec<u8> {
    LyingBatch::keyed(n, now_ms()).build()
}

fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A batch whose record section has `claimed` headers but room for none.
fn with_header_count(claimed: i32) -> Vec<u8> {
    let mut r = LyingRecord::new(Some(b"k"), Some(b"v"));
    r.header_count = Some(claimed);
    LyingBatch::of(vec![r], now_ms()).build()
}

/// `n` copies of one small valid record, so the walk itself is long.
fn many_records_section(n: usize) -> Vec<u8> {
    let mut one = LyingBatch::keyed(1, 0);
    one.compress = None;
    let single = one.build()[61..].to_vec();
    single.repeat(n)
}

/// Every lie of the hostile-input report, with the code Kafka answers: CORRUPT_MESSAGE for a
/// CRC that does not match, INVALID_RECORD for anything wrong behind a valid CRC.
fn lies() -> Vec<(&'static str, Vec<u8>, i16)> {
    let ts = now_ms();
    let mut out = Vec::new();
    let mut b = LyingBatch::keyed(2, ts);
    b.crc = Some(0x1234_5678);
    out.push(("wrong CRC", b.build(), CORRUPT_MESSAGE));
    // Two gzip members: a reader of one member counts 1 record, Java's and Python's read 3.
    let mut first = LyingBatch::keyed(1, ts);
    first.compress = None;
    let mut rest = LyingBatch::keyed(3, ts);
    rest.compress = None;
    let mut payload = compress(Codec::Gzip, &first.build()[61..]);
    payload.extend(compress(Codec::Gzip, &rest.build()[61..][..]));
    let mut b = LyingBatch::keyed(1, ts);
    b.compress = Some(Codec::Gzip);
    b.payload = Some(payload);
    out.push(("a second gzip member", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(2, ts);
    let mut payload = compress(Codec::Zstd, &{
        let mut plain = LyingBatch::keyed(2, ts);
        plain.compress = None;
        plain.build()[61..].to_vec()
    });
    payload.extend_from_slice(b"trailing bytes");
    b.compress = Some(Codec::Zstd);
    b.payload = Some(payload);
    out.push(("bytes after the zstd frame", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(1, ts);
    b.record_count = Some(5);
    b.last_offset_delta = Some(4);
    out.push(("count 5 with 1 record", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(3, ts);
    b.record_count = Some(1);
    b.last_offset_delta = Some(0);
    out.push(("count 1 with 3 records", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(1, ts);
    b.record_count = Some(i32::MAX);
    b.last_offset_delta = Some(i32::MAX - 1);
    out.push(("count 2^31-1 in a tiny batch", b.build(), INVALID_RECORD));
    let mut r = LyingRecord::new(None, Some(b"v"));
    r.key = Field::Lying(-5, Vec::new());
    out.push((
        "negative key length",
        LyingBatch::of(vec![r], ts).build(),
        INVALID_RECORD,
    ));
    let mut r = LyingRecord::new(Some(b"k"), None);
    r.value = Field::Lying(-2, Vec::new());
    out.push((
        "negative value length",
        LyingBatch::of(vec![r], ts).build(),
        INVALID_RECORD,
    ));
    let mut r = LyingRecord::new(Some(b"k"), None);
    r.value = Field::Lying(1000, b"short".to_vec());
    out.push((
        "value length past the record",
        LyingBatch::of(vec![r], ts).build(),
        INVALID_RECORD,
    ));
    out.push((
        "2^31-1 headers",
        with_header_count(i32::MAX),
        INVALID_RECORD,
    ));
    out.push(("-3 headers", with_header_count(-3), INVALID_RECORD));
    let mut r = LyingRecord::new(Some(b"k"), Some(b"v"));
    r.headers = vec![(Field::Null, Field::of(b"x"))];
    out.push((
        "null header key",
        LyingBatch::of(vec![r], ts).build(),
        INVALID_RECORD,
    ));
    let mut r = LyingRecord::new(Some(b"k"), Some(b"v"));
    r.length = Some(200);
    out.push((
        "record length past the batch",
        LyingBatch::of(vec![r], ts).build(),
        INVALID_RECORD,
    ));
    let mut r = LyingRecord::new(Some(b"k"), Some(b"v"));
    r.trailing = vec![1, 2, 3];
    out.push((
        "bytes after a record's fields",
        LyingBatch::of(vec![r], ts).build(),
        INVALID_RECORD,
    ));
    let mut b = LyingBatch::keyed(2, ts);
    b.section = Some(vec![0xff; 40]);
    out.push(("garbage record section", b.build(), INVALID_RECORD));
    for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
        let mut b = LyingBatch::keyed(2, ts);
        b.compress = Some(codec);
        b.payload = Some(b"\x00\x01garbage that is no codec's frame, CRC fixed".to_vec());
        out.push((
            "garbage inside a valid-CRC payload",
            b.build(),
            INVALID_RECORD,
        ));
        // Valid compressed garbage: the codec is fine, the records inside are not.
        let mut b = LyingBatch::keyed(2, ts);
        b.compress = Some(codec);
        b.section = Some(vec![0x7f; 300]);
        out.push((
            "garbage records in a valid payload",
            b.build(),
            INVALID_RECORD,
        ));
    }
    let mut b = LyingBatch::keyed(3, ts);
    b.compress = Some(Codec::Zstd);
    b.codec_id = Some(Codec::Gzip as i16);
    out.push(("zstd payload named gzip", b.build(), INVALID_RECORD));
    // A bomb: 80 MiB of valid records (10 M of them) in a small zstd payload, and a record
    // claiming a 1 GiB value.
    let mut b = LyingBatch::keyed(1, ts);
    let section = many_records_section(80 << 20 >> 3);
    b.payload = Some(compress(Codec::Zstd, &section));
    b.compress = Some(Codec::Zstd);
    out.push(("decompression bomb", b.build(), INVALID_RECORD));
    let mut r = LyingRecord::new(Some(b"k"), None);
    r.value = Field::Lying(1 << 30, vec![0; 1024]);
    r.length = Some(1 << 30);
    let mut b = LyingBatch::of(vec![r], ts);
    b.compress = Some(Codec::Zstd);
    out.push(("record claiming 1 GiB", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(2, ts);
    b.records[1].offset_delta = Some(0);
    out.push(("repeated offset delta", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(1, ts);
    b.attributes = 1 << 5;
    out.push(("control batch from a client", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(1, ts);
    b.attributes = 1 << 4;
    out.push(("transactional batch", b.build(), INVALID_RECORD));
    let mut b = LyingBatch::keyed(1, ts);
    b.producer_id = 7;
    b.producer_epoch = 0;
    b.base_sequence = -1;
    out.push((
        "idempotent batch without sequence",
        b.build(),
        INVALID_RECORD,
    ));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_batches_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    server
        .broker
        .create_topic("t", Some(1), configs(&[]))
        .unwrap();
    let mut c = server.client().await;
    let first = c.produce("t", good_batch(3)).await;
    assert_eq!(first.error_code, 0);
    for (what, batch, code) in lies() {
        let r = c.produce("t", batch).await;
        assert_eq!(r.error_code, code, "{what}: {:?}", r.error_message);
        assert!(r.error_message.is_some(), "{what}: no message");
        if code == INVALID_RECORD && what == "repeated offset delta" {
            assert_eq!(r.record_errors.len(), 1, "{what}");
            assert_eq!(r.record_errors[0].batch_index, 1, "{what}");
        }
        // Nothing stored, and the broker still serves.
        assert_eq!(c.list_offset("t", -1).await, (0, 3, -1), "{what}");
    }
    let after = c.produce("t", good_batch(2)).await;
    assert_eq!((after.error_code, after.base_offset), (0, 3));
    server.stop().await.unwrap();
    // Restarts with exactly the five good records.
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    let log = server.broker.partition("t", 0).unwrap();
    assert_eq!(log.log_end_offset(), 5);
    let mut n = 0;
    log.replay_records(|_| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 5);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_rules_name_each_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    let b = &server.broker;
    b.create_topic(
        "compacted",
        Some(1),
        configs(&[("cleanup.policy", "compact")]),
    )
    .unwrap();
    b.create_topic(
        "recent",
        Some(1),
        configs(&[
            ("message.timestamp.before.max.ms", "3600000"),
            ("message.timestamp.after.max.ms", "3600000"),
        ]),
    )
    .unwrap();
    let mut c = server.client().await;
    let ts = now_ms();

    let mut keyless = LyingBatch::keyed(3, ts);
    keyless.records[2].key = Field::Null;
    let r = c.produce("compacted", keyless.build()).await;
    assert_eq!(r.error_code, INVALID_RECORD, "{:?}", r.error_message);
    assert_eq!(r.record_errors.len(), 1);
    assert_eq!(r.record_errors[0].batch_index, 2);
    assert!(r.error_message.unwrap().contains("key"));
    assert_eq!(
        c.produce("compacted", good_batch(3)).await.error_code,
        0,
        "keyed records are fine"
    );

    let mut old = LyingBatch::keyed(2, ts - 7_200_000);
    old.records[1].timestamp_delta = 7_200_000; // the second one is current
    let r = c.produce("recent", old.build()).await;
    assert_eq!(r.error_code, INVALID_TIMESTAMP, "{:?}", r.error_message);
    assert_eq!(r.record_errors.len(), 1);
    assert_eq!(r.record_errors[0].batch_index, 0);
    let future = LyingBatch::keyed(1, ts + 7_200_000);
    let r = c.produce("recent", future.build()).await;
    assert_eq!(r.error_code, INVALID_TIMESTAMP);
    assert_eq!(c.list_offset("recent", -1).await.1, 0);
    assert_eq!(c.produce("recent", good_batch(1)).await.error_code, 0);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_max_timestamp_is_fixed_as_kafka_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    server
        .broker
        .create_topic("t", Some(1), configs(&[]))
        .unwrap();
    let mut c = server.client().await;
    let ts = now_ms();
    let mut b = LyingBatch::keyed(3, ts);
    for (i, r) in b.records.iter_mut().enumerate() {
        r.timestamp_delta = i as i64 * 10;
    }
    b.max_timestamp = Some(1);
    let mut lat = b.clone();
    lat.attributes = 1 << 3; // claims LogAppendTime on a CreateTime topic: Kafka refuses it
    assert_eq!(
        c.produce("t", lat.build()).await.error_code,
        INVALID_TIMESTAMP
    );
    assert_eq!(c.produce("t", b.build()).await.error_code, 0);
    let stored = server.broker.read("t", 0, 0, 1 << 20).unwrap().records;
    let h = strom::records::batch::BatchHeader::parse(&stored).unwrap();
    assert_eq!(h.max_timestamp, ts + 20);
    assert!(!h.is_log_append_time());
    h.validate(&stored[..h.total_len()]).unwrap();
    // Offsets by time see the real timestamps.
    assert_eq!(c.list_offset("t", ts + 15).await, (0, 2, ts + 20));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_cannot_write_delete_or_trim_internal_topics() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    let offsets = "__consumer_offsets";
    let mut c = server.client().await;
    // The first answer comes once the group coordinator has opened its topic.
    let (code, end_before, _) = c.list_offset(offsets, -1).await;
    assert_eq!(code, 0);

    let forged = encode_batch(
        &[SimpleRecord::new(
            Some(br#"{"Offset":{"group":"g","topic":"t","partition":0}}"#),
            Some(br#"{"Offset":{"offset":999999,"metadata":""}}"#),
            now_ms(),
        )],
        kafka_protocol::records::Compression::None,
    )
    .unwrap();
    let r = c.produce(offsets, forged.to_vec()).await;
    assert_eq!(r.error_code, INVALID_TOPIC, "{:?}", r.error_message);

    let del: DeleteTopicsResponse = c
        .call(
            ApiKey::DeleteTopics,
            4,
            &DeleteTopicsRequest::default()
                .with_topic_names(vec![TopicName(s(offsets))])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(del.responses[0].error_code, INVALID_TOPIC);

    // AlterConfigs replaces a topic's overrides with exactly the given set.
    assert_eq!(
        c.alter_topic_configs(offsets, &[("retention.ms", "1")])
            .await,
        INVALID_CONFIG,
        "dropping compaction would let retention delete every group's offsets"
    );
    assert_eq!(
        c.alter_topic_configs(
            offsets,
            &[("cleanup.policy", "compact"), ("max.message.bytes", "1")]
        )
        .await,
        INVALID_CONFIG,
        "a limit that breaks the broker's own commits"
    );
    assert_eq!(
        c.alter_topic_configs(
            offsets,
            &[("cleanup.policy", "compact"), ("segment.bytes", "1048576")]
        )
        .await,
        0,
        "segment layout stays an admin's"
    );

    let create: CreateTopicsResponse = c
        .call(
            ApiKey::CreateTopics,
            5,
            &CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(TopicName(s("__transaction_state")))
                    .with_num_partitions(1)
                    .with_replication_factor(1)])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(create.topics[0].error_code, INVALID_TOPIC);

    let parts: CreatePartitionsResponse = c
        .call(
            ApiKey::CreatePartitions,
            1,
            &CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(TopicName(s(offsets)))
                    .with_count(5)])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(parts.results[0].error_code, INVALID_TOPIC);

    let trim: DeleteRecordsResponse = c
        .call(
            ApiKey::DeleteRecords,
            1,
            &DeleteRecordsRequest::default()
                .with_topics(vec![DeleteRecordsTopic::default()
                    .with_name(TopicName(s(offsets)))
                    .with_partitions(vec![DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(-1)])])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(trim.topics[0].partitions[0].error_code, INVALID_TOPIC);

    let t = server.broker.topic(offsets).unwrap();
    assert_eq!(t.partitions, 1);
    assert_eq!(
        t.configs.get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    let log = server.broker.partition(offsets, 0).unwrap();
    assert_eq!(log.log_end_offset(), end_before);
    assert_eq!(log.log_start_offset(), 0);
    server.stop().await.unwrap();
}

/// Appends `batch` (valid CRC, lying records) to the partition's last segment while the
/// broker is down, and makes the next open rescan it, as disk damage or an older strom
/// would leave it.
fn poison_on_disk(data_dir: &Path, partition_dir: &Path, base_offset: i64, mut batch: Vec<u8>) {
    batch[..8].copy_from_slice(&base_offset.to_be_bytes());
    let mut segments: Vec<PathBuf> = std::fs::read_dir(partition_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    segments.sort();
    let last = segments.last().unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(last).unwrap();
    std::io::Write::write_all(&mut f, &batch).unwrap();
    let _ = std::fs::remove_file(data_dir.join(strom::broker::embedded::CLEAN_SHUTDOWN));
    let _ = std::fs::remove_file(partition_dir.join("recovery-point"));
}

fn header_bomb() -> Vec<u8> {
    let mut r = LyingRecord::new(Some(b"k"), Some(b"v"));
    r.header_count = Some(i32::MAX);
    LyingBatch::of(vec![r], now_ms()).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisoned_stored_batches_never_stop_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let (plain_dir, compacted_dir, offsets_dir, groups_end);
    {
        let server = Server::start(dir.path(), ServerConfig::default()).await;
        let b = &server.broker;
        b.create_topic("plain", Some(1), configs(&[])).unwrap();
        b.create_topic(
            "compacted",
            Some(1),
            configs(&[
                ("cleanup.policy", "compact"),
                ("internal.segment.bytes", "100"),
            ]),
        )
        .unwrap();
        let mut c = server.client().await;
        assert_eq!(c.produce("plain", good_batch(2)).await.error_code, 0);
        assert_eq!(c.produce("compacted", good_batch(2)).await.error_code, 0);
        plain_dir = b.partition("plain", 0).unwrap().dir().to_path_buf();
        compacted_dir = b.partition("compacted", 0).unwrap().dir().to_path_buf();
        let offsets = b.partition("__consumer_offsets", 0).unwrap();
        offsets_dir = offsets.dir().to_path_buf();
        groups_end = offsets.log_end_offset();
        server.stop().await.unwrap();
    }
    poison_on_disk(dir.path(), &plain_dir, 2, header_bomb());
    poison_on_disk(dir.path(), &compacted_dir, 2, header_bomb());
    let mut garbage = LyingBatch::keyed(2, now_ms());
    garbage.section = Some(vec![0xff; 64]);
    poison_on_disk(dir.path(), &offsets_dir, groups_end, garbage.build());

    // Starts (the group replay skips the garbage), answers offsets by time, compacts.
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    let b = &server.broker;
    assert_eq!(b.partition("plain", 0).unwrap().log_end_offset(), 3);
    let mut c = server.client().await;
    let (code, offset, _) = c.list_offset("plain", now_ms() - 60_000).await;
    assert_eq!((code, offset), (0, 0));
    let (code, offset, _) = c.list_offset("plain", now_ms() + 60_000).await;
    assert_eq!((code, offset), (0, -1));
    // A newer k0 rolls the poisoned segment (internal.segment.bytes=100) and makes it cleanable.
    let r = c.produce("compacted", good_batch(1)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 3));
    let compacted = b.partition("compacted", 0).unwrap();
    assert!(compacted.segment_count() >= 2);
    let report = b.run_housekeeping().unwrap();
    assert_eq!(report.partition_failures, 0, "{report:?}");
    assert_eq!(report.records_compacted_away, 1, "the old k0: {report:?}");
    assert_eq!(compacted.log_end_offset(), 4);
    // New data still goes in after the poisoned batch.
    let r = c.produce("plain", good_batch(1)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 3));
    server.stop().await.unwrap();
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    assert_eq!(
        server
            .broker
            .partition("plain", 0)
            .unwrap()
            .log_end_offset(),
        4
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_partition_does_not_stop_housekeeping_for_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), ServerConfig::default()).await;
    let b = &server.broker;
    let mut c = server.client().await;
    let old = now_ms() - 3_600_000;
    for i in 0..6 {
        let name = format!("retained-{i}");
        b.create_topic(
            &name,
            Some(1),
            configs(&[("retention.ms", "1000"), ("internal.segment.bytes", "1024")]),
        )
        .unwrap();
        for _ in 0..4 {
            let r = c.produce(&name, LyingBatch::keyed(20, old).build()).await;
            assert_eq!(r.error_code, 0);
        }
    }
    // Break one partition's directory under the live topic: its checkpoint write fails.
    let broken = b.partition("retained-0", 0).unwrap();
    std::fs::remove_dir_all(broken.dir()).unwrap();
    let report = b.run_housekeeping().unwrap();
    assert!(report.partition_failures >= 1, "{report:?}");
    assert!(b.housekeeping_failures() >= 1);
    for i in 1..6 {
        let log = b.partition(&format!("retained-{i}"), 0).unwrap();
        assert!(
            log.log_start_offset() > 0,
            "retained-{i} was not trimmed: {report:?}"
        );
    }
    // Closing reports the broken partition; the others close cleanly.
    assert!(server.stop().await.is_err());
}
