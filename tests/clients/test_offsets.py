"""ListOffsets (earliest, latest, by timestamp, max timestamp) and DeleteRecords from each client."""

from __future__ import annotations

import time

import pytest

from clientlib import (
    Msg,
    ck_admin,
    ck_consumer,
    ck_create_topic,
    ck_produce,
    ck_read_all,
    ck_watermarks,
    kjs,
    kjs_produce,
    kp_consumer,
    kp_produce,
    unique_topic,
)

COUNT = 10
MAX_AT = 6  # the record with the largest timestamp sits in the middle of the partition


def timestamps(t0: int) -> list[int]:
    return [t0 + (100_000 if i == MAX_AT else i * 1000) for i in range(COUNT)]


def test_list_offsets_by_timestamp(strom, bootstrap):
    from confluent_kafka import TopicPartition as CkTP
    from confluent_kafka.admin import OffsetSpec
    from kafka import TopicPartition as KpTP

    topic = unique_topic("times")
    ck_create_topic(bootstrap, topic, 4)
    t0 = (int(time.time()) - 3600) * 1000
    ts = timestamps(t0)

    # Partition 0 written by confluent-kafka, 1 by kafka-python, 2 by kafkajs; 3 stays empty.
    writers = [ck_produce, kp_produce, kjs_produce]
    for p, produce in enumerate(writers):
        recs = produce(bootstrap, topic, [Msg(f"k{i}", f"v{i}", partition=p, timestamp=ts[i]) for i in range(COUNT)])
        assert [(r.partition, r.offset) for r in recs] == [(p, i) for i in range(COUNT)]

    # target timestamp -> (offset of the first record with timestamp >= target, its timestamp)
    cases = {
        t0 - 5000: (0, t0),
        t0 + 4000: (4, t0 + 4000),
        t0 + 4500: (5, t0 + 5000),
        t0 + 7500: (MAX_AT, t0 + 100_000),
        t0 + 50_000: (MAX_AT, t0 + 100_000),
        t0 + 200_000: None,
    }
    written = range(len(writers))

    c = ck_consumer(bootstrap)
    try:
        for target, want in cases.items():
            got = c.offsets_for_times([CkTP(topic, p, target) for p in range(4)], timeout=15)
            offsets = {tp.partition: tp.offset for tp in got}
            assert all(tp.error is None for tp in got), got
            for p in written:
                assert offsets[p] == (want[0] if want else -1), f"confluent-kafka offsets_for_times({target - t0:+}) p{p}"
            assert offsets[3] == -1, "empty partition must have no offset for any timestamp"
    finally:
        c.close()

    kc = kp_consumer(bootstrap)
    try:
        tps = [KpTP(topic, p) for p in range(4)]
        assert kc.beginning_offsets(tps) == {tp: 0 for tp in tps}
        assert kc.end_offsets(tps) == {tp: (0 if tp.partition == 3 else COUNT) for tp in tps}
        for target, want in cases.items():
            got = kc.offsets_for_times({tp: target for tp in tps})
            for p in written:
                r = got[tps[p]]
                actual = None if r is None else (r.offset, r.timestamp)
                assert actual == want, f"kafka-python offsets_for_times({target - t0:+}) p{p}: {r}"
            assert got[tps[3]] is None
    finally:
        kc.close()

    steps = [{"op": "fetchTopicOffsetsByTimestamp", "topic": topic, "timestamp": target} for target in cases]
    steps.append({"op": "fetchTopicOffsets", "topic": topic})
    results = kjs(bootstrap, steps)
    for (target, want), res in zip(cases.items(), results):
        offsets = {r["partition"]: int(r["offset"]) for r in res}
        # kafkajs substitutes the high watermark when the broker answers -1.
        assert offsets == {0: want[0] if want else COUNT, 1: want[0] if want else COUNT,
                           2: want[0] if want else COUNT, 3: 0}, f"kafkajs fetchTopicOffsetsByTimestamp({target - t0:+})"
    latest = {r["partition"]: (int(r["low"]), int(r["high"]), int(r["offset"])) for r in results[-1]}
    assert latest == {0: (0, COUNT, COUNT), 1: (0, COUNT, COUNT), 2: (0, COUNT, COUNT), 3: (0, 0, 0)}

    # ListOffsets v7+: the max-timestamp spec (KIP-734), through the confluent admin client.
    admin = ck_admin(bootstrap)
    specs = {
        "earliest": OffsetSpec.earliest(),
        "latest": OffsetSpec.latest(),
        "max_timestamp": OffsetSpec.max_timestamp(),
        "at t0+4500": OffsetSpec.for_timestamp(t0 + 4500),
    }
    want = {"earliest": 0, "latest": COUNT, "max_timestamp": MAX_AT, "at t0+4500": 5}
    for name, spec in specs.items():
        fs = admin.list_offsets({CkTP(topic, p): spec for p in written}, request_timeout=15)
        for tp, f in fs.items():
            info = f.result(timeout=20)
            assert info.offset == want[name], f"AdminClient.list_offsets {name} p{tp.partition}: {info.offset}"
            if name == "max_timestamp":
                assert info.timestamp == t0 + 100_000


