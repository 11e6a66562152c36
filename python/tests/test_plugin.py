"""strom.testing: the pytest plugin's fixtures, used directly and from a fresh pytest run."""

from __future__ import annotations

import kafka

import strom


def test_kafka_bootstrap_serves_any_client(kafka_bootstrap: str, kafka_topic: str) -> None:
    producer = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(kafka_topic, b"from a test").get(timeout=30)
    producer.close()
    with strom.Consumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest") as c:
        c.assign([(kafka_topic, 0)])
        assert [r.value for r in c.poll(10)] == [b"from a test"]


def test_session_broker_is_shared(strom_broker: strom.Broker, kafka_bootstrap: str) -> None:
    assert strom_broker.listeners == [kafka_bootstrap]


def test_plugin_is_registered_by_the_package(pytester) -> None:  # type: ignore[no-untyped-def]
    # A project that only installed strom: no conftest, the entry point brings the fixture.
    pytester.makepyfile(
        """
        import confluent_kafka

        def test_roundtrip(kafka_bootstrap):
            p = confluent_kafka.Producer({"bootstrap.servers": kafka_bootstrap})
            p.produce("sample", b"hello")
            assert p.flush(30) == 0
            c = confluent_kafka.Consumer({"bootstrap.servers": kafka_bootstrap,
                                          "group.id": "sample", "auto.offset.reset": "earliest"})
            c.subscribe(["sample"])
            for _ in range(60):
                m = c.poll(0.5)
                if m is not None and m.error() is None:
                    break
            c.close()
            assert m.value() == b"hello"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
