"""Helpers for the consumer-group and idempotence tests (test_groups.py, test_idempotence.py).

Group members run as their own processes so one can be SIGKILLed:

* kafka-python and confluent-kafka members: this file run as a script,
  `python grouplib.py kp|ck '<spec json>'` (see `_worker_main`);
* kafkajs members: `node node/group-consumer.js '<spec json>'`.

All three speak the same line protocol on stdout (one JSON event per line: `assigned`,
`revoked`, `batch` = records processed, `committed` = offsets committed after processing,
`commit_error`, `paused`, `stopped`, `error`) and take `pause` / `stop` on stdin. `Worker` is
the test-side handle; `BackgroundProducer` keeps producing with delivery reports; the
`*_describe_group(s)` / `*_group_offsets` / `*_high_watermarks` helpers put each client's admin
API answers into one shape so they compare directly.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"

# Every group member uses these unless a test says otherwise. 6000 ms is the broker's
# group.min.session.timeout.ms (and Kafka's).
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_MS = 1000


def wait_until(pred: Callable[[], object], timeout: float, what: str, detail: Callable[[], str] | None = None,
               interval: float = 0.1):
    """Polls `pred` until it returns something truthy (returned) or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


# -- group members as processes ----------------------------------------------------------------


class Worker:
    """One group member process (kp, ck or kjs) and what it reported."""

    def __init__(self, client: str, bootstrap: str, group: str, topic: str, log_dir: Path, name: str,
                 assigner: str = "default", session_timeout_ms: int = SESSION_TIMEOUT_MS,
                 heartbeat_ms: int = HEARTBEAT_MS, commit: dict[int, tuple[int, str]] | None = None,
                 metadata: str | None = None, instance_id: str | None = None):
        assert client in ("kp", "ck", "kjs"), client
        assert not (instance_id and client == "kjs"), "kafkajs has no static membership (group.instance.id)"
        self.client, self.name, self.topic, self.group = client, name, topic, group
        spec = {
            "brokers": [bootstrap],
            "bootstrap": bootstrap,
            "groupId": group,
            "topic": topic,
            "clientId": f"{name}-{client}",
            "assigner": assigner,
            "sessionTimeout": session_timeout_ms,
            "heartbeatInterval": heartbeat_ms,
            "metadata": metadata or name,
            "commit": {str(p): [o, m] for p, (o, m) in commit.items()} if commit else None,
            "instanceId": instance_id,
        }
        if client == "kjs":
            node = shutil.which("node")
            assert node, "node is not installed"
            cmd = [node, str(NODE_DIR / "group-consumer.js"), json.dumps(spec)]
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), client, json.dumps(spec)]
        self.stderr_path = log_dir / f"worker-{name}-{client}.stderr"
        env = dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1", PYTHONUNBUFFERED="1")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                         cwd=NODE_DIR if client == "kjs" else HERE, env=env)
        self.lock = threading.Lock()
        self.events: list[tuple[float, dict]] = []
        self.assignment: list[int] | None = None  # None: never assigned; [] after a revoke
        self.assign_no = 0
        self.assign_times: list[float] = []  # receive time of each `assigned` event
        self.member_id: str | None = None
        # (partition, offset, key, receive time, assignment number)
        self.consumed: list[tuple[int, int, str | None, float, int]] = []
        self.committed: dict[int, int] = {}
        self.commit_log: list[tuple[float, int, int]] = []  # (time, partition, next offset)
        self.errors: list[dict] = []
        self.killed = False
        self._reader = threading.Thread(target=self._read, name=f"worker-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue  # a line cut short by SIGKILL
            now = time.monotonic()
            with self.lock:
                self.events.append((now, ev))
                kind = ev.get("ev")
                if kind == "assigned":
                    self.assign_no += 1
                    self.assign_times.append(now)
                    self.assignment = sorted(ev["partitions"])
                    self.member_id = ev.get("member") or self.member_id
                elif kind == "revoked":
                    self.assignment = []
                elif kind == "batch":
                    for p, o, k in ev["recs"]:
                        self.consumed.append((p, o, k, now, self.assign_no))
                elif kind == "committed":
                    for p, o in ev["offsets"].items():
                        p = int(p)
                        self.committed[p] = max(self.committed.get(p, -1), o)
                        self.commit_log.append((now, p, o))
                elif kind in ("error", "commit_error"):
                    self.errors.append(ev)

    # -- state ------------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def current_assignment(self) -> list[int] | None:
        with self.lock:
            return None if self.assignment is None else list(self.assignment)

    def consumed_set(self) -> set[tuple[int, int]]:
        with self.lock:
            return {(p, o) for p, o, _k, _t, _a in self.consumed}

    def has_event(self, kind: str) -> bool:
        with self.lock:
            return any(e.get("ev") == kind for _t, e in self.events)

    def summary(self) -> str:
        with self.lock:
            n = len(self.consumed)
            tail = [e for _t, e in self.events if e.get("ev") != "batch"][-8:]
            errs = self.errors[-3:]
        return (f"worker {self.name}/{self.client} alive={self.alive} assignment={self.assignment} "
                f"consumed={n} committed={dict(sorted(self.committed.items()))} errors={errs} last events={tail}")

    def stderr_tail(self, n: int = 25) -> str:
        try:
            lines = self.stderr_path.read_text("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return f"--- {self.name}/{self.client} stderr (last lines) ---\n" + "\n".join(lines[-n:])

    # -- control ----------------------------------------------------------------------------------

    def _send(self, cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()

    def pause(self, timeout: float = 20) -> None:
        self._send("pause")
        wait_until(lambda: self.has_event("paused"), timeout, f"{self.name} to pause", self.summary)

    def stop(self, timeout: float = 40) -> None:
        """Clean close (LeaveGroup); fails unless the process exits 0 in time."""
        if not self.alive:
            raise AssertionError(f"{self.name} exited early with {self.proc.returncode}\n{self.stderr_tail()}")
        self._send("stop")
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"{self.name} did not stop within {timeout}s\n{self.summary()}\n{self.stderr_tail()}")
        self._reader.join(timeout=5)
        assert rc == 0, f"{self.name} exited {rc}\n{self.summary()}\n{self.stderr_tail()}"

    def wait_exit(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"{self.name} still running after {timeout}s\n{self.summary()}\n{self.stderr_tail()}")
        self._reader.join(timeout=5)
        return rc

    def kill9(self) -> None:
        if self.alive:
            self.killed = True
            self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=5)
        with self.lock:
            self.assignment = []

    def cleanup(self) -> None:
        if self.alive:
            self.kill9()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass


def assignment_problems(owners: dict[str, list[int] | None], partitions: int) -> str | None:
    """None if every partition 0..partitions-1 is owned by exactly one of `owners`, every owner
    has at least one (there are at least as many partitions as owners), else what is wrong."""
    seen: dict[int, str] = {}
    for name, parts in owners.items():
        if not parts:
            return f"{name} owns nothing ({parts})"
        for p in parts:
            if p in seen:
                return f"partition {p} owned by both {seen[p]} and {name}"
            seen[p] = name
    missing = sorted(set(range(partitions)) - set(seen))
    extra = sorted(set(seen) - set(range(partitions)))
    if missing or extra:
        return f"unowned partitions {missing}, unknown partitions {extra}: {owners}"
    return None


# -- a producer that keeps going -----------------------------------------------------------------


class BackgroundProducer:
    """confluent-kafka producer in a thread: message i goes to partition i % partitions with key
    "k<i>", acks=all, delivery reports recorded as {(partition, offset): key}."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, rate: float = 100.0, **extra):
        from confluent_kafka import Producer

        conf = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 30000,
            "socket.timeout.ms": 10000,
        }
        conf.update(extra)
        self.producer = Producer(conf)
        self.topic, self.partitions, self.rate = topic, partitions, rate
        self.acked: dict[tuple[int, int], str] = {}
        self.failed: list[tuple[str, str]] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bg-producer", daemon=True)
        self._thread.start()

    def _report(self, err, msg) -> None:
        key = msg.key().decode()
        if err is not None:
            self.failed.append((key, str(err)))
        else:
            self.acked[(msg.partition(), msg.offset())] = key

    def _run(self) -> None:
        interval = 1.0 / self.rate
        nxt = time.monotonic()
        while not self._stop.is_set():
            i = self.sent
            try:
                self.producer.produce(self.topic, key=f"k{i}".encode(), value=f"v{i}".encode(),
                                      partition=i % self.partitions, on_delivery=self._report)
                self.sent += 1
            except BufferError:
                pass
            self.producer.poll(0)
            nxt += interval
            delay = nxt - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                nxt = time.monotonic()

    def acked_count(self) -> int:
        return len(self.acked)

    def abort(self) -> None:
        """Stops producing without checking anything (the test already failed)."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.producer.flush(5)

    def stop(self, timeout: float = 40) -> dict[tuple[int, int], str]:
        """Stops producing, waits for every delivery report; fails on any undelivered message."""
        self._stop.set()
        self._thread.join(timeout=10)
        remaining = self.producer.flush(timeout)
        assert remaining == 0, f"{remaining} messages without a delivery report after {timeout}s"
        assert not self.failed, f"{len(self.failed)} deliveries failed, e.g. {self.failed[:5]}"
        assert len(self.acked) == self.sent, f"{self.sent} sent, {len(self.acked)} distinct (partition, offset) acks"
        return dict(self.acked)


# -- admin views in one shape --------------------------------------------------------------------
#
# describe -> {group: {"state": "stable"|"empty"|..., "protocol_type": str|None (None: not exposed),
#                      "protocol": str|None, "error": str|None,
#                      "members": [{"member_id", "client_id", "host", "instance_id", "partitions": {topic: [p...]}}]}}
# offsets  -> {partition: (offset, metadata)}


# Offset-commit metadata across clients. Two client-side quirks of confluent-kafka-python 2.16
# (not the broker's doing; kafka-python and kafkajs show the stored bytes as they are):
# * it commits metadata with the C string's terminating NUL (metadata_size = strlen + 1), so
#   kafka-python and kafkajs read back "<metadata>\x00";
# * it reads fetched metadata back as a NUL-terminated C string, but librdkafka's copy of the
#   partition list has no terminator when the committer did not send one, so metadata committed
#   by kafka-python or kafkajs comes out of confluent-kafka with trailing heap bytes, or raises
#   UnicodeDecodeError (CK_GARBLED below).
CK_GARBLED = "<metadata not decodable by confluent-kafka>"


def _ck_meta(tp) -> str | None:
    try:
        return tp.metadata
    except UnicodeDecodeError:
        return CK_GARBLED


def meta_ok(committer: str, viewer: str, got, want: str) -> bool:
    """Whether metadata `want` committed through client `committer` reads back as `got` through
    client `viewer` ("kp", "ck", "kjs"), allowing for the confluent-kafka quirks above."""
    if committer == "ck" and viewer != "ck":
        return got == want + "\x00"
    if committer != "ck" and viewer == "ck":
        return got == CK_GARBLED or (isinstance(got, str) and got.startswith(want))
    return got == want


def _state(s) -> str:
    return str(getattr(s, "name", s)).replace("_", "").replace("-", "").lower()


def ck_admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 15000})


