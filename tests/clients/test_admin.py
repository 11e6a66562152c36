"""Topic administration through each client's admin API.

Create (with configs), describe configs, alter configs (AlterConfigs and
IncrementalAlterConfigs), create partitions, delete; the error codes Kafka gives for the
usual mistakes; DescribeCluster and topic descriptions.
"""

from __future__ import annotations

import time

import pytest

from clientlib import KafkaJSError, Msg, ck_admin, ck_produce, ck_watermarks, kjs, kjs_raw, unique_topic

DEFAULT_SEGMENT_BYTES = "1073741824"
DEFAULT_MAX_MESSAGE_BYTES = "1048588"


def eventually(check, timeout: float = 10.0, interval: float = 0.2):
    """Retries `check` until it stops raising AssertionError (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


# -- kafka-python -------------------------------------------------------------------------------


def test_admin_kafka_python(strom, bootstrap):
    import kafka.errors as Errors
    from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        topic = unique_topic("kp-admin")
        res = admin.create_topics(
            {topic: {"num_partitions": 2, "replication_factor": 1,
                     "configs": {"retention.ms": "3600000", "cleanup.policy": "compact"}}}
        )
        assert [t["error_code"] for t in res["topics"]] == [0]
        assert topic in admin.list_topics()
        (desc,) = admin.describe_topics([topic])
        assert desc["name"] == topic and desc["error_code"] == 0
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1]
        assert all(p["leader_id"] >= 0 for p in desc["partitions"])

        resource = lambda **kw: ConfigResource(ConfigResourceType.TOPIC, topic, **kw)  # noqa: E731
        modified = admin.describe_configs([resource()])["topic"][topic]
        assert modified["retention.ms"]["value"] == "3600000"
        assert modified["cleanup.policy"]["value"] == "compact"
        assert "segment.bytes" not in modified, "describe reports a default as modified"
        everything = admin.describe_configs([resource()], config_filter="all")["topic"][topic]
        assert everything["segment.bytes"]["value"] == DEFAULT_SEGMENT_BYTES
        assert everything["max.message.bytes"]["value"] == DEFAULT_MAX_MESSAGE_BYTES

        # Legacy AlterConfigs (the client re-sends the other modified keys, as Kafka requires).
        res = admin.alter_configs([resource(configs={"retention.ms": "7200000"})], incremental=False)
        assert res == {"topic": {topic: "OK"}}
        modified = admin.describe_configs([resource()])["topic"][topic]
        assert modified["retention.ms"]["value"] == "7200000"
        assert modified["cleanup.policy"]["value"] == "compact"

        # IncrementalAlterConfigs: DELETE returns a key to its default.
        res = admin.alter_configs([resource(configs={"cleanup.policy": (AlterConfigOp.DELETE, None)})], incremental=True)
        assert res == {"topic": {topic: "OK"}}
        modified = admin.describe_configs([resource()])["topic"][topic]
        assert "cleanup.policy" not in modified
        assert modified["retention.ms"]["value"] == "7200000"

        admin.create_partitions({topic: 5})
        (desc,) = admin.describe_topics([topic])
        assert sorted(p["partition_index"] for p in desc["partitions"]) == [0, 1, 2, 3, 4]

        # DescribeTopicPartitions (KIP-966).
        whole = admin.describe_topic_partitions([topic])
        (t,) = whole["topics"]
        assert (t["error_code"], t["name"], whole["next_cursor"]) == (0, topic, None)
        assert str(t["topic_id"]) == str(desc["topic_id"]), "DescribeTopicPartitions and Metadata disagree on the topic id"
        assert [p["partition_index"] for p in t["partitions"]] == [0, 1, 2, 3, 4]
        assert all(p["error_code"] == 0 and p["leader_id"] >= 0 for p in t["partitions"])

        cluster = admin.describe_cluster()
        assert cluster["cluster_id"], cluster
        assert [b["port"] for b in cluster["brokers"]] == [strom.port]
        assert cluster["controller_id"] == cluster["brokers"][0]["broker_id"]

        with pytest.raises(Errors.TopicAlreadyExistsError):
            admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})

        admin.delete_topics([topic])
        eventually(lambda: _assert_absent(topic, admin.list_topics()))
    finally:
        admin.close()


def test_describe_topic_partitions_paging(strom, bootstrap):
    from kafka.admin import KafkaAdminClient

    topic = unique_topic("kp-dtp")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        admin.create_topics({topic: {"num_partitions": 5, "replication_factor": 1}})
        page = admin.describe_topic_partitions([topic], response_partition_limit=2)
        assert [p["partition_index"] for p in page["topics"][0]["partitions"]] == [0, 1]
        assert page["next_cursor"] == {"topic_name": topic, "partition_index": 2}
        # The next page starts at the cursor (a non-null Cursor struct in the request).
        page = admin.describe_topic_partitions([topic], cursor=page["next_cursor"])
        assert [p["partition_index"] for p in page["topics"][0]["partitions"]] == [2, 3, 4]
        assert page["next_cursor"] is None
    finally:
        admin.close()


def _assert_absent(topic, topics):
    assert topic not in topics, f"{topic} still listed"


# -- confluent-kafka ----------------------------------------------------------------------------


def test_admin_confluent(strom, bootstrap):
    from confluent_kafka import KafkaError, KafkaException, TopicCollection
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, NewTopic, ResourceType

    admin = ck_admin(bootstrap)
    topic = unique_topic("ck-admin")
    fs = admin.create_topics(
        [NewTopic(topic, num_partitions=3, replication_factor=1,
                  config={"retention.ms": "3600000", "max.message.bytes": "2000000"})],
        operation_timeout=10,
    )
    fs[topic].result(timeout=20)
    md = admin.list_topics(timeout=10)
    assert topic in md.topics and md.topics[topic].error is None
    assert sorted(md.topics[topic].partitions) == [0, 1, 2]
    assert len(md.brokers) == 1

    def describe():
        res = ConfigResource(ResourceType.TOPIC, topic)
        return admin.describe_configs([res])[res].result(timeout=15)

    cfg = describe()
    assert cfg["retention.ms"].value == "3600000" and not cfg["retention.ms"].is_default
    assert cfg["max.message.bytes"].value == "2000000"
    assert cfg["segment.bytes"].value == DEFAULT_SEGMENT_BYTES and cfg["segment.bytes"].is_default

    res = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("max.message.bytes", None, incremental_operation=AlterConfigOpType.DELETE),
        ],
    )
    admin.incremental_alter_configs([res])[res].result(timeout=15)
    cfg = describe()
    assert cfg["retention.ms"].value == "7200000"
    assert cfg["max.message.bytes"].value == DEFAULT_MAX_MESSAGE_BYTES and cfg["max.message.bytes"].is_default

    # An unknown config is refused, and refused as INVALID_CONFIG.
    bad = ConfigResource(
        ResourceType.TOPIC, topic,
        incremental_configs=[ConfigEntry("no.such.config", "1", incremental_operation=AlterConfigOpType.SET)],
    )
    with pytest.raises(KafkaException) as err:
        admin.incremental_alter_configs([bad])[bad].result(timeout=15)
    assert err.value.args[0].code() == KafkaError.INVALID_CONFIG, err.value

    admin.create_partitions([NewPartitions(topic, 5)])[topic].result(timeout=15)
    assert sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions) == [0, 1, 2, 3, 4]
    with pytest.raises(KafkaException) as err:
        admin.create_partitions([NewPartitions(topic, 2)])[topic].result(timeout=15)
    assert err.value.args[0].code() == KafkaError.INVALID_PARTITIONS, err.value

    (desc_future,) = admin.describe_topics(TopicCollection([topic])).values()
    desc = desc_future.result(timeout=15)
    assert desc.name == topic and sorted(p.id for p in desc.partitions) == [0, 1, 2, 3, 4]
    assert str(desc.topic_id) not in ("", "AAAAAAAAAAAAAAAAAAAAAA"), "topic has no id"

    # Topic state lives in the metadata log: a restart keeps configs, partitions and the id.
    ck_produce(bootstrap, topic, [Msg(f"k{i}", f"v{i}", partition=0) for i in range(5)])
    strom.restart()
    cfg = describe()
    assert cfg["retention.ms"].value == "7200000" and cfg["max.message.bytes"].is_default
    assert sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions) == [0, 1, 2, 3, 4]
    (again,) = admin.describe_topics(TopicCollection([topic])).values()
    assert str(again.result(timeout=15).topic_id) == str(desc.topic_id)
    assert ck_watermarks(bootstrap, topic, 0) == (0, 5)

    cluster = admin.describe_cluster(request_timeout=15).result(timeout=20)
    assert cluster.cluster_id, "DescribeCluster gave no cluster id"
    assert len(cluster.nodes) == 1 and cluster.nodes[0].port == strom.port

    with pytest.raises(KafkaException) as err:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=15)
    assert err.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS, err.value
    other = unique_topic("ck-badcfg")
    with pytest.raises(KafkaException) as err:
        admin.create_topics([NewTopic(other, 1, 1, config={"no.such.config": "1"})])[other].result(timeout=15)
    assert err.value.args[0].code() == KafkaError.INVALID_CONFIG, err.value
    assert other not in admin.list_topics(timeout=10).topics

    admin.delete_topics([topic], operation_timeout=10)[topic].result(timeout=15)
    eventually(lambda: _assert_absent(topic, admin.list_topics(timeout=10).topics))
    with pytest.raises(KafkaException) as err:
        admin.delete_topics([topic], operation_timeout=10)[topic].result(timeout=15)
    assert err.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err.value

    # The name can be reused: a new topic (new id) with an empty log, also after a restart.
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=20)
    (fresh,) = admin.describe_topics(TopicCollection([topic])).values()
    assert str(fresh.result(timeout=15).topic_id) != str(desc.topic_id)
    assert ck_watermarks(bootstrap, topic, 0) == (0, 0)
    strom.restart()
    assert sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions) == [0, 1]
    assert ck_watermarks(bootstrap, topic, 0) == (0, 0)
    cfg = describe()
    assert cfg["retention.ms"].is_default, "a re-created topic inherited the deleted topic's configs"


KAFKA_TOPIC_CONFIGS = {
    "min.cleanable.dirty.ratio": "0.3",
    "max.compaction.lag.ms": "600000",
    "segment.jitter.ms": "1000",
    "preallocate": "true",
    "min.insync.replicas": "1",
    "compression.type": "zstd",
    "compression.zstd.level": "5",
}


def test_admin_confluent_kafka_topic_configs(strom, bootstrap):
    """Ordinary Kafka topic configs are accepted, described with their source, and validated."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import ConfigResource, ConfigSource, NewTopic, ResourceType

    admin = ck_admin(bootstrap)
    topic = unique_topic("ck-kcfg")
    fs = admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1, config=dict(KAFKA_TOPIC_CONFIGS))],
        operation_timeout=10,
    )
    fs[topic].result(timeout=20)

    res = ConfigResource(ResourceType.TOPIC, topic)
    cfg = admin.describe_configs([res])[res].result(timeout=15)
    for name, value in KAFKA_TOPIC_CONFIGS.items():
        assert cfg[name].value == value, name
        # TOPIC_CONFIG (1) is DYNAMIC_TOPIC_CONFIG in the client.
        assert cfg[name].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value, (name, cfg[name].source)
    rest = {n: e for n, e in cfg.items() if n not in KAFKA_TOPIC_CONFIGS}
    assert len(rest) == 33 - len(KAFKA_TOPIC_CONFIGS), sorted(rest)
    for name, entry in rest.items():
        assert entry.source == ConfigSource.DEFAULT_CONFIG.value and entry.is_default, name
    assert rest["message.timestamp.after.max.ms"].value == "3600000"
    assert rest["unclean.leader.election.enable"].value == "false"

    # A bad value and an unknown name are both INVALID_CONFIG, and no topic is created.
    refusals = [
        ({"min.cleanable.dirty.ratio": "1.5"},
         "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"),
        ({"message.format.version": "3.0"}, "Unknown topic config name: message.format.version"),
    ]
    for i, (config, message) in enumerate(refusals):
        other = unique_topic(f"ck-kcfg-bad{i}")
        with pytest.raises(KafkaException) as err:
            admin.create_topics([NewTopic(other, 1, 1, config=config)])[other].result(timeout=15)
        assert err.value.args[0].code() == KafkaError.INVALID_CONFIG, err.value
        assert message in err.value.args[0].str(), err.value
        assert other not in admin.list_topics(timeout=10).topics

    # Group configs: the consumer group protocol's, with Kafka's defaults.
    group = ConfigResource(ResourceType.GROUP, "ck-kcfg-group")
    gcfg = admin.describe_configs([group])[group].result(timeout=15)
    assert gcfg["consumer.session.timeout.ms"].value == "45000"
    assert gcfg["consumer.heartbeat.interval.ms"].value == "5000"
    assert all(e.source == ConfigSource.DEFAULT_CONFIG.value for e in gcfg.values())


