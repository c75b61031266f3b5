"""Fault injection on librdkafka's 3-broker mock cluster while a consumer reads: leaders move
and a leader goes down and comes back. Every partition's records arrive exactly once, in
offset order, with their values (tests.support.invariants.check_consumed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.integration.consumer._util import (
    check_consumed,
    consumer_conf,
    mock_topic,
    poll_for,
    produce_seq,
    seeded_mock_topic,
    seq_expected,
    wait_for_leaders,
)
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

pytestmark = pytest.mark.mockcluster

PARTITIONS = 3
PER_PARTITION = 400


def _setup(mock: LibrdkafkaMockCluster) -> tuple[str, dict[int, list[int]], dict[int, int]]:
    # Small batches: the mock answers a Fetch with one batch, so consumption takes many fetches.
    topic, seqs = seeded_mock_topic(mock, "fault", PARTITIONS, PER_PARTITION, **{"batch.num.messages": 10, "linger.ms": 0})
    return topic, seqs, wait_for_leaders(mock.bootstrap_servers, topic, PARTITIONS)


def _consume_with(
    ck: ModuleType, consumer: Any, topic: str, faults: dict[int, Callable[[], None]], timeout: float = 45.0
) -> list[Any]:
    """Read PARTITIONS * PER_PARTITION messages; run faults[n]() once n messages were read.
    Paced (a short sleep every 50 messages) so the faults land mid-consumption."""
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got: list[Any] = []
    total = PARTITIONS * PER_PARTITION
    deadline = time.monotonic() + timeout
    while len(got) < total and time.monotonic() < deadline:
        m = consumer.poll(0.2)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append(m)
        if len(got) in faults:
            faults.pop(len(got))()
        if len(got) % 50 == 0:
            time.sleep(0.02)
    assert not faults, "consumption ended before every fault was injected"
    # Nothing more: no duplicates trickle in after the last record.
    tail = poll_for(consumer, 1.0)
    assert [m.error() for m in tail if m.error() is not None] == []
    return got + tail


def _assert_exact(got: list[Any], seqs: dict[int, list[int]]) -> None:
    """Per partition: offsets 0..PER_PARTITION-1, each once, in order, with produce_seq's values."""
    offsets, values = seq_expected(seqs, {p: 0 for p in range(PARTITIONS)})
    assert all(len(o) == PER_PARTITION for o in offsets.values())
    check_consumed(got, offsets, values=values)