def ck_list_groups(bootstrap: str, states: list[str] | None = None) -> dict[str, str]:
    """{group id: state} through AdminClient.list_consumer_groups (ListGroups v4+ states
    filter when `states` names ConsumerGroupState members, e.g. ["EMPTY"])."""
    from confluent_kafka import ConsumerGroupState

    admin = ck_admin(bootstrap)
    kw = {"states": {ConsumerGroupState[s] for s in states}} if states else {}
    res = admin.list_consumer_groups(request_timeout=15, **kw).result(timeout=20)
    assert not res.errors, f"confluent-kafka list_consumer_groups errors: {res.errors}"
    return {g.group_id: _state(g.state) for g in res.valid}


def ck_describe_groups(bootstrap: str, groups: list[str]) -> dict[str, dict]:
    admin = ck_admin(bootstrap)
    futs = admin.describe_consumer_groups(groups, request_timeout=15)
    out = {}
    for g, f in futs.items():
        d = f.result(timeout=20)
        members = []
        for m in d.members:
            parts: dict[str, list[int]] = {}
            for tp in (m.assignment.topic_partitions if m.assignment else []):
                parts.setdefault(tp.topic, []).append(tp.partition)
            members.append({"member_id": m.member_id, "client_id": m.client_id, "host": m.host,
                            "instance_id": m.group_instance_id,
                            "partitions": {t: sorted(v) for t, v in parts.items()}})
        out[g] = {"state": _state(d.state), "protocol": d.partition_assignor or None, "protocol_type": None,
                  "error": None, "simple": d.is_simple_consumer_group, "members": members}
    return out