# -- kafkajs ------------------------------------------------------------------------------------


def test_admin_kafkajs(strom, bootstrap):
    topic = unique_topic("kjs-admin")
    created, described = kjs(bootstrap, [
        {"op": "createTopics", "topics": [{"topic": topic, "numPartitions": 3,
                                            "configs": {"retention.ms": "3600000", "cleanup.policy": "compact"}}]},
        {"op": "describeConfigs", "topic": topic},
    ])
    assert created is True
    (resource,) = described
    assert resource["errorCode"] == 0 and resource["resourceName"] == topic
    entries = {e["configName"]: e for e in resource["configEntries"]}
    assert entries["retention.ms"]["configValue"] == "3600000" and not entries["retention.ms"]["isDefault"]
    assert entries["cleanup.policy"]["configValue"] == "compact"
    assert entries["segment.bytes"]["configValue"] == DEFAULT_SEGMENT_BYTES and entries["segment.bytes"]["isDefault"]

    # kafkajs alterConfigs is the legacy AlterConfigs: keys left out go back to their defaults.
    altered, described, _, metadata, topics = kjs(bootstrap, [
        {"op": "alterConfigs", "topic": topic, "configs": {"retention.ms": "7200000"}},
        {"op": "describeConfigs", "topic": topic, "configNames": ["retention.ms", "cleanup.policy"]},
        {"op": "createPartitions", "topic": topic, "count": 6},
        {"op": "fetchTopicMetadata", "topics": [topic]},
        {"op": "listTopics"},
    ])
    assert [(r["errorCode"], r["resourceName"]) for r in altered] == [(0, topic)]
    entries = {e["configName"]: e for e in described[0]["configEntries"]}
    assert set(entries) == {"retention.ms", "cleanup.policy"}
    assert entries["retention.ms"]["configValue"] == "7200000"
    assert entries["cleanup.policy"]["configValue"] == "delete" and entries["cleanup.policy"]["isDefault"], (
        "AlterConfigs must reset keys it does not name to their defaults"
    )
    (tmeta,) = metadata["topics"]
    assert tmeta["name"] == topic and sorted(p["partitionId"] for p in tmeta["partitions"]) == list(range(6))
    assert topic in topics

    out, _ = kjs_raw(bootstrap, [{"op": "createTopics", "topics": [{"topic": topic, "numPartitions": 1}]}])
    # kafkajs turns TOPIC_ALREADY_EXISTS (and only that) into a `false` result.
    assert out["ok"] and out["results"] == [False], out

    kjs(bootstrap, [{"op": "deleteTopics", "topics": [topic]}])
    eventually(lambda: _assert_absent(topic, kjs(bootstrap, [{"op": "listTopics"}])[0]))

    with pytest.raises(KafkaJSError) as err:
        kjs(bootstrap, [{"op": "createTopics", "topics": [{"topic": unique_topic("kjs-bad"), "numPartitions": 1,
                                                            "configs": {"no.such.config": "1"}}]}])
    assert "INVALID_CONFIG" in str(err.value), err.value


# -- Metadata auto-creation ---------------------------------------------------------------------


def test_metadata_auto_create(strom, bootstrap):
    from confluent_kafka import KafkaError

    from clientlib import Msg, Rec, ck_consumer, ck_read_all, kp_produce

    topic = unique_topic("auto")
    # A consumer's Metadata request does not allow auto-creation (allow.auto.create.topics=false).
    c = ck_consumer(bootstrap)
    try:
        md = c.list_topics(topic, timeout=10)
        assert topic in md.topics and md.topics[topic].error is not None, "unknown topic reported without error"
        assert md.topics[topic].error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, md.topics[topic].error
    finally:
        c.close()
    assert topic not in ck_admin(bootstrap).list_topics(timeout=10).topics, "a consumer's Metadata created the topic"

    # A producer's does: the topic appears with num.partitions (1) and takes the message.
    assert kp_produce(bootstrap, topic, [Msg("k", "v")]) == [Rec(0, 0, "k", "v")]
    md = ck_admin(bootstrap).list_topics(timeout=10)
    assert topic in md.topics and sorted(md.topics[topic].partitions) == [0]
    assert ck_read_all(bootstrap, topic, 1) == {0: [Rec(0, 0, "k", "v")]}
