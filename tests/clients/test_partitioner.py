"""Same key, same partition, whichever client produced it.

kafka-python (DefaultPartitioner, murmur2), librdkafka with partitioner=murmur2_random and
kafkajs 2 (DefaultPartitioner, Java-compatible murmur2) all hash a key like Apache Kafka's Java
producer. The broker's part is the partition count it reports in Metadata and storing each
record where it was sent; the test checks both the delivery reports and what is read back.
"""

from __future__ import annotations

import pytest

from clientlib import (
    Msg,
    ck_create_topic,
    ck_produce,
    ck_read_all,
    java_partition,
    kjs_produce,
    kp_produce,
    unique_topic,
)

KEYS = (
    [f"user-{i}" for i in range(120)]
    + [f"order/{i * 7919}" for i in range(40)]
    + ["a", "Z", "ключ", "🔑-emoji", "x" * 300, "tab\tand space", "0", "-1"]
)


@pytest.mark.parametrize("partitions", [6, 13])
def test_same_key_same_partition_across_clients(strom, bootstrap, partitions):
    topic = unique_topic(f"keys-{partitions}")
    ck_create_topic(bootstrap, topic, partitions)

    placed: dict[str, dict[str, int]] = {}
    for client, produce in (
        ("kafka-python", kp_produce),
        ("confluent-kafka", ck_produce),
        ("kafkajs", kjs_produce),
    ):
        recs = produce(bootstrap, topic, [Msg(k, f"{client}:{k}") for k in KEYS])
        placed[client] = {r.key: r.partition for r in recs}

    expected = {k: java_partition(k, partitions) for k in KEYS}
    assert len(set(expected.values())) == partitions, "key set too small to touch every partition"
    for client, mapping in placed.items():
        wrong = {k: (p, expected[k]) for k, p in mapping.items() if p != expected[k]}
        assert not wrong, f"{client} placed keys differently from Java's murmur2 (got, want): {dict(list(wrong.items())[:10])}"

    # What the broker stored: every record in the partition its key maps to, nothing lost.
    stored = ck_read_all(bootstrap, topic, partitions)
    total = 0
    for p, recs in stored.items():
        for r in recs:
            assert expected[r.key] == p, f"record {r.value!r} stored in partition {p}, expected {expected[r.key]}"
        total += len(recs)
        values = [r.value for r in recs]
        assert len(values) == len(set(values)), f"duplicates in partition {p}"
    assert total == 3 * len(KEYS)
