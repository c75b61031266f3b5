"""Consumer groups (classic protocol) on rdpy's mock cluster, proven with confluent-kafka:
librdkafka's own group client (JoinGroup with KIP-394 member ids, the leader's assignor,
SyncGroup, heartbeats, LeaveGroup, static membership) against the mock's group coordinator
(rdpy/mock/classic_group.py). Each group must end with a valid assignment (every partition
once) and consume every record exactly once; leaving, crashing (a SIGKILLed consumer process,
expired after session.timeout.ms) and static restarts behave as on Kafka; commits carry the
generation and a stale one is refused."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import confluent_kafka
import pytest

from rdpy.errors import ErrorCode
from rdpy.mock import MockCluster
from rdpy.protocol.messages import offset_commit as m_oc
from rdpy.protocol.messages.consumer_protocol_assignment import ConsumerProtocolAssignment
from rdpy.protocol.messages.heartbeat import HeartbeatRequest
from rdpy.protocol.messages.join_group import JoinGroupRequest, JoinGroupRequestProtocol
from rdpy.protocol.messages.metadata import MetadataRequest
from rdpy.protocol.messages.sync_group import SyncGroupRequest
from tests.integration.consumer._util import QUIET, mock_topic, produce
from tests.integration.mock._util import unique
from tests.support.rawclient import RawConnection

ck = confluent_kafka

PARTITIONS = 6
#: A short session keeps crash tests quick; heartbeats well inside it.
SESSION_MS = 1500
HEARTBEAT_MS = 200


def group_conf(cluster: MockCluster, group: str, strategy: str = "range", **extra: Any) -> dict[str, Any]:
    return {
        "bootstrap.servers": cluster.bootstrap_servers,
        "group.id": group,
        "partition.assignment.strategy": strategy,
        "session.timeout.ms": SESSION_MS,
        "heartbeat.interval.ms": HEARTBEAT_MS,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 50,
        **QUIET,
        **extra,
    }


@pytest.fixture
def consumers() -> Iterator[Callable[[dict[str, Any]], Any]]:
    """Make confluent consumers; every one still open is closed afterwards."""
    made: list[Any] = []

    def make(conf: dict[str, Any]) -> Any:
        c = ck.Consumer(conf)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.close()
        except RuntimeError:
            pass  # already closed by the test


def assigned(c: Any) -> set[int]:
    return {tp.partition for tp in c.assignment()}


def given(assignment: bytes) -> set[int]:
    """The partitions in a consumer protocol assignment (what the leader gave a member)."""
    if not assignment:
        return set()
    version = int.from_bytes(assignment[:2], "big")
    decoded = ConsumerProtocolAssignment.decode(assignment[2:], min(version, 3))
    return {p for t in decoded.assigned_partitions for p in t.partitions}


def wait_stable(cluster: MockCluster, group: str, members: list[Any], timeout: float = 20.0,
                polled: list[Any] | None = None) -> dict[int, int]:
    """Poll `members` until the mock's group is Stable with exactly them, each consumer has
    applied what the leader assigned it, and that covers every partition once (with
    cooperative-sticky, a partition moves in a second rebalance after its revocation);
    partition -> index of its member. Messages polled on the way are appended to `polled`
    (or must not arrive)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        for c in members:
            m = c.poll(0.05)
            if m is not None and m.error() is None:
                assert polled is not None, f"unexpected message {m.partition()}@{m.offset()}"
                polled.append(m)
        snap = cluster.group_snapshot(group)
        sets = [assigned(c) for c in members]
        last = (snap, sets)
        if (snap is not None and snap.state == "Stable"
                and set(snap.members) == {c.memberid() for c in members}
                and all(given(snap.assignments[c.memberid()]) == s for c, s in zip(members, sets, strict=True))
                and sum(len(s) for s in sets) == PARTITIONS
                and set().union(*sets) == set(range(PARTITIONS))):
            return {p: i for i, s in enumerate(sets) for p in s}
    raise AssertionError(f"group did not settle: {last}")


def consume_exactly(members: list[Any], topic: str, count: int, owner: dict[int, int],
                    timeout: float = 20.0) -> None:
    """Poll every member until `count` records arrived; each record once, from its owner."""
    seen: dict[tuple[int, int], int] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        for i, c in enumerate(members):
            m = c.poll(0.05)
            if m is None or m.error() is not None:
                continue
            assert m.topic() == topic
            key = (m.partition(), m.offset())
            assert key not in seen, f"{key} consumed twice"
            assert owner[m.partition()] == i, f"{key} consumed by member {i}, not its owner"
            seen[key] = i
    assert len(seen) == count, f"consumed {len(seen)} of {count}"


