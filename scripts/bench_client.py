#!/usr/bin/env python3
"""Helper for scripts/bench-client.sh (BENCHMARKS.md, "Client").

Subcommands, each printing one JSON line like `strom bench --json` and rdkafka_bench do:
  confluent-produce BOOTSTRAP TOPIC RECORDS SIZE COMPRESSION ACKS
  confluent-consume BOOTSTRAP TOPIC RECORDS PARTITIONS
  kafka-python-produce / kafka-python-consume (same arguments)
  report FILE        medians per (mode, codec, client) and ratios to librdkafka, as Markdown
Producer settings match the other clients: linger.ms=5, batch.size=1048576.
"""

import json
import statistics
import sys
import time


def emit(client, mode, records, seconds, errors=0):
    print(json.dumps({"client": client, "mode": mode, "records": records, "seconds": seconds,
                      "records_per_sec": records / seconds if seconds else 0, "errors": errors}))


def confluent_produce(bootstrap, topic, records, size, compression, acks):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1048576,
                  "compression.codec": compression, "acks": acks,
                  "queue.buffering.max.messages": 1000000})
    value = b"x" * size
    failed = [0]

    def on_delivery(err, _msg):
        if err:
            failed[0] += 1

    start = time.monotonic()
    produce, poll = p.produce, p.poll
    i = 0
    while i < records:
        try:
            produce(topic, value, on_delivery=on_delivery)
            i += 1
        except BufferError:
            poll(0.001)
            continue
        if i % 1000 == 0:
            poll(0)
    p.flush(120)
    emit("confluent-kafka", "produce", records, time.monotonic() - start, failed[0])


def confluent_consume(bootstrap, topic, records, partitions):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-confluent",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got, start, last = 0, None, time.monotonic()
    while got < records and time.monotonic() - last < 10:
        msgs = c.consume(num_messages=10000, timeout=0.5)
        for m in msgs:
            if m.error() is None:
                if start is None:
                    start = time.monotonic()
                got += 1
        if msgs:
            last = time.monotonic()
    c.close()
    emit("confluent-kafka", "consume", got, time.monotonic() - (start or time.monotonic()),
         records - got)


def kafka_python_produce(bootstrap, topic, records, size, compression, acks):
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=1048576,
                      compression_type=None if compression == "none" else compression,
                      acks=int(acks) if acks != "all" else "all")
    value = b"x" * size
    start = time.monotonic()
    for _ in range(records):
        p.send(topic, value)
    p.flush()
    emit("kafka-python", "produce", records, time.monotonic() - start)
    p.close()


def kafka_python_consume(bootstrap, topic, records, partitions):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    got, start, last = 0, None, time.monotonic()
    while got < records and time.monotonic() - last < 10:
        batch = c.poll(timeout_ms=500, max_records=10000)
        n = min(sum(len(v) for v in batch.values()), records - got)
        if n:
            start = start or time.monotonic()
            got += n
            last = time.monotonic()
    c.close()
    emit("kafka-python", "consume", got, time.monotonic() - (start or time.monotonic()),
         records - got)


def report(path):
    rows = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            rows.setdefault((r["mode"], r.get("codec", "none"), r["client"]), []).append(
                r["records_per_sec"])
    print("| mode | codec | client | runs | records/s (median) | vs librdkafka |")
    print("|---|---|---|---|---|---|")
    for (mode, codec, client), values in sorted(rows.items()):
        med = statistics.median(values)
        ref = rows.get((mode, codec, "librdkafka"))
        ratio = f"{med / statistics.median(ref):.2f}x" if ref else "-"
        print(f"| {mode} | {codec} | {client} | {len(values)} | {med:,.0f} | {ratio} |")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "report":
        return report(args[0])
    fn = {"confluent-produce": confluent_produce, "confluent-consume": confluent_consume,
          "kafka-python-produce": kafka_python_produce,
          "kafka-python-consume": kafka_python_consume}[cmd]
    conv = [str, str, int, int, str, str] if cmd.endswith("produce") else [str, str, int, int]
    fn(*[c(a) for c, a in zip(conv, args)])


if __name__ == "__main__":
    main()
