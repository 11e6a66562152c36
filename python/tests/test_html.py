"""_repr_html_ of a broker, a topic, a consumer group and a list of records."""

from __future__ import annotations

import time

import strom


def test_broker_topic_group_and_records_render(broker: strom.Broker) -> None:
    broker.create_topic("clicks", 2, config={"retention.ms": 86_400_000})
    with strom.Producer(broker=broker) as p:
        p.send_batch("clicks", [(b"user-1", b"<b>home</b>"), (b"user-2", bytes([0, 255, 1]))]).wait(10)
    html = broker._repr_html_()
    assert "<table>" in html and "clicks" in html and "retention.ms=86400000" in html
    assert "B</td>" in html or "KiB" in html  # sizes
    topic_html = broker.topic("clicks")._repr_html_()
    assert "topic clicks" in topic_html and "end offset" in topic_html and "2 record(s)" in topic_html

    with strom.Consumer(broker=broker, group_id="dash", auto_offset_reset="earliest",
                        enable_auto_commit=False, client_id="dashboard") as c:
        c.subscribe(["clicks"])
        records = strom.Records()
        deadline = time.monotonic() + 10
        while len(records) < 2 and time.monotonic() < deadline:
            records.extend(c.poll(0.5))
        c.commit({r_tp: 0 for r_tp in [("clicks", 0), ("clicks", 1)]})
        records_html = records._repr_html_()
        assert "&lt;b&gt;home&lt;/b&gt;" in records_html  # escaped
        assert "<code>00 ff 01</code>" in records_html  # binary as hex
        assert "2 record(s)" in records_html
        group_html = broker.consumer_group("dash")._repr_html_()
        assert "consumer group dash" in group_html and "dashboard" in group_html
        assert "total lag 2" in group_html
    assert "closed" in _closed_html(broker)


def _closed_html(broker: strom.Broker) -> str:
    broker.close()
    return broker._repr_html_()
