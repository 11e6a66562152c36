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
    `kafka-features describe`): metadata.version at 3.3-IV3, and nothing strom lacks."""
    out = kafka_tool("org.apache.kafka.tools.FeatureCommand", "--bootstrap-server", bootstrap, "describe")
    lines = [line for line in out.splitlines() if line.startswith("Feature:")]
    assert lines == ["Feature: metadata.version\tSupportedMinVersion: 3.3-IV3\t"
                     "SupportedMaxVersion: 3.3-IV3\tFinalizedVersionLevel: 3.3-IV3\tEpoch: 0"], out
