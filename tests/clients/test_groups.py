"""Consumer groups against a real `strom serve`, with every client as a group member.

Members are separate processes (grouplib.Worker: kafka-python and confluent-kafka through
`python grouplib.py`, kafkajs through node/group-consumer.js) that subscribe, report what they
consume, and commit after processing. The tests check partition ownership (the members' own
reports and DescribeGroups), hand-over after a member is SIGKILLed (session timeout), that no
produced record is skipped, that committed offsets, their metadata and the group survive a
broker restart (SIGTERM and kill -9), and DescribeGroups / ListGroups / OffsetFetch / lag
through each client's admin API. Also: INCONSISTENT_GROUP_PROTOCOL when members share no
assignor, commits made while partitions are revoked (group PreparingRebalance), a static member
(group.instance.id) coming back without a rebalance, DeleteGroups and OffsetDelete.

Offset metadata is compared with grouplib.meta_ok, which allows for two confluent-kafka-python
quirks (see grouplib).
"""

from __future__ import annotations

import time

import pytest

from clientlib import Msg, ck_create_topic, ck_produce, unique_topic
from grouplib import (
    SESSION_TIMEOUT_MS,
    BackgroundProducer,
    Worker,
    assignment_problems,
    ck_committed,
    ck_describe_groups,
    ck_group_offsets,
    ck_high_watermarks,
    ck_list_groups,
    kjs_describe_groups,
    kjs_group_offsets,
    kjs_high_watermarks,
    kjs_list_groups,
    kp_committed,
    kp_describe_groups,
    kp_group_offsets,
    kp_high_watermarks,
    kp_list_groups,
    meta_ok,
    wait_until,
)

CLIENT_NAMES = {"kp": "kafka-python", "ck": "confluent-kafka", "kjs": "kafkajs"}
# The protocol each client's default assignor list ends up agreeing on in a group of its own.
DEFAULT_PROTOCOL = {"kp": "range", "ck": "range", "kjs": "RoundRobinAssigner"}


