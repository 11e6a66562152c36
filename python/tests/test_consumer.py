"""strom.Consumer against an embedded broker and a `strom serve` process."""

from __future__ import annotations

import threading
import time

import pytest

import strom
from conftest import Target, unique
from strom import TopicPartition


def produce(target: Target, topic: str, n: int, partition: int | None = None, prefix: str = "v") -> None:
    with strom.Producer(**target.kw) as p:
        p.send_batch(topic, [f"{prefix}{i}".encode() for i in range(n)], partition=partition).wait(20)


def consumer(target: Target, **kw: object) -> strom.Consumer:
    kw.setdefault("auto_offset_reset", "earliest")
    return strom.Consumer(**target.kw, **kw)  # type: ignore[arg-type]


def poll_until(c: strom.Consumer, n: int, timeout: float = 20.0) -> list[strom.Record]:
    out: list[strom.Record] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out.extend(c.poll(0.5))
    return out


def test_subscribe_poll_and_commit(target: Target, topic: str) -> None:
    produce(target, topic, 10)
    group = unique("g")
    with consumer(target, group_id=group, enable_auto_commit=False) as c:
        c.subscribe([topic])
        records = poll_until(c, 10)
        assert isinstance(records, list)
        assert [r.value for r in records] == [f"v{i}".encode() for i in range(10)]
        assert c.assignment() == [TopicPartition(topic, 0)]
        assert c.subscription() == [topic]
        c.commit()
        assert c.committed([(topic, 0)]) == {TopicPartition(topic, 0): 10}
        assert c.position(TopicPartition(topic, 0)) == 10
    # A new member of the group starts after the commit.
    produce(target, topic, 2, prefix="w")
    with consumer(target, group_id=group) as c:
        c.subscribe(topic)
        assert [r.value for r in poll_until(c, 2)] == [b"w0", b"w1"]


def test_poll_returns_a_records_list(target: Target, topic: str) -> None:
    produce(target, topic, 3)
    with consumer(target) as c:
        c.assign([TopicPartition(topic, 0)])
        batch = c.poll(10)
        assert isinstance(batch, strom.Records)
        assert len(batch) == 3
        assert c.poll(0.05) == []


def test_iteration_with_timeout(target: Target, topic: str) -> None:
    produce(target, topic, 25)
    with consumer(target, group_id=unique("g"), consumer_timeout_ms=1500, max_poll_records=7) as c:
        c.subscribe([topic])
        started = time.monotonic()
        values = [r.value for r in c]
        assert values == [f"v{i}".encode() for i in range(25)]
        assert time.monotonic() - started < 15


def test_commit_during_iteration_covers_only_records_handed_out(target: Target, topic: str) -> None:
    produce(target, topic, 20)
    group = unique("g")
    with consumer(target, group_id=group, enable_auto_commit=False, consumer_timeout_ms=2000) as c:
        c.subscribe([topic])
        it = iter(c)
        first = [next(it) for _ in range(5)]
        assert [r.offset for r in first] == [0, 1, 2, 3, 4]
        c.commit()
        assert c.committed([(topic, 0)])[TopicPartition(topic, 0)] == 5
        # The records held back are handed out again, in order.
        assert next(it).offset == 5
        c.commit(first[2])  # the offset after a record
        assert c.committed([(topic, 0)])[TopicPartition(topic, 0)] == 3
        c.commit({(topic, 0): 17})
        assert c.committed([(topic, 0)])[TopicPartition(topic, 0)] == 17
        c.commit(asynchronous=True)


def test_assign_seek_position(target: Target) -> None:
    topic = target.create_topic(partitions=2)
    produce(target, topic, 10, partition=1)
    tp = TopicPartition(topic, 1)
    with consumer(target) as c:
        c.assign([tp, (topic, 0)])
        assert sorted(c.assignment()) == [TopicPartition(topic, 0), tp]
        c.seek(tp, 7)
        assert c.position(tp) == 7
        assert [r.offset for r in poll_until(c, 3)] == [7, 8, 9]
        c.seek_to_beginning([tp])
        assert c.position(tp) == 0
        c.seek_to_end()
        assert c.position(tp) == 10
        assert c.beginning_offsets([tp]) == {tp: 0}
        assert c.end_offsets([tp, (topic, 0)]) == {tp: 10, TopicPartition(topic, 0): 0}
        assert topic in c.list_topics()


def test_pause_and_resume(target: Target) -> None:
    topic = target.create_topic(partitions=2)
    produce(target, topic, 5, partition=0)
    produce(target, topic, 5, partition=1)
    with consumer(target) as c:
        c.assign([(topic, 0), (topic, 1)])
        c.pause([(topic, 0)])
        assert c.paused() == [TopicPartition(topic, 0)]
        got = poll_until(c, 5, timeout=5)
        assert {r.partition for r in got} == {1}
        c.resume([(topic, 0)])
        got = poll_until(c, 5)
        assert {r.partition for r in got} == {0}


def test_offsets_for_times(target: Target, topic: str) -> None:
    with strom.Producer(**target.kw) as p:
        for i, ts in enumerate([1000, 2000, 3000]):
            p.send(topic, str(i), timestamp=ts).result(20)
    with consumer(target) as c:
        found = c.offsets_for_times({(topic, 0): 1500})
        assert found == {TopicPartition(topic, 0): (1, 2000)}
        assert c.offsets_for_times({(topic, 0): 9999}) == {TopicPartition(topic, 0): None}


