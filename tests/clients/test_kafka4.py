"""Issue 15, Kafka 4 conformance: each behaviour a Kafka 4 client or tool relies on, tried with
the real client or tool that exposed it — Apache Kafka 4.1's Java tools (from the jars of
../shared/peers/kafka-peer.sh), librdkafka (confluent-kafka) and kafkajs.
"""

from __future__ import annotations

import re
import time

import confluent_kafka as ck
import pytest

from clientlib import ck_create_topic, ck_produce, kjs_raw, unique_topic, Msg
from grouplib import ck_describe_groups
from kafka_tools import kafka_tool
from lossy_proxy import LossyProxy

JOIN_GROUP = 11


@pytest.fixture
def proxied(strom):
    """`strom` restarted behind a LossyProxy that loses JoinGroup responses; clients reach
    the broker only through the proxy (it is the advertised listener)."""
    proxies: list[LossyProxy] = []

    def make(drop: int) -> LossyProxy:
        proxy = LossyProxy(JOIN_GROUP, drop)
        strom.stop()
        strom.extra_args = ["--advertised-listener", f"127.0.0.1:{proxy.port}"]
        strom.restart()
        proxy.upstream = ("127.0.0.1", strom.port)
        proxies.append(proxy)
        return proxy

    yield make
    for p in proxies:
        p.close()


@pytest.mark.timeout(120)
def test_a_lost_join_group_response_does_not_start_a_new_rebalance(strom, proxied):
    """Item 1: librdkafka re-sends JoinGroup with its member id and unchanged metadata after the
    response was lost; Kafka answers the current generation instead of rebalancing again, so
    three lost responses leave the group at generation 1 (a rebalance storm before)."""
    proxy = proxied(drop=3)
    bootstrap = f"127.0.0.1:{proxy.port}"
    topic = unique_topic("k4-rejoin")
    group = unique_topic("g")
    ck_create_topic(strom.bootstrap, topic, 2)
    ck_produce(strom.bootstrap, topic, [Msg(key=None, value=f"v{i}", partition=i % 2) for i in range(4)])
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                     "partition.assignment.strategy": "range", "session.timeout.ms": 10000,
                     "enable.auto.commit": False})
    try:
        c.subscribe([topic])
        got = 0
        deadline = time.monotonic() + 60
        while got < 4 and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got += 1
        assert got == 4, f"consumed {got} of 4 records; proxy lost {proxy.dropped} JoinGroup responses"
        assert proxy.dropped == 3, proxy.dropped
        d = ck_describe_groups(strom.bootstrap, [group])[group]
        assert d["state"] == "stable", d
        generations = _generations(strom, group)
        assert generations == [1], f"the group rebalanced again for lost JoinGroup responses: {generations}"
    finally:
        c.close()


def _generations(strom, group: str) -> list[int]:
    """The generations strom's log reports for `group` ("group rebalanced: new generation",
    as Kafka logs each generation); DescribeGroups carries no generation."""
    out = []
    for line in strom.stderr_tail(100000).splitlines():
        if "group rebalanced: new generation" in line and group in line:
            m = re.search(r"generation=(\d+)", line)
            if m:
                out.append(int(m.group(1)))
    return out


def test_an_empty_group_is_still_there_after_its_offsets_are_deleted(strom, bootstrap):
    """Item 2: `kafka-consumer-groups --delete-offsets` then `--delete` on an Empty group:
    Kafka keeps the group until it is deleted or expires, so both succeed."""
    topic = unique_topic("k4-offdel")
    group = unique_topic("g")
    ck_create_topic(bootstrap, topic, 1)
    ck_produce(bootstrap, topic, [Msg(key=None, value="x", partition=0)])
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[ck.TopicPartition(topic, 0, 1)], asynchronous=False)
    c.close()
    tool = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
    out = kafka_tool(tool, "--bootstrap-server", bootstrap, "--delete-offsets", "--group", group, "--topic", topic)
    assert "Request succeeded for deleting offsets" in out and "Successful" in out, out
    out = kafka_tool(tool, "--bootstrap-server", bootstrap, "--delete", "--group", group)
    assert f"Deletion of requested consumer groups ('{group}') was successful." in out, out