@pytest.fixture
def members(strom, tmp_path):
    """Factory for group member processes; every one still running is SIGKILLed afterwards
    (before the server is stopped)."""
    made: list[Worker] = []

    def make(client: str, group: str, topic: str, name: str, **kw) -> Worker:
        w = Worker(client, strom.bootstrap, group, topic, tmp_path, name, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.cleanup()


def details(strom, workers: list[Worker], extra: str = "") -> str:
    parts = [w.summary() for w in workers] + [w.stderr_tail(12) for w in workers if not w.killed]
    return "\n".join(parts + [extra, strom.stderr_tail(25)])


def owners_of(workers: list[Worker]) -> dict[str, list[int] | None]:
    return {f"{w.name}/{w.client}": w.current_assignment() for w in workers}


def described_split(bootstrap: str, group: str, topic: str) -> tuple[str, list[list[int]]]:
    d = ck_describe_groups(bootstrap, [group])[group]
    return d["state"], sorted(sorted(m["partitions"].get(topic, [])) for m in d["members"])


def wait_for_split(strom, bootstrap: str, group: str, topic: str, workers: list[Worker], partitions: int,
                   timeout: float) -> dict:
    """Waits until every partition is owned by exactly one of `workers` by their own reports,
    and DescribeGroups (confluent-kafka AdminClient) says Stable with exactly that split."""
    last: dict = {}

    def settled():
        owners = owners_of(workers)
        last["owners"] = owners
        problem = assignment_problems(owners, partitions)
        last["problem"] = problem
        if problem:
            return False
        state, split = described_split(bootstrap, group, topic)
        last["described"] = (state, split)
        return state == "stable" and split == sorted(sorted(v) for v in owners.values())

    wait_until(settled, timeout, f"{len(workers)} members of {group} to split {partitions} partitions",
               lambda: f"last seen: {last}\n" + details(strom, workers), interval=0.25)
    return last


def check_resumed_from_commits(workers: list[Worker], margin_s: float = 1.0) -> None:
    """Whenever a member starts on a partition, its first record is at or after every offset
    committed for that partition (by any member) more than `margin_s` before it was assigned:
    a new owner resumes from the committed offset, it does not rewind to an older one or 0."""
    commits = [(t, p, o) for w in workers for (t, p, o) in w.commit_log]
    for w in workers:
        first: dict[tuple[int, int], int] = {}
        for p, o, _k, _t, a in w.consumed:
            first.setdefault((a, p), o)
        for (a, p), f in sorted(first.items()):
            if a == 0:
                continue
            t_assigned = w.assign_times[a - 1]
            floor = max([o for (t, pp, o) in commits if pp == p and t <= t_assigned - margin_s], default=0)
            assert f >= floor, (
                f"{w.name}/{w.client}: assignment #{a} started partition {p} at offset {f}, but offset "
                f"{floor} had been committed for it before the assignment"
            )


# -- 1. three members, ownership, SIGKILL hand-over, nothing skipped ---------------------------


GROUP_MIXES = [
    pytest.param(["kp", "kp", "kp"], "default", "range", id="kafka-python-x3"),
    pytest.param(["ck", "ck", "ck"], "default", "range", id="confluent-x3"),
    pytest.param(["kjs", "kjs", "kjs"], "default", "RoundRobinAssigner", id="kafkajs-x3"),
    pytest.param(["kp", "ck", "kjs"], "roundrobin", "roundrobin", id="mixed-kafka-python-leader"),
    pytest.param(["ck", "kjs", "kp"], "roundrobin", "roundrobin", id="mixed-confluent-leader"),
    pytest.param(["kjs", "kp", "ck"], "roundrobin", "roundrobin", id="mixed-kafkajs-leader"),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("clients,assigner,protocol", GROUP_MIXES)
def test_three_members_kill_one(strom, bootstrap, members, clients, assigner, protocol):
    partitions = 6
    topic = unique_topic("grp")
    group = unique_topic("g")
    ck_create_topic(bootstrap, topic, partitions)
    producer = BackgroundProducer(bootstrap, topic, partitions, rate=60)
    try:
        # The first member alone gets everything (and stays the group's leader) ...
        first = members(clients[0], group, topic, "m0", assigner=assigner)
        wait_for_split(strom, bootstrap, group, topic, [first], partitions, timeout=60)
        # ... then two more join the stable group and it rebalances three ways.
        others = [members(c, group, topic, f"m{i + 1}", assigner=assigner) for i, c in enumerate(clients[1:])]
        trio = [first] + others
        wait_for_split(strom, bootstrap, group, topic, trio, partitions, timeout=90)
        for admin, describe in (("confluent-kafka", ck_describe_groups), ("kafkajs", kjs_describe_groups)):
            d = describe(bootstrap, [group])[group]
            assert d["protocol"] == protocol, f"{admin} DescribeGroups: protocol {d['protocol']!r}, expected {protocol!r}"
            assert len(d["members"]) == 3, f"{admin} DescribeGroups: {d}"
        # Everyone is actually consuming its share.
        wait_until(lambda: all(any(a == w.assign_no for *_r, a in w.consumed) for w in trio), 60,
                   "every member to consume from its current assignment", lambda: details(strom, trio))

        # SIGKILL the leader: no LeaveGroup, the broker must notice through the session timeout.
        victim_parts = first.current_assignment()
        first.kill9()
        t_kill = time.monotonic()
        bound = SESSION_TIMEOUT_MS / 1000 + 30
        wait_for_split(strom, bootstrap, group, topic, others, partitions, timeout=bound)
        took = time.monotonic() - t_kill
        # Not before the session can have run out: a dead TCP connection is no LeaveGroup (the
        # last heartbeat can be up to a heartbeat interval, plus scheduling delays, before the kill).
        assert took >= SESSION_TIMEOUT_MS / 1000 - 3.5, f"partitions moved {took:.1f}s after the kill"
        # The survivors take over the dead member's partitions and consume new records there.
        acked_at_handover = producer.acked_count()
        wait_until(lambda: producer.acked_count() >= acked_at_handover + 6 * partitions, 30,
                   "the producer to keep producing after the hand-over")
        for p in victim_parts:
            wait_until(lambda: any(pp == p and a == w.assign_no for w in others for pp, _o, _k, _t, a in w.consumed),
                       45, f"a survivor to consume partition {p} of the killed member", lambda: details(strom, others))
    except BaseException:
        producer.abort()
        raise
    acked = producer.stop()

    # Every acknowledged record is consumed at least once, with the key it was produced with.
    def consumed_all():
        got = set().union(*(w.consumed_set() for w in trio))
        return not (set(acked) - got)

    wait_until(consumed_all, 60, "every produced record to be consumed",
               lambda: f"missing (first 20): {sorted(set(acked) - set().union(*(w.consumed_set() for w in trio)))[:20]}\n"
                       + details(strom, others))
    seen: dict[tuple[int, int], str | None] = {}
    for w in trio:
        for p, o, k, _t, _a in w.consumed:
            assert (p, o) in acked, f"{w.name}/{w.client} consumed {(p, o, k)} that no one produced"
            assert k == acked[(p, o)], f"{w.name}/{w.client}: ({p}, {o}) has key {k!r}, produced {acked[(p, o)]!r}"
            seen[(p, o)] = k
    assert set(seen) == set(acked)

    # Commit-after-process got to the end: the committed offsets equal the high watermarks.
    ends = {p: 1 + max(o for (pp, o) in acked if pp == p) for p in range(partitions)}
    want_committed = {p: (ends[p], final_metadata(others, p, ends[p])) for p in range(partitions)}
    wait_until(lambda: kp_group_offsets(bootstrap, group).get(topic) == want_committed, 30,
               f"committed offsets (and metadata) to reach the high watermarks {want_committed}",
               lambda: f"committed {kp_group_offsets(bootstrap, group)}\n" + details(strom, others))
    assert ck_high_watermarks(bootstrap, topic, partitions) == ends
    check_resumed_from_commits(trio)
    dups = sum(len(w.consumed) for w in trio) - len(seen)
    print(f"{'/'.join(clients)}: {len(acked)} records, {dups} consumed twice, "
          f"hand-over {took:.1f}s after SIGKILL (session timeout {SESSION_TIMEOUT_MS} ms)")


def final_metadata(workers: list[Worker], p: int, offset: int) -> str | None:
    """The metadata the member owning `p` commits with `offset`, as kafka-python reads it."""
    for w in workers:
        if p in (w.current_assignment() or []):
            return f"{w.name}:{p}:{offset}" + ("\x00" if w.client == "ck" else "")
    return None


def test_no_common_protocol_is_refused(strom, bootstrap, members):
    """kafkajs' default assignor ("RoundRobinAssigner") shares no protocol with kafka-python's
    defaults (range, roundrobin): the second member must get INCONSISTENT_GROUP_PROTOCOL and
    stay out, and the first keeps its partitions."""
    from kafka import KafkaConsumer
    from kafka.errors import InconsistentGroupProtocolError

    topic = unique_topic("grp-proto")
    group = unique_topic("g")
    ck_create_topic(bootstrap, topic, 2)
    js = members("kjs", group, topic, "js")
    wait_for_split(strom, bootstrap, group, topic, [js], 2, timeout=60)

    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                      session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=1000, request_timeout_ms=20000)
    try:
        deadline = time.monotonic() + 30
        with pytest.raises(InconsistentGroupProtocolError):
            while time.monotonic() < deadline:
                c.poll(timeout_ms=500)
    finally:
        c.close(autocommit=False)
    d = ck_describe_groups(bootstrap, [group])[group]
    assert d["state"] == "stable" and len(d["members"]) == 1, d
    assert d["members"][0]["partitions"] == {topic: [0, 1]}, d
    assert d["protocol"] == "RoundRobinAssigner", d


# -- commit on revoke -------------------------------------------------------------------------------


@pytest.mark.timeout(180)
@pytest.mark.parametrize("client", ["kafka-python-autocommit", "confluent-on-revoke"])
def test_commit_on_revoke_during_rebalance(strom, bootstrap, members, client, caplog):
    """The eager protocol's standard pattern: commit the current positions when partitions are
    revoked, i.e. after the group entered PreparingRebalance and before rejoining (Java's and
    kafka-python's auto-commit do this on every rebalance; confluent-kafka users do it in
    on_revoke). Kafka accepts an OffsetCommit from a member of the current generation while the
    group is PreparingRebalance (only CompletingRebalance answers REBALANCE_IN_PROGRESS), so
    after a clean rebalance nothing is consumed twice."""
    import logging

    partitions = 2
    per_partition = 20
    topic = unique_topic("grp-revoke")
    group = unique_topic("g")
    ck_create_topic(bootstrap, topic, partitions)
    ck_produce(bootstrap, topic, [Msg(f"k{p}-{i}", "v", p) for p in range(partitions) for i in range(per_partition)])
    outcomes: list[str] = []
    caplog.set_level(logging.WARNING, logger="kafka")

    if client == "kafka-python-autocommit":
        from kafka import KafkaConsumer

        # Auto-commit on (the default) with an interval that never elapses here: the only commit
        # is the one kafka-python makes before rejoining (ConsumerCoordinator._on_join_prepare).
        kc = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id="revoker",
                           enable_auto_commit=True, auto_commit_interval_ms=600000,
                           auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=1000,
                           request_timeout_ms=20000)

        def poll() -> int:
            return sum(len(v) for v in kc.poll(timeout_ms=200).values())

        def assigned() -> int:
            return len(kc.assignment())

        def close() -> None:
            kc.close(autocommit=False)
    else:
        from confluent_kafka import Consumer, TopicPartition

        cc = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "revoker",
                       "enable.auto.commit": False, "auto.offset.reset": "earliest", "session.timeout.ms": 10000,
                       "heartbeat.interval.ms": 1000, "fetch.wait.max.ms": 100})

        def on_revoke(consumer, parts):
            if not parts:
                return
            positions = consumer.position([TopicPartition(topic, tp.partition) for tp in parts])
            try:
                consumer.commit(offsets=[TopicPartition(topic, tp.partition, tp.offset, metadata="on-revoke")
                                         for tp in positions], asynchronous=False)
                outcomes.append("ok")
            except Exception as e:  # noqa: BLE001 - the test asserts on it
                outcomes.append(repr(e))

        cc.subscribe([topic], on_revoke=on_revoke)

        def poll() -> int:
            n = 0
            for m in cc.consume(num_messages=100, timeout=0.2):
                assert not m.error(), m.error()
                n += 1
            return n

        def assigned() -> int:
            return len(cc.assignment())

        def close() -> None:
            cc.close()

    try:
        consumed = 0
        deadline = time.monotonic() + 60
        while consumed < partitions * per_partition:
            assert time.monotonic() < deadline, f"consumed only {consumed} records in 60s"
            consumed += poll()
        assert kp_group_offsets(bootstrap, group) == {}, "committed before any rebalance"
        # A second member joins: the group goes PreparingRebalance; the first revokes (and
        # commits) on its next poll, rejoins, and ends up with one partition.
        other = members("kp", group, topic, "joiner", session_timeout_ms=10000)
        deadline = time.monotonic() + 60
        again = 0  # records the first member gets a second time
        while assigned() != 1 or not other.current_assignment():
            assert time.monotonic() < deadline, f"no rebalance to 1+1 partitions in 60s: {other.summary()}"
            again += poll()
        failures = [r.getMessage() for r in caplog.records if "ommit" in r.getMessage()]
        committed = kp_group_offsets(bootstrap, group).get(topic, {})
        assert {p: o for p, (o, _m) in committed.items()} == {p: per_partition for p in range(partitions)}, (
            f"{client}: the commit made on revoke (current generation, group PreparingRebalance) did not land: "
            f"committed {committed}; callback outcome {outcomes}; client log {failures[:3]}")
        # The first revoke committed (checked above). Under load the group may rebalance once
        # more before both members settle, which Kafka allows too; librdkafka then revokes a
        # partition it was just given and has no position for, and its commit of that fails
        # locally with _NO_OFFSET without reaching the broker. Anything else is a failure.
        assert outcomes[:1] in ([], ["ok"]), outcomes
        assert all("_NO_OFFSET" in o for o in outcomes[1:]), outcomes
        time.sleep(3)
        again += poll()
        assert not other.consumed, f"the new member re-consumed committed records: {other.consumed[:5]}"
        assert again == 0, f"the first member got {again} committed records again"
    finally:
        close()


