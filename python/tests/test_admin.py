"""strom.Admin against an embedded broker and a `strom serve` process."""

from __future__ import annotations

import time

import pytest

import strom
from conftest import Target, unique
from strom import TopicPartition


def test_topics(target: Target) -> None:
    admin = target.admin()
    name = unique()
    admin.create_topic(name, 3, config={"retention.ms": 60_000, "cleanup.policy": "delete"})
    assert name in admin.list_topics()
    assert all(not t.startswith("__") for t in admin.list_topics())
    d = admin.describe_topic(name)
    assert isinstance(d, strom.TopicDescription)
    assert (d.name, len(d.partitions), d.internal) == (name, 3, False)
    assert d.config == {"retention.ms": "60000", "cleanup.policy": "delete"}
    assert all(p.leader is not None and p.start_offset == 0 and p.end_offset == 0 for p in d.partitions)
    admin.create_partitions(name, 5)
    assert len(admin.describe_topic(name).partitions) == 5
    admin.delete_topic(name)
    assert name not in admin.list_topics()
    with pytest.raises(strom.errors.TopicExistsError):
        admin.create_topic("dup-" + name)
        admin.create_topic("dup-" + name)


def test_configs(target: Target, topic: str) -> None:
    admin = target.admin()
    admin.alter_configs(topic, {"retention_ms": 1234, "max.message.bytes": "2000000"})
    configs = admin.describe_configs(topic)
    assert configs["retention.ms"] == "1234"
    assert configs["max.message.bytes"] == "2000000"
    entries = {e.name: e for e in admin.config_entries(topic)}
    assert entries["retention.ms"].source == "DynamicTopic" and not entries["retention.ms"].is_default
    admin.alter_configs(topic, {"retention.ms": None})
    assert admin.describe_configs(topic)["retention.ms"] != "1234"
    with pytest.raises(strom.errors.ConfigError):
        admin.alter_configs(topic, {"retention.ms": "soon"})


def test_offsets_and_delete_records(target: Target, topic: str) -> None:
    with strom.Producer(**target.kw) as p:
        for ts in (1000, 2000, 3000, 4000):
            p.send(topic, b"x", timestamp=ts).result(20)
    admin = target.admin()
    tp = TopicPartition(topic, 0)
    assert admin.list_offsets({tp: "earliest"})[tp].offset == 0
    assert admin.list_offsets({(topic, 0): "latest"})[tp].offset == 4
    assert admin.list_offsets({tp: 2500})[tp] == strom.ListedOffset(2, 3000)
    assert admin.list_offsets({tp: "max_timestamp"})[tp].timestamp == 4000
    assert admin.delete_records({tp: 2}) == {tp: 2}
    assert admin.describe_topic(topic).partitions[0].start_offset == 2


def test_groups_lag_and_offsets(target: Target) -> None:
    topic = target.create_topic(partitions=2)
    with strom.Producer(**target.kw) as p:
        p.send_batch(topic, [b"a"] * 10, partition=0).wait(20)
        p.send_batch(topic, [b"b"] * 6, partition=1).wait(20)
    group = unique("g")
    admin = target.admin()
    with strom.Consumer(**target.kw, group_id=group, auto_offset_reset="earliest",
                        enable_auto_commit=False, client_id="lag-checker") as c:
        c.subscribe([topic])
        got = 0
        deadline = time.monotonic() + 20
        while got < 16 and time.monotonic() < deadline:
            got += len(c.poll(0.5))
        c.commit({(topic, 0): 7, (topic, 1): 6})
        g = admin.describe_group(group)
        assert isinstance(g, strom.ConsumerGroup)
        assert g.state == "Stable"
        assert [m.client_id for m in g.members] == ["lag-checker"]
        assert sorted(g.members[0].assignment) == [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        assert g.offsets == {TopicPartition(topic, 0): 7, TopicPartition(topic, 1): 6}
        assert g.lag == {TopicPartition(topic, 0): 3, TopicPartition(topic, 1): 0}
        assert g.total_lag == 3
        assert group in [l.group_id for l in admin.list_groups()]
    # Empty now: offsets can be changed and the group deleted.
    admin.alter_group_offsets(group, {(topic, 0): 1})
    assert admin.list_group_offsets(group)[TopicPartition(topic, 0)] == 1
    admin.delete_group_offsets(group, [(topic, 1)])
    assert TopicPartition(topic, 1) not in admin.list_group_offsets(group)
    assert admin.describe_group(group).state == "Empty"
    admin.delete_group(group)
    assert group not in [l.group_id for l in admin.list_groups()]


def test_describe_cluster(target: Target) -> None:
    c = target.admin().describe_cluster()
    assert isinstance(c, strom.ClusterDescription)
    assert c.cluster_id and len(c.brokers) == 1 and c.controller == c.brokers[0][0]


def test_context_manager_and_close(target: Target) -> None:
    with strom.Admin(**target.kw, request_timeout_ms=5000) as admin:
        admin.list_topics()
    with pytest.raises(strom.errors.ClosedError):
        admin.list_topics()
