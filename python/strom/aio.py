"""strom for asyncio: ``Producer``, ``Consumer`` and ``Admin`` whose waits are awaitables.

How they wait, so that the event loop never blocks on the network:

- Native asyncio futures (no thread per call): ``Producer.send`` (queued at once when the
  record fits, else awaited on strom's runtime), awaiting a :class:`strom.DeliveryFuture` or
  :class:`strom.BatchFuture`, ``Producer.flush``/``close``, ``Consumer.poll``, iteration
  (``async for``), ``Consumer.commit``/``close`` and every ``Admin`` call. These run on the
  module's tokio runtime (through ``pyo3-async-runtimes``) and resolve the asyncio future on
  the loop; cancelling the awaiting task cancels the Rust side (a flush or close goes on to
  completion in the background).
- An executor thread (``loop.run_in_executor``, the GIL released inside): the rarer consumer
  calls (``position``, ``committed``, ``seek_to_beginning``/``end``, offsets queries,
  ``unsubscribe``), ``Producer.send_batch`` (it reads the records' bytes in place, which an
  executor call allows) and creating an ``Admin`` (it fetches metadata).
- Called directly (they only change local state): ``subscribe``, ``assign``, ``seek``,
  ``pause``, ``resume``, ``assignment``.

A consumer is one object for one task at a time: do not run two of its calls concurrently.
Rebalance callbacks (``on_assign`` ...) are plain functions; they run on a strom runtime
thread with the GIL held, during ``poll``.

Example::

    async with strom.aio.Producer(bootstrap_servers=addr) as p:
        meta = await p.send_and_wait("events", b"hello")
    async with strom.aio.Consumer(bootstrap_servers=addr, group_id="g",
                                  auto_offset_reset="earliest") as c:
        c.subscribe(["events"])
        async for record in c:
            ...
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, AsyncIterator, Callable, Iterable, Mapping, Optional, TypeVar

from . import _native
from ._client import Broker, Consumer as _SyncConsumer, Producer as _SyncProducer, Records
from ._native import BatchFuture, DeliveryFuture, Record, RecordMetadata
from ._types import TopicPartition
from .admin import (
    ClusterDescription,
    ConfigEntry,
    ConsumerGroup,
    GroupListing,
    ListedOffset,
    TopicDescription,
    _dynamic,
    _group,
    _topic,
)
from .admin import Admin as _SyncAdmin

__all__ = ["Producer", "Consumer", "Admin"]

T = TypeVar("T")


async def _in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))


class Producer:
    """The asyncio face of :class:`strom.Producer` (same arguments)."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None, *,
                 bootstrap_servers: Any = None, broker: Optional[Broker] = None, **kwargs: Any) -> None:
        self._p = _SyncProducer(config, bootstrap_servers=bootstrap_servers, broker=broker, **kwargs)

    @property
    def sync(self) -> _SyncProducer:
        """The blocking producer underneath."""
        return self._p

    async def send(self, topic: str, value: Any = None, key: Any = None, partition: Optional[int] = None,
                   headers: Any = None, timestamp: Optional[int] = None) -> DeliveryFuture:
        """Queues a record; returns its :class:`strom.DeliveryFuture` (await it for the
        metadata)."""
        fut = self._p.try_send(topic, value, key, partition, headers, timestamp)
        if fut is None:
            fut = await self._p.send_async(topic, value, key, partition, headers, timestamp)
        return fut

    async def send_and_wait(self, topic: str, value: Any = None, key: Any = None,
                            partition: Optional[int] = None, headers: Any = None,
                            timestamp: Optional[int] = None) -> RecordMetadata:
        """Sends a record and waits for its delivery."""
        fut = await self.send(topic, value, key, partition, headers, timestamp)
        return await fut

    async def send_batch(self, topic: str, records: Iterable[Any],
                         partition: Optional[int] = None) -> BatchFuture:
        """Queues many records (values or (key, value) pairs); await the result for their
        metadata."""
        return await _in_thread(self._p.send_batch, topic, records, partition)

    async def flush(self) -> None:
        await self._p.flush_async()

    async def close(self) -> None:
        await self._p.close_async()

    async def __aenter__(self) -> "Producer":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Consumer:
    """The asyncio face of :class:`strom.Consumer` (same arguments, including
    ``consumer_timeout_ms`` to end ``async for`` after that long without a record)."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None, *,
                 bootstrap_servers: Any = None, broker: Optional[Broker] = None, **kwargs: Any) -> None:
        self._c = _SyncConsumer(config, bootstrap_servers=bootstrap_servers, broker=broker, **kwargs)
        timeout_ms = kwargs.get("consumer_timeout_ms", (config or {}).get("consumer.timeout.ms"))
        self._iter_timeout = None if timeout_ms is None else float(timeout_ms) / 1000.0

    @property
    def sync(self) -> _SyncConsumer:
        """The blocking consumer underneath."""
        return self._c

    def subscribe(self, topics: Any = None, *, pattern: Optional[str] = None,
                  on_assign: Optional[Callable[[list[TopicPartition]], Any]] = None,
                  on_revoke: Optional[Callable[[list[TopicPartition]], Any]] = None,
                  on_lost: Optional[Callable[[list[TopicPartition]], Any]] = None) -> None:
        self._c.subscribe(topics, pattern=pattern, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)

    def assign(self, partitions: Iterable[Any]) -> None:
        self._c.assign(list(partitions))

    def assignment(self) -> list[TopicPartition]:
        return self._c.assignment()

    def subscription(self) -> list[str]:
        return self._c.subscription()

    def seek(self, partition: Any, offset: int) -> None:
        self._c.seek(partition, offset)

    def pause(self, partitions: Iterable[Any]) -> None:
        self._c.pause(list(partitions))

    def resume(self, partitions: Iterable[Any]) -> None:
        self._c.resume(list(partitions))

    def paused(self) -> list[TopicPartition]:
        return self._c.paused()

    async def poll(self, timeout: Optional[float] = None, max_records: Optional[int] = None) -> Records:
        """The next records (at most ``max_records``), waiting up to ``timeout`` seconds
        (None: until there are some)."""
        return Records(await self._c.poll_async(timeout, max_records))

    def __aiter__(self) -> AsyncIterator[Record]:
        return self

    async def __anext__(self) -> Record:
        # One record at a time from the core, which keeps the rest fetched: commits cover
        # exactly what was handed out. Fetched records are taken without awaiting.
        ready = self._c.take_fetched(1)
        if ready:
            return ready[0]
        records = await self._c.poll_async(self._iter_timeout, 1)
        if not records:
            raise StopAsyncIteration
        return records[0]

    async def commit(self, offsets: Any = None) -> None:
        """Commits the positions (after the records handed out), or ``offsets``
        ({TopicPartition: next offset}), or the offset after a Record."""
        await self._c.commit_async(offsets)

    async def committed(self, partitions: Iterable[Any]) -> dict[TopicPartition, Optional[int]]:
        return await _in_thread(self._c.committed, list(partitions))

    async def position(self, partition: Any) -> int:
        return await _in_thread(self._c.position, partition)

    async def seek_to_beginning(self, partitions: Optional[Iterable[Any]] = None) -> None:
        await _in_thread(self._c.seek_to_beginning, None if partitions is None else list(partitions))

    async def seek_to_end(self, partitions: Optional[Iterable[Any]] = None) -> None:
        await _in_thread(self._c.seek_to_end, None if partitions is None else list(partitions))

    async def beginning_offsets(self, partitions: Iterable[Any]) -> dict[TopicPartition, int]:
        return await _in_thread(self._c.beginning_offsets, list(partitions))

    async def end_offsets(self, partitions: Iterable[Any]) -> dict[TopicPartition, int]:
        return await _in_thread(self._c.end_offsets, list(partitions))

    async def offsets_for_times(self, query: Mapping[Any, int]) -> dict[TopicPartition, Optional[tuple[int, int]]]:
        return await _in_thread(self._c.offsets_for_times, dict(query))

    async def list_topics(self) -> list[str]:
        return await _in_thread(self._c.list_topics)

    async def unsubscribe(self) -> None:
        await _in_thread(self._c.unsubscribe)

    async def close(self) -> None:
        """Commits (with auto-commit), leaves the group and stops."""
        await self._c.close_async()

    async def __aenter__(self) -> "Consumer":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Admin:
    """The asyncio face of :class:`strom.Admin` (same arguments). Connects on first use
    (``await admin.connect()`` to do it up front)."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None, *,
                 bootstrap_servers: Any = None, broker: Optional[Broker] = None, **kwargs: Any) -> None:
        self._args = (config,)
        self._kwargs = dict(kwargs, bootstrap_servers=bootstrap_servers, broker=broker)
        self._admin: Optional[_SyncAdmin] = None
        self._lock = asyncio.Lock()

    async def connect(self) -> _SyncAdmin:
        """Connects (once); answers the blocking admin client underneath."""
        async with self._lock:
            if self._admin is None:
                self._admin = await _in_thread(_SyncAdmin, *self._args, **self._kwargs)
            return self._admin

    async def _call(self, name: str, *args: Any) -> Any:
        admin = await self.connect()
        return await getattr(_native.Admin, name)(admin, *args, aio=True)

    async def create_topic(self, name: str, partitions: Optional[int] = None,
                           replication_factor: Optional[int] = None,
                           config: Optional[Mapping[str, Any]] = None) -> None:
        await self._call("create_topic", name, partitions, replication_factor, config)

    async def delete_topic(self, name: str) -> None:
        await self._call("delete_topic", name)

    async def list_topics(self, internal: bool = False) -> list[str]:
        return await self._call("list_topics", internal)

    async def create_partitions(self, topic: str, total: int) -> None:
        await self._call("create_partitions", topic, total)

    async def describe_topics(self, names: Iterable[str]) -> list[TopicDescription]:
        found = await self._call("describe_topics", list(names))
        parts = [TopicPartition(t["name"], p["partition"]) for t in found for p in t["partitions"]]
        starts = await self._call("list_offsets", {tp: "earliest" for tp in parts}) if parts else {}
        ends = await self._call("list_offsets", {tp: "latest" for tp in parts}) if parts else {}
        out = []
        for t in found:
            offsets = {
                p["partition"]: {
                    "start_offset": starts.get(TopicPartition(t["name"], p["partition"]), (None,))[0],
                    "end_offset": ends.get(TopicPartition(t["name"], p["partition"]), (None,))[0],
                }
                for p in t["partitions"]
            }
            config = _dynamic(await self._call("describe_configs", t["name"]))
            out.append(_topic(t, offsets, config))
        return out

    async def describe_topic(self, name: str) -> TopicDescription:
        return (await self.describe_topics([name]))[0]

    async def describe_configs(self, topic: str) -> dict[str, Optional[str]]:
        return {e["name"]: e["value"] for e in await self._call("describe_configs", topic)}

    async def config_entries(self, topic: str) -> list[ConfigEntry]:
        return [ConfigEntry(**e) for e in await self._call("describe_configs", topic)]

    async def alter_configs(self, topic: str, changes: Mapping[str, Any]) -> None:
        await self._call("alter_configs", topic, dict(changes))

    async def list_groups(self) -> list[GroupListing]:
        return [GroupListing(**g) for g in await self._call("list_groups")]

    async def describe_groups(self, group_ids: Iterable[str]) -> list[ConsumerGroup]:
        out = []
        for d in await self._call("describe_groups", list(group_ids)):
            out.append(_group(d, await self._call("group_lag", d["group_id"])))
        return out

    async def describe_group(self, group_id: str) -> ConsumerGroup:
        return (await self.describe_groups([group_id]))[0]

    async def delete_group(self, group_id: str) -> None:
        await self._call("delete_group", group_id)

    async def list_group_offsets(self, group_id: str) -> dict[TopicPartition, int]:
        return dict(await self._call("list_group_offsets", group_id))

    async def alter_group_offsets(self, group_id: str, offsets: Mapping[Any, int]) -> None:
        await self._call("alter_group_offsets", group_id, dict(offsets))

    async def delete_group_offsets(self, group_id: str, partitions: Iterable[Any]) -> None:
        await self._call("delete_group_offsets", group_id, list(partitions))

    async def list_offsets(self, query: Mapping[Any, Any]) -> dict[TopicPartition, ListedOffset]:
        found = await self._call("list_offsets", dict(query))
        return {tp: ListedOffset(*o) for tp, o in found.items()}

    async def delete_records(self, before: Mapping[Any, int]) -> dict[TopicPartition, int]:
        return dict(await self._call("delete_records", dict(before)))

    async def describe_cluster(self) -> ClusterDescription:
        d = await self._call("describe_cluster")
        return ClusterDescription(d["cluster_id"], d["controller"], [tuple(b) for b in d["brokers"]])

    async def close(self) -> None:
        if self._admin is not None:
            self._admin.close()

    async def __aenter__(self) -> "Admin":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
