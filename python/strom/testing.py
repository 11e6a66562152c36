"""pytest plugin: a Kafka broker for your test session, in-process, without Docker or a JVM.

Installed with the package (entry point ``pytest11``), so after ``pip install strom`` any
test can ask for:

``kafka_bootstrap`` (session)
    ``"127.0.0.1:PORT"`` of an embedded strom broker serving the Kafka protocol, for any
    Kafka client (kafka-python, confluent-kafka, aiokafka, strom's own).
``strom_broker`` (session)
    The :class:`strom.Broker` behind it, to create topics or attach in-process clients.
``kafka_topic`` (function)
    A fresh topic name (created, 1 partition) for one test.

The broker lives in a temporary directory for the session, with
``group.initial.rebalance.delay.ms=0`` so consumer groups form at once. Set
``STROM_TEST_BROKER_CONFIG`` to extra ``name=value`` pairs (comma-separated) to change
settings, e.g. ``num.partitions=3``.

To disable the plugin: ``pytest -p no:strom``.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

from ._client import Broker

__all__ = ["kafka_bootstrap", "strom_broker", "kafka_topic", "broker_config"]


def broker_config() -> dict[str, str]:
    """The session broker's settings: test-friendly defaults plus STROM_TEST_BROKER_CONFIG."""
    config = {"group.initial.rebalance.delay.ms": "0"}
    extra = os.environ.get("STROM_TEST_BROKER_CONFIG", "")
    for item in filter(None, (s.strip() for s in extra.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise pytest.UsageError(f"STROM_TEST_BROKER_CONFIG: {item!r} is not name=value")
        config[name.strip()] = value.strip()
    return config


@pytest.fixture(scope="session")
def strom_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """An embedded strom broker for the test session."""
    broker = Broker(str(tmp_path_factory.mktemp("strom-broker")), broker_config())
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(strom_broker: Broker) -> str:
    """The bootstrap address ("127.0.0.1:PORT") of the session's broker."""
    return strom_broker.serve("127.0.0.1:0")


@pytest.fixture
def kafka_topic(strom_broker: Broker) -> str:
    """A new topic (one partition) for this test; its name is returned."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    strom_broker.create_topic(name, 1)
    return name