def ck_group_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, tuple[int, str]]:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    admin = ck_admin(bootstrap)
    req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(partitions)])]
    res = admin.list_consumer_group_offsets(req, request_timeout=15)[group].result(timeout=20)
    out = {}
    for tp in res.topic_partitions:
        assert tp.error is None, f"confluent-kafka list_consumer_group_offsets {group} {tp}: {tp.error}"
        if tp.offset >= 0:
            out[tp.partition] = (tp.offset, _ck_meta(tp))
    return out


def ck_high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    admin = ck_admin(bootstrap)
    futs = admin.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in range(partitions)},
                              request_timeout=15)
    return {tp.partition: f.result(timeout=20).offset for tp, f in futs.items()}


def ck_committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, tuple[int, str]]:
    """Consumer.committed() of a confluent consumer in `group` that never joins it."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "socket.timeout.ms": 15000})
    try:
        res = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)
    finally:
        c.close()
    out = {}
    for tp in res:
        assert tp.error is None, f"confluent-kafka committed() {group} {tp}: {tp.error}"
        if tp.offset >= 0:
            out[tp.partition] = (tp.offset, _ck_meta(tp))
    return out


def kp_admin(bootstrap: str):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)


def kp_list_groups(bootstrap: str, states: list[str] | None = None) -> dict[str, dict]:
    admin = kp_admin(bootstrap)
    try:
        groups = admin.list_groups(states_filter=states) if states else admin.list_groups()
    finally:
        admin.close()
    return {g["group_id"]: g for g in groups}


def kp_describe_groups(bootstrap: str, groups: list[str]) -> dict[str, dict]:
    admin = kp_admin(bootstrap)
    try:
        raw = admin.describe_groups(groups)
    finally:
        admin.close()
    out = {}
    for g, d in raw.items():
        members = []
        for m in d.get("members", []):
            parts: dict[str, list[int]] = {}
            a = m.get("member_assignment")
            if a:
                for t, ps in _kp_assignment_topics(a):
                    parts.setdefault(t, []).extend(ps)
            members.append({"member_id": m["member_id"], "client_id": m.get("client_id"),
                            "host": m.get("client_host"), "instance_id": m.get("group_instance_id"),
                            "partitions": {t: sorted(v) for t, v in parts.items()}})
        out[g] = {"state": _state(d.get("group_state")), "protocol": d.get("protocol_data") or None,
                  "protocol_type": d.get("protocol_type"), "error": d.get("error"),
                  "members": members, "raw": d}
    return out


def _kp_assignment_topics(a) -> list[tuple[str, list[int]]]:
    """kafka-python's decoded ConsumerProtocolAssignment, as a dict or an object."""
    if isinstance(a, dict):
        items = a.get("assigned_partitions") or a.get("partitions") or []
        out = []
        for it in items:
            if isinstance(it, dict):
                out.append((it.get("topic"), list(it.get("partitions", []))))
            else:
                out.append((it[0], list(it[1])))
        return out
    if hasattr(a, "partitions") and callable(a.partitions):
        by: dict[str, list[int]] = {}
        for tp in a.partitions():
            by.setdefault(tp.topic, []).append(tp.partition)
        return list(by.items())
    return [(t, list(ps)) for t, ps in getattr(a, "assignment", [])]


