"""Helpers for the consumer group acceptance suite: the brokers, group configurations, a
``Member`` that records what a subscribed consumer was handed (records, rebalance callbacks,
errors), wait loops with deadlines, and producing with confluent-kafka's Producer.

Everything a test does with the consumer under test goes through confluent-kafka's public
API, so one body runs on confluent_kafka and on rdpy.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import confluent_kafka
import pytest

__all__ = [
    "BROKERS",
    "GroupBroker",
    "Member",
    "QUIET",
    "Feeder",
    "broker_lacks",
    "group_conf",
    "poll_until",
    "produce_each",
    "quiet",
    "stable",
    "unique",
]

#: The brokers every test runs on (group_broker's parameters).
BROKERS = ["kafka", "tansu", "librdkafka_mock", "rdpy_mock"]

QUIET = {"log_level": 0}  # keep librdkafka's connection chatter out of test output

#: Short sessions keep expiry quick; heartbeats well inside them. Kafka's broker allows sessions
#: down to 500 ms here (tests/support/kafka/server.py).
SESSION_MS = 1500
HEARTBEAT_MS = 150


def unique(prefix: str) -> str:
    """A topic or group name no other test uses, readable in broker logs."""
    return f"rdpy-grp-{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class GroupBroker:
    """The broker a test runs on: its kind (one of BROKERS), bootstrap servers, and a way to
    create topics (AdminClient on kafka/tansu, the mock's own create_topic on mocks)."""

    kind: str
    bootstrap_servers: str
    _create: Callable[[str, int], None] = field(repr=False)

    def create_topic(self, prefix: str, partitions: int, name: str | None = None) -> str:
        """A new topic (named unique(prefix) unless `name` is given) with `partitions`
        partitions, ready to be written; its name."""
        topic = name or unique(prefix)
        self._create(topic, partitions)
        return topic


def broker_lacks(request: pytest.FixtureRequest, broker: GroupBroker, kinds: dict[str, str]) -> None:
    """Mark this test a strict xfail when it runs on a broker in `kinds` (kind -> the precise
    thing that broker does not do, as seen with confluent-kafka): the test must fail there,
    so the day the broker supports it the mark has to go."""
    if broker.kind in kinds:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{broker.kind}: {kinds[broker.kind]}"))


def group_conf(broker: GroupBroker, group: str, strategy: str = "range", **extra: Any) -> dict[str, Any]:
    """A subscribing consumer's configuration: short session and heartbeats, quick fetches,
    reading from the beginning, no auto commit (tests that want it say so)."""
    return {
        "bootstrap.servers": broker.bootstrap_servers,
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


def parts(tps: Iterable[Any]) -> frozenset[int]:
    """The partition numbers of TopicPartitions."""
    return frozenset(tp.partition for tp in tps)


@dataclass
class Event:
    """A rebalance callback as a Member saw it."""

    kind: str  # "assign", "revoke", "lost"
    at: float  # time.monotonic()
    partitions: frozenset[int]
    assignment_inside: frozenset[int]  # consumer.assignment() inside the callback


class Member:
    """A subscribed consumer and what it was handed: records (with the time they were
    received), rebalance callbacks (with assignment() as seen inside each) and error events.

    With `callbacks`, subscribe() is given on_assign/on_revoke (and `lost`: on_lost) that only
    record, unless `explicit`: then they call (incremental_)assign/(incremental_)unassign
    themselves, as an application may."""

    def __init__(self, consumer: Any, name: str = "") -> None:
        self.c = consumer
        self.name = name
        self.events: list[Event] = []
        self.records: list[tuple[float, int, int, bytes | None]] = []  # (at, partition, offset, value)
        self.errors: list[tuple[float, Any]] = []
        self.stats: list[dict[str, Any]] = []

    def subscribe(self, topics: list[str], *, callbacks: bool = True, lost: bool = True,
                  explicit: bool = False, cooperative: bool = False) -> None:
        if not callbacks:
            self.c.subscribe(topics)
            return

        def record(kind: str) -> Callable[[Any, list[Any]], None]:
            def cb(consumer: Any, tps: list[Any]) -> None:
                self.events.append(Event(kind, time.monotonic(), parts(tps), parts(consumer.assignment())))
                if explicit:
                    if kind == "assign":
                        consumer.incremental_assign(tps) if cooperative else consumer.assign(tps)
                    elif cooperative:
                        consumer.incremental_unassign(tps)
                    else:
                        consumer.unassign()
            return cb

        kw: dict[str, Any] = {"on_assign": record("assign"), "on_revoke": record("revoke")}
        if lost:
            kw["on_lost"] = record("lost")
        self.c.subscribe(topics, **kw)

    def on_stats(self, blob: str) -> None:
        """A stats_cb: keeps each statistics object."""
        self.stats.append(json.loads(blob))

    def poll(self, timeout: float = 0.02) -> Any:
        """consumer.poll(timeout), recording what came; returns it."""
        m = self.c.poll(timeout)
        if m is not None:
            if m.error() is not None:
                self.errors.append((time.monotonic(), m.error()))
            else:
                self.records.append((time.monotonic(), m.partition(), m.offset(), m.value()))
        return m

    def assigned(self) -> frozenset[int]:
        return parts(self.c.assignment())

    def kinds(self, since: float = 0.0) -> list[str]:
        return [e.kind for e in self.events if e.at >= since]

    def offsets(self, partition: int) -> list[int]:
        return [o for _, p, o, _ in self.records if p == partition]


def poll_until(members: Sequence[Member], cond: Callable[[], bool], what: str, timeout: float = 30.0,
               tick: Callable[[], None] | None = None) -> float:
    """Poll every member (and call `tick`, e.g. to produce) until cond() holds; fail naming
    `what` after `timeout` seconds. Returns how long it took."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if cond():
            return time.monotonic() - start
        if time.monotonic() > deadline:
            state = "; ".join(f"{m.name}: assigned {sorted(m.assigned())}, events {m.kinds()}, "
                              f"errors {[str(e) for _, e in m.errors][-3:]}" for m in members)
            raise AssertionError(f"timed out after {timeout}s waiting for {what} ({state})")
        if tick is not None:
            tick()
        for m in members:
            m.poll(0.01)


def stable(members: Sequence[Member], partitions: int) -> Callable[[], bool]:
    """cond for poll_until: every member has partitions and together they hold each of
    `partitions` exactly once."""
    def cond() -> bool:
        sets = [m.assigned() for m in members]
        return (all(sets) and sum(len(s) for s in sets) == partitions
                and frozenset().union(*sets) == frozenset(range(partitions)))
    return cond


def quiet(members: Sequence[Member], seconds: float) -> Callable[[], bool]:
    """cond for poll_until: no member has had a rebalance callback for `seconds` (and each
    holds partitions): the group is done rebalancing."""
    def cond() -> bool:
        last = max((e.at for m in members for e in m.events), default=0.0)
        return all(m.assigned() for m in members) and time.monotonic() - last >= seconds
    return cond


def produce_each(bootstrap: str, topic: str, partitions: int, per_partition: int, tag: str = "v") -> None:
    """`per_partition` records to each partition, with confluent's Producer; all delivered."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **QUIET})
    failed: list[Any] = []
    for i in range(per_partition):
        for p in range(partitions):
            producer.produce(topic, value=f"{tag}-{p}-{i}".encode(), partition=p,
                             on_delivery=lambda err, msg: failed.append(err) if err is not None else None)
    assert producer.flush(30) == 0, "records not delivered"
    assert failed == [], failed


class Feeder:
    """Produces records to every partition of a topic while a test runs (confluent's
    Producer): feed() sends the next round when `interval` has passed since the last one.
    Values are b"<partition>-<n>", n counting per partition from 0, and every record's
    (partition, offset, value) is known from its delivery report once flush()ed."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, interval: float = 0.02) -> None:
        self.producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, **QUIET})
        self.topic = topic
        self.partitions = partitions
        self.interval = interval
        self.sent = 0
        self.delivered: dict[int, dict[int, bytes]] = defaultdict(dict)  # partition -> offset -> value
        self.failed: list[str] = []
        self._next = 0.0
        self._n: dict[int, int] = defaultdict(int)

    def _report(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed.append(str(err))
        else:
            self.delivered[msg.partition()][msg.offset()] = msg.value()

    def feed(self) -> None:
        now = time.monotonic()
        if now < self._next:
            self.producer.poll(0)
            return
        self._next = now + self.interval
        for p in range(self.partitions):
            value = f"{p}-{self._n[p]}".encode()
            self._n[p] += 1
            self.producer.produce(self.topic, value=value, partition=p, on_delivery=self._report)
            self.sent += 1
        self.producer.poll(0)

    def flush(self) -> dict[int, dict[int, bytes]]:
        """Wait for every delivery report; partition -> offset -> value of all delivered."""
        assert self.producer.flush(30) == 0, "records not delivered"
        assert self.failed == [], self.failed[:5]
        assert sum(len(v) for v in self.delivered.values()) == self.sent
        return self.delivered

    def close(self) -> None:
        self.producer.flush(30)
        self.producer.close()