@pytest.mark.timeout(120)
def test_transactional_clients_fail_at_once_with_a_clear_error(bootstrap):
    """Item 3: strom has no transaction coordinator yet; Java's initTransactions(), librdkafka
    and kafkajs must fail at once with a non-retriable error, not retry for minutes."""
    t = time.monotonic()
    with pytest.raises(AssertionError) as java:
        kafka_tool("org.apache.kafka.tools.ProducerPerformance", "--topic", unique_topic("k4-tx"),
                   "--num-records", "10", "--record-size", "10", "--throughput", "-1",
                   "--transactional-id", "tx-java", "--producer-props", f"bootstrap.servers={bootstrap}",
                   timeout=60)
    assert "TransactionalIdAuthorizationException" in str(java.value), java.value
    assert time.monotonic() - t < 30, "Java took too long to give up"

    p = ck.Producer({"bootstrap.servers": bootstrap, "transactional.id": "tx-librdkafka"})
    t = time.monotonic()
    with pytest.raises(ck.KafkaException) as rd:
        p.init_transactions(60)
    err = rd.value.args[0]
    assert err.fatal() and not err.retriable(), err
    assert "strom does not support transactions yet" in err.str(), err.str()
    assert time.monotonic() - t < 15, "librdkafka retried instead of failing"

    t = time.monotonic()
    out, stderr = kjs_raw(bootstrap, [{"op": "transaction", "transactionalId": "tx-kafkajs"}], timeout=60)
    assert not out["ok"], out
    # kafkajs wraps the coordinator lookup's non-retriable error in its own.
    assert out["error"]["name"] == "KafkaJSGroupCoordinatorNotFound", out["error"]
    assert out["error"]["retriable"] is False, out["error"]
    assert time.monotonic() - t < 30, "kafkajs retried instead of failing"


def test_kafka_features_describe_lists_what_strom_implements(bootstrap):
    """Item 4: ApiVersions carries the supported and finalized features (Kafka 4's
    `kafka-features describe`): metadata.version at 3.3-IV3, group.version 1 (the consumer
    group protocol), and nothing strom lacks."""
    out = kafka_tool("org.apache.kafka.tools.FeatureCommand", "--bootstrap-server", bootstrap, "describe")
    lines = [line for line in out.splitlines() if line.startswith("Feature:")]
    assert lines == ["Feature: group.version\tSupportedMinVersion: 0\t"
                     "SupportedMaxVersion: 1\tFinalizedVersionLevel: 1\tEpoch: 0",
                     "Feature: metadata.version\tSupportedMinVersion: 3.3-IV3\t"
                     "SupportedMaxVersion: 3.3-IV3\tFinalizedVersionLevel: 3.3-IV3\tEpoch: 0"], out


def test_authorized_operations_are_every_operation_without_an_authorizer(bootstrap):
    """Item 8: asked for authorized operations (DescribeTopicPartitions/Metadata, DescribeCluster,
    DescribeGroups), Kafka without an authorizer answers every operation of the resource type."""
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AdminClient

    topic = unique_topic("k4-ops")
    group = unique_topic("g")
    ck_create_topic(bootstrap, topic, 1)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = lambda ops: sorted(o.name for o in ops)  # noqa: E731
    t = admin.describe_topics(TopicCollection([topic]), include_authorized_operations=True)[topic].result()
    assert names(t.authorized_operations) == ["ALTER", "ALTER_CONFIGS", "CREATE", "DELETE", "DESCRIBE",
                                              "DESCRIBE_CONFIGS", "READ", "WRITE"]
    c = admin.describe_cluster(include_authorized_operations=True).result()
    assert names(c.authorized_operations) == ["ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DESCRIBE",
                                              "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"]
    consumer = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    consumer.commit(offsets=[ck.TopicPartition(topic, 0, 0)], asynchronous=False)
    consumer.close()
    g = admin.describe_consumer_groups([group], include_authorized_operations=True)[group].result()
    assert names(g.authorized_operations) == ["ALTER_CONFIGS", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ"]
    # Not asked: none (librdkafka reports None).
    t = admin.describe_topics(TopicCollection([topic]))[topic].result()
    assert not t.authorized_operations


def test_kafka_log_dirs_describes_the_data_directory(strom, bootstrap):
    """DescribeLogDirs: `kafka-log-dirs --describe` lists strom's data directory with the size
    on disk of each partition asked for."""
    import json

    topic = unique_topic("k4-logdirs")
    ck_create_topic(bootstrap, topic, 2)
    ck_produce(bootstrap, topic, [Msg(key=None, value="x" * 100, partition=i % 2) for i in range(10)])
    out = kafka_tool("org.apache.kafka.tools.LogDirsCommand", "--bootstrap-server", bootstrap, "--describe",
                     "--topic-list", topic)
    doc = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    [b] = doc["brokers"]
    [d] = b["logDirs"]
    assert (b["broker"], d["error"], d["logDir"]) == (1, None, str(strom.data_dir.resolve())), doc
    sizes = {p["partition"]: p["size"] for p in d["partitions"]}
    assert sorted(sizes) == [f"{topic}-0", f"{topic}-1"], doc
    on_disk = {f"{topic}-{p}": sum(f.stat().st_size for f in (strom.data_dir / f"{topic}-{p}").glob("*.log"))
               for p in (0, 1)}
    assert sizes == on_disk and all(s > 500 for s in sizes.values()), (sizes, on_disk)


def test_kafka_transactions_describe_producers(bootstrap):
    """DescribeProducers: `kafka-transactions describe-producers` shows the idempotent producer
    that wrote to a partition, with its epoch and last sequence (and no transaction)."""
    topic = unique_topic("k4-producers")
    ck_create_topic(bootstrap, topic, 1)
    p = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 0})
    for i in range(5):
        p.produce(topic, value=b"v", partition=0)
        p.flush(10)  # one batch each: sequences 0..4
    out = kafka_tool("org.apache.kafka.tools.TransactionsCommand", "--bootstrap-server", bootstrap,
                     "describe-producers", "--topic", topic, "--partition", "0")
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows[0][:4] == ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence"], out
    assert len(rows) == 2, out
    producer_id, epoch, coordinator_epoch, last_sequence, last_timestamp, txn_start = rows[1]
    assert (epoch, coordinator_epoch, last_sequence, txn_start) == ("0", "-1", "4", "None"), out
    assert int(producer_id) >= 0 and abs(int(last_timestamp) / 1000 - time.time()) < 120, out