# -- static membership ----------------------------------------------------------------------------


@pytest.mark.timeout(240)
def test_static_member_restart_does_not_rebalance(strom, bootstrap, members):
    """KIP-345: a static member (group.instance.id) that is killed and comes back under the same
    instance id within its session timeout takes over its old member's place and assignment;
    the group does not rebalance (Kafka's GroupCoordinator: "Static member which joins during
    Stable stage and doesn't affect selectProtocol will not trigger rebalance")."""
    partitions = 4
    session_ms = 10000
    topic = unique_topic("grp-static")
    group = unique_topic("g")
    ck_create_topic(bootstrap, topic, partitions)
    leader = members("kp", group, topic, "sa", instance_id="inst-a", session_timeout_ms=session_ms)
    wait_for_split(strom, bootstrap, group, topic, [leader], partitions, timeout=60)
    follower = members("ck", group, topic, "sb", instance_id="inst-b", session_timeout_ms=session_ms)
    wait_for_split(strom, bootstrap, group, topic, [leader, follower], partitions, timeout=60)
    d = ck_describe_groups(bootstrap, [group])[group]
    assert sorted(m["instance_id"] for m in d["members"]) == ["inst-a", "inst-b"], d
    time.sleep(2)  # settled: both heartbeating in the same generation
    leader_assignments = leader.assign_no
    old_parts = follower.current_assignment()

    follower.kill9()  # static members send no LeaveGroup anyway
    t_kill = time.monotonic()
    again = members("ck", group, topic, "sb2", instance_id="inst-b", session_timeout_ms=session_ms)
    wait_until(lambda: again.current_assignment(), 30, "the restarted static member to be assigned",
               lambda: details(strom, [leader, again]))
    assert time.monotonic() - t_kill < session_ms / 1000, "the restarted member took longer than the session timeout"
    assert again.current_assignment() == old_parts, (
        f"restarted static member got {again.current_assignment()}, its instance had {old_parts}")
    # Past the old member's session timeout: still no rebalance anywhere.
    time.sleep(max(0.0, t_kill + session_ms / 1000 + 4 - time.monotonic()))
    with leader.lock:
        leader_events = [e for t, e in leader.events if t > t_kill and e.get("ev") in ("revoked", "assigned")]
    assert leader.assign_no == leader_assignments and not leader_events, (
        f"the other static member was rebalanced when inst-b came back: {leader_events}\n"
        + details(strom, [leader, again]))
    assert again.assign_no == 1, details(strom, [again])
    d = ck_describe_groups(bootstrap, [group])[group]
    assert d["state"] == "stable", d
    got = {m["instance_id"]: (m["member_id"], m["partitions"].get(topic)) for m in d["members"]}
    assert got == {"inst-a": (leader.member_id, leader.current_assignment()),
                   "inst-b": (again.member_id, old_parts)}, d


