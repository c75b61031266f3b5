"""Offset lookups on a real Kafka broker, for the consumer under test: watermarks (DeleteRecords
included), offsets_for_times, and auto.offset.reset.

These are the lookups Tansu answers wrongly (see docs/DESIGN.md, "Testing"), so until now only
the mock clusters checked them. Data is produced with confluent-kafka's Producer (the
reference) through tests.support.invariants.Ledger; topics are created, and records deleted,
with confluent's AdminClient, all on the broker's PLAINTEXT listener.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import TopicPartition as CkTopicPartition
from confluent_kafka.admin import AdminClient

from tests.integration.consumer._util import consumer_conf, drain, produce
from tests.integration.kafka._util import QUIET, create_topic, unique_name
from tests.support.invariants import check_consumed
from tests.support.kafka import KafkaBroker


def test_watermarks_and_delete_records(client: ModuleType, make_consumer: Callable[[dict[str, Any]], Any],
                                       kafka_broker: KafkaBroker) -> None:
    """get_watermark_offsets asks the leader: (0, n) per partition, (0, 0) for an empty one;
    after DeleteRecords up to 4 the low watermark is 4, and OFFSET_BEGINNING reads from 4."""
    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name("wm"), 4)
    counts = {0: 10, 1: 20, 2: 30, 3: 0}
    produce(bootstrap, topic, [{"value": b"p%d-%d" % (p, i), "partition": p}
                               for p, n in counts.items() for i in range(n)])
    consumer = make_consumer(consumer_conf(bootstrap, **{"enable.partition.eof": True}))
    for p, n in counts.items():
        assert consumer.get_watermark_offsets(client.TopicPartition(topic, p), timeout=10) == (0, n), p

    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    for future in admin.delete_records([CkTopicPartition(topic, 0, 4)], request_timeout=15).values():
        assert future.result(timeout=15).low_watermark == 4
    assert consumer.get_watermark_offsets(client.TopicPartition(topic, 0), timeout=10) == (4, 10)

    consumer.assign([client.TopicPartition(topic, 0, client.OFFSET_BEGINNING)])
    got = drain(client, consumer, [(topic, 0)], expected=6)
    check_consumed(got, {0: range(4, 10)}, values={0: [b"p0-%d" % i for i in range(4, 10)]})
    # After a fetch the cached watermarks are the fetched partition's.
    assert consumer.get_watermark_offsets(client.TopicPartition(topic, 0), cached=True) == (4, 10)


def test_offsets_for_times(client: ModuleType, make_consumer: Callable[[dict[str, Any]], Any],
                           kafka_broker: KafkaBroker) -> None:
    """CreateTime timestamps one second apart: each lookup answers the first offset whose
    timestamp is >= the one asked (ListOffsets by timestamp), -1 (OFFSET_END) past the last."""
    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name("oft"), 2)
    base = (int(time.time()) - 600) * 1000  # in the past: Kafka 4 refuses timestamps > 1 h ahead
    n = 20
    sent = produce(bootstrap, topic, [{"value": b"p%d-%d" % (p, i), "partition": p,
                                       "timestamp": base + p * 500 + i * 1000}
                                      for p in (0, 1) for i in range(n)])
    assert {s.timestamp[1] - base for s in sent if s.partition == 1} == {500 + i * 1000 for i in range(n)}
    consumer = make_consumer(consumer_conf(bootstrap))
    cases = [  # (partition, timestamp asked, offset expected)
        (0, base - 60_000, 0), (0, base, 0), (0, base + 1, 1), (0, base + 5_500, 6),
        (0, base + 19_000, 19), (0, base + 19_001, -1),
        (1, base, 0), (1, base + 500, 0), (1, base + 501, 1), (1, base + 10_000, 10), (1, base + 20_000, -1),
    ]
    for p, ts, want in cases:
        [got] = consumer.offsets_for_times([client.TopicPartition(topic, p, ts)], timeout=10)
        assert (got.topic, got.partition, got.error) == (topic, p, None), got
        assert got.offset == want, f"partition {p}, timestamp base{ts - base:+d}: offset {got.offset}, want {want}"
    # Several partitions in one call.
    got_all = consumer.offsets_for_times([client.TopicPartition(topic, 0, base + 2_000),
                                          client.TopicPartition(topic, 1, base + 2_000)], timeout=10)
    assert sorted((tp.partition, tp.offset) for tp in got_all) == [(0, 2), (1, 2)]


@pytest.mark.parametrize("reset", ["latest", "earliest"])
def test_auto_offset_reset(client: ModuleType, make_consumer: Callable[[dict[str, Any]], Any],
                           kafka_broker: KafkaBroker, reset: str) -> None:
    """No committed offset: 'latest' starts at the high watermark (reads only what is produced
    after the reset), 'earliest' at the low one."""
    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name(f"reset-{reset}"), 2)
    produce(bootstrap, topic, [{"value": b"old-%d" % i, "partition": i % 2} for i in range(20)])
    consumer = make_consumer(consumer_conf(bootstrap, **{"auto.offset.reset": reset, "enable.partition.eof": True}))
    consumer.assign([client.TopicPartition(topic, p) for p in (0, 1)])  # no offset: the committed one, if any
    first = drain(client, consumer, [(topic, 0), (topic, 1)], expected=20 if reset == "earliest" else 0)
    if reset == "latest":
        assert first == [], [(m.partition(), m.offset()) for m in first]
        positions = consumer.position([client.TopicPartition(topic, p) for p in (0, 1)])
        # Nothing consumed yet: no position (both clients; librdkafka sets it from consumed messages).
        assert [tp.offset for tp in positions] == [client.OFFSET_INVALID] * 2, positions
    else:
        check_consumed(first, {0: range(10), 1: range(10)})
    produce(bootstrap, topic, [{"value": b"new-%d" % i, "partition": i % 2} for i in range(10)])
    then = drain(client, consumer, [(topic, 0), (topic, 1)], expected=10)
    check_consumed(then, {0: range(10, 15), 1: range(10, 15)},
                   values={p: [b"new-%d" % i for i in range(p, 10, 2)] for p in (0, 1)})
