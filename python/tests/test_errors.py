"""Failures raise the strom.errors class of their Kafka error family, with a clear message."""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path

import pytest

import strom
from conftest import Target, unique
from strom import errors


def test_closed_producer(target: Target, topic: str) -> None:
    p = strom.Producer(**target.kw)
    p.close()
    with pytest.raises(errors.ClosedError, match="the producer is closed") as e:
        p.send(topic, b"late")
    assert e.value.code is None and not e.value.retriable
    with pytest.raises(errors.ClosedError):
        p.send_batch(topic, [b"late"])
    p.close()  # closing again is fine


def test_unknown_topic(target: Target, topic: str) -> None:
    missing = unique("missing")
    with pytest.raises(errors.UnknownTopicError) as e:
        target.admin().describe_topic(missing)
    assert e.value.code == 3 and e.value.name == "UNKNOWN_TOPIC_OR_PARTITION"
    assert "UNKNOWN_TOPIC_OR_PARTITION" in str(e.value) and e.value.retriable
    with pytest.raises(errors.UnknownTopicError, match=missing):
        target.admin().delete_topic(missing)
    with strom.Producer(**target.kw) as p:
        with pytest.raises(errors.UnknownTopicError, match="partition 5 of topic"):
            p.send(topic, b"x", partition=5)
    assert isinstance(e.value, errors.KafkaError) and isinstance(e.value, errors.StromError)


def test_unknown_topic_on_the_embedded_broker(broker: strom.Broker) -> None:
    with pytest.raises(errors.UnknownTopicError, match="nope"):
        broker.delete_topic("nope")
    with pytest.raises(errors.UnknownTopicError):
        broker.topic("nope")


@pytest.mark.parametrize("cls", ["Producer", "Consumer", "Admin"])
def test_bad_config_name(target: Target, cls: str) -> None:
    with pytest.raises(errors.ConfigError) as e:
        getattr(strom, cls)(**target.kw, linger_msec=5)
    message = str(e.value)
    assert "linger.msec" in message and "unknown" in message
    assert e.value.code == 40 and e.value.name == "INVALID_CONFIG"
    assert isinstance(e.value, ValueError)


def test_bad_config_value(target: Target) -> None:
    with pytest.raises(errors.ConfigError, match="compression.type"):
        strom.Producer(**target.kw, compression_type="brotli")
    with pytest.raises(errors.ConfigError, match="enable.idempotence"):
        strom.Producer(**target.kw, acks=1, enable_idempotence=True)
    with pytest.raises(TypeError, match="linger.ms"):
        strom.Producer(**target.kw, linger_ms={"a": 1})
    with pytest.raises(errors.ConfigError, match="bootstrap.servers"):
        strom.Producer()


def test_oversized_record(target: Target, topic: str) -> None:
    with strom.Producer(**target.kw, max_request_size=10_000) as p:
        with pytest.raises(errors.MessageTooLargeError) as e:
            p.send(topic, b"x" * 20_000)
        assert e.value.code == 10 and e.value.name == "MESSAGE_TOO_LARGE"
        assert "max.request.size=10000" in str(e.value)
        # Within the client's limit but over the topic's max.message.bytes: the broker refuses.
        small = target.create_topic(**{"max.message.bytes": "2000"})
        with pytest.raises(errors.MessageTooLargeError):
            p.send(small, b"y" * 5000).result(20)
        failed = p.send(small, b"y" * 5000)
        assert isinstance(failed.exception(20), errors.MessageTooLargeError)
        assert "failed" in repr(failed)
        assert p.send(topic, b"fits").result(20).offset == 0


def test_topic_exists_and_invalid_names(broker: strom.Broker) -> None:
    broker.create_topic("t")
    with pytest.raises(errors.TopicExistsError, match='"t" already exists') as e:
        broker.create_topic("t")
    assert e.value.code == 36
    with pytest.raises(errors.InvalidTopicError):
        broker.create_topic("bad name!")
    with pytest.raises(errors.PartitionsError):
        broker.create_topic("zero", 0)


def test_network_error_and_timeout() -> None:
    with pytest.raises((errors.NetworkError, errors.TimeoutError)) as e:
        strom.Admin(bootstrap_servers="127.0.0.1:1", default_api_timeout_ms=1500,
                    socket_connection_setup_timeout_ms=500)
    assert e.value.retriable
    assert isinstance(e.value, (ConnectionError, builtins.TimeoutError))


def test_delivery_timeout_is_a_timeout_error(broker: strom.Broker) -> None:
    broker.create_topic("t")
    with strom.Producer(broker=broker, linger_ms=60_000) as p:
        p.partitions_for("t")
        f = p.send("t", b"x")
        with pytest.raises(errors.TimeoutError) as e:
            f.result(timeout=0.05)
        assert isinstance(e.value, builtins.TimeoutError)
        assert e.value.code == 7


def test_hierarchy_and_codes() -> None:
    assert errors.error_for_code(3) is errors.UnknownTopicError
    assert errors.error_for_code(27) is errors.RebalanceInProgressError
    assert errors.error_for_code(25) is errors.GroupError
    assert errors.error_for_code(9999) is errors.KafkaError
    e = errors.RebalanceInProgressError("rebalancing")
    assert (e.code, e.name, e.retriable) == (27, "REBALANCE_IN_PROGRESS", True)
    assert isinstance(e, errors.GroupError)
    copy = pickle.loads(pickle.dumps(errors.UnknownTopicError("x", 3, True)))
    assert (type(copy), copy.code, str(copy)) == (errors.UnknownTopicError, 3, "x")
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.StromError)


def test_illegal_state(broker: strom.Broker) -> None:
    with strom.Consumer(broker=broker) as c:
        with pytest.raises(errors.IllegalStateError, match="group.id"):
            c.commit()
        with pytest.raises(errors.IllegalStateError, match="not assigned"):
            c.position(("t", 0))


def test_invalid_arguments(broker: strom.Broker, tmp_path: Path) -> None:
    broker.create_topic("t")
    with strom.Producer(broker=broker) as p:
        with pytest.raises(errors.InvalidArgumentError, match="partition must be"):
            p.send("t", b"x", partition=-2)
        with pytest.raises(errors.InvalidArgumentError, match="header"):
            p.send("t", b"x", headers=[("only-name",)])
        with pytest.raises(errors.InvalidArgumentError, match="pairs"):
            p.send_batch("t", [(b"k", b"v", b"extra")])
    with strom.Consumer(broker=broker) as c:
        with pytest.raises(TypeError, match="TopicPartition"):
            c.assign(["t"])  # type: ignore[list-item]