# -- 2. committed offsets, metadata and the group survive a restart -----------------------------


def expected_commits(client: str, index: int, partitions: int) -> dict[int, tuple[int, str]]:
    return {p: (3 + 5 * p + index, f"{client} p{p} ✓ commit-metadata/{index}") for p in range(partitions)}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_offsets_and_groups_survive_restart(strom, bootstrap, members, how):
    partitions = 3
    per_partition = 20
    topic = unique_topic("grp-restart")
    ck_create_topic(bootstrap, topic, partitions)
    ck_produce(bootstrap, topic, [Msg(f"k{p}-{i}", f"v{i}", p) for p in range(partitions) for i in range(per_partition)])
    clients = ["kp", "ck", "kjs"]

    # Groups that commit exact offsets with metadata through each client, then leave (Empty).
    commit_groups = {c: unique_topic(f"commit-{c}") for c in clients}
    for i, c in enumerate(clients):
        w = members(c, commit_groups[c], topic, f"commit{i}", commit=expected_commits(c, i, partitions))
        rc = w.wait_exit(90)
        assert rc == 0 and w.has_event("committed") and not w.errors, details(strom, [w])
        # Before the restart, kafka-python sees exactly what was committed (so a later mismatch is the restart's).
        want = expected_commits(c, i, partitions)
        got = kp_group_offsets(bootstrap, commit_groups[c]).get(topic, {})
        assert set(got) == set(want) and all(got[p][0] == want[p][0] and meta_ok(c, "kp", got[p][1], want[p][1])
                                             for p in want), f"{CLIENT_NAMES[c]} commit before the restart: {got}, expected {want}"
    # Groups with a live member each, that consumed everything and committed it.
    live_groups = {c: unique_topic(f"live-{c}") for c in clients}
    live = {c: members(c, live_groups[c], topic, f"live{i}", session_timeout_ms=10000) for i, c in enumerate(clients)}
    everything = {(p, o) for p in range(partitions) for o in range(per_partition)}
    for c, w in live.items():
        wait_until(lambda: w.consumed_set() >= everything and w.committed == {p: per_partition for p in range(partitions)},
                   90, f"the {CLIENT_NAMES[c]} member to consume and commit everything", lambda: details(strom, [w]))
    before = ck_describe_groups(bootstrap, list(live_groups.values()))
    member_before = {}
    for c, g in live_groups.items():
        assert before[g]["state"] == "stable" and len(before[g]["members"]) == 1, before[g]
        member_before[c] = before[g]["members"][0]["member_id"]

    if how == "sigterm":
        strom.stop()
    else:
        strom.kill9()
    t_restart = time.monotonic()
    assert strom.restart() == bootstrap

    # Straight away (well inside the 10 s session timeout): the live groups still know their member.
    after = ck_describe_groups(bootstrap, list(live_groups.values()))
    for c, g in live_groups.items():
        ids = [m["member_id"] for m in after[g]["members"]]
        assert member_before[c] in ids, (
            f"after {how} + restart, DescribeGroups({g}) lost the {CLIENT_NAMES[c]} member {member_before[c]}: "
            f"{after[g]}\n{strom.stderr_tail()}")

    # Committed offsets and metadata, through every client's API, for every client's commits.
    for i, c in enumerate(clients):
        g = commit_groups[c]
        want = expected_commits(c, i, partitions)
        views = [
            ("ck", "confluent-kafka AdminClient.list_consumer_group_offsets",
             lambda: ck_group_offsets(bootstrap, g, topic, partitions)),
            ("ck", "confluent-kafka Consumer.committed", lambda: ck_committed(bootstrap, g, topic, partitions)),
            ("kp", "kafka-python KafkaAdminClient.list_group_offsets",
             lambda: kp_group_offsets(bootstrap, g).get(topic, {})),
            ("kp", "kafka-python KafkaConsumer.committed", lambda: kp_committed(bootstrap, g, topic, partitions)),
            ("kjs", "kafkajs admin.fetchOffsets", lambda: kjs_group_offsets(bootstrap, g, topic)),
        ]
        for viewer, view, fetch in views:
            got = fetch()
            ok = set(got) == set(want) and all(
                got[p][0] == want[p][0] and meta_ok(c, viewer, got[p][1], want[p][1]) for p in want)
            assert ok, f"{view} of {g} (committed by {CLIENT_NAMES[c]}) after {how} restart: {got}, expected {want}"

    # The groups themselves: listed and described by every admin API.
    all_groups = list(commit_groups.values()) + list(live_groups.values())
    for name, list_groups in (("confluent-kafka", ck_list_groups), ("kafka-python", kp_list_groups),
                              ("kafkajs", kjs_list_groups)):
        listed = list_groups(bootstrap)
        missing = [g for g in all_groups if g not in listed]
        assert not missing, f"{name} ListGroups after {how} restart misses {missing}: {sorted(listed)}"
    for name, describe in (("confluent-kafka", ck_describe_groups), ("kafka-python", kp_describe_groups),
                           ("kafkajs", kjs_describe_groups)):
        d = describe(bootstrap, all_groups)
        for c, g in commit_groups.items():
            assert d[g]["state"] == "empty" and d[g]["members"] == [], f"{name} DescribeGroups({g}): {d[g]}"
            if d[g]["protocol_type"] is not None:
                assert d[g]["protocol_type"] == "consumer", f"{name} DescribeGroups({g}): {d[g]}"
        for c, g in live_groups.items():
            assert d[g]["state"] in ("stable", "preparingrebalance", "completingrebalance"), f"{name}: {d[g]}"
            assert len(d[g]["members"]) >= 1, f"{name} DescribeGroups({g}): {d[g]}"

    # The live members carry on from their committed offsets: new records, nothing re-read from before.
    more = ck_produce(bootstrap, topic, [Msg(f"n{p}-{i}", f"n{i}", p) for p in range(partitions) for i in range(10)])
    new = {(r.partition, r.offset) for r in more}
    for c, w in live.items():
        wait_until(lambda: w.consumed_set() >= new and w.committed == {p: per_partition + 10 for p in range(partitions)},
                   90, f"the {CLIENT_NAMES[c]} member to consume and commit the records produced after the restart",
                   lambda: details(strom, [w]))
        reread = sorted({(p, o) for p, o, _k, t, _a in w.consumed if t > t_restart and o < per_partition})
        assert not reread, (f"{CLIENT_NAMES[c]} member re-consumed committed records after the {how} restart "
                            f"(committed offsets not used?): {reread[:10]}")
    for c, w in live.items():
        w.stop()
    d = ck_describe_groups(bootstrap, list(live_groups.values()))
    for c, g in live_groups.items():
        assert d[g]["state"] == "empty" and d[g]["members"] == [], f"after LeaveGroup: {d[g]}"
        assert {p: o for p, (o, _m) in ck_group_offsets(bootstrap, g, topic, partitions).items()} == {
            p: per_partition + 10 for p in range(partitions)}


