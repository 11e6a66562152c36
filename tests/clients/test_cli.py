"""The `strom` command line end to end against a real `strom serve` (issue 9).

Every subcommand runs as a subprocess of the built binary ($STROM_BIN) against the `strom`
fixture; results are checked with strom itself and with kafka-python / confluent-kafka, so the
CLI is held to what other Kafka clients see. Covered: topics, produce, consume (formats, JSON,
from a time or an offset, until the end), groups (lag, reset-offsets, delete), the Prometheus
endpoint of `serve --metrics`, dump-log on a corrupt segment, mirror between two servers with a
SIGKILL midway (and to Apache Kafka when STROM_TEST_KAFKA is set), and two cross-client checks:
murmur2 placement of keys, and a strom consumer sharing a group with kafka-python.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from clientlib import Msg, ck_produce, ck_producer, java_partition, kp_produce, unique_topic
from conftest import StromServer, strom_bin
from grouplib import kp_committed, kp_high_watermarks, wait_until

CLI_TIMEOUT_S = 90


# -- helpers -------------------------------------------------------------------------------------


def cli(*args: str, input: bytes | None = None, timeout: float = CLI_TIMEOUT_S, ok: bool = True,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `strom ARGS`; with ok=True fails the test (showing both streams) unless it exits 0."""
    proc = subprocess.run([str(strom_bin()), *args], input=input, capture_output=True, timeout=timeout,
                          env=env)
    if ok and proc.returncode != 0:
        raise AssertionError(
            f"`strom {' '.join(args)}` exited {proc.returncode}\n--- stdout ---\n"
            f"{proc.stdout.decode('utf-8', 'replace')[-3000:]}\n--- stderr ---\n"
            f"{proc.stderr.decode('utf-8', 'replace')[-3000:]}"
        )
    return proc


