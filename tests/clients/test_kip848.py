"""Issue 15, the consumer group protocol (KIP-848, `group.protocol=consumer`): Apache Kafka
4.1's Java console consumer and librdkafka (confluent-kafka) as members of one consumer group
on `strom serve`; one member killed, its partitions move, no record skipped; the group seen
through ConsumerGroupDescribe (librdkafka's admin and `kafka-consumer-groups`).
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time

import confluent_kafka as ck
import pytest
from confluent_kafka.admin import AdminClient

from clientlib import Msg, ck_create_topic, ck_produce, unique_topic
from kafka_tools import PEER, kafka_tool

PARTITIONS = 6
SESSION_MS = 6000
LINE = re.compile(r"^Partition:(\d+)\tOffset:(\d+)\t(.*)$")


@pytest.fixture
def strom848(strom, monkeypatch):
    """`strom` with short consumer-protocol timeouts (Kafka's names, through STROM_*)."""
    monkeypatch.setenv("STROM_GROUP_CONSUMER_SESSION_TIMEOUT_MS", str(SESSION_MS))
    monkeypatch.setenv("STROM_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS", "500")
    strom.restart()
    return strom


class JavaConsumer:
    """Kafka's ConsoleConsumer as a group member, printing partition and offset per record."""

    def __init__(self, bootstrap: str, topic: str, group: str):
        self.seen: set[tuple[int, int]] = set()
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["bash", str(PEER), "tool", "org.apache.kafka.tools.consumer.ConsoleConsumer",
             "--bootstrap-server", bootstrap, "--topic", topic, "--group", group,
             "--consumer-property", "group.protocol=consumer", "--from-beginning",
             "--property", "print.partition=true", "--property", "print.offset=true"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            m = LINE.match(raw.decode("utf-8", "replace").rstrip("\n"))
            if m:
                with self.lock:
                    self.seen.add((int(m.group(1)), int(m.group(2))))

    def records(self) -> set[tuple[int, int]]:
        with self.lock:
            return set(self.seen)

    def kill(self) -> None:
        # The whole process group: bash and the JVM under it.
        try:
            import os

            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=20)


class RdkafkaConsumer(threading.Thread):
    """A librdkafka consumer with group.protocol=consumer, polling in a thread."""

    def __init__(self, bootstrap: str, topic: str, group: str):
        super().__init__(daemon=True)
        self.c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                              "auto.offset.reset": "earliest"})
        self.c.subscribe([topic])
        self.seen: set[tuple[int, int]] = set()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stop.is_set():
            m = self.c.poll(0.2)
            if m is None:
                continue
            if m.error():
                self.errors.append(str(m.error()))
                continue
            with self.lock:
                self.seen.add((m.partition(), m.offset()))
        self.c.close()

    def records(self) -> set[tuple[int, int]]:
        with self.lock:
            return set(self.seen)


def wait_for(pred, timeout: float, what: str, detail=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; {detail()}")


def describe(bootstrap: str, group: str):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.describe_consumer_groups([group])[group].result(timeout=20)


@pytest.mark.timeout(180)
def test_java_and_librdkafka_members_share_a_consumer_group_through_a_kill(strom848):
    bootstrap = strom848.bootstrap
    topic = unique_topic("kip848")
    group = unique_topic("g848")
    ck_create_topic(bootstrap, topic, PARTITIONS)
    want1 = {(p, o) for p in range(PARTITIONS) for o in range(50)}
    java_a = JavaConsumer(bootstrap, topic, group)
    java_b = JavaConsumer(bootstrap, topic, group)
    rd = RdkafkaConsumer(bootstrap, topic, group)
    members = [java_a, java_b, rd]
    try:
        def owned() -> list[list[int]]:
            d = describe(bootstrap, group)
            return [sorted(tp.partition for tp in m.assignment.topic_partitions) for m in d.members]

        # The three members settle on two partitions each (the uniform assignor).
        wait_for(lambda: sorted(len(ps) for ps in owned()) == [2, 2, 2], 90,
                 "three members with two partitions each", lambda: str(owned()))
        assert sorted(p for ps in owned() for p in ps) == list(range(PARTITIONS))
        d = describe(bootstrap, group)
        assert str(d.type).endswith("CONSUMER"), d.type
        phase1 = [Msg(key=None, value=f"a{i}", partition=i % PARTITIONS) for i in range(300)]
        ck_produce(bootstrap, topic, phase1)
        everyone = lambda: set().union(*(m.records() for m in members))  # noqa: E731
        wait_for(lambda: everyone() >= want1 and all(m.records() for m in members), 60,
                 "three members to read phase 1", lambda: f"{[len(m.records()) for m in members]} {owned()}")
        java_a.kill()
        phase2 = [Msg(key=None, value=f"b{i}", partition=i % PARTITIONS) for i in range(300)]
        ck_produce(bootstrap, topic, phase2)
        want2 = {(p, o) for p in range(PARTITIONS) for o in range(50, 100)}
        survivors = [java_b, rd]
        after = lambda: set().union(*(m.records() for m in survivors))  # noqa: E731
        wait_for(lambda: after() >= want2, 60, "the survivors to read phase 2, the killed member's partitions too",
                 lambda: f"missing {sorted(want2 - after())[:10]}; {describe(bootstrap, group)}")
        wait_for(lambda: sorted(p for ps in owned() for p in ps) == list(range(PARTITIONS))
                 and len(owned()) == 2, 30, "two members owning every partition", lambda: str(owned()))
        assert not rd.errors, rd.errors
        # `kafka-consumer-groups --describe` (ConsumerGroupDescribe) shows the two members.
        out = kafka_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--bootstrap-server",
                         bootstrap, "--describe", "--group", group, "--members")
        rows = [line for line in out.splitlines() if line.startswith(group)]
        assert len(rows) == 2, out
    finally:
        rd.stop.set()
        for m in (java_a, java_b):
            m.kill()
        rd.join(timeout=20)
