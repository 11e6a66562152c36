"""The cross-language behaviour list (tests/behaviour/README.md), in Python: the same scenarios
run in Rust, Python and C against the same core."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

import strom
from strom import TopicPartition
from strom.errors import ConfigError, KafkaError, TopicExistsError


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[strom.Broker]:
    with strom.Broker(tmp_path / "data", {"num.partitions": 3, "group.initial.rebalance.delay.ms": 0}) as b:
        yield b


def fill(broker: strom.Broker, topic: str, partitions: int, count: int) -> None:
    broker.create_topic(topic, partitions)
    with strom.Producer(broker=broker) as p:
        for partition in range(partitions):
            for i in range(count):
                p.send(topic, str(i).encode(), partition=partition).result(timeout=10)


def group_consumer(broker: strom.Broker, group: str, topic: str) -> strom.Consumer:
    c = strom.Consumer(broker=broker, group_id=group, auto_offset_reset="earliest",
                       enable_auto_commit=False, consumer_timeout_ms=20000)
    c.subscribe([topic])
    return c


def take(c: strom.Consumer, n: int) -> list[strom.Record]:
    """Records one at a time (`max_records=1`), until `n` came or 20 s passed."""
    out: list[strom.Record] = []
    deadline = time.monotonic() + 20
    while len(out) < n and time.monotonic() < deadline:
        out.extend(c.poll(timeout=0.2, max_records=1))
    return out


def test_b1_settings_by_kafka_name(broker: strom.Broker, tmp_path: Path) -> None:
    assert len(broker.create_topic("b1").partitions) == 3
    with pytest.raises(ConfigError, match="log.retention.hour"):
        strom.Broker(tmp_path / "other", {"log.retention.hour": 1})


def test_b2_seek_before_assignment(broker: strom.Broker) -> None:
    fill(broker, "b2", 1, 10)
    with group_consumer(broker, "g-b2", "b2") as c:
        assert c.assignment() == []
        c.seek(TopicPartition("b2", 0), 6)
        first = next(iter(c))
        assert first.offset == 6


def test_b3_pause_and_resume(broker: strom.Broker) -> None:
    fill(broker, "b3", 2, 5)
    p0 = TopicPartition("b3", 0)
    with group_consumer(broker, "g-b3", "b3") as c:
        c.pause([p0])
        first = take(c, 5)
        assert [r.partition for r in first] == [1] * 5
        assert c.paused() == [p0]
        assert list(c.poll(timeout=0.5)) == []
        c.resume([p0])
        rest = take(c, 5)
        assert [(r.partition, r.offset) for r in rest] == [(0, o) for o in range(5)]
        assert len({(r.partition, r.offset) for r in first + rest}) == 10


def test_b4_commit_after_partial_consumption(broker: strom.Broker) -> None:
    fill(broker, "b4", 1, 10)
    tp = TopicPartition("b4", 0)
    with group_consumer(broker, "g-b4", "b4") as c:
        it = iter(c)
        assert [next(it).offset for _ in range(3)] == [0, 1, 2]
        c.commit()
        assert c.committed([tp]) == {tp: 3}
    with group_consumer(broker, "g-b4", "b4") as c:
        assert next(iter(c)).offset == 3


def test_b5_same_refusal_same_error(broker: strom.Broker) -> None:
    broker.create_topic("b5", 1)
    with pytest.raises(TopicExistsError) as caught:
        broker.create_topic("b5", 1)
    assert isinstance(caught.value, KafkaError)
    assert caught.value.code == 36
