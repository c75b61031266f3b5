"""Offsets on rdpy's mock cluster with confluent-kafka: ListOffsets (watermarks,
offsets_for_times, offset reset) and group offsets (commit/committed) outside a group."""

from __future__ import annotations

import time
from typing import Any

import confluent_kafka

from rdpy.mock import MockCluster
from tests.integration.consumer._util import consumer_conf, drain, mock_topic, produce
from tests.integration.mock._util import unique

ck = confluent_kafka


def test_watermarks_and_offsets_for_times(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "times", 2, 3)
    t0 = int(time.time() * 1000) - 60_000
    sent = produce(bootstrap, topic, ({"value": b"v%d" % i, "partition": 0, "timestamp": t0 + 10 * i}
                                      for i in range(20)), **{"linger.ms": 50})
    assert [s.offset for s in sent] == list(range(20))
    consumer = ck.Consumer(consumer_conf(bootstrap))
    try:
        assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, 20)
        assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 1), timeout=10) == (0, 0)
        # One query per call: librdkafka answers every entry of a partition listed twice
        # from one result.
        for ts, offset in [(t0 + 25, 3), (t0, 0), (t0 + 190, 19), (t0 + 191, -1)]:
            found = consumer.offsets_for_times([ck.TopicPartition(topic, 0, ts), ck.TopicPartition(topic, 1, t0)],
                                               timeout=10)
            # -1: no record that late (OFFSET_END), also for the empty partition.
            assert [(tp.offset, tp.error) for tp in found] == [(offset, None), (-1, None)], ts - t0
    finally:
        consumer.close()


def test_logical_offsets_and_reset_after_out_of_range(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "reset", 1, 1)
    produce(bootstrap, topic, ({"value": b"old-%d" % i, "partition": 0} for i in range(5)))
    tail = ck.Consumer(consumer_conf(bootstrap, **{"enable.partition.eof": True}))
    lost = ck.Consumer(consumer_conf(bootstrap, **{"enable.partition.eof": True, "auto.offset.reset": "earliest"}))
    try:
        tail.assign([ck.TopicPartition(topic, 0, ck.OFFSET_END)])
        lost.assign([ck.TopicPartition(topic, 0, 1000)])  # beyond the end: OFFSET_OUT_OF_RANGE
        assert drain(ck, tail, [(topic, 0)]) == []
        produce(bootstrap, topic, ({"value": b"new-%d" % i, "partition": 0} for i in range(3)))
        assert [(m.offset(), m.value()) for m in drain(ck, tail, [(topic, 0)], expected=3)] == [
            (5, b"new-0"), (6, b"new-1"), (7, b"new-2")]
        got = drain(ck, lost, [(topic, 0)], expected=8)
        assert [m.offset() for m in got] == list(range(8))
    finally:
        tail.close()
        lost.close()


def test_commit_and_committed_outside_a_group(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "commit", 2, 3)
    produce(bootstrap, topic, ({"value": b"v%d" % i, "partition": i % 2} for i in range(20)))
    group = unique("group")
    first = ck.Consumer(consumer_conf(bootstrap, **{"group.id": group}))
    try:
        assert [tp.offset for tp in first.committed([ck.TopicPartition(topic, p) for p in (0, 1)], timeout=10)] == [
            ck.OFFSET_INVALID, ck.OFFSET_INVALID]
        first.commit(offsets=[ck.TopicPartition(topic, 0, 4, metadata="note"), ck.TopicPartition(topic, 1, 7)],
                     asynchronous=False)
        committed = first.committed([ck.TopicPartition(topic, p) for p in (0, 1)], timeout=10)
        assert [(tp.offset, tp.metadata) for tp in committed] == [(4, "note"), (7, None)]
    finally:
        first.close()
    second = ck.Consumer(consumer_conf(bootstrap, **{"group.id": group, "enable.partition.eof": True}))
    try:
        second.assign([ck.TopicPartition(topic, p) for p in (0, 1)])  # OFFSET_STORED
        got = drain(ck, second, [(topic, 0), (topic, 1)], expected=9)
        assert sorted((m.partition(), m.offset()) for m in got) == (
            [(0, o) for o in range(4, 10)] + [(1, o) for o in range(7, 10)])
    finally:
        second.close()


def test_a_consumer_follows_a_moved_partition_and_a_restarted_broker(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "follow", 1, 3)
    produce(bootstrap, topic, ({"value": b"a%d" % i, "partition": 0} for i in range(10)))
    consumer: Any = ck.Consumer(consumer_conf(bootstrap, **{"enable.partition.eof": True}))
    try:
        consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
        assert len(drain(ck, consumer, [(topic, 0)], expected=10)) == 10
        rdpy_mock.broker_set_down(1)
        rdpy_mock.partition_set_leader(topic, 0, 2)
        produce(bootstrap, topic, ({"value": b"b%d" % i, "partition": 0} for i in range(10)))
        rdpy_mock.broker_set_up(1)
        got = drain(ck, consumer, [(topic, 0)], expected=10)
        assert [(m.offset(), m.value()) for m in got] == [(10 + i, b"b%d" % i) for i in range(10)]
    finally:
        consumer.close()
