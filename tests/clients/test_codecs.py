"""Keyed messages with every codec from every client, read back complete and in order.

Each (client, codec) pair produces to a fresh 4-partition topic, then the data is read back by
assignment with both confluent-kafka and kafka-python (so every client's batches are also
decoded by two other implementations), and the segment files are checked with `strom dump-log`
to prove the batches really are stored with the codec the client was asked to use.
"""

from __future__ import annotations

import subprocess

import pytest

from clientlib import (
    CODECS,
    Msg,
    Rec,
    by_partition,
    ck_create_topic,
    ck_produce,
    ck_read_all,
    kjs_produce,
    kp_produce,
    kp_read_all,
    unique_topic,
)

PARTITIONS = 4
COUNT = 300


def make_messages(tag: str) -> list[Msg]:
    msgs = []
    for i in range(COUNT):
        size = (10, 200, 3000)[i % 3]
        msgs.append(Msg(f"key-{i % 23}", f"{tag}|{i:05d}|" + "abcdefghij" * (size // 10)))
    msgs.append(Msg("ключ-ü-🔑", "ünïcödé value"))
    msgs.append(Msg("empty-value", ""))
    return msgs


def produce(client: str, bootstrap: str, topic: str, msgs: list[Msg], codec: str) -> list[Rec]:
    if client == "kafka-python":
        return kp_produce(bootstrap, topic, msgs, codec)
    if client == "confluent-kafka":
        return ck_produce(bootstrap, topic, msgs, codec)
    if client == "kafkajs":
        return kjs_produce(bootstrap, topic, msgs, codec, chunk=40)
    raise ValueError(client)


def segment_batches(strom, topic: str, partition: int) -> list[tuple[int, str]]:
    """(record count, codec) of every batch in the partition's first segment, via dump-log."""
    seg = strom.data_dir / f"{topic}-{partition}" / "00000000000000000000.log"
    assert seg.is_file(), f"no segment file at {seg}"
    out = subprocess.run([str(strom.binary), "dump-log", str(seg)], capture_output=True, timeout=30)
    text = out.stdout.decode()
    assert out.returncode == 0, f"dump-log found problems in {seg}:\n{text}\n{out.stderr.decode()}"
    batches = []
    for line in text.splitlines():
        if line.startswith("offset "):
            records = int(line.split(" records ")[1].split()[0])
            batches.append((records, line.split(" codec ")[1].split()[0]))
    return batches


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka", "kafkajs"])
def test_codec_roundtrip(strom, bootstrap, client, codec):
    topic = unique_topic(f"codec-{client}-{codec}")
    ck_create_topic(bootstrap, topic, PARTITIONS)
    msgs = make_messages(f"{client}/{codec}")

    delivered = produce(client, bootstrap, topic, msgs, codec)

    # Delivery reports: per partition, offsets 0.. in send order; one partition per key.
    expected = by_partition(delivered)
    assert len(expected) > 1, f"all keys landed in one partition: {sorted(expected)}"
    for p, recs in expected.items():
        assert [r.offset for r in recs] == list(range(len(recs))), f"partition {p}: offsets not 0..n-1 in send order"
    key_parts: dict[str, set[int]] = {}
    for r in delivered:
        key_parts.setdefault(r.key, set()).add(r.partition)
    assert all(len(v) == 1 for v in key_parts.values()), f"a key was spread over partitions: {key_parts}"

    # Read back with two different client implementations.
    for reader_name, reader in (("confluent-kafka", ck_read_all), ("kafka-python", kp_read_all)):
        got = reader(bootstrap, topic, PARTITIONS)
        for p in range(PARTITIONS):
            want = expected.get(p, [])
            assert len(got[p]) == len(want), f"{reader_name} read {len(got[p])} records from partition {p}, produced {len(want)}"
            assert got[p] == want, f"{reader_name}: partition {p} differs from what {client} produced"

    # The stored batches carry the requested codec. Clients send a batch uncompressed when
    # compressing does not make it smaller (a lone short record), never a batch of several of
    # these very compressible records.
    for p in expected:
        batches = segment_batches(strom, topic, p)
        assert sum(n for n, _ in batches) == len(expected[p])
        assert {c for _, c in batches} <= {codec, "none"}, f"partition {p}: unexpected codecs {batches}"
        uncompressed_multi = [(n, c) for n, c in batches if n >= 5 and c != codec]
        assert not uncompressed_multi, (
            f"partition {p}: batches of several records stored as {uncompressed_multi}, expected {codec}"
            + (" (librdkafka turns LZ4 off unless the broker advertises FindCoordinator)"
               if (client, codec) == ("confluent-kafka", "lz4") else "")
        )
