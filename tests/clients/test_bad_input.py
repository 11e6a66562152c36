"""Hostile bytes on some connections must not disturb a well-behaved client on another.

While a confluent-kafka producer keeps producing (acks=all), raw sockets send garbage, a
truncated frame, an oversized and a negative length prefix, an unknown API key and unsupported
versions. Each bad connection must get an error response or be closed, within a bounded time;
the server must stay up without its memory jumping, the producer must see no error, and every
message must be readable afterwards.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

from clientlib import (
    Msg,
    api_versions_v0_request,
    api_versions_v3_request,
    by_partition,
    ck_create_topic,
    ck_produce,
    ck_read_all,
    parse_api_versions_v0,
    parse_api_versions_v3,
    recv_frame,
    request_frame,
    unique_topic,
)

UNSUPPORTED_VERSION = 35
CLOSE_TIMEOUT = 10.0


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def closed_by_server(sock: socket.socket, timeout: float = CLOSE_TIMEOUT) -> bool:
    """True once the server closes (EOF or reset); False if it is still open after `timeout`.

    Any bytes the server sends before closing are read and ignored."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def closed_or_answered(sock: socket.socket, correlation_id: int) -> str:
    """For a well-framed but unservable request: an answer to that correlation id, or a close."""
    sock.settimeout(CLOSE_TIMEOUT)
    try:
        frame = recv_frame(sock, CLOSE_TIMEOUT)
    except socket.timeout:
        raise AssertionError("server neither answered nor closed the connection") from None
    if frame is None:
        return "closed"
    (corr,) = struct.unpack_from(">i", frame, 0)
    assert corr == correlation_id, f"answer carries correlation id {corr}, expected {correlation_id}"
    return "answered"