# -- 3. describe and lag through each admin API -------------------------------------------------


@pytest.mark.timeout(300)
def test_describe_and_lag_through_each_admin_api(strom, bootstrap, members):
    partitions = 3
    first = [6, 9, 12]  # consumed and committed by the live members
    second = [4, 0, 7]  # produced after they paused: the lag
    topic = unique_topic("grp-lag")
    ck_create_topic(bootstrap, topic, partitions)
    ck_produce(bootstrap, topic, [Msg(f"a{p}-{i}", "x", p) for p in range(partitions) for i in range(first[p])])
    clients = ["kp", "ck", "kjs"]
    groups = {c: unique_topic(f"lag-{c}") for c in clients}
    live = {c: members(c, groups[c], topic, f"lag{i}") for i, c in enumerate(clients)}
    for c, w in live.items():
        wait_until(lambda: w.committed == dict(enumerate(first)), 90,
                   f"the {CLIENT_NAMES[c]} member to commit {first}", lambda: details(strom, [w]))
        w.pause()
    ck_produce(bootstrap, topic, [Msg(f"b{p}-{i}", "y", p) for p in range(partitions) for i in range(second[p])])
    # An Empty group that committed only partitions 0 and 1 (kafka-python, then left).
    empty_group = unique_topic("lag-empty")
    empty_commits = {0: (2, "two"), 1: (9, "nine")}
    w = members("kp", empty_group, topic, "lagempty", commit=empty_commits)
    assert w.wait_exit(90) == 0 and not w.errors, details(strom, [w])

    highs = [first[p] + second[p] for p in range(partitions)]
    want_lag = {c: dict(enumerate(second)) for c in clients}
    want_empty_lag = {p: highs[p] - o for p, (o, _m) in empty_commits.items()}
    all_groups = list(groups.values()) + [empty_group]

    def check_describe(admin: str, d: dict) -> None:
        for g in all_groups:
            assert not d[g]["error"], f"{admin}: {g}: {d[g]}"
        for c, g in groups.items():
            x = d[g]
            assert x["state"] == "stable", f"{admin}: {g} state {x['state']}: {x}"
            assert len(x["members"]) == 1, f"{admin}: {g} members {x['members']}"
            m = x["members"][0]
            assert m["partitions"] == {topic: [0, 1, 2]}, f"{admin}: {g} assignment {m}"
            assert m["client_id"] == f"lag{clients.index(c)}-{c}", f"{admin}: {g} client id {m}"
            assert m["host"], f"{admin}: {g} client host {m}"
            assert x["protocol"] == DEFAULT_PROTOCOL[c], f"{admin}: {g} protocol {x['protocol']!r}"
            if x["protocol_type"] is not None:
                assert x["protocol_type"] == "consumer", f"{admin}: {g}: {x}"
        x = d[empty_group]
        assert x["state"] == "empty" and x["members"] == [], f"{admin}: {empty_group}: {x}"

    def lag_of(committed: dict[int, tuple[int, str]], high: dict[int, int]) -> dict[int, int]:
        return {p: high[p] - o for p, (o, _m) in committed.items()}

    def check_offsets(admin: str, viewer: str, fetch, high: dict[int, int]) -> None:
        assert high == dict(enumerate(highs)), f"{admin}: high watermarks {high}, produced {highs}"
        for c, g in groups.items():
            committed = fetch(g)
            assert {p: o for p, (o, _m) in committed.items()} == dict(enumerate(first)), f"{admin}: {g} committed {committed}"
            for p, (o, m) in committed.items():
                assert meta_ok(c, viewer, m, f"lag{clients.index(c)}:{p}:{o}"), f"{admin}: {g} partition {p} metadata {m!r}"
            assert lag_of(committed, high) == want_lag[c], f"{admin}: {g} lag {lag_of(committed, high)}"
        committed = fetch(empty_group)
        assert {p: o for p, (o, _m) in committed.items()} == {p: o for p, (o, _m) in empty_commits.items()} and all(
            meta_ok("kp", viewer, committed[p][1], m) for p, (_o, m) in empty_commits.items()), (
            f"{admin}: {empty_group} committed {committed}, expected {empty_commits}")
        assert lag_of(committed, high) == want_empty_lag, f"{admin}: {empty_group} lag"

    failures: list[str] = []

    def attempt(admin: str, fn) -> None:
        try:
            fn()
        except AssertionError as e:  # collect, so one client's failure does not hide the others'
            failures.append(f"[{admin}] {e}")

    def confluent():
        listed = ck_list_groups(bootstrap)
        for g in groups.values():
            assert listed.get(g) == "stable", f"list_consumer_groups: {g} -> {listed.get(g)}"
        assert listed.get(empty_group) == "empty", f"list_consumer_groups: {empty_group} -> {listed.get(empty_group)}"
        only_empty = ck_list_groups(bootstrap, states=["EMPTY"])
        assert empty_group in only_empty and not set(groups.values()) & set(only_empty), (
            f"list_consumer_groups(states=EMPTY): {only_empty}")
        check_describe("confluent-kafka describe_consumer_groups", ck_describe_groups(bootstrap, all_groups))
        check_offsets("confluent-kafka list_consumer_group_offsets/list_offsets", "ck",
                      lambda g: ck_group_offsets(bootstrap, g, topic, partitions),
                      ck_high_watermarks(bootstrap, topic, partitions))

    def kafka_python():
        listed = kp_list_groups(bootstrap)
        for g in all_groups:
            assert g in listed, f"list_groups misses {g}"
            assert listed[g].get("protocol_type") == "consumer", f"list_groups: {listed[g]}"
        only_stable = kp_list_groups(bootstrap, states=["Stable"])
        assert set(groups.values()) <= set(only_stable) and empty_group not in only_stable, (
            f"list_groups(states_filter=Stable): {sorted(only_stable)}")
        check_describe("kafka-python describe_groups", kp_describe_groups(bootstrap, all_groups))
        check_offsets("kafka-python list_group_offsets/list_partition_offsets", "kp",
                      lambda g: kp_group_offsets(bootstrap, g).get(topic, {}),
                      kp_high_watermarks(bootstrap, topic, partitions))

    def kafkajs():
        listed = kjs_list_groups(bootstrap)
        for g in all_groups:
            assert g in listed, f"listGroups misses {g}"
            assert listed[g].get("protocolType") == "consumer", f"listGroups: {listed[g]}"
        check_describe("kafkajs describeGroups", kjs_describe_groups(bootstrap, all_groups))
        check_offsets("kafkajs fetchOffsets/fetchTopicOffsets", "kjs", lambda g: kjs_group_offsets(bootstrap, g, topic),
                      kjs_high_watermarks(bootstrap, topic))

    attempt("confluent-kafka", confluent)
    attempt("kafka-python", kafka_python)
    attempt("kafkajs", kafkajs)
    assert not failures, "\n".join(failures) + "\n" + strom.stderr_tail(20)


