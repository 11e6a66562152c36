"""Produce and Fetch details every client relies on: acks modes, null keys and values, headers,
fetch size limits smaller than a batch, and long-polling fetches woken by a produce."""

from __future__ import annotations

import os
import threading
import time

import pytest

from clientlib import ck_consumer, ck_create_topic, ck_producer, kp_consumer, kp_producer, unique_topic

# (key, value, headers): nulls and headers must survive byte for byte.
RECORDS = [
    (b"k1", b"plain", []),
    (None, b"no key", []),
    (b"tombstone", None, []),
    (b"hdr", b"with headers", [("trace", b"abc"), ("empty", b""), ("trace", b"second")]),
    (b"bin\x00\xff", bytes(range(256)), [("h", b"\x00")]),
]
# A header with a null value: the protocol allows it, kafka-python's producer does not.
NULL_HEADER = (b"nh", b"null header value", [("h", None)])


def read_raw(bootstrap: str, topic: str, expect: int, timeout: float = 30):
    """(offset, key, value, headers) of partition 0, through confluent-kafka."""
    from confluent_kafka import TopicPartition

    c = ck_consumer(bootstrap)
    out = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + timeout
        while len(out) < expect:
            assert time.monotonic() < deadline, f"read {len(out)} of {expect} records"
            m = c.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            out.append((m.offset(), m.key(), m.value(), [(k, v) for k, v in (m.headers() or [])]))
        m = c.poll(1.0)
        assert m is None, f"more records than produced: {m.offset()}"
    finally:
        c.close()
    return out


@pytest.mark.parametrize("acks", [0, 1, "all"])
@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka"])
def test_acks_nulls_headers(strom, bootstrap, client, acks):
    topic = unique_topic(f"acks-{acks}")
    ck_create_topic(bootstrap, topic, 1)
    records = RECORDS if client == "kafka-python" else RECORDS + [NULL_HEADER]
    if client == "kafka-python":
        p = kp_producer(bootstrap, acks=acks)
        futures = [p.send(topic, key=k, value=v, headers=h, partition=0) for k, v, h in records]
        p.flush(timeout=30)
        offsets = [f.get(timeout=10).offset for f in futures]
        p.close(timeout=10)
    else:
        p = ck_producer(bootstrap, acks=str(acks))
        reports = []
        for k, v, h in records:
            p.produce(topic, key=k, value=v, headers=h, partition=0,
                      on_delivery=lambda err, msg: reports.append((err, msg.offset())))
        assert p.flush(30) == 0
        assert [e for e, _ in reports if e is not None] == []
        offsets = [o for _, o in reports]
    if acks != 0:  # with acks=0 there is no response, so no offset to report
        assert offsets == list(range(len(records)))

    got = read_raw(bootstrap, topic, len(records))
    assert [(o, k, v) for o, k, v, _ in got] == [(i, k, v) for i, (k, v, _) in enumerate(records)]
    assert [h for *_, h in got] == [h for *_, h in records]


def test_fetch_limits_smaller_than_a_batch(strom, bootstrap):
    """A fetch whose byte limits are smaller than the next batch still returns that batch
    (KIP-74), so consumers with tiny limits make progress."""
    from confluent_kafka import TopicPartition as CkTP
    from kafka import TopicPartition as KpTP

    topic = unique_topic("small-fetch")
    ck_create_topic(bootstrap, topic, 1)
    p = ck_producer(bootstrap, "zstd", **{"linger.ms": 50})
    values = [f"{i:04d}".encode() + os.urandom(3000) for i in range(200)]  # batches of many KiB
    for v in values:
        p.produce(topic, value=v, partition=0)
    assert p.flush(30) == 0

    c = ck_consumer(bootstrap, **{"fetch.max.bytes": 1024, "max.partition.fetch.bytes": 1024,
                                  "message.max.bytes": 1000})
    try:
        c.assign([CkTP(topic, 0, 0)])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < len(values):
            assert time.monotonic() < deadline, f"confluent-kafka read {len(got)} of {len(values)} with 1 KiB fetch limits"
            m = c.poll(0.5)
            if m is not None:
                assert m.error() is None, m.error()
                got.append(m.value())
        assert got == values
    finally:
        c.close()

    kc = kp_consumer(bootstrap, fetch_max_bytes=1024, max_partition_fetch_bytes=1024)
    try:
        tp = KpTP(topic, 0)
        kc.assign([tp])
        kc.seek(tp, 0)
        got = []
        deadline = time.monotonic() + 30
        while len(got) < len(values):
            assert time.monotonic() < deadline, f"kafka-python read {len(got)} of {len(values)} with 1 KiB fetch limits"
            for recs in kc.poll(timeout_ms=500).values():
                got.extend(r.value for r in recs)
        assert got == values
    finally:
        kc.close()


def test_long_poll_fetch_wakes_on_produce(strom, bootstrap):
    """A fetch waiting with a long max wait answers as soon as data arrives, not at the end."""
    from confluent_kafka import TopicPartition

    topic = unique_topic("long-poll")
    ck_create_topic(bootstrap, topic, 1)
    c = ck_consumer(bootstrap, **{"fetch.wait.max.ms": 10000, "fetch.min.bytes": 1})
    arrived: list[float] = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        c.poll(1.0)  # let the consumer start its first (empty) long poll

        def consume():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                m = c.poll(0.2)
                if m is not None and m.error() is None:
                    arrived.append(time.monotonic())
                    return

        t = threading.Thread(target=consume)
        t.start()
        time.sleep(1.5)  # the consumer is now parked in a fetch with 10 s max wait
        p = ck_producer(bootstrap, **{"linger.ms": 0})
        p.produce(topic, value=b"wake up", partition=0)
        assert p.flush(10) == 0
        produced_at = time.monotonic()
        t.join(timeout=25)
        assert arrived, "the consumer never received the record"
        delay = arrived[0] - produced_at
        assert delay < 4.0, f"record reached the consumer {delay:.1f}s after it was acknowledged (fetch max wait 10 s)"
    finally:
        c.close()


def test_concurrent_producers_from_all_clients(strom, bootstrap):
    """Three clients write the same partitions at once: every acknowledged record is stored
    once, at the offset its producer was given, and each producer's order is kept."""
    from clientlib import Msg, by_partition, ck_produce, ck_read_all, kjs_produce, kp_produce

    topic = unique_topic("concurrent")
    ck_create_topic(bootstrap, topic, 2)
    producers = {"kp": kp_produce, "ck": ck_produce, "kjs": kjs_produce}
    delivered: dict[str, list] = {}
    errors: list[BaseException] = []

    def run(name, produce):
        try:
            msgs = [Msg(f"key-{i % 7}", f"{name}-{i:04d}") for i in range(400)]
            delivered[name] = produce(bootstrap, topic, msgs, "lz4")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=item) for item in producers.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert set(delivered) == set(producers)

    stored = ck_read_all(bootstrap, topic, 2)
    at = {(r.partition, r.offset): r.value for recs in stored.values() for r in recs}
    assert len(at) == 3 * 400
    for name, recs in delivered.items():
        for r in recs:
            assert at.get((r.partition, r.offset)) == r.value, f"{name}: {r.value} not at its acknowledged offset"
        for p, mine in by_partition(recs).items():
            offsets = [r.offset for r in mine]
            assert offsets == sorted(offsets), f"{name}: partition {p} order not kept"