def test_rebalance_callbacks(target: Target) -> None:
    topic = target.create_topic(partitions=4)
    group = unique("g")
    events: list[tuple[str, str, list[TopicPartition]]] = []
    thread_ids: set[int] = set()

    def recorder(who: str, kind: str):  # type: ignore[no-untyped-def]
        def cb(partitions: list[TopicPartition]) -> None:
            thread_ids.add(threading.get_ident())
            assert all(isinstance(tp, TopicPartition) for tp in partitions)
            events.append((who, kind, sorted(partitions)))
        return cb

    a = consumer(target, group_id=group, session_timeout_ms=10_000, heartbeat_interval_ms=200)
    a.subscribe([topic], on_assign=recorder("a", "assign"), on_revoke=recorder("a", "revoke"))
    deadline = time.monotonic() + 20
    while not any(e[:2] == ("a", "assign") and e[2] for e in events) and time.monotonic() < deadline:
        a.poll(0.2)
    assert ("a", "assign", [TopicPartition(topic, p) for p in range(4)]) in events
    assert thread_ids == {threading.get_ident()}, "callbacks run on the polling thread"

    b = consumer(target, group_id=group, session_timeout_ms=10_000, heartbeat_interval_ms=200)
    b.subscribe([topic], on_assign=recorder("b", "assign"))
    stop = threading.Event()

    def poll_b() -> None:
        while not stop.is_set():
            b.poll(0.2)

    t = threading.Thread(target=poll_b)
    t.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            a.poll(0.2)
            if len(a.assignment()) == 2 and any(e[0] == "b" and len(e[2]) == 2 for e in events):
                break
        assert len(a.assignment()) == 2
        assert any(e[:2] == ("a", "revoke") for e in events)
    finally:
        stop.set()
        t.join()
        b.close()
        a.close()


def test_callback_exception_is_raised_by_poll(target: Target, topic: str) -> None:
    def boom(partitions: list[TopicPartition]) -> None:
        raise RuntimeError("from on_assign")

    with consumer(target, group_id=unique("g")) as c:
        c.subscribe([topic], on_assign=boom)
        with pytest.raises(RuntimeError, match="from on_assign"):
            for _ in range(100):
                c.poll(0.2)


def test_consumer_used_inside_its_callback_is_refused(target: Target, topic: str) -> None:
    seen: list[BaseException] = []
    with consumer(target, group_id=unique("g")) as c:
        def on_assign(partitions: list[TopicPartition]) -> None:
            try:
                c.assignment()
            except strom.errors.IllegalStateError as e:
                seen.append(e)

        c.subscribe([topic], on_assign=on_assign)
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            c.poll(0.2)
    assert seen and "rebalance callback" in str(seen[0])


def test_pattern_subscription(target: Target) -> None:
    prefix = unique("pat")
    t1 = target.create_topic(f"{prefix}-a")
    t2 = target.create_topic(f"{prefix}-b")
    produce(target, t1, 1)
    produce(target, t2, 1)
    with consumer(target, group_id=unique("g")) as c:
        c.subscribe(f"^{prefix}-.*")
        got = poll_until(c, 2)
        assert sorted(r.topic for r in got) == [t1, t2]


def test_unsubscribe_and_close_twice(target: Target, topic: str) -> None:
    c = consumer(target, group_id=unique("g"))
    c.subscribe([topic])
    c.poll(0.5)
    c.unsubscribe()
    assert c.assignment() == []
    c.close()
    c.close()
    with pytest.raises(strom.errors.ClosedError):
        c.poll(0.1)


def test_poll_before_subscribe_is_illegal(target: Target) -> None:
    with consumer(target) as c:
        with pytest.raises(strom.errors.IllegalStateError, match="subscribe or assign"):
            c.poll(0.1)
        with pytest.raises(strom.errors.IllegalStateError, match="group.id"):
            c.subscribe(["x"])


def test_group_protocol_consumer(target: Target, topic: str) -> None:
    """group.protocol=consumer (KIP-848): the coordinator assigns, commits carry the member
    epoch; once the member leaves, a classic member of the same group resumes from the commit
    (the Empty group converts back)."""
    produce(target, topic, 10)
    group = unique("g848")
    with consumer(target, group_id=group, group_protocol="consumer", enable_auto_commit=False) as c:
        c.subscribe([topic])
        records = poll_until(c, 10)
        assert [r.value for r in records] == [f"v{i}".encode() for i in range(10)]
        assert c.assignment() == [TopicPartition(topic, 0)]
        c.commit()
        assert c.committed([(topic, 0)]) == {TopicPartition(topic, 0): 10}
    produce(target, topic, 2, prefix="w")
    with consumer(target, group_id=group, group_protocol="classic") as c:
        c.subscribe(topic)
        assert [r.value for r in poll_until(c, 2)] == [b"w0", b"w1"]
    with pytest.raises(strom.errors.ConfigError):
        consumer(target, group_id=group, group_protocol="fancy")
