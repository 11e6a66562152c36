"""strom: a Kafka-compatible commit log with a native Rust core.

One package for producers, consumers and admin against any Kafka cluster, and for an
embedded broker in this process (tests, notebooks, small services)::

    import strom

    with strom.Broker("./data") as broker:
        addr = broker.serve("127.0.0.1:0")          # any Kafka client can connect
        with strom.Producer(broker=broker) as p:     # or bootstrap_servers=addr
            p.send("events", b"hello", key=b"k").result(timeout=10)
        with strom.Consumer(broker=broker, group_id="g", auto_offset_reset="earliest",
                            consumer_timeout_ms=1000) as c:
            c.subscribe(["events"])
            for record in c:
                print(record.offset, record.value)

Errors are classes of :mod:`strom.errors`; :mod:`strom.aio` has the asyncio API and
:mod:`strom.testing` a pytest fixture (``kafka_bootstrap``) with a broker per session.
"""

from . import errors
from ._client import (
    BatchFuture,
    Broker,
    Consumer,
    DeliveryFuture,
    Producer,
    Record,
    RecordMetadata,
    Records,
)
from ._native import __version__
from ._types import TopicPartition
from .admin import (
    Admin,
    ClusterDescription,
    ConfigEntry,
    ConsumerGroup,
    GroupListing,
    ListedOffset,
    MemberDescription,
    PartitionInfo,
    TopicDescription,
)

__all__ = [
    "Admin",
    "BatchFuture",
    "Broker",
    "ClusterDescription",
    "ConfigEntry",
    "Consumer",
    "ConsumerGroup",
    "DeliveryFuture",
    "GroupListing",
    "ListedOffset",
    "MemberDescription",
    "PartitionInfo",
    "Producer",
    "Record",
    "RecordMetadata",
    "Records",
    "TopicDescription",
    "TopicPartition",
    "__version__",
    "errors",
]