def send_all(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may already have hung up; that is an allowed outcome


def bad_garbage(port: int) -> None:
    # Random bytes inside a well-formed length prefix: a nonsense header.
    with connect(port) as s:
        body = os.urandom(64)
        send_all(s, struct.pack(">i", len(body)) + body)
        outcome = None
        try:
            outcome = closed_or_answered(s, struct.unpack_from(">i", body, 4)[0])
        except AssertionError as e:
            if "correlation id" not in str(e):
                raise
            outcome = "answered"
        assert outcome in ("closed", "answered")
    # Pure noise, no framing at all; then we hang up. The server must simply survive it.
    with connect(port) as s:
        send_all(s, os.urandom(4096))


def bad_truncated(port: int) -> None:
    # A frame that announces 100 bytes and delivers 20, then EOF from our side.
    with connect(port) as s:
        full = api_versions_v0_request(7)
        send_all(s, struct.pack(">i", 100) + full[4:24])
        s.shutdown(socket.SHUT_WR)
        assert closed_by_server(s), "server kept a half-closed connection with a truncated frame open"


def bad_oversized(port: int) -> None:
    for prefix in (0x7FFFFFFF, 200 << 20):
        with connect(port) as s:
            send_all(s, struct.pack(">I", prefix) + b"\x00\x12\x00\x00" + b"x" * 1000)
            assert closed_by_server(s), f"server did not close a connection announcing a {prefix}-byte frame"


def bad_negative(port: int) -> None:
    with connect(port) as s:
        send_all(s, struct.pack(">i", -1) + b"\x00" * 16)
        assert closed_by_server(s), "server did not close a connection with a negative length prefix"


def bad_unknown_api(port: int) -> None:
    with connect(port) as s:
        send_all(s, request_frame(9999, 0, 4242, b"\x00" * 8))
        closed_or_answered(s, 4242)
    with connect(port) as s:  # a known API at a version nobody implements
        send_all(s, request_frame(3, 999, 4343, b"\x00" * 8))
        closed_or_answered(s, 4343)


def api_versions_unsupported_then_ok(port: int) -> dict[int, tuple[int, int]]:
    """ApiVersions at an unknown version gets UNSUPPORTED_VERSION in v0 format, and the
    connection stays usable for the client's retry at a lower version (KIP-511)."""
    with connect(port) as s:
        send_all(s, api_versions_v0_request(501, version=127))
        frame = recv_frame(s)
        assert frame is not None, "server closed the connection on ApiVersions v127"
        corr, err, keys = parse_api_versions_v0(frame)
        assert (corr, err) == (501, UNSUPPORTED_VERSION)
        assert 18 in keys, "UNSUPPORTED_VERSION answer must still list ApiVersions' range"
        send_all(s, api_versions_v0_request(502))
        frame = recv_frame(s)
        assert frame is not None, "connection unusable after the UNSUPPORTED_VERSION answer"
        corr, err, keys = parse_api_versions_v0(frame)
        assert (corr, err) == (502, 0)
        return keys


def test_good_handshake_raw(strom):
    keys = api_versions_unsupported_then_ok(strom.port)
    with connect(strom.port) as s:
        send_all(s, api_versions_v3_request(77))
        frame = recv_frame(s)
        assert frame is not None
        corr, err, keys3 = parse_api_versions_v3(frame)
        assert (corr, err) == (77, 0)
    assert keys3 == keys, "v0 and v3 ApiVersions answers disagree"
    # The minimum ranges strom must advertise for these APIs (docs/ARCHITECTURE.md, section 4).
    need = {18: (0, 4), 3: (0, 12), 0: (3, 11), 1: (4, 16), 2: (1, 9)}
    for key, (lo, hi) in need.items():
        assert key in keys, f"api key {key} not advertised"
        assert keys[key][0] <= lo and keys[key][1] >= hi, f"api key {key} range {keys[key]} does not cover {lo}..{hi}"
    for key, (lo, hi) in keys.items():
        assert 0 <= lo <= hi, f"api key {key} has a broken range {lo}..{hi}"


def test_bad_input_while_producing(strom, bootstrap):
    topic = unique_topic("bad-input")
    ck_create_topic(bootstrap, topic, 2)
    rss_before = strom.rss_kib()

    delivered = []
    producer_error: list[BaseException] = []

    def producer():
        try:
            for chunk in range(12):
                msgs = [Msg(f"k{i % 5}", f"c{chunk}-m{i}") for i in range(50)]
                delivered.extend(ck_produce(bootstrap, topic, msgs, "gzip"))
                time.sleep(0.15)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            producer_error.append(e)

    t = threading.Thread(target=producer, name="good-producer")
    t.start()
    rounds = 0
    deadline = time.monotonic() + 90
    try:
        while rounds < 3 or (t.is_alive() and rounds < 40):
            assert time.monotonic() < deadline, "bad-input rounds took too long"
            for case in (bad_garbage, bad_truncated, bad_oversized, bad_negative, bad_unknown_api):
                case(strom.port)
                strom.assert_alive()
            api_versions_unsupported_then_ok(strom.port)
            rounds += 1
    finally:
        t.join(timeout=120)
    assert not t.is_alive(), "producer thread did not finish"
    assert not producer_error, f"the good producer failed: {producer_error[0]!r}"
    assert len(delivered) == 12 * 50

    strom.assert_alive()
    rss_after = strom.rss_kib()
    assert rss_after - rss_before < 256 * 1024, f"server RSS grew from {rss_before} KiB to {rss_after} KiB"

    expected = by_partition(delivered)
    stored = ck_read_all(bootstrap, topic, 2)
    for p in range(2):
        assert stored[p] == expected.get(p, []), f"partition {p} differs from what was acknowledged"


# -- bad record batches in well-formed Produce requests -----------------------------------------

CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_RECORD = 87


def record_batch(values: list[bytes]) -> bytearray:
    from kafka.record.default_records import DefaultRecordBatchBuilder

    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    now = int(time.time() * 1000)
    for i, v in enumerate(values):
        b.append(i, timestamp=now, key=b"k", value=v, headers=[])
    return b.build()


def raw_produce(sock: socket.socket, correlation_id: int, topic: str, records: bytes) -> tuple[int, int]:
    """Produce v3 (header v1) with one partition's records; (error_code, base_offset)."""
    from kafka.protocol.producer import ProduceRequest, ProduceResponse

    topic_data = ProduceRequest.TopicProduceData
    req = ProduceRequest(transactional_id=None, acks=-1, timeout_ms=10000, topic_data=[
        topic_data(name=topic, partition_data=[topic_data.PartitionProduceData(index=0, records=bytes(records))])])
    send_all(sock, request_frame(0, 3, correlation_id, req.encode(version=3)))
    frame = recv_frame(sock)
    assert frame is not None, f"server closed the connection on Produce (correlation id {correlation_id})"
    (corr,) = struct.unpack_from(">i", frame, 0)
    assert corr == correlation_id
    resp = ProduceResponse.decode(frame[4:], version=3)
    (t,) = resp.responses
    (p,) = t.partition_responses
    return p.error_code, p.base_offset


def test_corrupt_batches_are_refused_and_not_stored(strom, bootstrap):
    topic = unique_topic("crc")
    ck_create_topic(bootstrap, topic, 1)
    with connect(strom.port) as s:
        assert raw_produce(s, 1, topic, record_batch([b"good-0", b"good-1"])) == (0, 0)

        flipped = record_batch([b"bad-crc"])
        flipped[-1] ^= 0xFF  # a record byte: covered by the CRC-32C
        err, _ = raw_produce(s, 2, topic, flipped)
        assert err == CORRUPT_MESSAGE, f"wrong CRC answered with error {err}"

        torn = record_batch([b"torn", b"torn"])[:-5]  # batchLength now claims more than is there
        err, _ = raw_produce(s, 3, topic, torn)
        assert err in (CORRUPT_MESSAGE, INVALID_RECORD), f"truncated batch answered with error {err}"

        err, _ = raw_produce(s, 4, topic + "-missing", record_batch([b"x"]))
        assert err == UNKNOWN_TOPIC_OR_PARTITION, f"Produce to a missing topic answered {err} (Produce never auto-creates)"

        # The connection is still usable and the log continues where the good batch ended.
        assert raw_produce(s, 5, topic, record_batch([b"good-2"])) == (0, 2)
    stored = ck_read_all(bootstrap, topic, 1)
    assert [r.value for r in stored[0]] == ["good-0", "good-1", "good-2"]


def test_batch_over_max_message_bytes(strom, bootstrap):
    from confluent_kafka import KafkaError

    from clientlib import ck_producer

    topic = unique_topic("too-big")
    ck_create_topic(bootstrap, topic, 1, config={"max.message.bytes": "2000"})
    p = ck_producer(bootstrap, **{"linger.ms": 0})
    errors = []
    # One at a time, so the two never share a batch.
    p.produce(topic, value=os.urandom(5000), partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0
    p.produce(topic, value=b"small", partition=0, on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0
    codes = [e.code() if e else 0 for e in errors]
    assert codes == [KafkaError.MSG_SIZE_TOO_LARGE, 0], errors
    stored = ck_read_all(bootstrap, topic, 1)
    assert [r.value for r in stored[0]] == ["small"]
