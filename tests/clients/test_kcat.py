"""kcat from Debian (librdkafka 2.0.x): metadata listing and a produce/consume round trip.

Old librdkafka parses the ApiVersions v3 response with its own (older) code, so this checks
the handshake against a real old client.
"""

from __future__ import annotations

import json

from clientlib import ck_create_topic, java_partition, kcat, unique_topic

PARTITIONS = 3


def run_ok(*args: str, input: bytes | None = None):
    r = kcat(*args, input=input)
    assert r.returncode == 0, f"kcat {' '.join(args)} exited {r.returncode}\nstderr: {r.stderr.decode()[-3000:]}"
    return r


def test_kcat_metadata(strom, bootstrap):
    topic = unique_topic("kcat-meta")
    ck_create_topic(bootstrap, topic, PARTITIONS)
    meta = json.loads(run_ok("-b", bootstrap, "-L", "-J", "-m", "15").stdout)
    brokers = meta["brokers"]
    assert len(brokers) == 1 and brokers[0]["name"].endswith(f":{strom.port}"), brokers
    topics = {t["topic"]: t for t in meta["topics"]}
    assert topic in topics, sorted(topics)
    parts = topics[topic]["partitions"]
    assert sorted(p["partition"] for p in parts) == list(range(PARTITIONS))
    assert all(p["leader"] == brokers[0]["id"] for p in parts), parts

    # The plain-text listing goes through the same handshake; it must name the topic too.
    text = run_ok("-b", bootstrap, "-L", "-t", topic, "-m", "15").stdout.decode()
    assert f'topic "{topic}" with {PARTITIONS} partitions' in text, text


def test_kcat_produce_consume(strom, bootstrap):
    topic = unique_topic("kcat-rt")
    ck_create_topic(bootstrap, topic, PARTITIONS)
    lines = [(f"key{i % 11}", f"value-{i}") for i in range(200)]
    payload = "".join(f"{k}:{v}\n" for k, v in lines).encode()
    run_ok("-b", bootstrap, "-P", "-t", topic, "-K", ":", "-z", "snappy",
           "-X", "partitioner=murmur2_random", "-X", "enable.idempotence=false", input=payload)

    out = run_ok("-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                 "-f", "%p|%o|%k|%s\n").stdout.decode()
    got: dict[int, list[tuple[int, str, str]]] = {}
    for line in out.splitlines():
        p, o, k, v = line.split("|")
        got.setdefault(int(p), []).append((int(o), k, v))

    want: dict[int, list[tuple[str, str]]] = {}
    for k, v in lines:
        want.setdefault(java_partition(k, PARTITIONS), []).append((k, v))
    assert sum(len(v) for v in got.values()) == len(lines)
    for p, recs in want.items():
        assert [(k, v) for _, k, v in got.get(p, [])] == recs, f"partition {p} differs"
        assert [o for o, _, _ in got[p]] == list(range(len(recs)))


def test_kcat_consume_empty_partition_ends(strom, bootstrap):
    # An empty fetch must carry empty records, not null, or old librdkafka never reaches EOF.
    topic = unique_topic("kcat-empty")
    ck_create_topic(bootstrap, topic, 1)
    out = run_ok("-b", bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n")
    assert out.stdout == b""


def test_kcat_query_offsets(strom, bootstrap):
    # kcat -Q: ListOffsets from old librdkafka, by timestamp and with the -1 (end) / -2 (start) specs.
    topic = unique_topic("kcat-q")
    ck_create_topic(bootstrap, topic, 1)
    lines = "".join(f"v{i}\n" for i in range(7)).encode()
    run_ok("-b", bootstrap, "-P", "-t", topic, "-p", "0", "-X", "enable.idempotence=false", input=lines)

    def query(spec: int) -> int:
        out = run_ok("-b", bootstrap, "-Q", "-t", f"{topic}:0:{spec}").stdout.decode()
        # " <topic> [0] offset N"
        for line in out.splitlines():
            if f"{topic} [0]" in line:
                return int(line.rsplit("offset", 1)[1].strip())
        raise AssertionError(f"no offset in kcat -Q output: {out!r}")

    assert query(-1) == 7
    assert query(-2) == 0
    assert query(0) == 0  # every record's timestamp is >= 0
