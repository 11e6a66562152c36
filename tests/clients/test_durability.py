"""kill -9 under acks=all load: every acknowledged message survives, exactly once, in place.

confluent-kafka produces in a loop with delivery reports; the server is SIGKILLed while
requests are in flight, the producer's outstanding messages are left to time out while the
server is down (so no retry can land after the restart and legitimately duplicate), the server
is restarted on the same data dir and port, and the cycle repeats. At the end everything is read
back by assignment from offset 0.
"""

from __future__ import annotations

import time

from clientlib import Rec, ck_create_topic, ck_producer, ck_read_all, unique_topic

PARTITIONS = 3
ROUNDS = 2
ACKED_BEFORE_KILL = 1500
IN_FLIGHT_AT_KILL = 300


def produce_until_killed(strom, bootstrap: str, topic: str, round_no: int, kill: bool):
    p = ck_producer(
        bootstrap,
        "lz4",
        **{"linger.ms": 2, "message.timeout.ms": 5000, "socket.timeout.ms": 3000,
           "reconnect.backoff.max.ms": 500, "batch.num.messages": 50},
    )
    acked: list[Rec] = []
    failed: list[str] = []

    def report(err, msg):
        value = msg.value().decode()
        if err is None:
            acked.append(Rec(msg.partition(), msg.offset(), msg.key().decode(), value))
        else:
            failed.append(value)

    sent = 0
    deadline = time.monotonic() + 60
    target = ACKED_BEFORE_KILL if kill else 500
    while len(acked) < target:
        assert time.monotonic() < deadline, f"round {round_no}: only {len(acked)} acks in 60s"
        p.produce(topic, key=f"k{sent % 17}", value=f"r{round_no}-{sent}", on_delivery=report)
        sent += 1
        p.poll(0)
        while sent - len(acked) - len(failed) > 1000:  # keep the queue bounded
            assert time.monotonic() < deadline, f"round {round_no}: only {len(acked)} acks in 60s"
            p.poll(0.01)
    if kill:
        for _ in range(IN_FLIGHT_AT_KILL):
            p.produce(topic, key=f"k{sent % 17}", value=f"r{round_no}-{sent}", on_delivery=report)
            sent += 1
        p.poll(0)
        strom.kill9()
    remaining = p.flush(30)
    assert remaining == 0, f"round {round_no}: {remaining} messages without a delivery report after 30s"
    assert len(acked) + len(failed) == sent
    return acked, sent


def test_kill9_keeps_every_acked_message(strom, bootstrap):
    topic = unique_topic("durable")
    ck_create_topic(bootstrap, topic, PARTITIONS)
    acked: list[Rec] = []
    produced: set[str] = set()

    for round_no in range(ROUNDS):
        got, sent = produce_until_killed(strom, bootstrap, topic, round_no, kill=True)
        acked += got
        produced |= {f"r{round_no}-{i}" for i in range(sent)}
        assert strom.restart() == bootstrap
    # One more round on the recovered log, cleanly, to see it still appends where it should.
    got, sent = produce_until_killed(strom, bootstrap, topic, ROUNDS, kill=False)
    acked += got
    produced |= {f"r{ROUNDS}-{i}" for i in range(sent)}

    stored = ck_read_all(bootstrap, topic, PARTITIONS, timeout=60)
    where = {}
    for p, recs in stored.items():
        assert [r.offset for r in recs] == list(range(len(recs))), f"partition {p}: offsets not contiguous from 0"
        for r in recs:
            assert r.value in produced, f"partition {p} offset {r.offset}: a value nobody produced: {r.value!r}"
            assert r.value not in where, f"{r.value} stored twice: {where[r.value]} and {(p, r.offset)}"
            where[r.value] = (p, r.offset)
    missing = [r for r in acked if r.value not in where]
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    moved = [(r, where[r.value]) for r in acked if where[r.value] != (r.partition, r.offset)]
    assert not moved, f"acknowledged messages not at their acknowledged offset, e.g. {moved[:5]}"
    # Per partition, acknowledged messages keep their produce order.
    for p in range(PARTITIONS):
        seq = [(int(r.value.split("-")[0][1:]), int(r.value.split("-")[1])) for r in stored[p]]
        acked_here = {r.value for r in acked if r.partition == p}
        acked_seq = [s for s, r in zip(seq, stored[p]) if r.value in acked_here]
        assert acked_seq == sorted(acked_seq), f"partition {p}: acknowledged messages out of order"
