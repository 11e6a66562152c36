"""One broker, every client: a `strom.Broker` serving while kafka-python and confluent-kafka
produce and consume against it, next to strom's own in-process and TCP clients."""

from __future__ import annotations

import time
from pathlib import Path

import confluent_kafka
import kafka

import strom
from strom import TopicPartition


def test_kafka_python_and_confluent_kafka_against_an_embedded_broker(tmp_path: Path) -> None:
    with strom.Broker(str(tmp_path), group_initial_rebalance_delay_ms=0) as broker:
        addr = broker.serve("127.0.0.1:0")
        broker.create_topic("mixed", 3)

        # Produce from four clients.
        kp = kafka.KafkaProducer(bootstrap_servers=addr, acks="all")
        for i in range(10):
            kp.send("mixed", key=f"kp-{i}".encode(), value=b"from kafka-python").get(timeout=30)
        kp.close()
        cp = confluent_kafka.Producer({"bootstrap.servers": addr})
        delivered: list[object] = []
        for i in range(10):
            cp.produce("mixed", key=f"ck-{i}".encode(), value=b"from confluent-kafka",
                       on_delivery=lambda err, msg: delivered.append(err))
        assert cp.flush(30) == 0 and delivered == [None] * 10
        with strom.Producer(broker=broker) as sp:
            sp.send_batch("mixed", [(f"sp-{i}".encode(), b"from strom in-process") for i in range(10)]).wait(30)
        with strom.Producer(bootstrap_servers=addr) as st:
            st.send_batch("mixed", [(f"st-{i}".encode(), b"from strom over TCP") for i in range(10)]).wait(30)

        # Keys land on the same partitions from every client (Kafka's murmur2).
        with strom.Producer(broker=broker) as sp:
            assert sp.send("mixed", b"x", key=b"kp-3").result(10).partition == next(
                r.partition for r in read_strom(broker, 41) if r.key == b"kp-3")

        # Consume with each client; everyone sees all 41.
        expected = {b"from kafka-python", b"from confluent-kafka", b"from strom in-process",
                    b"from strom over TCP", b"x"}
        assert {r.value for r in read_strom(broker, 41)} == expected

        kc = kafka.KafkaConsumer("mixed", bootstrap_servers=addr, group_id="kp-group",
                                 auto_offset_reset="earliest", consumer_timeout_ms=5000)
        got = [m.value for m in kc]
        kc.close()
        assert len(got) == 41 and set(got) == expected

        cc = confluent_kafka.Consumer({"bootstrap.servers": addr, "group.id": "ck-group",
                                       "auto.offset.reset": "earliest"})
        cc.subscribe(["mixed"])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 41 and time.monotonic() < deadline:
            m = cc.poll(0.5)
            if m is not None and m.error() is None:
                got.append(m.value())
        cc.commit(asynchronous=False)
        cc.close()
        assert len(got) == 41 and set(got) == expected

        # The groups of the other clients are visible through strom's admin, lag 0.
        g = broker.consumer_group("ck-group")
        assert g.total_lag == 0 and sum(g.offsets.values()) == 41


def read_strom(broker: strom.Broker, n: int) -> list[strom.Record]:
    with strom.Consumer(broker=broker) as c:
        c.assign([TopicPartition("mixed", p) for p in range(3)])
        c.seek_to_beginning()
        out: list[strom.Record] = []
        deadline = time.monotonic() + 30
        while len(out) < n and time.monotonic() < deadline:
            out.extend(c.poll(0.5))
        return out
