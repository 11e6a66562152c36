#!/usr/bin/env python3
"""Helper for scripts/bench-python.sh (BENCHMARKS.md, "Python package").

Subcommands, each printing JSON lines like scripts/bench_client.py does:
  strom-produce BOOTSTRAP TOPIC RECORDS SIZE      strom.Producer.send per record, over TCP
  strom-consume BOOTSTRAP TOPIC RECORDS PARTITIONS strom.Consumer.poll, over TCP
  confluent-produce / confluent-consume            (scripts/bench_client.py's, same settings)
  embedded RECORDS SIZE                            send_batch, send and poll against a
                                                   strom.Broker in this process
  ready REPEATS                                    strom.Broker(tmp).serve() until it answers
  report FILE                                      medians and ratios as Markdown
Producer settings match the client benchmark: acks=1, linger.ms=5, batch.size=1048576.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_client  # noqa: E402  (confluent-kafka's runs, shared with the client benchmark)

PRODUCER = {"acks": 1, "linger_ms": 5, "batch_size": 1048576}
BATCH = 100_000


def emit(client: str, mode: str, records: int, seconds: float, errors: int = 0, **extra: object) -> None:
    print(json.dumps({"client": client, "mode": mode, "records": records, "seconds": seconds,
                      "records_per_sec": records / seconds if seconds else 0, "errors": errors,
                      **extra}), flush=True)


def end_offsets(admin, topic: str, partitions: int) -> int:  # type: ignore[no-untyped-def]
    found = admin.list_offsets({(topic, p): "latest" for p in range(partitions)})
    return sum(o.offset for o in found.values())


def strom_produce(bootstrap: str, topic: str, records: int, size: int) -> None:
    import strom
    value = b"x" * size
    with strom.Admin(bootstrap_servers=bootstrap) as admin:
        admin.create_topic(topic, 1)
        p = strom.Producer(bootstrap_servers=bootstrap, **PRODUCER)
        send = p.send
        start = time.monotonic()
        for _ in range(records):
            send(topic, value)
        p.flush()
        seconds = time.monotonic() - start
        p.close()
        emit("strom-py", "produce", records, seconds, records - end_offsets(admin, topic, 1))


def strom_consume(bootstrap: str, topic: str, records: int, partitions: int) -> None:
    import strom
    c = strom.Consumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    c.assign([(topic, p) for p in range(partitions)])
    c.seek_to_beginning()
    got, start, last = 0, None, time.monotonic()
    poll = c.poll
    while got < records and time.monotonic() - last < 10:
        batch = poll(0.5)
        for r in batch:
            if r.value is None:  # touch each record, as the confluent loop calls m.error()
                pass
        if batch:
            if start is None:
                start = time.monotonic()
            got += len(batch)
            last = time.monotonic()
    c.close()
    emit("strom-py", "consume", got, time.monotonic() - (start or time.monotonic()), records - got)


def embedded(records: int, size: int) -> None:
    import strom
    d = tempfile.mkdtemp(prefix="strom-bench-py-")
    try:
        with strom.Broker(d) as b:
            b.create_topic("batch", 1)
            b.create_topic("single", 1)
            # Distinct bytes objects, as an application's would be.
            values = [os.urandom(size) for _ in range(min(records, 1_000_000))]
            with strom.Producer(broker=b, **PRODUCER) as p:
                start = time.monotonic()
                sent = 0
                while sent < records:
                    n = min(BATCH, records - sent)
                    chunk = values[:n] if n <= len(values) else (values * (n // len(values) + 1))[:n]
                    p.send_batch("batch", chunk)
                    sent += n
                p.flush()
                seconds = time.monotonic() - start
            emit("strom-py", "send_batch in-process", records, seconds,
                 records - b.topic("batch").partitions[0].end_offset, batch=BATCH)
            single = records // 2
            with strom.Producer(broker=b, **PRODUCER) as p:
                send = p.send
                start = time.monotonic()
                for i in range(single):
                    send("single", values[i % len(values)])
                p.flush()
                seconds = time.monotonic() - start
            emit("strom-py", "send in-process", single, seconds,
                 single - b.topic("single").partitions[0].end_offset)
            with strom.Consumer(broker=b) as c:
                c.assign([("batch", 0)])
                c.seek_to_beginning()
                got = 0
                start = time.monotonic()
                while got < records:
                    batch = c.poll(5)
                    if not batch:
                        break
                    for r in batch:
                        if r.value is None:
                            pass
                    got += len(batch)
                emit("strom-py", "consume in-process", got, time.monotonic() - start, records - got)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def ready(repeats: int) -> None:
    import strom
    times = []
    for _ in range(repeats):
        d = tempfile.mkdtemp(prefix="strom-bench-ready-")
        start = time.perf_counter()
        b = strom.Broker(d)
        addr = b.serve("127.0.0.1:0")
        host, port = addr.rsplit(":", 1)
        socket.create_connection((host, int(port)), timeout=5).close()
        times.append((time.perf_counter() - start) * 1000)
        b.close()
        shutil.rmtree(d, ignore_errors=True)
    print(json.dumps({"client": "strom-py", "mode": "ready", "ms": times,
                      "ms_median": statistics.median(times), "ms_max": max(times)}), flush=True)


def report(path: str) -> None:
    rows: dict[tuple[str, str], list[float]] = {}
    ready_ms: list[float] = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["mode"] == "ready":
                ready_ms.extend(r["ms"])
                continue
            rows.setdefault((r["mode"], r["client"]), []).append(r["records_per_sec"])
    print("| mode | client | runs | records/s (median) | vs confluent-kafka |")
    print("|---|---|---|---|---|")
    for (mode, client), values in sorted(rows.items()):
        med = statistics.median(values)
        ref = rows.get((mode, "confluent-kafka"))
        ratio = f"{med / statistics.median(ref):.2f}x" if ref else "-"
        print(f"| {mode} | {client} | {len(values)} | {med:,.0f} | {ratio} |")
    if ready_ms:
        print(f"\n`strom.Broker(tmp).serve()` to first accepted connection: median "
              f"{statistics.median(ready_ms):.1f} ms, max {max(ready_ms):.1f} ms "
              f"({len(ready_ms)} fresh directories)")


def main() -> None:
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "report":
        return report(args[0])
    if cmd == "confluent-produce":
        return bench_client.confluent_produce(args[0], args[1], int(args[2]), int(args[3]), "none", "1")
    if cmd == "confluent-consume":
        return bench_client.confluent_consume(args[0], args[1], int(args[2]), int(args[3]))
    if cmd == "strom-produce":
        return strom_produce(args[0], args[1], int(args[2]), int(args[3]))
    if cmd == "strom-consume":
        return strom_consume(args[0], args[1], int(args[2]), int(args[3]))
    if cmd == "embedded":
        return embedded(int(args[0]), int(args[1]))
    if cmd == "ready":
        return ready(int(args[0]))
    raise SystemExit(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main()
