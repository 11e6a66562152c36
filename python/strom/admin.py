"""The admin client and the descriptions it (and :class:`strom.Broker`) answers with: topics
with their partitions' offsets and sizes, consumer groups with members and lag. Each
description renders as a table in notebooks (``_repr_html_``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Union

from . import _html
from . import _native
from ._types import TopicPartition

__all__ = [
    "Admin",
    "TopicDescription",
    "PartitionInfo",
    "ConsumerGroup",
    "MemberDescription",
    "GroupListing",
    "ConfigEntry",
    "ClusterDescription",
    "ListedOffset",
    "OffsetSpec",
]

#: "earliest", "latest", "max_timestamp" or a timestamp in milliseconds.
OffsetSpec = Union[str, int]


@dataclass(frozen=True)
class PartitionInfo:
    """One partition: its replicas and, when known, its offsets and size on disk (sizes
    only for an embedded broker's own topics)."""

    partition: int
    leader: Optional[int] = None
    replicas: list[int] = field(default_factory=list)
    isr: list[int] = field(default_factory=list)
    start_offset: Optional[int] = None
    end_offset: Optional[int] = None
    size_bytes: Optional[int] = None
    segments: Optional[int] = None

    @property
    def records(self) -> Optional[int]:
        """How many offsets the partition holds (end - start)."""
        if self.start_offset is None or self.end_offset is None:
            return None
        return self.end_offset - self.start_offset


@dataclass(frozen=True)
class TopicDescription:
    """A topic: id, partitions (with offsets and sizes when known) and config overrides."""

    name: str
    id: str
    partitions: list[PartitionInfo]
    config: dict[str, str] = field(default_factory=dict)
    internal: bool = False

    @property
    def records(self) -> Optional[int]:
        counts = [p.records for p in self.partitions]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

    @property
    def size_bytes(self) -> Optional[int]:
        sizes = [p.size_bytes for p in self.partitions]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

    def _repr_html_(self) -> str:
        rows = [
            (p.partition, p.leader if p.leader is not None else "", _opt(p.start_offset),
             _opt(p.end_offset), _opt(p.records), _html.size(p.size_bytes))
            for p in self.partitions
        ]
        body = _html.table(["partition", "leader", "start offset", "end offset", "records", "size"], rows)
        if self.config:
            body += _html.table(["config", "value"], sorted(self.config.items()))
        note = f"{len(self.partitions)} partition(s)"
        if self.records is not None:
            note += f", {self.records} record(s)"
        if self.size_bytes is not None:
            note += f", {_html.size(self.size_bytes)}"
        return _html.titled(f"topic {self.name}", body, note)


def _opt(v: Optional[int]) -> Any:
    return "" if v is None else v


class ListedOffset(NamedTuple):
    offset: int
    timestamp: int


@dataclass(frozen=True)
class MemberDescription:
    member_id: str
    client_id: str
    client_host: str
    assignment: list[TopicPartition]
    group_instance_id: Optional[str] = None


@dataclass(frozen=True)
class ConsumerGroup:
    """A consumer group: state, members with their partitions, committed offsets and lag."""

    group_id: str
    state: str
    protocol_type: str = ""
    protocol: str = ""
    coordinator: int = -1
    members: list[MemberDescription] = field(default_factory=list)
    #: Committed offsets (the next offset to read) per partition.
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    #: End offsets (high watermarks) of the committed partitions.
    end_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    #: Records not yet consumed, per committed partition (computed by strom's core).
    lag: dict[TopicPartition, int] = field(default_factory=dict)

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def owner(self, tp: TopicPartition) -> Optional[MemberDescription]:
        for m in self.members:
            if tp in m.assignment:
                return m
        return None

    def _repr_html_(self) -> str:
        members = _html.table(
            ["member", "client id", "host", "partitions"],
            [
                (m.member_id, m.client_id, m.client_host, ", ".join(str(tp) for tp in sorted(m.assignment)))
                for m in self.members
            ],
        )
        partitions = sorted(set(self.offsets) | set(self.end_offsets))
        lag = self.lag
        offsets = _html.table(
            ["partition", "committed", "end offset", "lag", "member"],
            [
                (str(tp), _opt(self.offsets.get(tp)), _opt(self.end_offsets.get(tp)), _opt(lag.get(tp)),
                 (self.owner(tp).client_id if self.owner(tp) else ""))  # type: ignore[union-attr]
                for tp in partitions
            ],
        )
        note = f"{self.state}, {len(self.members)} member(s), total lag {self.total_lag}"
        return _html.titled(f"consumer group {self.group_id}", members + offsets, note)


@dataclass(frozen=True)
class GroupListing:
    group_id: str
    protocol_type: str
    state: Optional[str]


@dataclass(frozen=True)
class ConfigEntry:
    name: str
    value: Optional[str]
    read_only: bool
    is_default: bool
    sensitive: bool
    source: str


@dataclass(frozen=True)
class ClusterDescription:
    cluster_id: Optional[str]
    controller: Optional[int]
    brokers: list[tuple[int, str]]


# -- conversions from the native module's plain values ----------------------------------------


def _partition(d: Mapping[str, Any], offsets: Optional[Mapping[str, Any]] = None) -> PartitionInfo:
    extra = dict(offsets or {})
    return PartitionInfo(
        partition=d["partition"],
        leader=d.get("leader"),
        replicas=list(d.get("replicas", [])),
        isr=list(d.get("isr", [])),
        start_offset=extra.get("start_offset", d.get("start_offset")),
        end_offset=extra.get("end_offset", d.get("end_offset")),
        size_bytes=d.get("size_bytes"),
        segments=d.get("segments"),
    )


def _topic(d: Mapping[str, Any], offsets: Optional[Mapping[int, Mapping[str, Any]]] = None,
           config: Optional[Mapping[str, str]] = None) -> TopicDescription:
    offsets = offsets or {}
    return TopicDescription(
        name=d["name"],
        id=d["id"],
        internal=d.get("internal", False),
        config=dict(config if config is not None else d.get("config", {})),
        partitions=[_partition(p, offsets.get(p["partition"])) for p in d["partitions"]],
    )


def _group(d: Mapping[str, Any], lags: Iterable[tuple[TopicPartition, Optional[int], Optional[int], Optional[int]]]) -> ConsumerGroup:
    """A ConsumerGroup from a described group and its rows from the native ``group_lag``."""
    rows = list(lags)
    return ConsumerGroup(
        group_id=d["group_id"],
        state=d["state"],
        protocol_type=d["protocol_type"],
        protocol=d["protocol"],
        coordinator=d["coordinator"],
        members=[
            MemberDescription(
                member_id=m["member_id"],
                client_id=m["client_id"],
                client_host=m["client_host"],
                group_instance_id=m.get("group_instance_id"),
                assignment=[TopicPartition(t, p) for t, ps in m["assignment"] for p in ps],
            )
            for m in d["members"]
        ],
        offsets={tp: c for tp, c, _, _ in rows if c is not None},
        end_offsets={tp: e for tp, _, e, _ in rows if e is not None},
        lag={tp: lag for tp, _, _, lag in rows if lag is not None},
    )


def _dynamic(entries: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {
        e["name"]: e["value"]
        for e in entries
        if e["source"] == "DynamicTopic" and e["value"] is not None
    }


class Admin(_native.Admin):
    """Kafka's admin client, over TCP (``bootstrap_servers=``) or to an embedded broker
    (``broker=``), configured with Kafka's admin settings (``request_timeout_ms=...``).

    Connects (fetches metadata) when created, so a wrong address fails here. A context
    manager: ``with strom.Admin(bootstrap_servers=addr) as admin: ...``.
    """

    def __enter__(self) -> "Admin":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_topic(self, name: str, partitions: Optional[int] = None,
                     replication_factor: Optional[int] = None,
                     config: Optional[Mapping[str, Any]] = None) -> None:
        """Creates a topic (``partitions=None``: the broker's ``num.partitions``)."""
        super().create_topic(name, partitions, replication_factor, config)

    def describe_topics(self, names: Iterable[str]) -> list[TopicDescription]:  # type: ignore[override]
        """Topics with their partitions' start and end offsets and config overrides."""
        found = super().describe_topics(list(names))
        parts = [TopicPartition(t["name"], p["partition"]) for t in found for p in t["partitions"]]
        starts = super().list_offsets({tp: "earliest" for tp in parts}) if parts else {}
        ends = super().list_offsets({tp: "latest" for tp in parts}) if parts else {}
        out = []
        for t in found:
            offsets = {
                p["partition"]: {
                    "start_offset": starts.get(TopicPartition(t["name"], p["partition"]), (None,))[0],
                    "end_offset": ends.get(TopicPartition(t["name"], p["partition"]), (None,))[0],
                }
                for p in t["partitions"]
            }
            config = _dynamic(super().describe_configs(t["name"]))
            out.append(_topic(t, offsets, config))
        return out

    def describe_topic(self, name: str) -> TopicDescription:
        """One topic (see :meth:`describe_topics`); raises UnknownTopicError."""
        return self.describe_topics([name])[0]

    def describe_configs(self, topic: str) -> dict[str, Optional[str]]:  # type: ignore[override]
        """Every config of a topic: {name: value} (None for sensitive ones)."""
        return {e["name"]: e["value"] for e in super().describe_configs(topic)}

    def config_entries(self, topic: str) -> list[ConfigEntry]:
        """Every config of a topic with where its value comes from."""
        return [ConfigEntry(**e) for e in super().describe_configs(topic)]

    def alter_configs(self, topic: str, changes: Mapping[str, Any]) -> None:  # type: ignore[override]
        """Sets ({name: value}) or removes ({name: None}) topic config overrides."""
        super().alter_configs(topic, dict(changes))

    def list_groups(self) -> list[GroupListing]:  # type: ignore[override]
        return [GroupListing(**g) for g in super().list_groups()]

    def describe_groups(self, group_ids: Iterable[str]) -> list[ConsumerGroup]:  # type: ignore[override]
        """Groups with members, assignments, committed offsets and lag."""
        out = []
        for d in super().describe_groups(list(group_ids)):
            out.append(_group(d, super().group_lag(d["group_id"])))
        return out

    def describe_group(self, group_id: str) -> ConsumerGroup:
        """One group (see :meth:`describe_groups`)."""
        return self.describe_groups([group_id])[0]

    def list_group_offsets(self, group_id: str) -> dict[TopicPartition, int]:  # type: ignore[override]
        return dict(super().list_group_offsets(group_id))

    def alter_group_offsets(self, group_id: str, offsets: Mapping[Any, int]) -> None:  # type: ignore[override]
        super().alter_group_offsets(group_id, dict(offsets))

    def delete_group_offsets(self, group_id: str, partitions: Iterable[Any]) -> None:  # type: ignore[override]
        super().delete_group_offsets(group_id, list(partitions))

    def list_offsets(self, query: Mapping[Any, OffsetSpec]) -> dict[TopicPartition, ListedOffset]:  # type: ignore[override]
        """{TopicPartition: spec} → {TopicPartition: (offset, timestamp)}."""
        return {tp: ListedOffset(*o) for tp, o in super().list_offsets(dict(query)).items()}

    def delete_records(self, before: Mapping[Any, int]) -> dict[TopicPartition, int]:  # type: ignore[override]
        """Deletes records before {TopicPartition: offset}; answers the new start offsets."""
        return dict(super().delete_records(dict(before)))

    def describe_cluster(self) -> ClusterDescription:  # type: ignore[override]
        d = super().describe_cluster()
        return ClusterDescription(d["cluster_id"], d["controller"], [tuple(b) for b in d["brokers"]])  # type: ignore[misc]

    def __repr__(self) -> str:
        return "<strom.Admin>"

