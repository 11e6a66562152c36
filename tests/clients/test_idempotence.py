"""Idempotent producers across broker restarts: every acknowledged message exactly once.

An idempotent producer (confluent-kafka with enable.idempotence=true; kafka-python 3 with its
default enable_idempotence=True) sends values "0".."N-1" in order while the broker is killed
(SIGKILL) or stopped (SIGTERM) and restarted on the same data dir and port, with requests in
flight. The producer retries what it did not get an answer for; the broker must recognise a
retried batch that had already reached the log (its producer state is rebuilt on restart) and
answer with the original offsets instead of writing it twice. Afterwards everything is read back
by assignment from offset 0: each acknowledged sequence number appears exactly once, at its
acknowledged offset, in send order within its partition, and with retries and idempotence
every message is acknowledged.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from clientlib import ck_create_topic, ck_read_all, unique_topic

PARTITIONS = 3
KEYS = 11


def check_exactly_once(bootstrap: str, topic: str, total: int, acked: dict[int, tuple[int, int]],
                       failed: dict[int, str]) -> None:
    """acked: {seq: (partition, offset)} from delivery reports; failed: {seq: error}."""
    stored = ck_read_all(bootstrap, topic, PARTITIONS, timeout=90)
    where: dict[int, tuple[int, int]] = {}
    dups: list[tuple[int, tuple[int, int], tuple[int, int]]] = []
    for p, recs in stored.items():
        assert [r.offset for r in recs] == list(range(len(recs))), f"partition {p}: offsets not contiguous from 0"
        for r in recs:
            seq = int(r.value)
            assert 0 <= seq < total, f"partition {p} offset {r.offset}: a value nobody sent: {r.value!r}"
            assert r.key == f"k{seq % KEYS}", f"partition {p} offset {r.offset}: key {r.key!r} for {seq}"
            if seq in where:
                dups.append((seq, where[seq], (p, r.offset)))
            else:
                where[seq] = (p, r.offset)
    assert not dups, f"{len(dups)} sequence numbers stored twice (seq, first, second), e.g. {dups[:10]}"
    missing = sorted(s for s in acked if s not in where)
    assert not missing, f"{len(missing)} acknowledged sequence numbers lost, e.g. {missing[:10]}"
    moved = [(s, acked[s], where[s]) for s in acked if where[s] != acked[s]]
    assert not moved, f"{len(moved)} acknowledged messages not at their acknowledged offset, e.g. {moved[:10]}"
    # Idempotence keeps the send order within a partition, across retries.
    for p, recs in stored.items():
        seqs = [int(r.value) for r in recs]
        bad = [(a, b) for a, b in zip(seqs, seqs[1:]) if b <= a]
        assert not bad, f"partition {p}: sequence numbers out of send order, e.g. {bad[:5]}"
    assert not failed, f"{len(failed)} of {total} messages failed delivery despite retries, e.g. {list(failed.items())[:5]}"
    assert len(acked) == total, f"{total - len(acked)} messages without a delivery report"
    unacked_stored = sorted(set(where) - set(acked))
    assert not unacked_stored, f"stored but never acknowledged: {unacked_stored[:10]}"


def restart(strom, how: str) -> None:
    if how == "kill9":
        strom.kill9()
    else:
        strom.stop()
    time.sleep(0.5)  # the producer meets a refused connection for a moment, not just a reset
    assert strom.restart() == strom.bootstrap


class Restarter:
    """Runs restart() in a thread so the test's producing loop keeps going meanwhile."""

    def __init__(self, strom, how: str):
        self.strom, self.how = strom, how
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            restart(self.strom, self.how)
        except BaseException as e:  # noqa: BLE001 - re-raised by join()
            self.error = e

    def start(self) -> None:
        self.join()
        self.thread = threading.Thread(target=self._run, name="restarter", daemon=True)
        self.thread.start()

    def join(self, timeout: float = 60) -> None:
        if self.thread is not None:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), f"restart still running after {timeout}s"
            self.thread = None
        if self.error is not None:
            raise self.error