def kp_group_offsets(bootstrap: str, group: str) -> dict[str, dict[int, tuple[int, str]]]:
    """{topic: {partition: (offset, metadata)}} through KafkaAdminClient.list_group_offsets."""
    admin = kp_admin(bootstrap)
    try:
        res = admin.list_group_offsets({group: None})
    finally:
        admin.close()
    out: dict[str, dict[int, tuple[int, str]]] = {}
    for tp, om in res[group].items():
        if om.offset >= 0:
            out.setdefault(tp.topic, {})[tp.partition] = (om.offset, om.metadata)
    return out


def kp_high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec

    admin = kp_admin(bootstrap)
    try:
        res = admin.list_partition_offsets({TopicPartition(topic, p): OffsetSpec.LATEST for p in range(partitions)})
    finally:
        admin.close()
    return {tp.partition: v.offset for tp, v in res.items()}


def kp_committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, tuple[int, str]]:
    """KafkaConsumer.committed(tp, metadata=True) of a consumer in `group` that never joins it."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                      request_timeout_ms=20000)
    try:
        out = {}
        for p in range(partitions):
            om = c.committed(TopicPartition(topic, p), metadata=True, timeout_ms=20000)
            if om is not None and om.offset >= 0:
                out[p] = (om.offset, om.metadata)
        return out
    finally:
        c.close(autocommit=False)


class KafkaJSAdminError(AssertionError):
    def __init__(self, message: str, error: dict | None):
        super().__init__(message)
        self.error = error or {}


def kjs_admin(bootstrap: str, steps: list[dict], timeout: float = 90) -> list:
    node = shutil.which("node")
    assert node, "node is not installed"
    proc = subprocess.run([node, str(NODE_DIR / "group-admin.js")],
                          input=json.dumps({"brokers": [bootstrap], "steps": steps}).encode(),
                          cwd=NODE_DIR, capture_output=True, timeout=timeout,
                          env=dict(os.environ, KAFKAJS_NO_PARTITIONER_WARNING="1"))
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    stderr = proc.stderr.decode("utf-8", "replace")
    try:
        out = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise AssertionError(f"group-admin.js exited {proc.returncode} without a result\n{lines}\n{stderr[-3000:]}")
    if not out["ok"]:
        raise KafkaJSAdminError(f"kafkajs admin step {out.get('step')} ({steps[out['step']] if out.get('step') is not None else ''}) "
                                f"failed: {json.dumps(out.get('error'))}\n{stderr[-3000:]}", out.get("error"))
    return out["results"]


def kjs_list_groups(bootstrap: str) -> dict[str, dict]:
    (res,) = kjs_admin(bootstrap, [{"op": "listGroups"}])
    return {g["groupId"]: g for g in res["groups"]}


def kjs_describe_groups(bootstrap: str, groups: list[str]) -> dict[str, dict]:
    (res,) = kjs_admin(bootstrap, [{"op": "describeGroups", "groupIds": groups}])
    out = {}
    for g in res:
        members = [{"member_id": m["memberId"], "client_id": m["clientId"], "host": m["clientHost"],
                    "instance_id": None,
                    "partitions": {t: sorted(ps) for t, ps in (m["assignment"] or {}).items()}}
                   for m in g["members"]]
        out[g["groupId"]] = {"state": _state(g["state"]), "protocol": g.get("protocol") or None,
                             "protocol_type": g.get("protocolType"),
                             "error": f"error code {g['errorCode']}" if g.get("errorCode") else None,
                             "members": members, "raw": g}
    return out


def kjs_group_offsets(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, str]]:
    (res,) = kjs_admin(bootstrap, [{"op": "fetchOffsets", "groupId": group, "topics": [topic]}])
    out = {}
    for t in res:
        assert t["topic"] == topic
        for p in t["partitions"]:
            if int(p["offset"]) >= 0:
                out[p["partition"]] = (int(p["offset"]), p.get("metadata"))
    return out


def kjs_high_watermarks(bootstrap: str, topic: str) -> dict[int, int]:
    (res,) = kjs_admin(bootstrap, [{"op": "fetchTopicOffsets", "topic": topic}])
    return {p["partition"]: int(p["high"]) for p in res}


# -- the member processes (`python grouplib.py kp|ck '<spec>'`) ---------------------------------


def _worker_main(client: str, spec: dict) -> int:
    out = sys.stdout
    lock = threading.Lock()

    def emit(ev: dict) -> None:
        with lock:
            out.write(json.dumps(ev) + "\n")
            out.flush()

    cmds: queue.Queue[str] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            cmds.put(line.strip())
        cmds.put("stop")  # the test process went away: leave the group and exit

    threading.Thread(target=read_stdin, daemon=True).start()
    topic = spec["topic"]
    prefix = spec["metadata"]
    commit_only = {int(p): (o, m) for p, (o, m) in spec["commit"].items()} if spec.get("commit") else None
    state = {"paused": False}

    if client == "kp":
        from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
        from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
        from kafka.structs import OffsetAndMetadata

        conf = dict(bootstrap_servers=spec["bootstrap"], group_id=spec["groupId"], client_id=spec["clientId"],
                    enable_auto_commit=False, auto_offset_reset="earliest",
                    session_timeout_ms=spec["sessionTimeout"], heartbeat_interval_ms=spec["heartbeatInterval"],
                    max_poll_records=200, fetch_max_wait_ms=200, request_timeout_ms=30000,
                    retry_backoff_ms=200, reconnect_backoff_max_ms=1000)
        if spec["assigner"] == "roundrobin":
            conf["partition_assignment_strategy"] = [RoundRobinPartitionAssignor]
        if spec.get("instanceId"):
            conf["group_instance_id"] = spec["instanceId"]
        c = KafkaConsumer(**conf)

        def member_id():
            try:
                return c._coordinator._generation.member_id
            except Exception:
                return None

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                emit({"ev": "revoked"})

            def on_partitions_assigned(self, assigned):
                emit({"ev": "assigned", "partitions": sorted(tp.partition for tp in assigned if tp.topic == topic),
                      "member": member_id()})

        c.subscribe([topic], listener=Listener())

        def assigned_parts():
            return {tp.partition for tp in c.assignment() if tp.topic == topic}

        def do_commit(offsets: dict[int, tuple[int, str]]) -> None:
            c.commit({TopicPartition(topic, p): OffsetAndMetadata(o, m, -1) for p, (o, m) in offsets.items()})

        def poll():
            recs = c.poll(timeout_ms=200)
            return [(tp.partition, r.offset, r.key) for tp, rs in recs.items() for r in rs]

        def pause():
            c.pause(*c.assignment())

        def close():
            c.close(autocommit=False)
    else:
        from confluent_kafka import Consumer, TopicPartition

        conf = {"bootstrap.servers": spec["bootstrap"], "group.id": spec["groupId"], "client.id": spec["clientId"],
                "enable.auto.commit": False, "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
                "session.timeout.ms": spec["sessionTimeout"], "heartbeat.interval.ms": spec["heartbeatInterval"],
                "fetch.wait.max.ms": 100, "socket.timeout.ms": 10000, "reconnect.backoff.max.ms": 1000}
        if spec["assigner"] == "roundrobin":
            conf["partition.assignment.strategy"] = "roundrobin"
        if spec.get("instanceId"):
            conf["group.instance.id"] = spec["instanceId"]
        c = Consumer(conf)

        def on_assign(consumer, parts):
            emit({"ev": "assigned", "partitions": sorted(tp.partition for tp in parts if tp.topic == topic),
                  "member": consumer.memberid()})

        def on_revoke(consumer, parts):
            emit({"ev": "revoked"})

        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

        def assigned_parts():
            return {tp.partition for tp in c.assignment() if tp.topic == topic}

        def do_commit(offsets: dict[int, tuple[int, str]]) -> None:
            c.commit(offsets=[TopicPartition(topic, p, o, metadata=m) for p, (o, m) in offsets.items()],
                     asynchronous=False)

        def poll():
            out = []
            for msg in c.consume(num_messages=200, timeout=0.2):
                if msg.error():
                    emit({"ev": "error", "where": "consume", "error": str(msg.error())})
                    continue
                out.append((msg.partition(), msg.offset(), msg.key()))
            return out

        def pause():
            c.pause(c.assignment())

        def close():
            c.close()

    while True:
        try:
            cmd = cmds.get_nowait()
        except queue.Empty:
            cmd = None
        if cmd == "stop":
            close()
            emit({"ev": "stopped"})
            return 0
        if cmd == "pause":
            state["paused"] = True
            pause()
            emit({"ev": "paused"})
        try:
            recs = poll()
        except Exception as e:  # noqa: BLE001 - reported, and the member keeps going
            emit({"ev": "error", "where": "poll", "error": repr(e)})
            time.sleep(0.2)
            continue
        if commit_only is not None:
            if set(commit_only) <= assigned_parts():
                try:
                    do_commit(commit_only)
                    emit({"ev": "committed", "offsets": {p: o for p, (o, _m) in commit_only.items()}})
                except Exception as e:  # noqa: BLE001
                    emit({"ev": "commit_error", "error": repr(e)})
                close()
                emit({"ev": "stopped"})
                return 0
            continue
        if state["paused"] or not recs:
            continue
        emit({"ev": "batch", "recs": [[p, o, None if k is None else k.decode()] for p, o, k in recs]})
        nxt: dict[int, int] = {}
        for p, o, _k in recs:
            nxt[p] = max(nxt.get(p, -1), o + 1)
        try:
            do_commit({p: (o, f"{prefix}:{p}:{o}") for p, o in nxt.items()})
            emit({"ev": "committed", "offsets": nxt})
        except Exception as e:  # noqa: BLE001 - e.g. a rebalance; the records come again
            emit({"ev": "commit_error", "error": repr(e)})


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1], json.loads(sys.argv[2])))
