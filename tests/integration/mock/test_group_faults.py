"""Consumer-group (classic protocol) faults on rdpy's mock cluster, each scenario run with
confluent-kafka (the reference, which must pass) and with rdpy: a rdpy failure is a bug report.

Scenarios: a heartbeat answered UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS,
max.poll.interval.ms exceeded then polling again, unsubscribe() then subscribe() again, close()
while the coordinator holds the JoinGroup, and an on_revoke that raises inside close().
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

from rdpy.mock import MockCluster
from tests.integration.consumer._util import QUIET, produce
from tests.integration.mock._util import unique
from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)

pytestmark = pytest.mark.mockcluster

HEARTBEAT = 12
UNKNOWN_MEMBER_ID = 25
ILLEGAL_GENERATION = 22
REBALANCE_IN_PROGRESS = 27
MAX_POLL_EXCEEDED = -147

STRATEGIES = ["range", "cooperative-sticky"]


@pytest.fixture
def cluster() -> Iterator[MockCluster]:
    with MockCluster(num_brokers=3, group_initial_rebalance_delay_ms=0) as c:
        yield c
        assert c.internal_errors == [], c.internal_errors


@pytest.fixture
def closing() -> Iterator[Callable[[Any], Any]]:
    """Register consumers to be closed at the end whatever happened."""
    made: list[Any] = []
    yield lambda c: (made.append(c), c)[1]
    for c in made:
        try:
            c.close()
        except Exception:  # noqa: BLE001  (already closed, or a callback raising again)
            pass


def conf(cluster: MockCluster, group: str, **extra: Any) -> dict[str, Any]:
    return {
        "bootstrap.servers": cluster.bootstrap_servers,
        "group.id": group,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 200,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 50,
        **QUIET,
        **extra,
    }


class Recorder:
    """Rebalance callbacks that only record (kind, partitions, thread); the client assigns."""

    def __init__(self) -> None:
        self.events: list[tuple[str, list[int], str]] = []

    def _cb(self, kind: str) -> Callable[[Any, list[Any]], None]:
        def cb(consumer: Any, partitions: list[Any]) -> None:
            self.events.append((kind, sorted(p.partition for p in partitions),
                                threading.current_thread().name))
        return cb

    def callbacks(self) -> dict[str, Any]:
        return {"on_assign": self._cb("assign"), "on_revoke": self._cb("revoke"),
                "on_lost": self._cb("lost")}

    def kinds(self) -> list[tuple[str, list[int]]]:
        return [(k, p) for k, p, _ in self.events]


def pump(consumers: list[Any], seconds: float, until: Callable[[], bool],
         errors: list[int] | None = None) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in consumers:
            m = c.poll(0.05)
            if m is not None and m.error() is not None and errors is not None:
                errors.append(m.error().code())
        if until():
            return True
    return False


def topic_with_data(cluster: MockCluster, partitions: int = 4) -> str:
    topic = unique("gf")
    cluster.create_topic(topic, partitions)
    produce(cluster.bootstrap_servers, topic,
            [{"value": b"v%d" % i, "partition": i % partitions} for i in range(8 * partitions)])
    return topic


def joined(client: ModuleType, cluster: MockCluster, closing: Any, topic: str, group: str,
           **extra: Any) -> tuple[Any, Recorder]:
    rec = Recorder()
    c = closing(client.Consumer(conf(cluster, group, **extra)))
    c.subscribe([topic], **rec.callbacks())
    assert pump([c], 15, lambda: len(c.assignment()) == 4), "never assigned"
    return c, rec


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("code", [UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION])
def test_heartbeat_membership_error_loses_then_regains_the_assignment(
        client: ModuleType, cluster: MockCluster, closing: Any, strategy: str, code: int) -> None:
    """librdkafka: on_lost (main thread, from poll()), rejoin, every partition back.
    rdpy with cooperative-sticky and UNKNOWN_MEMBER_ID: the rejoin's JoinGroup is answered
    MEMBER_ID_REQUIRED (KIP-394, member id was reset) and _join_group_failed calls
    _revoke_all_rejoin, whose "rebalance already in progress" check (member id now set,
    WAIT_JOIN) returns without leaving WAIT_JOIN: stuck forever, never reassigned."""
    topic = topic_with_data(cluster)
    c, rec = joined(client, cluster, closing, topic, unique("g"),
                    **{"partition.assignment.strategy": strategy})
    cluster.push_request_errors(HEARTBEAT, code)
    assert pump([c], 20, lambda: len(rec.events) >= 3 and len(c.assignment()) == 4), rec.events
    assert rec.kinds() == [("assign", [0, 1, 2, 3]), ("lost", [0, 1, 2, 3]),
                           ("assign", [0, 1, 2, 3])]
    assert {t for _, _, t in rec.events} == {threading.current_thread().name}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_heartbeat_rebalance_in_progress_revokes_not_loses(
        client: ModuleType, cluster: MockCluster, closing: Any, strategy: str) -> None:
    topic = topic_with_data(cluster)
    c, rec = joined(client, cluster, closing, topic, unique("g"),
                    **{"partition.assignment.strategy": strategy})
    cluster.push_request_errors(HEARTBEAT, REBALANCE_IN_PROGRESS)
    pump([c], 3, lambda: False)
    assert len(c.assignment()) == 4
    assert "lost" not in [k for k, _ in rec.kinds()], rec.events


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_max_poll_interval_exceeded_then_polling_again_rejoins(
        client: ModuleType, cluster: MockCluster, closing: Any, strategy: str) -> None:
    """librdkafka: _MAX_POLL_EXCEEDED, on_lost, then on the next polls a rejoin and every
    partition back. rdpy with cooperative-sticky never rejoins (same stuck WAIT_JOIN as
    above: the member id was reset on leaving)."""
    topic = topic_with_data(cluster)
    c, rec = joined(client, cluster, closing, topic, unique("g"),
                    **{"partition.assignment.strategy": strategy,
                       "max.poll.interval.ms": 1500, "session.timeout.ms": 1500})
    time.sleep(2.5)
    errors: list[int] = []
    assert pump([c], 15, lambda: len(rec.events) >= 3 and len(c.assignment()) == 4,
                errors), (rec.events, errors)
    assert MAX_POLL_EXCEEDED in errors
    assert rec.kinds() == [("assign", [0, 1, 2, 3]), ("lost", [0, 1, 2, 3]),
                           ("assign", [0, 1, 2, 3])]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_unsubscribe_then_subscribe_again_rejoins(
        client: ModuleType, cluster: MockCluster, closing: Any, strategy: str) -> None:
    """librdkafka: on_revoke, memberid() None, then a subscribe() to another topic joins
    again. rdpy with cooperative-sticky never rejoins (stuck in WAIT_JOIN, as above)."""
    topic = topic_with_data(cluster)
    other = topic_with_data(cluster, partitions=2)
    c, rec = joined(client, cluster, closing, topic, unique("g"),
                    **{"partition.assignment.strategy": strategy})
    c.unsubscribe()
    assert pump([c], 5, lambda: len(rec.events) >= 2), rec.events
    assert rec.kinds()[1] == ("revoke", [0, 1, 2, 3])
    assert c.assignment() == []
    c.subscribe([other], **rec.callbacks())
    assert pump([c], 15, lambda: len(c.assignment()) == 2), rec.events
    assert {tp.topic for tp in c.assignment()} == {other}
    assert c.memberid() is not None


def test_close_while_join_group_is_held_returns_within_seconds(
        client: ModuleType, cluster: MockCluster, closing: Any) -> None:
    """b joins a group whose member a does not poll, so the coordinator holds b's JoinGroup
    (until a rejoins or a's rebalance timeout, 20 s). librdkafka sends LeaveGroup with a
    5 s timeout (rd_kafka_LeaveGroupRequest) and close() returns after ~5 s. rdpy sends it
    with socket.timeout.ms, it queues behind the held JoinGroup, and close() waits until the
    JoinGroup is answered (~18 s here; up to 60 s with the default max.poll.interval.ms)."""
    topic = topic_with_data(cluster)
    group = unique("g")
    a = closing(confluent_kafka.Consumer(conf(cluster, group, **{"max.poll.interval.ms": 20000})))
    a.subscribe([topic])
    assert pump([a], 15, lambda: len(a.assignment()) == 4)
    b = closing(client.Consumer(conf(cluster, group, **{"max.poll.interval.ms": 20000})))
    b.subscribe([topic])
    pump([b], 2, lambda: False)  # a does not poll: b's JoinGroup is held
    assert b.assignment() == []
    started = time.monotonic()
    b.close()
    took = time.monotonic() - started
    assert took < 8, f"close() took {took:.1f} s"


def test_on_revoke_raising_in_close_still_leaves_the_group(
        client: ModuleType, cluster: MockCluster, closing: Any) -> None:
    """close() raises the on_revoke exception (both clients), but librdkafka still sends
    LeaveGroup: the other member gets every partition at once. rdpy's _leave_group lets the
    exception out of its serve loop and shuts down without leaving: the other member waits
    for the session timeout (6 s)."""
    topic = topic_with_data(cluster)
    group = unique("g")
    a = closing(confluent_kafka.Consumer(conf(cluster, group)))
    a.subscribe([topic])
    assert pump([a], 15, lambda: len(a.assignment()) == 4)
    closing_now = {"on": False}

    def on_revoke(consumer: Any, partitions: list[Any]) -> None:
        if closing_now["on"]:
            raise ValueError("boom")

    b = closing(client.Consumer(conf(cluster, group)))
    b.subscribe([topic], on_revoke=on_revoke)
    assert pump([a, b], 15, lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)
    closing_now["on"] = True
    with pytest.raises(ValueError, match="boom"):
        b.close()
    started = time.monotonic()
    assert pump([a], 10, lambda: len(a.assignment()) == 4)
    took = time.monotonic() - started
    assert took < 3, f"the other member got the partitions back after {took:.1f} s"


SYNC_GROUP = 14


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("code", [UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION])
def test_sync_group_membership_error_rejoins(
        client: ModuleType, cluster: MockCluster, closing: Any, strategy: str, code: int) -> None:
    """The first SyncGroup answered UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION: librdkafka rejoins
    and gets every partition. rdpy with cooperative-sticky: _sync_group_failed calls
    _revoke_all_rejoin, which skips ("rebalance already in progress": join state WAIT_SYNC)
    and leaves the member in WAIT_SYNC for good."""
    topic = topic_with_data(cluster)
    cluster.push_request_errors(SYNC_GROUP, code)
    rec = Recorder()
    c = closing(client.Consumer(conf(cluster, unique("g"),
                                     **{"partition.assignment.strategy": strategy})))
    c.subscribe([topic], **rec.callbacks())
    assert pump([c], 20, lambda: len(c.assignment()) == 4), rec.events
