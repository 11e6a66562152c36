"""strom.Broker: the embedded broker's own API."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import strom


def test_topics_lifecycle(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path)) as b:
        assert b.path == str(tmp_path)
        assert b.topics() == []
        d = b.create_topic("events", 3, config={"retention.ms": 1000})
        assert isinstance(d, strom.TopicDescription)
        assert (d.name, len(d.partitions), d.config) == ("events", 3, {"retention.ms": "1000"})
        assert b.create_topic("defaults").partitions[0].partition == 0
        assert [t.name for t in b.topics()] == ["defaults", "events"]
        with strom.Producer(broker=b) as p:
            p.send_batch("events", [b"x" * 100] * 10, partition=1).wait(10)
        t = b.topic("events")
        assert (t.partitions[1].start_offset, t.partitions[1].end_offset) == (0, 10)
        assert t.partitions[1].size_bytes and t.partitions[1].size_bytes > 1000
        assert t.records == 10 and t.size_bytes == t.partitions[1].size_bytes
        b.delete_topic("defaults")
        assert [t.name for t in b.topics()] == ["events"]
    assert b.closed


def test_num_partitions_setting(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path), {"num.partitions": 4}) as b:
        assert len(b.create_topic("t").partitions) == 4


def test_data_survives_reopen(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path)) as b:
        b.create_topic("keep")
        with strom.Producer(broker=b) as p:
            p.send("keep", b"persisted").result(10)
    with strom.Broker(str(tmp_path)) as b:
        assert b.topic("keep").partitions[0].end_offset == 1
        with strom.Consumer(broker=b) as c:
            c.assign([("keep", 0)])
            c.seek_to_beginning()
            assert [r.value for r in c.poll(10)] == [b"persisted"]


def test_serve_answers_kafka_clients(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path)) as b:
        addr = b.serve("127.0.0.1:0")
        host, port = addr.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert b.listeners == [addr]
        with socket.create_connection((host, int(port)), timeout=5):
            pass
        with strom.Producer(bootstrap_servers=addr) as p:
            assert p.send("over-tcp", b"x").result(20).offset == 0
        # The same broker in-process sees it.
        assert b.topic("over-tcp").partitions[0].end_offset == 1
        second = b.serve()
        assert len(b.listeners) == 2 and second != addr
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_close_fails_attached_clients(tmp_path: Path) -> None:
    b = strom.Broker(str(tmp_path))
    b.create_topic("t")
    p = strom.Producer(broker=b)
    b.close()
    b.close()
    assert b.closed
    with pytest.raises(strom.errors.ClosedError):
        b.create_topic("u")
    with pytest.raises(strom.errors.ClosedError):
        strom.Producer(broker=b)
    with pytest.raises(strom.errors.StromError):
        p.send("t", b"x").result(5)


def test_one_broker_per_directory(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path)):
        with pytest.raises(strom.errors.StorageError, match="in use"):
            strom.Broker(str(tmp_path))


def test_bad_broker_config(tmp_path: Path) -> None:
    with pytest.raises(strom.errors.ConfigError, match="num.partition"):
        strom.Broker(str(tmp_path), num_partition=3)
    with pytest.raises(strom.errors.ConfigError, match="auto.create.topics.enable"):
        strom.Broker(str(tmp_path), auto_create_topics_enable="maybe")


def test_auto_create_off_for_served_clients(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path), auto_create_topics_enable=False) as b:
        addr = b.serve()
        with strom.Producer(bootstrap_servers=addr, max_block_ms=1000) as p:
            with pytest.raises(strom.errors.StromError):
                p.send("missing", b"x").result(5)
        assert b.topics() == []


def test_repr(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path)) as b:
        assert "listener" in repr(b)
    assert "closed" in repr(b)
