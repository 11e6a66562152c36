"""strom.Producer against an embedded broker and a `strom serve` process."""

from __future__ import annotations

import time

import pytest

import strom
from conftest import Target


def read_all(target: Target, topic: str, expected: int, timeout: float = 20.0) -> list[strom.Record]:
    partitions = target.admin().describe_topic(topic).partitions
    out: list[strom.Record] = []
    with strom.Consumer(**target.kw) as c:
        c.assign([(topic, p.partition) for p in partitions])
        c.seek_to_beginning()
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            out.extend(c.poll(0.5))
    return out


def test_send_returns_metadata_and_record_reads_back(target: Target, topic: str) -> None:
    with strom.Producer(**target.kw) as p:
        meta = p.send(topic, b"value-1", key=b"key-1", headers=[("h", b"1"), ("n", None)],
                      timestamp=1_700_000_000_000).result(timeout=20)
    assert isinstance(meta, strom.RecordMetadata)
    assert (meta.topic, meta.partition, meta.offset) == (topic, 0, 0)
    assert meta.timestamp == 1_700_000_000_000
    [r] = read_all(target, topic, 1)
    assert (r.topic, r.partition, r.offset) == (topic, 0, 0)
    assert (r.key, r.value) == (b"key-1", b"value-1")
    assert r.headers == [("h", b"1"), ("n", None)]
    assert r.timestamp == 1_700_000_000_000 and r.timestamp_type == "create"
    assert "value-1" in repr(r)


def test_values_of_every_kind(target: Target, topic: str) -> None:
    with strom.Producer(**target.kw) as p:
        futures = [
            p.send(topic, b"bytes"),
            p.send(topic, "text é"),
            p.send(topic, bytearray(b"array")),
            p.send(topic, memoryview(b"view")),
            p.send(topic, None, key="k"),
            p.send(topic, headers={"a": "b"}),
        ]
        offsets = [f.result(20).offset for f in futures]
    assert offsets == list(range(6))
    got = read_all(target, topic, 6)
    assert [r.value for r in got] == [b"bytes", "text é".encode(), b"array", b"view", None, None]
    assert got[4].key == b"k"
    assert got[5].headers == [("a", b"b")]


def test_send_to_a_partition_and_partitions_for(target: Target) -> None:
    topic = target.create_topic(partitions=3)
    with strom.Producer(**target.kw) as p:
        assert p.partitions_for(topic) == 3
        metas = [p.send(topic, b"x", partition=2).result(20) for _ in range(3)]
    assert [(m.partition, m.offset) for m in metas] == [(2, 0), (2, 1), (2, 2)]


def test_keys_choose_partitions_as_kafka_does(target: Target) -> None:
    topic = target.create_topic(partitions=4)
    with strom.Producer(**target.kw) as p:
        first = [p.send(topic, b"v", key=f"key-{i}".encode()).result(20).partition for i in range(20)]
        again = [p.send(topic, b"v", key=f"key-{i}".encode()).result(20).partition for i in range(20)]
    assert first == again
    assert len(set(first)) > 1


def test_send_batch_values_and_pairs(target: Target, topic: str) -> None:
    values = [f"v{i}".encode() for i in range(1000)]
    with strom.Producer(linger_ms=5, **target.kw) as p:
        batch = p.send_batch(topic, values)
        assert len(batch) == 1000
        assert batch.wait(timeout=30) == 1000
        metas = batch.result(timeout=30)
        assert [m.offset for m in metas] == list(range(1000))
        pairs = p.send_batch(topic, [(b"k1", b"a"), (None, b"b"), ("k3", None)])
        assert [m.offset for m in pairs.result(30)] == [1000, 1001, 1002]
        assert pairs.done()
        assert "3 records" in repr(pairs)
    got = read_all(target, topic, 1003)
    assert [r.value for r in got[:1000]] == values
    assert [(r.key, r.value) for r in got[1000:]] == [(b"k1", b"a"), (None, b"b"), (b"k3", None)]


def test_send_batch_to_a_partition_and_from_a_generator(target: Target) -> None:
    topic = target.create_topic(partitions=2)
    with strom.Producer(**target.kw) as p:
        metas = p.send_batch(topic, (str(i) for i in range(10)), partition=1).result(20)
    assert {m.partition for m in metas} == {1}


def test_flush_and_futures(target: Target, topic: str) -> None:
    with strom.Producer(linger_ms=60_000, batch_size=1_000_000, **target.kw) as p:
        p.partitions_for(topic)
        f = p.send(topic, b"lingering")
        assert not f.done()
        assert "pending" in repr(f)
        p.flush(timeout=20)
        assert f.done()
        assert f.exception() is None
        assert f.result().offset == 0
        assert "done" in repr(f)


def test_context_manager_delivers_on_exit(target: Target, topic: str) -> None:
    with strom.Producer(linger_ms=60_000, **target.kw) as p:
        futures = [p.send(topic, str(i)) for i in range(50)]
    assert all(f.done() for f in futures)
    assert [f.result().offset for f in futures] == list(range(50))


def test_config_as_dict_and_keywords(target: Target, topic: str) -> None:
    config = {"acks": 1, "compression.type": "zstd", "enable.idempotence": False}
    with strom.Producer(config, client_id="py-test", linger_ms=0.0, **target.kw) as p:
        assert p.send(topic, b"z" * 1000).result(20).offset == 0
    assert read_all(target, topic, 1)[0].value == b"z" * 1000


def test_bootstrap_servers_as_a_list(strom_server) -> None:  # type: ignore[no-untyped-def]
    with strom.Producer(bootstrap_servers=[strom_server.bootstrap]) as p:
        assert p.send("py-list-bootstrap", b"x").result(20).offset >= 0


def test_acks_zero_answers_offset_minus_one(target: Target, topic: str) -> None:
    with strom.Producer(acks=0, **target.kw) as p:
        meta = p.send(topic, b"fire-and-forget").result(20)
    assert meta.offset == -1


@pytest.mark.parametrize("bad", [[1, 2], 3.5, object()])
def test_bad_value_types_are_refused(broker: strom.Broker, bad: object) -> None:
    broker.create_topic("t")
    with strom.Producer(broker=broker) as p:
        with pytest.raises((strom.errors.InvalidArgumentError, TypeError)):
            p.send("t", bad)  # type: ignore[arg-type]