# -- DeleteGroups and OffsetDelete --------------------------------------------------------------


@pytest.mark.timeout(240)
def test_delete_groups_and_offsets(strom, bootstrap, members):
    from confluent_kafka import KafkaError, KafkaException
    from kafka import TopicPartition
    from kafka.errors import GroupSubscribedToTopicError, NoError

    from grouplib import KafkaJSAdminError, ck_admin, kjs_admin, kp_admin

    partitions = 2
    topic = unique_topic("grp-del")
    ck_create_topic(bootstrap, topic, partitions)
    ck_produce(bootstrap, topic, [Msg(f"k{p}-{i}", "v", p) for p in range(partitions) for i in range(5)])
    live_group = unique_topic("del-live")
    live = members("ck", live_group, topic, "dellive")
    wait_until(lambda: live.committed == {0: 5, 1: 5}, 90, "the live member to commit everything",
               lambda: details(strom, [live]))
    clients = ["kp", "ck", "kjs"]
    empty = {c: unique_topic(f"del-{c}") for c in clients}
    for i, c in enumerate(clients):
        w = members("kp", empty[c], topic, f"delc{i}", commit={0: (1, "one"), 1: (2, "two")})
        assert w.wait_exit(90) == 0 and not w.errors, details(strom, [w])

    # OffsetDelete (kafka-python's delete_group_offsets): allowed on an Empty group, refused with
    # GROUP_SUBSCRIBED_TO_TOPIC for a group whose members subscribe to the topic.
    admin = kp_admin(bootstrap)
    try:
        res = admin.delete_group_offsets(empty["kp"], [TopicPartition(topic, 0)])
        assert res == {TopicPartition(topic, 0): NoError}, f"delete_group_offsets on an Empty group: {res}"
        res = admin.delete_group_offsets(live_group, [TopicPartition(topic, 0)])
        assert res == {TopicPartition(topic, 0): GroupSubscribedToTopicError}, f"delete_group_offsets on a live group: {res}"
    finally:
        admin.close()
    assert kp_group_offsets(bootstrap, empty["kp"]) == {topic: {1: (2, "two")}}
    assert kp_group_offsets(bootstrap, live_group)[topic] == {0: (5, "dellive:0:5\x00"), 1: (5, "dellive:1:5\x00")}

    # DeleteGroups of a group with a member: NON_EMPTY_GROUP, through every client.
    ck = ck_admin(bootstrap)  # must outlive its futures
    fut = ck.delete_consumer_groups([live_group], request_timeout=15)[live_group]
    with pytest.raises(KafkaException) as err:
        fut.result(timeout=20)
    assert err.value.args[0].code() == KafkaError.NON_EMPTY_GROUP, f"confluent-kafka: {err.value}"
    admin = kp_admin(bootstrap)
    try:
        res = admin.delete_groups([live_group])
        assert dict(res) == {live_group: "NonEmptyGroupError"}, f"kafka-python delete_groups: {res}"
    finally:
        admin.close()
    with pytest.raises(KafkaJSAdminError) as jerr:
        kjs_admin(bootstrap, [{"op": "deleteGroups", "groupIds": [live_group]}])
    assert jerr.value.error.get("groups") == [{"groupId": live_group, "errorCode": 68, "type": "NON_EMPTY_GROUP"}], str(jerr.value)

    # DeleteGroups of Empty groups: each client deletes one; group and offsets are gone.
    ck.delete_consumer_groups([empty["ck"]], request_timeout=15)[empty["ck"]].result(timeout=20)
    admin = kp_admin(bootstrap)
    try:
        res = admin.delete_groups([empty["kp"]])
        assert dict(res) == {empty["kp"]: "OK"}, f"kafka-python delete_groups: {res}"
    finally:
        admin.close()
    (res,) = kjs_admin(bootstrap, [{"op": "deleteGroups", "groupIds": [empty["kjs"]]}])
    assert [(g["groupId"], g["errorCode"]) for g in res] == [(empty["kjs"], 0)], res
    listed = ck_list_groups(bootstrap)
    for c, g in empty.items():
        assert g not in listed, f"{g} (deleted through {CLIENT_NAMES[c]}) still listed: {listed.get(g)}"
        assert kp_group_offsets(bootstrap, g) == {}, f"{g} deleted through {CLIENT_NAMES[c]} still has offsets"
    assert listed.get(live_group) == "stable"
    assert {p: o for p, (o, _m) in kp_group_offsets(bootstrap, live_group)[topic].items()} == {0: 5, 1: 5}


