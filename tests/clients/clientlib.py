"""Small, bounded helpers over the real clients used by the tests.

Each helper talks to a real server and raises AssertionError with the client's own error when
something goes wrong; nothing is mocked. Records come back as `Rec` tuples so results from
different clients compare directly.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterable, NamedTuple

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


class Rec(NamedTuple):
    partition: int
    offset: int
    key: str | None
    value: str | None


class Msg(NamedTuple):
    key: str | None
    value: str | None
    partition: int | None = None
    timestamp: int | None = None


def unique_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _b(s: str | None) -> bytes | None:
    return None if s is None else s.encode("utf-8")


def _s(b: bytes | None) -> str | None:
    return None if b is None else b.decode("utf-8")


def java_partition(key: str, num_partitions: int) -> int:
    """Apache Kafka's default partitioner for a keyed record: toPositive(murmur2(key)) % n."""
    from kafka.partitioner.default import murmur2

    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % num_partitions


def by_partition(recs: Iterable[Rec]) -> dict[int, list[Rec]]:
    out: dict[int, list[Rec]] = {}
    for r in recs:
        out.setdefault(r.partition, []).append(r)
    return out


# -- confluent-kafka (librdkafka) --------------------------------------------------------------


def ck_admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 15000})


def ck_create_topic(bootstrap: str, topic: str, partitions: int, config: dict | None = None) -> None:
    from confluent_kafka.admin import NewTopic

    admin = ck_admin(bootstrap)  # must outlive the future
    fs = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1, config=config or {})],
        operation_timeout=10,
        request_timeout=15,
    )
    fs[topic].result(timeout=20)


def ck_producer(bootstrap: str, codec: str = "none", **extra):
    from confluent_kafka import Producer

    conf = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": False,
        "acks": "all",
        "compression.type": codec,
        # librdkafka's default (consistent_random) is CRC32; murmur2_random matches Java.
        "partitioner": "murmur2_random",
        "linger.ms": 20,
        "message.timeout.ms": 30000,
        "socket.timeout.ms": 15000,
    }
    conf.update(extra)
    return Producer(conf)


def ck_produce(bootstrap: str, topic: str, messages: list[Msg], codec: str = "none", **extra) -> list[Rec]:
    """Produces every message, waits for every delivery report, returns them in send order."""
    p = ck_producer(bootstrap, codec, **extra)
    results: list[Rec | None] = [None] * len(messages)
    errors: list[tuple[int, object]] = []

    def report(i: int, m: Msg):
        def cb(err, msg):
            if err is not None:
                errors.append((i, err))
            else:
                results[i] = Rec(msg.partition(), msg.offset(), m.key, m.value)

        return cb

    for i, m in enumerate(messages):
        kw = {}
        if m.partition is not None:
            kw["partition"] = m.partition
        if m.timestamp is not None:
            kw["timestamp"] = m.timestamp
        deadline = time.monotonic() + 30
        while True:
            try:
                p.produce(topic, key=_b(m.key), value=_b(m.value), on_delivery=report(i, m), **kw)
                break
            except BufferError:
                assert time.monotonic() < deadline, "librdkafka queue stayed full for 30s"
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(45)
    assert remaining == 0, f"confluent-kafka: {remaining} messages still undelivered after 45s"
    assert not errors, f"confluent-kafka delivery errors (first 5): {errors[:5]}"
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def ck_consumer(bootstrap: str, **extra):
    from confluent_kafka import Consumer

    conf = {
        "bootstrap.servers": bootstrap,
        # Required by the Python binding; never used: we only assign() partitions, and commit nothing.
        "group.id": f"strom-tests-unused-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "socket.timeout.ms": 15000,
    }
    conf.update(extra)
    return Consumer(conf)


def ck_watermarks(bootstrap: str, topic: str, partition: int) -> tuple[int, int]:
    from confluent_kafka import TopicPartition

    c = ck_consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=15, cached=False)
    finally:
        c.close()