def test_delete_records(strom, bootstrap):
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka import TopicPartition as CkTP
    from kafka import TopicPartition as KpTP
    from kafka.admin import KafkaAdminClient

    topic = unique_topic("delrec")
    parts = 4
    ck_create_topic(bootstrap, topic, parts)
    for p in range(parts):
        ck_produce(bootstrap, topic, [Msg(f"k{i}", f"p{p}-v{i}", partition=p) for i in range(20)])

    # kafka-python: partition 0 up to offset 5.
    kadmin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        res = kadmin.delete_records({KpTP(topic, 0): 5})
        assert res[KpTP(topic, 0)]["low_watermark"] == 5, res
    finally:
        kadmin.close()

    # confluent-kafka: partition 1 up to 12; partition 3 up to the high watermark (-1).
    admin = ck_admin(bootstrap)
    fs = admin.delete_records([CkTP(topic, 1, 12), CkTP(topic, 3, -1)], request_timeout=15)
    lows = {tp.partition: f.result(timeout=20).low_watermark for tp, f in fs.items()}
    assert lows == {1: 12, 3: 20}
    # Beyond the high watermark is OFFSET_OUT_OF_RANGE, and changes nothing.
    fs = admin.delete_records([CkTP(topic, 1, 21)], request_timeout=15)
    with pytest.raises(KafkaException) as err:
        list(fs.values())[0].result(timeout=20)
    assert err.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE, err.value

    # kafkajs: partition 2 up to 7. (deleteTopicRecords only looks at cached metadata, so the
    # topic must be loaded first: kafkajs' own quirk, not the broker's.)
    _, _, offsets = kjs(bootstrap, [
        {"op": "fetchTopicMetadata", "topics": [topic]},
        {"op": "deleteTopicRecords", "topic": topic, "partitions": [{"partition": 2, "offset": "7"}]},
        {"op": "fetchTopicOffsets", "topic": topic},
    ])
    expected_low = {0: 5, 1: 12, 2: 7, 3: 20}
    assert {r["partition"]: (int(r["low"]), int(r["high"])) for r in offsets} == {p: (lo, 20) for p, lo in expected_low.items()}

    def check(where: str):
        for p, lo in expected_low.items():
            assert ck_watermarks(bootstrap, topic, p) == (lo, 20), f"{where}: watermarks of p{p}"
        kc = kp_consumer(bootstrap)
        try:
            tps = [KpTP(topic, p) for p in range(parts)]
            assert kc.beginning_offsets(tps) == {KpTP(topic, p): lo for p, lo in expected_low.items()}, where
        finally:
            kc.close()
        # Reading from offset 0 resets to the new start: nothing below the low watermark comes back.
        stored = ck_read_all(bootstrap, topic, parts, start=0)
        for p, lo in expected_low.items():
            assert [r.offset for r in stored[p]] == list(range(lo, 20)), f"{where}: p{p} offsets"
            assert [r.value for r in stored[p]] == [f"p{p}-v{i}" for i in range(lo, 20)]

    check("before restart")
    strom.restart()
    check("after restart")


def test_offsets_across_many_segments(strom, bootstrap):
    """Small segments: reads from any offset, timestamp lookups and DeleteRecords work across
    segment boundaries, before and after a clean restart and a kill -9."""
    from confluent_kafka import TopicPartition as CkTP
    from kafka import TopicPartition as KpTP

    topic = unique_topic("segments")
    ck_create_topic(bootstrap, topic, 1, config={"internal.segment.bytes": "20000", "index.interval.bytes": "1000"})
    t0 = (int(time.time()) - 3600) * 1000
    n = 600
    msgs = [Msg(f"k{i}", f"v{i:04d}-" + "s" * 150, partition=0, timestamp=t0 + 10 * i) for i in range(n)]
    recs = ck_produce(bootstrap, topic, msgs, "none", **{"batch.num.messages": 15, "linger.ms": 1})
    assert [r.offset for r in recs] == list(range(n))
    segments = sorted((strom.data_dir / f"{topic}-0").glob("*.log"))
    assert len(segments) >= 4, f"expected the log to roll into several segments, found {segments}"

    def check(where: str, low: int):
        kc = kp_consumer(bootstrap)
        try:
            tp = KpTP(topic, 0)
            kc.assign([tp])
            for start in (low, low + 1, 317, 499, n - 1):
                kc.seek(tp, start)
                first = None
                deadline = time.monotonic() + 15
                while first is None:
                    assert time.monotonic() < deadline, f"{where}: nothing read from offset {start}"
                    for got in kc.poll(timeout_ms=500, max_records=1).values():
                        first = got[0]
                assert (first.offset, first.value.decode()[:5]) == (start, f"v{start:04d}"), f"{where}: seek {start}"
            for i in (low, 250, 333, 480, n - 1):
                r = kc.offsets_for_times({tp: t0 + 10 * i - 5})[tp]
                assert (r.offset, r.timestamp) == (i, t0 + 10 * i), f"{where}: offsets_for_times for record {i}"
        finally:
            kc.close()
        assert ck_watermarks(bootstrap, topic, 0) == (low, n), where
        stored = ck_read_all(bootstrap, topic, 1)[0]
        assert [r.offset for r in stored] == list(range(low, n)), where
        assert [r.value for r in stored] == [m.value for m in msgs[low:]], where

    check("fresh", 0)
    admin = ck_admin(bootstrap)
    fs = admin.delete_records([CkTP(topic, 0, 250)], request_timeout=15)
    assert list(fs.values())[0].result(timeout=20).low_watermark == 250
    check("after DeleteRecords", 250)
    strom.restart()
    check("after clean restart", 250)
    strom.kill9()
    strom.restart()
    check("after kill -9", 250)