# -- confluent-kafka ---------------------------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["kill9", "sigterm"])
def test_confluent_idempotent_producer_across_restarts(strom, bootstrap, how):
    from confluent_kafka import Producer

    total = 6000
    restarts_at = [1200, 2600, 4000]  # after this many acknowledgements
    burst = 400  # sent right before each restart, so requests are in flight when it goes down
    topic = unique_topic(f"idem-ck-{how}")
    ck_create_topic(bootstrap, topic, PARTITIONS)
    stats: list[dict] = []
    fatal: list[str] = []
    p = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "batch.num.messages": 40,
        "message.timeout.ms": 120000,
        "socket.timeout.ms": 5000,
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 500,
        "partitioner": "murmur2_random",
        "statistics.interval.ms": 500,
        "stats_cb": lambda s: stats.append(json.loads(s)),
        "error_cb": lambda e: fatal.append(str(e)) if e.fatal() else None,
    })
    acked: dict[int, tuple[int, int]] = {}
    failed: dict[int, str] = {}

    def report(err, msg):
        seq = int(msg.value())
        if err is None:
            acked[seq] = (msg.partition(), msg.offset())
        else:
            failed[seq] = str(err)

    def send(seq: int) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                p.produce(topic, key=f"k{seq % KEYS}", value=str(seq), on_delivery=report)
                return
            except BufferError:
                assert time.monotonic() < deadline, "librdkafka's queue stayed full for 60s"
                p.poll(0.05)

    seq = 0
    in_flight: list[int] = []  # unacknowledged messages at each restart
    restarter = Restarter(strom, how)
    deadline = time.monotonic() + 180
    for target in restarts_at + [None]:
        while seq < total and (target is None or len(acked) < target):
            assert time.monotonic() < deadline, f"only {len(acked)} acks after 180s ({len(failed)} failed)"
            send(seq)
            seq += 1
            p.poll(0)
            while seq - len(acked) - len(failed) > 1000:  # keep the queue bounded
                assert time.monotonic() < deadline, f"only {len(acked)} acks after 180s ({len(failed)} failed)"
                p.poll(0.01)
        if target is None:
            break
        for _ in range(burst):
            if seq < total:
                send(seq)
                seq += 1
        p.poll(0)
        in_flight.append(seq - len(acked) - len(failed))
        restarter.start()  # and keep producing meanwhile; librdkafka queues and retries
    restarter.join()
    assert seq == total
    remaining = p.flush(150)
    assert remaining == 0, f"{remaining} messages without a delivery report after 150s"
    assert not fatal, f"librdkafka raised fatal errors: {fatal}"
    pids = {s.get("eos", {}).get("producer_id", -1) for s in stats}
    assert max(pids, default=-1) >= 0, f"librdkafka never got a producer id (InitProducerId): {pids}"
    print(f"confluent-kafka/{how}: unacknowledged at the restarts: {in_flight}")
    assert all(n > 0 for n in in_flight), f"nothing was in flight at a restart: {in_flight}"
    check_exactly_once(bootstrap, topic, total, acked, failed)


# -- kafka-python -----------------------------------------------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_kafka_python_idempotent_producer_across_restarts(strom, bootstrap, how):
    from kafka import KafkaProducer

    total = 3000
    restart_at = 1000
    burst = 300
    topic = unique_topic(f"idem-kp-{how}")
    ck_create_topic(bootstrap, topic, PARTITIONS)
    # enable_idempotence is left at kafka-python 3's default (True), which implies acks=all.
    assert KafkaProducer.DEFAULT_CONFIG["enable_idempotence"] is True
    prod = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, batch_size=4096, request_timeout_ms=5000,
                         retry_backoff_ms=100, reconnect_backoff_max_ms=500, max_block_ms=60000,
                         delivery_timeout_ms=120000)
    acked: dict[int, tuple[int, int]] = {}
    failed: dict[int, str] = {}
    lock = threading.Lock()

    def on_ok(seq):
        def cb(md):
            with lock:
                acked[seq] = (md.partition, md.offset)
        return cb

    def on_err(seq):
        def cb(exc):
            with lock:
                failed[seq] = repr(exc)
        return cb

    sent = 0
    errors: list[BaseException] = []
    burst_sent = threading.Event()

    def send(seq: int) -> None:
        nonlocal sent
        f = prod.send(topic, key=f"k{seq % KEYS}".encode(), value=str(seq).encode())
        f.add_callback(on_ok(seq))
        f.add_errback(on_err(seq))
        sent = seq + 1

    def produce_all():
        # Paced sends up to restart_at, a burst of `burst` sent at once (in flight when the
        # broker goes down), then paced sends again while it restarts and after.
        try:
            for seq in range(total):
                send(seq)
                if seq == restart_at + burst - 1:
                    burst_sent.set()
                elif not restart_at <= seq < restart_at + burst:
                    time.sleep(0.004)
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            errors.append(e)
        finally:
            burst_sent.set()

    t = threading.Thread(target=produce_all, name="kp-producer", daemon=True)
    t.start()
    try:
        assert burst_sent.wait(90), f"the producer thread did not reach the burst in 90s ({sent} sent)"
        assert not errors, f"send() raised: {errors[0]!r}"
        with lock:
            in_flight = sent - len(acked) - len(failed)
        restart(strom, how)
        t.join(timeout=120)
        assert not t.is_alive(), f"send() still blocked after 120s ({sent} sent)"
        assert not errors, f"send() raised: {errors[0]!r}"
        prod.flush(timeout=150)
        assert prod._transaction_manager is not None, "kafka-python producer is not idempotent"
        pid = prod._transaction_manager.producer_id_and_epoch.producer_id
        assert pid >= 0, f"kafka-python producer has no producer id: {pid}"
    finally:
        prod.close(timeout=20)
    assert in_flight > 0, "nothing was in flight at the restart"
    with lock:
        acked, failed = dict(acked), dict(failed)
    print(f"kafka-python/{how}: {in_flight} sent but unacknowledged at the restart")
    check_exactly_once(bootstrap, topic, total, acked, failed)