def produce_each(cluster: MockCluster, topic: str, per_partition: int) -> int:
    produce(cluster.bootstrap_servers, topic,
            ({"value": b"v%d" % i, "partition": i % PARTITIONS} for i in range(PARTITIONS * per_partition)))
    return PARTITIONS * per_partition


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_subscribe_gives_a_valid_assignment_and_consumes(rdpy_mock: MockCluster, consumers: Any, strategy: str,
                                                         n: int) -> None:
    topic = mock_topic(rdpy_mock, "grp", PARTITIONS, 3)
    group = unique("group")
    members = [consumers(group_conf(rdpy_mock, group, strategy)) for _ in range(n)]
    for c in members:
        c.subscribe([topic])
    owner = wait_stable(rdpy_mock, group, members)
    snap = rdpy_mock.group_snapshot(group)
    assert snap is not None and snap.protocol_name == strategy and snap.protocol_type == "consumer"
    if strategy != "cooperative-sticky":  # librdkafka's range/roundrobin spread 6 evenly
        assert sorted(len(assigned(c)) for c in members) == [PARTITIONS // n] * n
    consume_exactly(members, topic, produce_each(rdpy_mock, topic, 5), owner)


def test_a_member_closing_hands_its_partitions_to_the_rest(rdpy_mock: MockCluster, consumers: Any) -> None:
    topic = mock_topic(rdpy_mock, "leave", PARTITIONS, 3)
    group = unique("group")
    members = [consumers(group_conf(rdpy_mock, group)) for _ in range(3)]
    for c in members:
        c.subscribe([topic])
    wait_stable(rdpy_mock, group, members)
    before = rdpy_mock.group_snapshot(group)
    assert before is not None
    leaving = members[1].memberid()
    members[1].close()  # LeaveGroup
    rest = [members[0], members[2]]
    owner = wait_stable(rdpy_mock, group, rest)
    after = rdpy_mock.group_snapshot(group)
    assert after is not None and after.generation_id > before.generation_id
    assert leaving not in after.members
    assert (after.rebalances, after.rebalance_reason) == (before.rebalances + 1,
                                                          f"member {leaving} left the group")
    consume_exactly(rest, topic, produce_each(rdpy_mock, topic, 3), owner)


_CHILD = textwrap.dedent("""
    import sys, confluent_kafka as ck
    conf = dict(a.split("=", 1) for a in sys.argv[2:])
    c = ck.Consumer(conf)
    c.subscribe([sys.argv[1]])
    told = False
    while True:
        c.poll(0.05)
        if c.assignment() and not told:
            print("assigned", flush=True)
            told = True
""")


def test_a_killed_member_is_expired_after_the_session_timeout(rdpy_mock: MockCluster, consumers: Any) -> None:
    topic = mock_topic(rdpy_mock, "crash", PARTITIONS, 3)
    group = unique("group")
    survivor = consumers(group_conf(rdpy_mock, group))
    survivor.subscribe([topic])
    wait_stable(rdpy_mock, group, [survivor])
    conf = group_conf(rdpy_mock, group)
    args = [f"{k}={v}" for k, v in conf.items() if k != "log_level"]
    child = subprocess.Popen([sys.executable, "-c", _CHILD, topic, *args], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            survivor.poll(0.05)
            snap = rdpy_mock.group_snapshot(group)
            if (snap is not None and snap.state == "Stable" and len(snap.members) == 2
                    and 0 < len(assigned(survivor)) < PARTITIONS):
                break
        else:
            raise AssertionError(f"the child did not join: {rdpy_mock.group_snapshot(group)}")
        assert child.stdout is not None
        line = ""
        with selectors.DefaultSelector() as sel:  # the child says it has partitions
            sel.register(child.stdout, selectors.EVENT_READ)
            while not line and time.monotonic() < deadline:
                survivor.poll(0.05)
                if sel.select(0.05):
                    line = child.stdout.readline().strip()
        assert line == "assigned", f"the child said {line!r}"
        mid = rdpy_mock.group_snapshot(group)
        assert mid is not None
        os.kill(child.pid, signal.SIGKILL)  # no LeaveGroup: only the session timeout removes it
        child.wait(10)
        killed = time.monotonic()
        owner = wait_stable(rdpy_mock, group, [survivor])
        elapsed = time.monotonic() - killed
        after = rdpy_mock.group_snapshot(group)
        assert after is not None and after.generation_id > mid.generation_id
        assert "session expired" in after.rebalance_reason, after
        # Its last heartbeat came shortly before the kill (every heartbeat.interval.ms).
        assert elapsed >= (SESSION_MS - 2 * HEARTBEAT_MS) / 1000, elapsed
        consume_exactly([survivor], topic, produce_each(rdpy_mock, topic, 2), owner)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def test_static_member_restart_within_the_session_keeps_its_assignment(rdpy_mock: MockCluster,
                                                                      consumers: Any) -> None:
    topic = mock_topic(rdpy_mock, "static", PARTITIONS, 3)
    group = unique("group")
    conf: dict[str, Any] = {"session.timeout.ms": 6000}
    a = consumers(group_conf(rdpy_mock, group, "range", **{"group.instance.id": "inst-a", **conf}))
    b = consumers(group_conf(rdpy_mock, group, "range", **{"group.instance.id": "inst-b", **conf}))
    a.subscribe([topic])
    b.subscribe([topic])
    wait_stable(rdpy_mock, group, [a, b])
    before = rdpy_mock.group_snapshot(group)
    assert before is not None and sorted(v for v in before.members.values() if v) == ["inst-a", "inst-b"]
    b_parts = assigned(b)
    b.close()  # a static member does not leave the group (KIP-345)
    still = rdpy_mock.group_snapshot(group)
    assert still is not None and still.members == before.members and still.state == "Stable"
    b2 = consumers(group_conf(rdpy_mock, group, "range", **{"group.instance.id": "inst-b", **conf}))
    b2.subscribe([topic])
    owner = wait_stable(rdpy_mock, group, [a, b2])
    after = rdpy_mock.group_snapshot(group)
    assert after is not None
    assert assigned(b2) == b_parts
    assert (after.generation_id, after.rebalances) == (before.generation_id, before.rebalances)
    new_b = next(m for m, inst in after.members.items() if inst == "inst-b")
    old_b = next(m for m, inst in before.members.items() if inst == "inst-b")
    assert new_b != old_b and new_b == b2.memberid()
    consume_exactly([a, b2], topic, produce_each(rdpy_mock, topic, 2), owner)


def _commit(cluster: MockCluster, group: str, topic: str, generation: int, member_id: str, offset: int) -> int:
    """An OffsetCommit v8 sent straight to the group's coordinator: its partition error code."""
    address = cluster.bootstrap_servers.split(",")[cluster.broker_ids.index(cluster.coordinator("group", group))]
    with RawConnection(address) as conn:
        conn.negotiate_versions()
        resp = conn.request(m_oc.OffsetCommitRequest(
            group_id=group, generation_id_or_member_epoch=generation, member_id=member_id,
            topics=[m_oc.OffsetCommitRequestTopic(name=topic, partitions=[
                m_oc.OffsetCommitRequestPartition(partition_index=0, committed_offset=offset)])]), 8)
    return int(resp.topics[0].partitions[0].error_code)


def test_commits_carry_the_generation_and_a_stale_one_is_refused(rdpy_mock: MockCluster, consumers: Any) -> None:
    topic = mock_topic(rdpy_mock, "commit", PARTITIONS, 3)
    group = unique("group")
    a = consumers(group_conf(rdpy_mock, group))
    a.subscribe([topic])
    wait_stable(rdpy_mock, group, [a])
    a.commit(offsets=[ck.TopicPartition(topic, p, 10 + p) for p in range(PARTITIONS)], asynchronous=False)
    got = a.committed([ck.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    assert [tp.offset for tp in got] == [10 + p for p in range(PARTITIONS)]
    snap = rdpy_mock.group_snapshot(group)
    assert snap is not None
    member = a.memberid()
    assert member in snap.members
    # A second member joins: a new generation. The first one's old generation is refused.
    b = consumers(group_conf(rdpy_mock, group))
    b.subscribe([topic])
    wait_stable(rdpy_mock, group, [a, b])
    now = rdpy_mock.group_snapshot(group)
    assert now is not None and now.generation_id > snap.generation_id
    assert _commit(rdpy_mock, group, topic, snap.generation_id, member, 99) == ErrorCode.ILLEGAL_GENERATION
    assert _commit(rdpy_mock, group, topic, now.generation_id, "not-a-member", 99) == ErrorCode.UNKNOWN_MEMBER_ID
    # A commit from outside the group (generation -1, no member id) while it has members.
    assert _commit(rdpy_mock, group, topic, -1, "", 99) == ErrorCode.UNKNOWN_MEMBER_ID
    assert _commit(rdpy_mock, group, topic, now.generation_id, member, 42) == 0
    got = b.committed([ck.TopicPartition(topic, 0)], timeout=10)
    assert got[0].offset == 42
    # librdkafka's own commit with the current generation still works.
    b.commit(offsets=[ck.TopicPartition(topic, 1, 7)], asynchronous=False)
    assert a.committed([ck.TopicPartition(topic, 1)], timeout=10)[0].offset == 7


def test_admin_lists_and_describes_the_group(rdpy_mock: MockCluster, consumers: Any) -> None:
    topic = mock_topic(rdpy_mock, "admin", PARTITIONS, 3)
    group = unique("group")
    members = [consumers(group_conf(rdpy_mock, group, "roundrobin", **{"client.id": f"member-{i}"}))
               for i in range(2)]
    for c in members:
        c.subscribe([topic])
    wait_stable(rdpy_mock, group, members)
    admin = ck.admin.AdminClient({"bootstrap.servers": rdpy_mock.bootstrap_servers, **QUIET})
    listed = admin.list_consumer_groups(request_timeout=10).result(10)
    mine = [g for g in listed.valid if g.group_id == group]
    assert len(mine) == 1 and mine[0].state == ck.ConsumerGroupState.STABLE, listed.valid
    described = admin.describe_consumer_groups([group], request_timeout=10)[group].result(10)
    assert described.state == ck.ConsumerGroupState.STABLE
    assert described.partition_assignor == "roundrobin"
    assert sorted(m.client_id for m in described.members) == ["member-0", "member-1"]
    assert sorted(m.member_id for m in described.members) == sorted(c.memberid() for c in members)
    got = {(tp.topic, tp.partition) for m in described.members for tp in m.assignment.topic_partitions}
    assert got == {(topic, p) for p in range(PARTITIONS)}


def test_injected_group_errors_and_delays(rdpy_mock: MockCluster, consumers: Any) -> None:
    """push_request_errors and broker_push_request_error_rtts reach the group APIs: a refused
    JoinGroup is retried (librdkafka waits about 2 s before it asks again), a SyncGroup answered 500 ms late (its answer waits for the
    leader's assignment first, then the delay) holds the group back that long, and a
    Heartbeat answered REBALANCE_IN_PROGRESS makes the member rejoin: a new generation."""
    topic = mock_topic(rdpy_mock, "faults", PARTITIONS, 3)
    group = unique("group")
    coordinator = rdpy_mock.coordinator("group", group)
    rdpy_mock.push_request_errors(JoinGroupRequest.API_KEY, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    rdpy_mock.broker_push_request_error_rtts(coordinator, SyncGroupRequest.API_KEY, (0, 500))
    c = consumers(group_conf(rdpy_mock, group))
    start = time.monotonic()
    c.subscribe([topic])
    wait_stable(rdpy_mock, group, [c])
    assert time.monotonic() - start >= 0.5
    # the refused one, MEMBER_ID_REQUIRED, the join that counted
    assert rdpy_mock.request_count(JoinGroupRequest.API_KEY) == 3
    assert rdpy_mock.broker_error_stack_cnt(coordinator, SyncGroupRequest.API_KEY) == 0
    before = rdpy_mock.group_snapshot(group)
    assert before is not None and before.generation_id == 1
    joins = rdpy_mock.request_count(JoinGroupRequest.API_KEY)
    rdpy_mock.push_request_errors(HeartbeatRequest.API_KEY, ErrorCode.REBALANCE_IN_PROGRESS)
    deadline = time.monotonic() + 10
    while rdpy_mock.request_count(JoinGroupRequest.API_KEY) == joins and time.monotonic() < deadline:
        c.poll(0.05)
    assert rdpy_mock.request_count(JoinGroupRequest.API_KEY) > joins, "the member did not rejoin"
    owner = wait_stable(rdpy_mock, group, [c])
    after = rdpy_mock.group_snapshot(group)
    assert after is not None and after.generation_id == 2 and after.rebalance_reason.startswith("leader")
    consume_exactly([c], topic, produce_each(rdpy_mock, topic, 2), owner)


def test_a_waiting_join_does_not_hold_up_other_connections() -> None:
    """A JoinGroup waits group.initial.rebalance.delay.ms in a new group (Kafka's delay for
    more members); meanwhile the server thread answers everyone else."""
    with MockCluster(1) as cluster:
        cluster.group_initial_rebalance_delay_ms(600)
        join = JoinGroupRequest(group_id="g", session_timeout_ms=6000, rebalance_timeout_ms=6000, member_id="",
                                protocol_type="consumer",
                                protocols=[JoinGroupRequestProtocol(name="range", metadata=b"m")])
        with RawConnection(cluster.bootstrap_servers) as waiting, RawConnection(cluster.bootstrap_servers) as other:
            waiting.negotiate_versions()
            other.negotiate_versions()
            start = time.monotonic()
            _, frame = waiting.session.send_request(join, 3)  # v3: no MEMBER_ID_REQUIRED round
            waiting.sock.sendall(frame)
            for _ in range(3):
                assert other.request(MetadataRequest(topics=[]), 12).brokers
            assert time.monotonic() - start < 0.5
            snap = cluster.group_snapshot("g")
            assert snap is not None and snap.state == "PreparingRebalance"
            response: Any = None
            while response is None:
                for f in waiting.decoder.feed(waiting.sock.recv(65536)):
                    response = waiting.session.receive(f).response
            assert time.monotonic() - start >= 0.6
            assert (response.error_code, response.generation_id, response.protocol_name) == (0, 1, "range")
            assert response.leader == response.member_id and len(response.members) == 1
        assert cluster.internal_errors == []