def test_leaders_move_mid_consumption(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic, seqs, leaders = _setup(librdkafka_mock)

    def move(step: int) -> Callable[[], None]:
        def run() -> None:
            for p, b in leaders.items():
                librdkafka_mock.partition_set_leader(topic, p, (b - 1 + step) % 3 + 1)

        return run

    consumer = make_consumer(
        consumer_conf(librdkafka_mock.bootstrap_servers, **{"topic.metadata.refresh.interval.ms": 1000})
    )
    got = _consume_with(consumer_client, consumer, topic, {150: move(1), 500: move(2), 800: move(0)})
    _assert_exact(got, seqs)
    md = consumer.list_topics(topic, timeout=10)
    assert {p: pm.leader for p, pm in md.topics[topic].partitions.items()} == leaders


def test_leader_down_and_up_mid_consumption(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic, seqs, leaders = _setup(librdkafka_mock)
    victim = leaders[0]

    def down() -> None:
        librdkafka_mock.broker_set_down(victim)

    def up() -> None:
        librdkafka_mock.broker_set_up(victim)

    others = [p for p, b in leaders.items() if b != victim]
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    consumer.assign([consumer_client.TopicPartition(topic, p, consumer_client.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    # Read a little from everything, take the victim down, keep reading from the others for a
    # while, bring it back, read the rest.
    got: list[Any] = []
    while len(got) < 120:
        m = consumer.poll(5)
        assert m is not None and m.error() is None
        got.append(m)
    down()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        m = consumer.poll(0.1)
        if m is not None:
            assert m.error() is None, m.error()
            got.append(m)
            time.sleep(0.002)
    read_while_down = [m for m in got[120:] if m.partition() in others]
    victim_reads = [m for m in got[120:] if m.partition() not in others]
    up()
    rest_deadline = time.monotonic() + 45
    while len(got) < PARTITIONS * PER_PARTITION and time.monotonic() < rest_deadline:
        m = consumer.poll(0.2)
        if m is not None:
            assert m.error() is None, m.error()
            got.append(m)
    got += poll_for(consumer, 1.0)
    _assert_exact(got, seqs)
    if others:
        assert read_while_down, "partitions on the other brokers kept flowing during the outage"
    # At most what had been prefetched before the outage came from the downed leader.
    assert len(victim_reads) < PER_PARTITION


def test_a_slow_coordinator_does_not_hold_up_other_partitions(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    """A partition starting at its committed offset waits for the group coordinator; one
    starting at OFFSET_BEGINNING needs only its leader, and must not wait for the other's
    lookup (offset lookups run side by side, none blocks the client's background work)."""
    ck = consumer_client
    mock = librdkafka_mock
    topic = mock_topic(mock, "slow-coord", 2)
    mock.partition_set_leader(topic, 0, 1)
    mock.partition_set_leader(topic, 1, 2)
    produce_seq(mock.bootstrap_servers, topic, 2, 5)
    conf = consumer_conf(mock.bootstrap_servers, **{"auto.offset.reset": "earliest"})
    mock.coordinator_set("group", conf["group.id"], 3)
    consumer = make_consumer(conf)
    consumer.list_topics(topic, timeout=10)  # connected, leaders known: only lookups are left
    mock.broker_set_rtt(3, 3000)
    try:
        t0 = time.monotonic()
        consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_STORED),
                         ck.TopicPartition(topic, 1, ck.OFFSET_BEGINNING)])
        first: dict[int, float] = {}
        while len(first) < 2 and time.monotonic() - t0 < 30:
            m = consumer.poll(0.2)
            if m is not None and m.error() is None:
                first.setdefault(m.partition(), time.monotonic() - t0)
        assert set(first) == {0, 1}, first
        assert first[1] < 2.0, f"partition 1 waited for the coordinator: {first}"
        assert first[0] >= 2.5, f"partition 0 did not wait for its committed offset: {first}"
    finally:
        mock.broker_set_rtt(3, 0)


@pytest.mark.parametrize("start", ["logical", "explicit"])
@pytest.mark.parametrize("mock_name", ["rdpy_mock", "librdkafka_mock"])
def test_leader_gone_and_moved_is_found_at_once(
    consumer_client: ModuleType, make_consumer: Any, request: pytest.FixtureRequest,
    mock_name: str, start: str
) -> None:
    """The partition's leader goes down and leadership moves before the consumer starts on
    it: the new leader is found within seconds, not at the periodic refresh
    (topic.metadata.refresh.interval.ms). librdkafka refreshes on a lost connection ("broker
    down") and re-queries a partition whose leader is down; the ListOffsets of a logical
    start offset and the Fetch of an explicit one must both recover."""
    ck = consumer_client
    mock = request.getfixturevalue(mock_name)
    topic = mock_topic(mock, "leader-gone", 1)
    produce_seq(mock.bootstrap_servers, topic, 1, 10)
    old = wait_for_leaders(mock.bootstrap_servers, topic, 1)[0]
    consumer = make_consumer(consumer_conf(mock.bootstrap_servers))
    # Connected to the leader (and its metadata known) before it goes.
    assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, 10)
    mock.broker_set_down(old)
    mock.partition_set_leader(topic, 0, old % 3 + 1)
    t0 = time.monotonic()
    offset = ck.OFFSET_BEGINNING if start == "logical" else 0
    consumer.assign([ck.TopicPartition(topic, 0, offset)])
    got: list[Any] = []
    while len(got) < 10 and time.monotonic() - t0 < 30:
        m = consumer.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m)
    took = time.monotonic() - t0
    assert [m.offset() for m in got] == list(range(10))
    # The default periodic refresh is 5 minutes; the fast leader query is well under this.
    assert took < 10, f"the new leader was found after {took:.1f} s"
