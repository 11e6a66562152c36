"""strom.aio against an embedded broker and a `strom serve` process (asyncio.run, no plugin)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import strom
import strom.aio
from conftest import Target, unique
from strom import TopicPartition


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_produce_and_consume(target: Target, topic: str) -> None:
    async def main() -> None:
        async with strom.aio.Producer(**target.kw) as p:
            fut = await p.send(topic, b"v0", key=b"k")
            assert isinstance(fut, strom.DeliveryFuture)
            meta = await fut
            assert (meta.topic, meta.offset) == (topic, 0)
            meta = await p.send_and_wait(topic, b"v1", headers={"h": b"x"})
            assert meta.offset == 1
            batch = await p.send_batch(topic, [b"v2", (b"k3", b"v3")])
            assert [m.offset for m in await batch] == [2, 3]
            await p.send(topic, b"v4")
            await p.flush()
        group = unique("g")
        async with strom.aio.Consumer(**target.kw, group_id=group, auto_offset_reset="earliest",
                                      enable_auto_commit=False, consumer_timeout_ms=1500) as c:
            assigned: list[list[TopicPartition]] = []
            c.subscribe([topic], on_assign=assigned.append)
            values = [r.value async for r in c]
            assert values == [b"v0", b"v1", b"v2", b"v3", b"v4"]
            assert assigned and assigned[0] == [TopicPartition(topic, 0)]
            await c.commit()
            assert await c.committed([(topic, 0)]) == {TopicPartition(topic, 0): 5}
            assert await c.position((topic, 0)) == 5
            await c.seek_to_beginning()
            records = await c.poll(10)
            assert isinstance(records, strom.Records) and records[0].offset == 0
            c.seek((topic, 0), 3)
            assert [r.offset for r in await c.poll(10)] == [3, 4]
            assert await c.end_offsets([(topic, 0)]) == {TopicPartition(topic, 0): 5}
            assert topic in await c.list_topics()

    run(main())


def test_poll_does_not_block_the_loop(target: Target, topic: str) -> None:
    async def main() -> None:
        async with strom.aio.Consumer(**target.kw) as c:
            c.assign([(topic, 0)])
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            t = asyncio.create_task(ticker())
            started = time.monotonic()
            assert await c.poll(0.5) == []
            elapsed = time.monotonic() - started
            t.cancel()
            assert elapsed >= 0.45
            assert ticks >= 20, f"the loop ran {ticks} ticks while poll waited"

    run(main())


def test_waiting_poll_can_be_cancelled(target: Target, topic: str) -> None:
    async def main() -> None:
        async with strom.aio.Consumer(**target.kw) as c:
            c.assign([(topic, 0)])
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(c.poll(None), 0.3)
            # The consumer is usable afterwards.
            async with strom.aio.Producer(**target.kw) as p:
                await p.send_and_wait(topic, b"after")
            assert [r.value for r in await c.poll(10)] == [b"after"]

    run(main())


def test_admin(target: Target) -> None:
    async def main() -> None:
        async with strom.aio.Admin(**target.kw) as admin:
            name = unique()
            await admin.create_topic(name, 2, config={"retention.ms": 5000})
            assert name in await admin.list_topics()
            d = await admin.describe_topic(name)
            assert len(d.partitions) == 2 and d.config == {"retention.ms": "5000"}
            await admin.alter_configs(name, {"retention.ms": 6000})
            assert (await admin.describe_configs(name))["retention.ms"] == "6000"
            await admin.create_partitions(name, 3)
            found = await admin.list_offsets({(name, 0): "latest"})
            assert found[TopicPartition(name, 0)].offset == 0
            cluster = await admin.describe_cluster()
            assert len(cluster.brokers) == 1
            assert isinstance(await admin.list_groups(), list)
            await admin.delete_topic(name)
            with pytest.raises(strom.errors.UnknownTopicError):
                await admin.describe_topic(name)

    run(main())


def test_errors_are_raised_in_the_coroutine(broker: strom.Broker) -> None:
    async def main() -> None:
        p = strom.aio.Producer(broker=broker)
        await p.close()
        with pytest.raises(strom.errors.ClosedError):
            await p.send("t", b"x")

    run(main())


def test_awaiting_a_delivery_from_a_blocking_send(broker: strom.Broker) -> None:
    broker.create_topic("t")
    p = strom.Producer(broker=broker)

    async def main() -> int:
        return (await p.send("t", b"x")).offset

    assert run(main()) == 0
    p.close()


def test_callbacks_run_off_the_loop_thread(broker: strom.Broker) -> None:
    broker.create_topic("t")
    threads: list[int] = []

    async def main() -> None:
        async with strom.aio.Consumer(broker=broker, group_id="g") as c:
            c.subscribe(["t"], on_assign=lambda ps: threads.append(threading.get_ident()))
            for _ in range(50):
                await c.poll(0.1)
                if threads:
                    break

    run(main())
    assert threads and threads[0] != threading.get_ident()