def test_kafka_leader_election_and_reassignments_on_one_node(bootstrap):
    """ElectLeaders and ListPartitionReassignments: on one node every partition already has
    its preferred (and only) leader, so `kafka-leader-election` says no election is needed,
    and `kafka-reassign-partitions --list` finds no reassignment; unknown partitions are
    refused as Kafka refuses them."""
    topic = unique_topic("k4-elect")
    ck_create_topic(bootstrap, topic, 2)
    tool = "org.apache.kafka.tools.LeaderElectionCommand"
    for kind in ("preferred", "unclean"):
        out = kafka_tool(tool, "--bootstrap-server", bootstrap, "--election-type", kind,
                         "--topic", topic, "--partition", "1")
        assert f"Valid replica already elected for partitions {topic}-1" in out, out
    out = kafka_tool(tool, "--bootstrap-server", bootstrap, "--election-type", "preferred", "--all-topic-partitions")
    assert "Error" not in out and "failed" not in out, out
    with pytest.raises(AssertionError) as unknown:
        kafka_tool(tool, "--bootstrap-server", bootstrap, "--election-type", "preferred",
                   "--topic", topic, "--partition", "7")
    assert "UnknownTopicOrPartitionException" in str(unknown.value), unknown.value
    out = kafka_tool("org.apache.kafka.tools.reassign.ReassignPartitionsCommand", "--bootstrap-server", bootstrap,
                     "--list")
    assert "No partition reassignments found." in out, out


def _stored_codecs(strom, topic: str) -> list[str]:
    """The codec of every stored batch of partition 0, via `strom dump-log`."""
    import subprocess

    seg = strom.data_dir / f"{topic}-0" / "00000000000000000000.log"
    out = subprocess.run([str(strom.binary), "dump-log", str(seg)], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    return [line.split(" codec ")[1].split()[0] for line in out.stdout.decode().splitlines()
            if line.startswith("offset ")]


@pytest.mark.parametrize("codec,level", [("zstd", "5"), ("gzip", "9"), ("lz4", "12"), ("snappy", None),
                                         ("uncompressed", None)])
def test_topic_compression_type_recompresses_on_the_broker(strom, bootstrap, codec, level):
    """Item 6: `compression.type` other than `producer` stores every batch in the topic's codec
    (at its `compression.<codec>.level`), as Kafka's broker recompresses; the records read back
    unchanged by librdkafka, whatever codec the producer used."""
    from clientlib import ck_read_all

    topic = unique_topic(f"k4-recompress-{codec}")
    config = {"compression.type": codec}
    if level:
        config[f"compression.{codec}.level"] = level
    ck_create_topic(bootstrap, topic, 1, config)
    sent = []
    for producer_codec in ("none", "gzip", "lz4"):
        msgs = [Msg(key=f"k{i}", value=f"{producer_codec}-{i}-" + "x" * (i % 50), partition=0) for i in range(40)]
        ck_produce(bootstrap, topic, msgs, producer_codec)
        sent += msgs
    stored = _stored_codecs(strom, topic)
    want = "none" if codec == "uncompressed" else codec
    assert stored and set(stored) == {want}, stored
    got = ck_read_all(bootstrap, topic, 1)[0]
    assert [(r.key, r.value) for r in got] == [(m.key, m.value) for m in sent]


def test_min_insync_replicas_above_one_refuses_acks_all(bootstrap):
    """Item 6: `min.insync.replicas` is honoured: one node has one in-sync replica, so a topic
    asking for 2 refuses acks=all with NOT_ENOUGH_REPLICAS (nothing stored) and takes acks=1."""
    topic = unique_topic("k4-minisr")
    ck_create_topic(bootstrap, topic, 1, {"min.insync.replicas": "2"})
    errors = []
    p = ck.Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0, "enable.idempotence": False,
                     "message.timeout.ms": 10000})
    p.produce(topic, value=b"x", partition=0, on_delivery=lambda err, msg: errors.append(err))
    p.flush(15)
    assert len(errors) == 1 and errors[0] is not None, errors
    assert errors[0].code() == ck.KafkaError.NOT_ENOUGH_REPLICAS, errors[0]
    ck_produce(bootstrap, topic, [Msg(key=None, value="y", partition=0)], acks="1")
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique_topic("g")})
    low, high = c.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10, cached=False)
    c.close()
    assert (low, high) == (0, 1), "only the acks=1 record is stored"