def out(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode("utf-8")


def err(proc: subprocess.CompletedProcess) -> str:
    return proc.stderr.decode("utf-8", "replace")


def create_topic(bootstrap: str, topic: str, partitions: int, *extra: str) -> None:
    cli("topics", "create", "-b", bootstrap, topic, "--partitions", str(partitions), *extra)


def produce_lines(bootstrap: str, topic: str, lines: list[str], *extra: str) -> subprocess.CompletedProcess:
    return cli("produce", "-b", bootstrap, "--topic", topic, *extra, input=("\n".join(lines) + "\n").encode())


def consume_json(bootstrap: str, topic: str, *extra: str) -> list[dict]:
    """Every record of `topic` from the beginning to the end offsets at start, as JSON objects."""
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--from-beginning", "--until-end", "--json", *extra)
    return [json.loads(line) for line in out(p).splitlines() if line]


def describe_group(bootstrap: str, group: str) -> dict:
    (line,) = out(cli("groups", "describe", "-b", bootstrap, "--group", group, "--json")).splitlines()
    return json.loads(line)


def committed_by_partition(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """Committed offsets as kafka-python sees them (not strom's own admin client)."""
    return {p: o for p, (o, _meta) in kp_committed(bootstrap, group, topic, partitions).items()}


class LineReader:
    """Collects a subprocess's stdout lines on a thread, so a test can wait for them."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def join(self, timeout: float = 10) -> None:
        self._thread.join(timeout)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"process {proc.args} did not exit within {timeout}s of signal {sig}")


# -- help and errors -----------------------------------------------------------------------------

COMMANDS = [
    [], ["topics"], ["topics", "create"], ["topics", "list"], ["topics", "describe"], ["topics", "alter"],
    ["topics", "delete"], ["produce"], ["consume"], ["groups"], ["groups", "list"], ["groups", "describe"],
    ["groups", "reset-offsets"], ["groups", "delete"], ["mirror"], ["dump-log"], ["serve"],
]


def test_every_command_has_help():
    for cmd in COMMANDS:
        p = cli(*cmd, "--help")
        assert "Usage: strom" in out(p), f"strom {' '.join(cmd)} --help: {out(p)[:300]}"
    assert "--bootstrap" in out(cli("produce", "--help"))
    assert "%k" in out(cli("consume", "--help"))


def test_errors_say_what_to_do(strom, bootstrap):
    p = cli("topics", "list", "--bootstrap", "127.0.0.1:9", ok=False)
    assert p.returncode != 0
    assert "cannot connect to 127.0.0.1:9: connection refused" in err(p), err(p)
    assert "is a broker running there? (--bootstrap" in err(p), err(p)
    # STROM_BOOTSTRAP stands in for --bootstrap.
    env = dict(os.environ, STROM_BOOTSTRAP=bootstrap)
    topic = unique_topic("env")
    cli("topics", "create", topic, "--partitions", "1", env=env)
    assert topic in out(cli("topics", "list", env=env)).split()
    p = cli("topics", "describe", "-b", bootstrap, "no-such-topic", ok=False)
    assert p.returncode != 0 and "UNKNOWN_TOPIC_OR_PARTITION" in err(p) and "strom topics list" in err(p), err(p)
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--format", "%x", ok=False)
    assert p.returncode != 0 and "%x" in err(p), err(p)
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--group", "g", "--offset", "3", ok=False)
    assert p.returncode != 0, "--offset without --partition / with --group must be refused"


# -- topics --------------------------------------------------------------------------------------


def test_topics_round_trip(strom, bootstrap):
    topic = unique_topic("cli-topics")
    create_topic(bootstrap, topic, 3, "--config", "retention.ms=86400000", "--config", "max.message.bytes=200000")
    p = cli("topics", "create", "-b", bootstrap, topic, "--partitions", "3", ok=False)
    assert p.returncode != 0 and "TOPIC_ALREADY_EXISTS" in err(p) and "--if-not-exists" in err(p), err(p)
    cli("topics", "create", "-b", bootstrap, topic, "--if-not-exists")
    assert topic in out(cli("topics", "list", "-b", bootstrap)).split()

    (d,) = [json.loads(l) for l in out(cli("topics", "describe", "-b", bootstrap, topic, "--json")).splitlines()]
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2]
    assert all(p["leader"] == 1 and p["replicas"] == [1] and p["isr"] == [1] for p in d["partitions"])
    assert d["configs"]["retention.ms"]["value"] == "86400000" and not d["configs"]["retention.ms"]["default"]
    assert d["configs"]["max.message.bytes"]["value"] == "200000"
    text = out(cli("topics", "describe", "-b", bootstrap, topic))
    assert f"Topic: {topic}\t" in text and "PartitionCount: 3" in text and "retention.ms=86400000" in text
    assert text.count("Leader: 1") == 3

    cli("topics", "alter", "-b", bootstrap, topic, "--partitions", "5", "--set", "cleanup.policy=compact",
        "--delete", "retention.ms")
    (d,) = [json.loads(l) for l in out(cli("topics", "describe", "-b", bootstrap, topic, "--json")).splitlines()]
    assert len(d["partitions"]) == 5
    assert d["configs"]["cleanup.policy"]["value"] == "compact"
    assert d["configs"]["retention.ms"]["default"], "--delete must restore the default"
    assert d["configs"]["max.message.bytes"]["value"] == "200000", "incremental: other overrides stay"
    # Cross-check with another client: confluent-kafka's admin sees the same partitions and configs.
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(topic, timeout=15)
    assert len(md.topics[topic].partitions) == 5
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([res])[res].result(timeout=15)
    assert configs["cleanup.policy"].value == "compact"

    p = cli("topics", "alter", "-b", bootstrap, topic, "--partitions", "2", ok=False)
    assert p.returncode != 0 and "never removed" in err(p), err(p)
    p = cli("topics", "alter", "-b", bootstrap, topic, ok=False)
    assert p.returncode != 0 and "nothing to alter" in err(p), err(p)

    cli("topics", "delete", "-b", bootstrap, topic)
    assert topic not in out(cli("topics", "list", "-b", bootstrap)).split()
    p = cli("topics", "delete", "-b", bootstrap, topic, ok=False)
    assert p.returncode != 0 and "UNKNOWN_TOPIC_OR_PARTITION" in err(p)
    cli("topics", "delete", "-b", bootstrap, topic, "--if-exists")


# -- produce and consume -------------------------------------------------------------------------


def test_produce_keys_headers_and_consume_back(strom, bootstrap):
    topic = unique_topic("cli-pc")
    create_topic(bootstrap, topic, 3)
    lines = [f"key-{i}:value {i}: with colon" for i in range(30)] + ["no separator here"]
    p = produce_lines(bootstrap, topic, lines, "--key-separator", ":", "--header", "source=cli",
                      "--header", "empty=", "--acks", "all", "--compression", "gzip")
    assert "produced 31 record(s)" in err(p) and "0 failed" in err(p), err(p)

    recs = consume_json(bootstrap, topic)
    assert len(recs) == 31
    by_value = {r["value"]: r for r in recs}
    for i in range(30):
        r = by_value[f"value {i}: with colon"]
        assert r["key"] == f"key-{i}"
        assert r["headers"] == [{"key": "source", "value": "cli"}, {"key": "empty", "value": ""}]
        assert r["partition"] == java_partition(f"key-{i}", 3)
        assert r["topic"] == topic and r["timestamp"] > 0 and r["timestamp_type"] == "create"
    assert by_value["no separator here"]["key"] is None

    # The same records through kafka-python: keys, values and headers as strom wrote them.
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    c.assign([TopicPartition(topic, p) for p in range(3)])
    seen = {m.value.decode(): (m.key, dict(m.headers)) for m in c}
    c.close()
    assert len(seen) == 31
    assert seen["value 7: with colon"] == (b"key-7", {"source": b"cli", "empty": b""})

    # --max-messages, --format with every placeholder.
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--from-beginning", "--max-messages", "5",
            "--format", "%T|%p|%o|%t|%k|%v|%h|%K|%S\\n")
    rows = out(p).splitlines()
    assert len(rows) == 5, rows
    for row in rows:
        t, part, off, ts, key, value, headers, klen, vlen = row.split("|")
        r = by_value[value]
        assert (t, int(part), int(off), int(ts), key) == (topic, r["partition"], r["offset"], r["timestamp"], r["key"])
        assert headers == "source=cli,empty=" and int(klen) == len(key) and int(vlen) == len(value)
    assert "consumed 5 record(s)" in err(p)


def test_json_base64_acks0_and_failures(strom, bootstrap):
    topic = unique_topic("cli-bytes")
    create_topic(bootstrap, topic, 1)
    # confluent-kafka, as kafka-python refuses null headers and null key with null value.
    prod = ck_producer(bootstrap)
    prod.produce(topic, key=b"\xff\xfe", value=b"\x00\x9f binary", headers=[("h", b"\xc3\x28"), ("n", None)])
    prod.flush(30)
    prod.produce(topic, key=None, value=None)
    assert prod.flush(30) == 0
    produce_lines(bootstrap, topic, ["plain"], "--acks", "0", "--compression", "lz4")
    recs = wait_until(lambda: (r := consume_json(bootstrap, topic)) and len(r) == 3 and r, 20, "3 records")
    assert recs[0]["key"] == {"base64": "//4="}
    assert recs[0]["value"] == {"base64": "AJ8gYmluYXJ5"}
    assert recs[0]["headers"] == [{"key": "h", "value": {"base64": "wyg="}}, {"key": "n", "value": None}]
    assert recs[1]["key"] is None and recs[1]["value"] is None
    assert recs[2]["value"] == "plain"

    # A record larger than max.request.size fails alone; the summary counts it; exit status 1.
    p = cli("produce", "-b", bootstrap, "--topic", topic, "--property", "max.request.size=1000",
            input=("small\n" + "x" * 5000 + "\nsmall again\n").encode(), ok=False)
    assert p.returncode == 1, err(p)
    assert "produced 2 record(s)" in err(p) and "1 failed" in err(p), err(p)
    p = cli("produce", "-b", bootstrap, "--topic", topic, "--property", "no.such.setting=1", input=b"x\n", ok=False)
    assert p.returncode != 0 and "no.such.setting" in err(p), err(p)


def test_produce_from_file_compression_in_segment(strom, bootstrap, tmp_path):
    topic = unique_topic("cli-file")
    create_topic(bootstrap, topic, 1)
    f = tmp_path / "lines.txt"
    f.write_text("".join(f"k{i}\tv{i}\r\n" for i in range(50)))
    p = cli("produce", "-b", bootstrap, "--topic", topic, "--file", str(f), "-K", "\t", "--compression", "zstd",
            "--property", "linger.ms=200")
    assert "produced 50 record(s)" in err(p)
    recs = consume_json(bootstrap, topic)
    assert [(r["key"], r["value"]) for r in recs] == [(f"k{i}", f"v{i}") for i in range(50)]
    seg = strom.data_dir / f"{topic}-0" / "00000000000000000000.log"
    dump = cli("dump-log", str(seg))
    assert "codec zstd" in out(dump) and "crc ok" in out(dump), out(dump)


def test_consume_from_time_offset_and_until_end(strom, bootstrap):
    topic = unique_topic("cli-time")
    create_topic(bootstrap, topic, 2)
    base = 1_600_000_000_000
    kp_produce(bootstrap, topic, [Msg(None, f"v{i}", partition=0, timestamp=base + i * 1000) for i in range(10)])
    kp_produce(bootstrap, topic, [Msg(None, f"w{i}", partition=1, timestamp=base + i * 1000) for i in range(4)])

    p = cli("consume", "-b", bootstrap, "--topic", topic, "--from-time", str(base + 5000), "--until-end",
            "--format", "%p:%v\\n")
    got = sorted(out(p).split())
    assert got == sorted([f"0:v{i}" for i in range(5, 10)]), got
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--partition", "0", "--offset", "7", "--until-end")
    assert out(p).split() == ["v7", "v8", "v9"]
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--partition", "1", "--from-beginning", "--until-end")
    assert out(p).split() == ["w0", "w1", "w2", "w3"]
    # Past every record: nothing, and --until-end still ends.
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--from-time", str(base + 10**9), "--until-end")
    assert out(p) == ""
    # Without --from-beginning a consumer starts at the end; --timeout-ms ends the wait.
    t0 = time.monotonic()
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--timeout-ms", "1500")
    assert out(p) == "" and time.monotonic() - t0 < 30
    # --pattern: every topic matching, here just this one.
    p = cli("consume", "-b", bootstrap, "--pattern", re.escape(topic[:-3]) + ".*", "--from-beginning", "--until-end")
    assert len(out(p).split()) == 14


# -- groups ----------------------------------------------------------------------------------------


def test_groups_lag_reset_and_delete(strom, bootstrap):
    from kafka import KafkaConsumer

    topic = unique_topic("cli-groups")
    create_topic(bootstrap, topic, 2)
    produce_lines(bootstrap, topic, [f"k{i}:v{i}" for i in range(20)], "-K", ":")
    ends = kp_high_watermarks(bootstrap, topic, 2)
    assert sum(ends.values()) == 20 and all(ends.values()), ends
    group = unique_topic("g")

    # 12 records printed: the group commits exactly those, even when the last batch was cut.
    p = cli("consume", "-b", bootstrap, "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "12")
    assert len(out(p).split()) == 12
    committed = committed_by_partition(bootstrap, group, topic, 2)
    assert sum(committed.values()) == 12, committed

    groups = [json.loads(l) for l in out(cli("groups", "list", "-b", bootstrap, "--json")).splitlines()]
    assert {"group": group, "state": "Empty", "protocol_type": "consumer"} in groups
    assert group in out(cli("groups", "list", "-b", bootstrap))
    d = describe_group(bootstrap, group)
    assert d["state"] == "Empty" and d["members"] == []
    rows = {r["partition"]: r for r in d["offsets"] if r["topic"] == topic}
    assert set(rows) == {0, 1}
    for part, r in rows.items():
        assert r["end"] == ends[part] and r["committed"] == committed[part]
        assert r["lag"] == ends[part] - committed[part]
    assert sum(r["lag"] for r in rows.values()) == 8
    text = out(cli("groups", "describe", "-b", bootstrap, "--group", group))
    assert "CURRENT-OFFSET" in text and "LAG" in text and f"Group {group}: state Empty" in text

    def reset(*how: str, ok: bool = True) -> subprocess.CompletedProcess:
        return cli("groups", "reset-offsets", "-b", bootstrap, "--group", group, "--topic", topic, *how, ok=ok)

    # Dry run: a plan, nothing committed.
    plan = [json.loads(l) for l in out(reset("--to-earliest", "--json")).splitlines()]
    assert sorted((r["partition"], r["current"], r["new"]) for r in plan) == [(0, committed[0], 0), (1, committed[1], 0)]
    assert committed_by_partition(bootstrap, group, topic, 2) == committed
    assert "dry run" in err(reset("--to-latest"))
    assert committed_by_partition(bootstrap, group, topic, 2) == committed

    reset("--to-earliest", "--execute")
    assert committed_by_partition(bootstrap, group, topic, 2) == {0: 0, 1: 0}
    reset("--to-offset", "3", "--execute")
    assert committed_by_partition(bootstrap, group, topic, 2) == {p: min(3, ends[p]) for p in (0, 1)}
    reset("--shift-by", "-1", "--execute")
    assert committed_by_partition(bootstrap, group, topic, 2) == {p: min(3, ends[p]) - 1 for p in (0, 1)}
    reset("--shift-by", "1000", "--execute")  # clamped to the log end
    assert committed_by_partition(bootstrap, group, topic, 2) == ends
    reset("--to-datetime", "0", "--execute")
    assert committed_by_partition(bootstrap, group, topic, 2) == {0: 0, 1: 0}
    cli("groups", "reset-offsets", "-b", bootstrap, "--group", group, "--topic", f"{topic}:1", "--to-latest", "--execute")
    assert committed_by_partition(bootstrap, group, topic, 2) == {0: 0, 1: ends[1]}
    assert describe_group(bootstrap, group)["offsets"][1]["lag"] == 0

    # An active member: reset and delete are refused, offsets unchanged.
    kc = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                       session_timeout_ms=6000, heartbeat_interval_ms=1000)
    kc.subscribe([topic])
    try:
        wait_until(lambda: kc.poll(timeout_ms=200) is not None and kc.assignment(), 30, "kafka-python assignment")
        p = reset("--to-latest", "--execute", ok=False)
        assert p.returncode != 0 and "inactive" in err(p) and "stop its consumers" in err(p), err(p)
        assert committed_by_partition(bootstrap, group, topic, 2) == {0: 0, 1: ends[1]}
        p = cli("groups", "delete", "-b", bootstrap, "--group", group, ok=False)
        assert p.returncode != 0 and "NON_EMPTY_GROUP" in err(p), err(p)
        d = describe_group(bootstrap, group)
        assert d["state"] == "Stable" and len(d["members"]) == 1
        (m,) = d["members"]
        assert m["assignment"] == {topic: [0, 1]} and m["host"] and m["client_id"]
        assert all(r["member_id"] == m["member_id"] for r in d["offsets"])
    finally:
        kc.close(autocommit=False)

    cli("groups", "delete", "-b", bootstrap, "--group", group)
    assert group not in out(cli("groups", "list", "-b", bootstrap))
    p = cli("groups", "delete", "-b", bootstrap, "--group", group, ok=False)
    assert p.returncode != 0


# -- metrics -----------------------------------------------------------------------------------------


def scrape(url: str) -> dict[str, list[tuple[dict, float]]]:
    """Samples by name, parsed by the Prometheus reference parser (which rejects bad text)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = resp.read().decode("utf-8")
    samples: dict[str, list[tuple[dict, float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    return samples


def value(samples, name: str, **labels) -> float:
    found = [v for l, v in samples.get(name, []) if all(l.get(k) == str(x) for k, x in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {found} in {samples.get(name)}"
    return found[0]


def test_metrics_endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("STROM_METRICS", "127.0.0.1:0")
    server = StromServer(tmp_path / "data", tmp_path)
    bootstrap = server.start()
    try:
        line = wait_until(lambda: next((l for l in server.stdout_lines if "metrics on" in l), None), 10,
                          "the metrics line", server.stderr_tail)
        url = re.search(r"(http://\S+/metrics)", line).group(1)
        before = scrape(url)
        produce_before = sum(v for l, v in before.get("strom_requests_total", []) if l["api"] == "Produce")

        topic = unique_topic("cli-metrics")
        create_topic(bootstrap, topic, 3)
        produce_lines(bootstrap, topic, [f"k{i}:v{i}" for i in range(30)], "-K", ":")
        group = unique_topic("mg")
        cli("consume", "-b", bootstrap, "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "10")

        after = scrape(url)
        assert value(after, "strom_requests_total", api="Produce") > produce_before
        assert value(after, "strom_requests_total", api="CreateTopics") >= 1
        assert value(after, "strom_network_received_bytes_total") > value(before, "strom_network_received_bytes_total")
        assert value(after, "strom_network_sent_bytes_total") > value(before, "strom_network_sent_bytes_total")
        assert value(after, "strom_connections_total") > value(before, "strom_connections_total")
        assert value(after, "strom_connections") >= 0  # a gauge: the CLI's connections are closed by now
        assert value(after, "strom_housekeeping_failures_total") == 0
        assert value(after, "strom_storage_errors_total") == 0
        ends = {p: value(after, "strom_partition_log_end_offset", topic=topic, partition=p) for p in range(3)}
        assert sum(ends.values()) == 30
        assert all(value(after, "strom_partition_log_start_offset", topic=topic, partition=p) == 0 for p in range(3))
        assert sum(value(after, "strom_partition_size_bytes", topic=topic, partition=p) for p in range(3)) > 30 * 4
        lag = sum(value(after, "strom_group_lag", group=group, topic=topic, partition=p) for p in range(3))
        committed = sum(value(after, "strom_group_committed_offset", group=group, topic=topic, partition=p)
                        for p in range(3))
        assert (committed, lag) == (10, 20)
        # The histogram is cumulative and agrees with the counter.
        buckets = sorted(((float(l["le"]), v) for l, v in after["strom_request_duration_seconds_bucket"]
                          if l["api"] == "Produce"))
        counts = [v for _, v in buckets]
        assert counts == sorted(counts) and buckets[-1][0] == float("inf")
        assert counts[-1] == value(after, "strom_request_duration_seconds_count", api="Produce") \
            == value(after, "strom_requests_total", api="Produce")

        host, port = url.split("/")[2].split(":")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url.replace("/metrics", "/nope"), timeout=10)
        assert e.value.code == 404
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 431")
        server.assert_alive()
    finally:
        server.stop()


# -- dump-log --------------------------------------------------------------------------------------


def test_dump_log_reports_a_corrupt_batch(strom, bootstrap, tmp_path):
    topic = unique_topic("cli-dump")
    create_topic(bootstrap, topic, 1)
    for batch in range(3):
        produce_lines(bootstrap, topic, [f"batch {batch} record {i}" for i in range(10)])
    strom.stop()
    seg = strom.data_dir / f"{topic}-0" / "00000000000000000000.log"
    good = cli("dump-log", str(seg))
    assert out(good).count("crc ok") == 3 and "0 problems" in out(good), out(good)

    data = bytearray(seg.read_bytes())
    second = [int(m.group(1)) for m in re.finditer(r"position (\d+) size", out(good))][1]
    bad = tmp_path / "corrupt.log"
    data[second + 70] ^= 0xFF  # a byte of the second batch's records, past its 61-byte header
    bad.write_bytes(bytes(data))
    p = cli("dump-log", str(bad), ok=False)
    assert p.returncode == 2, (p.returncode, out(p), err(p))
    lines = out(p).splitlines()
    assert "crc MISMATCH" in lines[1] and f"position {second} " in lines[1], lines
    assert "crc ok" in lines[0] and "crc ok" in lines[2]
    assert "3 batches" in lines[-1] and "1 problems" in lines[-1]
    assert "panicked" not in err(p)

    torn = tmp_path / "torn.log"
    torn.write_bytes(bytes(data[: second + 30]))
    p = cli("dump-log", str(torn), ok=False)
    assert p.returncode == 2 and "torn" in out(p) and "panicked" not in err(p), out(p)


# -- mirror ----------------------------------------------------------------------------------------


def read_records(bootstrap: str, topic: str, timeout: float = 60) -> list[dict]:
    """Every record of `topic` with headers and timestamps, through kafka-python."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                      request_timeout_ms=20000)
    try:
        parts = wait_until(lambda: c.partitions_for_topic(topic), 20, f"metadata of {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        c.assign(tps)
        ends = c.end_offsets(tps)
        got: list[dict] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, f"reading {topic} timed out ({len(got)} records)"
            for tp, records in c.poll(timeout_ms=500).items():
                for r in records:
                    got.append({"partition": tp.partition, "offset": r.offset, "key": r.key, "value": r.value,
                                "headers": list(r.headers), "timestamp": r.timestamp})
                    if r.offset >= ends[tp] - 1:
                        pending.discard(tp)
        return got
    finally:
        c.close(autocommit=False)


def target_count(consumer, topic: str) -> int:
    from kafka import TopicPartition

    consumer.topics()  # refreshes metadata: the target topic appears once the mirror created it
    parts = consumer.partitions_for_topic(topic)
    if not parts:
        return 0
    return sum(consumer.end_offsets([TopicPartition(topic, p) for p in parts]).values())


def produce_source(bootstrap: str, topic: str, n: int, base_ts: int) -> dict[bytes, dict]:
    """n keyed records with headers and explicit timestamps; returns them by value."""
    from kafka import KafkaProducer

    prod = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=20)
    sent = {}
    futures = []
    for i in range(n):
        rec = {"key": f"key-{i % 97}".encode(), "value": f"value-{i}".encode(),
               "headers": [("seq", str(i).encode()), ("origin", b"source")], "timestamp": base_ts + i}
        futures.append((rec, prod.send(topic, key=rec["key"], value=rec["value"], headers=rec["headers"],
                                       timestamp_ms=rec["timestamp"])))
    for rec, f in futures:
        md = f.get(timeout=30)
        sent[rec["value"]] = dict(rec, partition=md.partition, offset=md.offset)
    prod.close()
    return sent


def mirror_cmd(source: str, target: str, topic: str, group: str, *extra: str) -> list[str]:
    return [str(strom_bin()), "mirror", "--source", source, "--target", target, "--topics", re.escape(topic),
            "--group", group, *extra]


def check_mirrored(sent: dict[bytes, dict], got: list[dict], partitions_kept: bool = True) -> int:
    """Every source record on the target with its key, headers, timestamp (and partition), in
    source order per partition; returns the number of duplicates."""
    copies: dict[bytes, list[dict]] = {}
    for r in got:
        copies.setdefault(r["value"], []).append(r)
    missing = [v for v in sent if v not in copies]
    assert not missing, f"{len(missing)} records lost by the mirror, e.g. {missing[:5]}"
    unknown = [v for v in copies if v not in sent]
    assert not unknown, f"records on the target that were never produced: {unknown[:5]}"
    for v, rs in copies.items():
        s = sent[v]
        for r in rs:
            assert (r["key"], r["headers"], r["timestamp"]) == (s["key"], s["headers"], s["timestamp"]), (r, s)
            if partitions_kept:
                assert r["partition"] == s["partition"], (r, s)
    if partitions_kept:
        # Within a partition, first copies keep the source order.
        by_partition: dict[int, list[int]] = {}
        seen = set()
        for r in sorted(got, key=lambda r: (r["partition"], r["offset"])):
            if r["value"] not in seen:
                seen.add(r["value"])
                by_partition.setdefault(r["partition"], []).append(sent[r["value"]]["offset"])
        for p, offsets in by_partition.items():
            assert offsets == sorted(offsets), f"partition {p}: source order not kept"
    return len(got) - len(sent)


def test_mirror_survives_sigkill(strom, bootstrap, tmp_path):
    from kafka import KafkaConsumer

    target_dir = tmp_path / "target"
    target_dir.mkdir()
    target = StromServer(target_dir / "data", target_dir)
    target_bootstrap = target.start()
    mirror = None
    try:
        topic = unique_topic("mirrored")
        create_topic(bootstrap, topic, 3)
        n = 2000
        sent = produce_source(bootstrap, topic, n, base_ts=1_650_000_000_000)
        group = unique_topic("mirror")
        # Throttled (20 records a poll, 50 ms linger on the target) so the kill lands midway.
        # A short session, so the restarted mirror does not wait 45 s for the killed one to expire.
        session = ["--source-property", "session.timeout.ms=6000", "--source-property", "heartbeat.interval.ms=1000"]
        throttle = ["--source-property", "max.poll.records=20", "--target-property", "linger.ms=50", *session]
        log1 = open(tmp_path / "mirror1.stderr", "wb")
        mirror = subprocess.Popen(mirror_cmd(bootstrap, target_bootstrap, topic, group, *throttle),
                                  stdout=subprocess.DEVNULL, stderr=log1)
        watcher = KafkaConsumer(bootstrap_servers=target_bootstrap, request_timeout_ms=20000)
        try:
            at_kill = wait_until(lambda: (c := target_count(watcher, topic)) >= 300 and c, 60,
                                 "the mirror to copy 300 records",
                                 lambda: (tmp_path / "mirror1.stderr").read_text())
            stop_process(mirror, signal.SIGKILL)
            log1.close()
            at_kill = target_count(watcher, topic)
        finally:
            watcher.close()
        assert at_kill < n, f"the mirror finished ({at_kill} records) before it was killed: slow it down further"

        mirror = subprocess.Popen(mirror_cmd(bootstrap, target_bootstrap, topic, group, "--idle-exit-ms", "4000",
                                             *session),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, stderr = mirror.communicate(timeout=120)
        assert mirror.returncode == 0, stderr.decode()
        assert "mirrored" in stderr.decode()

        got = read_records(target_bootstrap, topic)
        dups = check_mirrored(sent, got)
        print(f"mirror: {n} records, killed at {at_kill} on the target, {dups} duplicate(s) after the restart")
        # At-least-once: only what was acknowledged but not yet committed (one poll) repeats.
        assert 0 <= dups <= 20, f"{dups} duplicates: more than one uncommitted poll of 20 records"
        (d,) = [json.loads(l) for l in out(cli("topics", "describe", "-b", target_bootstrap, topic, "--json")).splitlines()]
        assert len(d["partitions"]) == 3, "the target topic must get the source's partition count"
        ends = kp_high_watermarks(bootstrap, topic, 3)
        assert committed_by_partition(bootstrap, group, topic, 3) == ends, "progress committed on the source"
    finally:
        if mirror is not None and mirror.poll() is None:
            stop_process(mirror, signal.SIGKILL)
        target.stop()


def test_mirror_to_fewer_partitions_places_by_key(strom, bootstrap, tmp_path):
    target_dir = tmp_path / "target"
    target_dir.mkdir()
    target = StromServer(target_dir / "data", target_dir)
    target_bootstrap = target.start()
    try:
        topic = unique_topic("narrow")
        create_topic(bootstrap, topic, 4)
        create_topic(target_bootstrap, topic, 2)
        sent = produce_source(bootstrap, topic, 200, base_ts=1_660_000_000_000)
        p = subprocess.run(mirror_cmd(bootstrap, target_bootstrap, topic, unique_topic("m"), "--max-messages", "200"),
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr.decode()
        assert "placed by key (murmur2)" in p.stderr.decode()
        got = read_records(target_bootstrap, topic)
        assert check_mirrored(sent, got, partitions_kept=False) == 0
        for r in got:
            s = sent[r["value"]]
            want = s["partition"] if s["partition"] < 2 else java_partition(s["key"].decode(), 2)
            assert r["partition"] == want, (r, s)
    finally:
        target.stop()


def test_mirror_to_apache_kafka(request):
    kafka = os.environ.get("STROM_TEST_KAFKA")
    if not kafka:
        pytest.skip("STROM_TEST_KAFKA is not set (host:port of an Apache Kafka broker to mirror into)")
    # The server only once there is something to do (a server stopped at once may not have
    # installed its SIGTERM handler yet).
    bootstrap = request.getfixturevalue("bootstrap")
    topic = unique_topic("to-kafka")
    create_topic(bootstrap, topic, 3)
    sent = produce_source(bootstrap, topic, 300, base_ts=1_670_000_000_000)
    p = subprocess.run(mirror_cmd(bootstrap, kafka, topic, unique_topic("m"), "--idle-exit-ms", "5000"),
                       capture_output=True, timeout=180)
    assert p.returncode == 0, p.stderr.decode()
    got = read_records(kafka, topic)
    assert check_mirrored(sent, got) == 0


# -- cross-client checks -------------------------------------------------------------------------


MURMUR_KEYS = [f"user-{i}" for i in range(150)] + [f"order/{i * 7919}" for i in range(40)] + [
    "a", "Z", "ключ", "🔑-emoji", "x" * 300, "tab\tand space", "0", "-1", "with=equals", "UPPER"]


def test_murmur2_same_partition_as_kafka_python_and_librdkafka(strom, bootstrap):
    partitions = 7
    topics = {c: unique_topic(f"m2-{c}") for c in ("strom", "kp", "ck")}
    for t in topics.values():
        create_topic(bootstrap, t, partitions)
    produce_lines(bootstrap, topics["strom"], [f"{k}:strom {k}" for k in MURMUR_KEYS], "--key-separator", ":")
    kp_produce(bootstrap, topics["kp"], [Msg(k, f"kp {k}") for k in MURMUR_KEYS])
    ck_produce(bootstrap, topics["ck"], [Msg(k, f"ck {k}") for k in MURMUR_KEYS])  # partitioner murmur2_random

    placed = {}
    for client, t in topics.items():
        recs = consume_json(bootstrap, t)
        assert len(recs) == len(MURMUR_KEYS), (client, len(recs))
        placed[client] = {r["key"]: r["partition"] for r in recs}
    assert len(set(placed["strom"].values())) == partitions, "keys must reach every partition"
    for k in MURMUR_KEYS:
        assert placed["strom"][k] == placed["kp"][k] == placed["ck"][k] == java_partition(k, partitions), (
            k, {c: p[k] for c, p in placed.items()})


def test_strom_and_kafka_python_share_a_group(strom, bootstrap, tmp_path):
    from kafka import KafkaConsumer
    from kafka.coordinator.assignors.range import RangePartitionAssignor

    topic = unique_topic("shared")
    create_topic(bootstrap, topic, 4)
    group = unique_topic("shared-g")
    stderr = open(tmp_path / "strom-consume.stderr", "wb")
    proc = subprocess.Popen(
        [str(strom_bin()), "consume", "-b", bootstrap, "--topic", topic, "--group", group, "--json",
         "--from-beginning", "--property", "partition.assignment.strategy=range",
         "--property", "session.timeout.ms=6000", "--property", "heartbeat.interval.ms=1000"],
        stdout=subprocess.PIPE, stderr=stderr)
    reader = LineReader(proc)
    kc = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                       partition_assignment_strategy=[RangePartitionAssignor], enable_auto_commit=True,
                       session_timeout_ms=6000, heartbeat_interval_ms=1000, fetch_max_wait_ms=100)
    kc.subscribe([topic])
    kp_values: list[tuple[int, str]] = []

    def poll_kp() -> None:
        for tp, records in kc.poll(timeout_ms=200).items():
            kp_values.extend((tp.partition, r.value.decode()) for r in records)

    try:
        def both_assigned():
            poll_kp()
            d = describe_group(bootstrap, group)
            shares = [m["assignment"].get(topic, []) for m in d["members"]]
            return d["state"] == "Stable" and len(shares) == 2 and all(shares) and kc.assignment() and d

        d = wait_until(both_assigned, 60, "both members to get partitions",
                       lambda: (tmp_path / "strom-consume.stderr").read_text())
        strom_member = next(m for m in d["members"] if m["client_id"] == "strom-consume")
        strom_share = set(strom_member["assignment"][topic])
        kp_share = {tp.partition for tp in kc.assignment()}
        assert strom_share and kp_share and not strom_share & kp_share and strom_share | kp_share == {0, 1, 2, 3}

        n = 400
        kp_produce(bootstrap, topic, [Msg(f"k{i}", f"v{i}") for i in range(n)])

        def all_consumed():
            poll_kp()
            return len(kp_values) + len(reader.lines) >= n

        wait_until(all_consumed, 60, f"{n} records between the two members",
                   lambda: f"kafka-python {len(kp_values)}, strom {len(reader.lines)}")
        time.sleep(1)  # anything beyond n would be a duplicate: give it a moment to show up
        poll_kp()
        strom_recs = [json.loads(l) for l in reader.lines]
        strom_values = [(r["partition"], r["value"]) for r in strom_recs]
        assert strom_values and kp_values, "both members must consume"
        assert {p for p, _ in strom_values} <= strom_share and {p for p, _ in kp_values} <= kp_share
        everything = [v for _, v in strom_values] + [v for _, v in kp_values]
        assert sorted(everything) == sorted(f"v{i}" for i in range(n)), "every record exactly once"
        print(f"shared group: strom consumed {len(strom_values)} from {sorted(strom_share)}, "
              f"kafka-python {len(kp_values)} from {sorted(kp_share)}")
    finally:
        rc = stop_process(proc, signal.SIGTERM)
        reader.join()
        stderr.close()
        kc.close()
    assert rc == 0, (tmp_path / "strom-consume.stderr").read_text()
    assert "interrupted" in (tmp_path / "strom-consume.stderr").read_text()


# -- bench -----------------------------------------------------------------------------------------


def test_bench_produce_consume_and_e2e_report_what_happened(strom):
    b = strom.bootstrap
    topic = unique_topic("bench")
    produced = json.loads(out(cli("bench", "produce", "--bootstrap", b, "--topic", topic,
                                  "--partitions", "2", "--records", "20000", "--record-size", "50",
                                  "--property", "acks=1", "--json")))
    assert produced["client"] == "strom" and produced["mode"] == "produce"
    assert produced["records"] == 20000 and produced["errors"] == 0
    assert produced["bytes"] == 20000 * 50 and produced["records_per_sec"] > 0
    assert 0 < produced["latency_ms_p50"] <= produced["latency_ms_p99"] <= produced["latency_ms_max"]
    # The records are really stored: kafka-python sees them all.
    assert sum(kp_high_watermarks(b, topic, 2).values()) == 20000

    consumed = json.loads(out(cli("bench", "consume", "--bootstrap", b, "--topic", topic,
                                  "--records", "20000", "--json")))
    assert consumed["records"] == 20000 and consumed["bytes"] == 20000 * 50

    # Fixed rate: 1500 records at 1000/s cannot finish in much under 1.5 s; latency is
    # measured from each record's scheduled send time to its arrival at the consumer.
    e2e = json.loads(out(cli("bench", "e2e", "--bootstrap", b, "--topic", f"{topic}-e2e",
                             "--records", "1500", "--throughput", "1000", "--json")))
    assert e2e["records"] == 1500 and e2e["errors"] == 0
    assert e2e["seconds"] >= 1.4
    assert 0 < e2e["latency_ms_p50"] <= e2e["latency_ms_max"]

    batched = json.loads(out(cli("bench", "produce", "--in-process", "--records", "30000",
                                 "--batch", "1000", "--json")))
    assert batched["client"] == "strom-in-process" and batched["records"] == 30000
    assert batched["errors"] == 0

    # Text output and a refused setting.
    text = out(cli("bench", "produce", "--bootstrap", b, "--topic", topic, "--records", "100"))
    assert re.search(r"produce \(strom\): 100 records in .* records/s", text), text
    bad = cli("bench", "produce", "--bootstrap", b, "--property", "linger.msec=1", ok=False)
    assert bad.returncode != 0 and "linger.msec" in err(bad)
