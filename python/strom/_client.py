"""The public classes over ``strom._native``: context managers, notebook tables and the
description types. The hot paths (``send``, ``poll``, iteration) are the native methods
themselves, inherited without a Python layer in between."""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Union

from . import _html
from . import _native
from ._types import TopicPartition
from .admin import Admin, ConsumerGroup, GroupListing, TopicDescription, _topic

__all__ = ["Broker", "Producer", "Consumer", "Records", "Record", "RecordMetadata",
           "DeliveryFuture", "BatchFuture"]

Record = _native.Record
RecordMetadata = _native.RecordMetadata
DeliveryFuture = _native.DeliveryFuture
BatchFuture = _native.BatchFuture


class Broker(_native.Broker):
    """An embedded Kafka-compatible broker in this process, storing its data in ``path``.

    ``strom.Broker("./data")`` opens (or creates) the directory; clients attach with
    ``strom.Producer(broker=b)`` (no sockets) and :meth:`serve` opens a Kafka listener any
    Kafka client can use. Broker settings by Kafka's names as a dict or keywords:
    ``num_partitions``, ``auto_create_topics_enable``, ``group_initial_rebalance_delay_ms``
    (Kafka's 3000 by default; 0 suits tests), ``group_min_session_timeout_ms``, ...

    A context manager: leaving the ``with`` block closes it.
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], config: Optional[Mapping[str, Any]] = None,
                 **kwargs: Any) -> None:
        # The native __new__ opened the broker.
        self._admin: Optional[Admin] = None

    def __enter__(self) -> "Broker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_topic(self, name: str, partitions: Optional[int] = None,  # type: ignore[override]
                     config: Optional[Mapping[str, Any]] = None) -> TopicDescription:
        """Creates a topic (``partitions=None``: ``num.partitions``) with config overrides
        (``{"retention.ms": 60000}``). Raises TopicExistsError when it exists."""
        return _topic(super().create_topic(name, partitions, config))

    def topics(self, internal: bool = False) -> list[TopicDescription]:  # type: ignore[override]
        """Every topic (``internal=True``: ``__consumer_offsets`` too), with the offsets and
        sizes of its partitions."""
        return [_topic(t) for t in super().topics() if internal or not t["internal"]]

    def topic(self, name: str) -> TopicDescription:  # type: ignore[override]
        """One topic, with the offsets and sizes of its partitions; raises UnknownTopicError."""
        return _topic(super().topic(name))

    def admin(self) -> Admin:
        """An admin client attached to this broker (one, made on first use)."""
        if self._admin is None:
            self._admin = Admin(broker=self)
        return self._admin

    def consumer_groups(self) -> list[GroupListing]:
        return self.admin().list_groups()

    def consumer_group(self, group_id: str) -> ConsumerGroup:
        """A consumer group with its members, committed offsets and lag."""
        return self.admin().describe_group(group_id)

    def close(self) -> None:
        """Stops the listeners, flushes and closes the broker; clients attached to it fail
        with ClosedError afterwards. Closing again does nothing."""
        admin, self._admin = self._admin, None
        if admin is not None:
            admin.close()
        super().close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self.listeners)} listener(s)"
        return f"<strom.Broker {self.path!r} {state}>"

    def _repr_html_(self) -> str:
        if self.closed:
            return _html.titled("strom broker", "", f"{self.path} (closed)")
        rows = [
            (t.name, len(t.partitions), t.records if t.records is not None else "",
             _html.size(t.size_bytes), ", ".join(f"{k}={v}" for k, v in sorted(t.config.items())))
            for t in self.topics()
        ]
        body = _html.table(["topic", "partitions", "records", "size", "config"], rows)
        note = self.path
        if self.listeners:
            note += " · serving on " + ", ".join(self.listeners)
        return _html.titled("strom broker", body, note)


class Producer(_native.Producer):
    """A Kafka producer for ``bootstrap_servers`` (any Kafka cluster) or an embedded
    ``broker``, configured with Kafka's producer settings as a dict (``{"linger.ms": 5}``) or
    keywords (``linger_ms=5``, ``acks="all"``, ``compression_type="zstd"``).

    ``send(topic, value, key=None, partition=None, headers=None, timestamp=None)`` returns a
    :class:`DeliveryFuture` (``.result(timeout)`` gives the :class:`RecordMetadata`);
    ``send_batch(topic, values_or_pairs)`` queues many at once; ``flush()``; a context
    manager whose exit flushes and closes.
    """

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<strom.Producer>"


class Records(list):
    """The records of one ``poll``: a list of :class:`Record` that renders as a table in
    notebooks."""

    #: Rows shown by ``_repr_html_``.
    html_rows = 50

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        got = super().__getitem__(index)
        return Records(got) if isinstance(index, slice) else got

    def _repr_html_(self) -> str:
        shown = self[: self.html_rows]
        rows = [
            (_html.esc(r.topic), r.partition, r.offset, _html.esc(_html.timestamp(r.timestamp)),
             _html.show_bytes(r.key), _html.show_bytes(r.value),
             _html.esc(", ".join(f"{k}={v!r}" for k, v in r.headers)))
            for r in shown
        ]
        body = _html.table(["topic", "partition", "offset", "timestamp", "key", "value", "headers"],
                           rows, raw=True)
        note = f"{len(self)} record(s)"
        if len(self) > len(shown):
            note += f", first {len(shown)} shown"
        return _html.titled("records", body, note)


class Consumer(_native.Consumer):
    """A Kafka consumer for ``bootstrap_servers`` or an embedded ``broker``, configured with
    Kafka's consumer settings (``group_id="g"``, ``auto_offset_reset="earliest"``, ...).

    ``subscribe(topics, on_assign=..., on_revoke=...)`` joins the group; ``assign(partitions)``
    reads given partitions; ``poll(timeout)`` returns :class:`Records`; iterating yields one
    :class:`Record` at a time (forever, or until ``consumer_timeout_ms`` passes without a
    record). ``commit()``, ``seek()``, ``position()``, ``close()``; a context manager whose
    exit closes (committing with auto-commit and leaving the group).
    """

    def __enter__(self) -> "Consumer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def poll(self, timeout: Optional[float] = None,  # type: ignore[override]
             max_records: Optional[int] = None) -> Records:
        """Records fetched since the last call (at most ``max_records`` and
        ``max.poll.records``), waiting up to ``timeout`` seconds for some (None: until there
        are some). Records fetched beyond them stay in the consumer for the next call."""
        return Records(super().poll(timeout, max_records))

    def assignment(self) -> list[TopicPartition]:  # type: ignore[override]
        return list(super().assignment())

    def __repr__(self) -> str:
        return "<strom.Consumer>"