@pytest.mark.timeout(240)
def test_static_leader_restart_does_not_rebalance(strom, bootstrap, members):
    """Issue 15 item 7: the static member that leads the group restarts and rejoins with an
    empty member id over JoinGroup v5 (librdkafka's version, which has no skip_assignment).
    Kafka keeps the Stable group stable for every version that carries an instance id: the
    leader gets the current members, and its SyncGroup answers its old assignment; the other
    member sees no revoke."""
    partitions = 4
    session_ms = 10000
    topic = unique_topic("grp-static-leader")
    group = unique_topic("g")
    ck_create_topic(bootstrap, topic, partitions)
    leader = members("ck", group, topic, "la", instance_id="inst-a", session_timeout_ms=session_ms)
    wait_for_split(strom, bootstrap, group, topic, [leader], partitions, timeout=60)
    follower = members("kp", group, topic, "lb", instance_id="inst-b", session_timeout_ms=session_ms)
    wait_for_split(strom, bootstrap, group, topic, [leader, follower], partitions, timeout=60)
    time.sleep(2)  # settled: both heartbeating in the same generation
    follower_assignments = follower.assign_no
    old_parts = leader.current_assignment()

    leader.kill9()
    t_kill = time.monotonic()
    again = members("ck", group, topic, "la2", instance_id="inst-a", session_timeout_ms=session_ms)
    wait_until(lambda: again.current_assignment(), 30, "the restarted static leader to be assigned",
               lambda: details(strom, [follower, again]))
    assert again.current_assignment() == old_parts, (
        f"restarted static leader got {again.current_assignment()}, its instance had {old_parts}")
    time.sleep(max(0.0, t_kill + session_ms / 1000 + 4 - time.monotonic()))
    with follower.lock:
        events = [e for t, e in follower.events if t > t_kill and e.get("ev") in ("revoked", "assigned")]
    assert follower.assign_no == follower_assignments and not events, (
        f"the follower was rebalanced when the static leader came back: {events}\n"
        + details(strom, [follower, again]))
    d = ck_describe_groups(bootstrap, [group])[group]
    assert d["state"] == "stable", d
    got = {m["instance_id"]: m["partitions"].get(topic) for m in d["members"]}
    assert got == {"inst-a": old_parts, "inst-b": follower.current_assignment()}, d