def ck_read_all(
    bootstrap: str, topic: str, partitions: int | Iterable[int], start: int = 0, timeout: float = 45
) -> dict[int, list[Rec]]:
    """Reads every partition by assignment from `start` up to its high watermark."""
    from confluent_kafka import TopicPartition

    parts = list(range(partitions)) if isinstance(partitions, int) else list(partitions)
    c = ck_consumer(bootstrap)
    try:
        highs, lows = {}, {}
        for p in parts:
            lows[p], highs[p] = c.get_watermark_offsets(TopicPartition(topic, p), timeout=15, cached=False)
        out: dict[int, list[Rec]] = {p: [] for p in parts}
        pending = {p for p in parts if highs[p] > max(start, lows[p])}
        c.assign([TopicPartition(topic, p, start) for p in parts])
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                got = {p: len(v) for p, v in out.items()}
                raise AssertionError(f"confluent-kafka read of {topic} timed out: got {got}, high watermarks {highs}")
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise AssertionError(f"confluent-kafka consume error on {topic}: {msg.error()}")
            p = msg.partition()
            out[p].append(Rec(p, msg.offset(), _s(msg.key()), _s(msg.value())))
            if msg.offset() >= highs[p] - 1:
                pending.discard(p)
        return out
    finally:
        c.close()


# -- kafka-python -------------------------------------------------------------------------------


def kp_producer(bootstrap: str, codec: str = "none", **extra):
    from kafka import KafkaProducer

    conf = dict(
        bootstrap_servers=bootstrap,
        enable_idempotence=False,  # on by default in kafka-python 3; needs InitProducerId
        acks="all",
        compression_type=None if codec == "none" else codec,
        linger_ms=20,
        request_timeout_ms=15000,
        max_block_ms=20000,
    )
    conf.update(extra)
    return KafkaProducer(**conf)


def kp_produce(bootstrap: str, topic: str, messages: list[Msg], codec: str = "none", **extra) -> list[Rec]:
    prod = kp_producer(bootstrap, codec, **extra)
    try:
        futures = []
        for m in messages:
            futures.append(
                prod.send(topic, key=_b(m.key), value=_b(m.value), partition=m.partition, timestamp_ms=m.timestamp)
            )
        prod.flush(timeout=45)
        out = []
        for m, f in zip(messages, futures):
            md = f.get(timeout=30)
            out.append(Rec(md.partition, md.offset, m.key, m.value))
        return out
    finally:
        prod.close(timeout=10)


def kp_consumer(bootstrap: str, **extra):
    from kafka import KafkaConsumer

    conf = dict(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=20000,
        fetch_max_wait_ms=100,
    )
    conf.update(extra)
    return KafkaConsumer(**conf)


def kp_read_all(bootstrap: str, topic: str, partitions: int | Iterable[int], timeout: float = 45) -> dict[int, list[Rec]]:
    from kafka import TopicPartition

    parts = list(range(partitions)) if isinstance(partitions, int) else list(partitions)
    c = kp_consumer(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in parts]
        c.assign(tps)
        ends = c.end_offsets(tps, timeout_ms=15000)
        begins = c.beginning_offsets(tps, timeout_ms=15000)
        for tp in tps:
            c.seek(tp, 0)
        out: dict[int, list[Rec]] = {p: [] for p in parts}
        pending = {tp.partition for tp in tps if ends[tp] > begins[tp]}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                got = {p: len(v) for p, v in out.items()}
                raise AssertionError(f"kafka-python read of {topic} timed out: got {got}, end offsets {ends}")
            batch = c.poll(timeout_ms=500)
            for tp, records in batch.items():
                for r in records:
                    out[tp.partition].append(Rec(tp.partition, r.offset, _s(r.key), _s(r.value)))
                    if r.offset >= ends[tp] - 1:
                        pending.discard(tp.partition)
        return out
    finally:
        c.close(autocommit=False)


# -- kafkajs (through node/kjs.js) ----------------------------------------------------------------


class KafkaJSError(AssertionError):
    def __init__(self, out: dict, stderr: str):
        self.out = out
        self.error = out.get("error") or {}
        super().__init__(f"kafkajs step {out.get('step')} failed: {json.dumps(self.error)}\n--- node stderr ---\n{stderr[-3000:]}")


def kjs_raw(bootstrap: str, steps: list[dict], timeout: float = 90) -> tuple[dict, str]:
    node = shutil.which("node")
    assert node, "node is not installed"
    assert (NODE_DIR / "node_modules" / "kafkajs").is_dir(), f"run `npm ci` in {NODE_DIR} first"
    env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1")
    proc = subprocess.run(
        [node, str(NODE_DIR / "kjs.js")],
        input=json.dumps({"brokers": [bootstrap], "steps": steps}).encode(),
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        timeout=timeout,
    )
    stdout = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    stderr = proc.stderr.decode("utf-8", "replace")
    try:
        out = json.loads(stdout[-1])
    except (IndexError, ValueError):
        raise AssertionError(f"kafkajs script exited {proc.returncode} without a result\nstdout: {stdout}\nstderr: {stderr[-3000:]}")
    return out, stderr


def kjs(bootstrap: str, steps: list[dict], timeout: float = 90) -> list:
    out, stderr = kjs_raw(bootstrap, steps, timeout)
    if not out["ok"]:
        raise KafkaJSError(out, stderr)
    return out["results"]


def kjs_produce(bootstrap: str, topic: str, messages: list[Msg], codec: str = "none", chunk: int | None = None) -> list[Rec]:
    step = {
        "op": "produce",
        "topic": topic,
        "codec": codec,
        "messages": [m._asdict() for m in messages],
    }
    if chunk:
        step["chunk"] = chunk
    (res,) = kjs(bootstrap, [step])
    assert len(res) == len(messages)
    out = []
    for m, r in zip(messages, res):
        assert (r["key"], r["value"]) == (m.key, m.value)
        out.append(Rec(r["partition"], r["offset"], m.key, m.value))
    return out


# -- kcat -----------------------------------------------------------------------------------------


def kcat(*args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    exe = shutil.which("kcat") or shutil.which("kafkacat")
    assert exe, "kcat is not installed (apt-get install kcat)"
    return subprocess.run([exe, *args], input=input, capture_output=True, timeout=timeout)


# -- raw Kafka protocol -------------------------------------------------------------------------


def api_versions_v0_request(correlation_id: int, version: int = 0, client_id: bytes = b"raw") -> bytes:
    """An ApiVersions request with an empty body: v1 header, or v2 (empty tagged fields) for
    version >= 3. Used for v0 and for versions past the server's range (KIP-511 fallback)."""
    body = struct.pack(">hhih", 18, version, correlation_id, len(client_id)) + client_id
    if version >= 3:
        body += b"\x00"
    return struct.pack(">i", len(body)) + body


def api_versions_v3_request(correlation_id: int) -> bytes:
    """ApiVersions v3: v2 header (client id + empty tagged fields) and compact-string body."""
    client_id = b"raw-v3"
    body = struct.pack(">hhih", 18, 3, correlation_id, len(client_id)) + client_id + b"\x00"
    name, ver = b"strom-tests", b"1.0"
    body += bytes([len(name) + 1]) + name + bytes([len(ver) + 1]) + ver + b"\x00"
    return struct.pack(">i", len(body)) + body


def request_frame(api_key: int, version: int, correlation_id: int, payload: bytes = b"", client_id: bytes = b"raw") -> bytes:
    body = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id + payload
    return struct.pack(">i", len(body)) + body


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_frame(sock: socket.socket, timeout: float = 10) -> bytes | None:
    """One response frame body, or None if the server closed the connection."""
    sock.settimeout(timeout)
    head = recv_exact(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">i", head)
    assert 0 <= size < 64 << 20, f"implausible response size {size}"
    return recv_exact(sock, size)


def parse_api_versions_v0(frame: bytes) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """(correlation_id, error_code, {api_key: (min, max)}) from a v0-format ApiVersions response."""
    corr, err, n = struct.unpack_from(">ihi", frame, 0)
    pos = 10
    keys = {}
    for _ in range(n):
        k, lo, hi = struct.unpack_from(">hhh", frame, pos)
        keys[k] = (lo, hi)
        pos += 6
    return corr, err, keys


def read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def skip_tagged_fields(buf: bytes, pos: int) -> int:
    count, pos = read_uvarint(buf, pos)
    for _ in range(count):
        _tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
    return pos


def parse_api_versions_v3(frame: bytes) -> tuple[int, int, dict[int, tuple[int, int]]]:
    """ApiVersions v3 response (header v0, flexible body)."""
    corr, err = struct.unpack_from(">ih", frame, 0)
    pos = 6
    n, pos = read_uvarint(frame, pos)
    keys = {}
    for _ in range(n - 1):
        k, lo, hi = struct.unpack_from(">hhh", frame, pos)
        pos += 6
        pos = skip_tagged_fields(frame, pos)
        keys[k] = (lo, hi)
    return corr, err, keys
