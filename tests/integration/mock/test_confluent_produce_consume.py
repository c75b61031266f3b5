"""confluent-kafka (librdkafka, the reference peer) against rdpy's mock cluster: metadata,
topic creation, produce/consume round trips, idempotence, leadership moves and brokers going
down. Passing here is what proves the mock behaves like Kafka."""

from __future__ import annotations

import time
from typing import Any

import confluent_kafka
import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from rdpy.mock import MockCluster
from tests.integration.consumer._util import QUIET, Sent, consumer_conf, drain, mock_topic, normalize_headers, produce
from tests.integration.mock._util import unique
from tests.support.reading import consume_all

ck = confluent_kafka


def as_sent(msgs: list[Any]) -> list[tuple[Any, ...]]:
    return [(m.partition(), m.offset(), m.key(), m.value(), normalize_headers(m.headers()), m.timestamp())
            for m in msgs]


def from_reports(sent: list[Sent]) -> list[tuple[Any, ...]]:
    return [(s.partition, s.offset, s.key, s.value, s.headers, s.timestamp) for s in sent]


def test_metadata_shows_the_brokers_topics_and_leaders(rdpy_mock: MockCluster) -> None:
    topic = mock_topic(rdpy_mock, "md", 3, 2)
    producer = ck.Producer({"bootstrap.servers": rdpy_mock.bootstrap_servers, **QUIET})
    md = producer.list_topics(topic, timeout=10)
    assert {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()} == dict(
        zip(rdpy_mock.broker_ids, rdpy_mock.bootstrap_servers.split(",")))
    assert md.controller_id == 1
    parts = md.topics[topic].partitions
    assert {p: (pm.leader, pm.replicas, pm.isrs) for p, pm in parts.items()} == {
        0: (1, [1, 2], [1, 2]), 1: (2, [2, 3], [2, 3]), 2: (3, [3, 1], [3, 1])}
    auto = unique("auto")
    assert len(producer.list_topics(auto, timeout=10).topics[auto].partitions) == 4  # auto-created


def test_admin_client_creates_topics(rdpy_mock: MockCluster) -> None:
    admin = AdminClient({"bootstrap.servers": rdpy_mock.bootstrap_servers, **QUIET})
    topic = unique("admin")
    admin.create_topics([NewTopic(topic, 5, 3)])[topic].result(10)
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 5
    with pytest.raises(ck.KafkaException) as e:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(10)
    assert e.value.args[0].code() == ck.KafkaError.TOPIC_ALREADY_EXISTS
    bad = unique("rf")
    with pytest.raises(ck.KafkaException) as e:
        admin.create_topics([NewTopic(bad, 1, 4)])[bad].result(10)  # only 3 brokers
    assert e.value.args[0].code() == ck.KafkaError.INVALID_REPLICATION_FACTOR


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_codec_round_trips_keys_values_headers_and_timestamps(rdpy_mock: MockCluster, codec: str) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, codec, 2, 3)
    now = int(time.time() * 1000)
    items = [{"key": None if i % 7 == 0 else b"key-%d" % i,
              "value": None if i % 11 == 0 else b"value-%d-" % i + b"x" * (i % 50),
              "headers": [("h1", b"a%d" % i), ("empty", None)] if i % 3 else None,
              "partition": i % 2, "timestamp": now - 1000 + i} for i in range(300)]
    sent = produce(bootstrap, topic, items, **{"compression.type": codec, "linger.ms": 20})
    got = consume_all(bootstrap, topic, 2, len(sent))
    assert sorted(as_sent(got), key=lambda r: (r[0], r[1])) == sorted(from_reports(sent), key=lambda r: (r[0], r[1]))
    for p in (0, 1):
        assert [m.offset() for m in got if m.partition() == p] == list(range(150))


@pytest.mark.parametrize("idempotent", [True, False])
def test_retries_after_lost_responses_are_deduplicated_only_for_idempotent_producers(
    rdpy_mock: MockCluster, idempotent: bool
) -> None:
    """The leader appends a batch but its connection drops before the (delayed) response
    leaves: the producer sends the batch again after reconnecting. An idempotent producer's
    retry carries the same sequence and is answered with the original offsets; a plain
    producer's is written twice -- the control that shows this test can fail."""
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "idem", 1, 1)
    producer = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": idempotent,
                            "retry.backoff.ms": 100, "acks": "all", **QUIET})
    reports: list[Any] = []

    def report(err: Any, msg: Any) -> None:
        reports.append((err, msg.offset()))

    producer.produce(topic, b"warm-up", partition=0, on_delivery=report)
    assert producer.flush(10) == 0  # connected to the leader (and, if idempotent, has its id)
    leader = rdpy_mock.partition_leader(topic, 0)
    rdpy_mock.set_rtt(leader, 2000)
    for i in range(10):
        producer.produce(topic, b"m%d" % i, partition=0, on_delivery=report)
    producer.poll(0.5)
    assert rdpy_mock.watermarks(topic, 0)[2] == 11  # appended; the response is still held
    rdpy_mock.broker_set_down(leader)  # ... and never leaves
    rdpy_mock.set_rtt(leader, 0)
    producer.poll(0.3)
    rdpy_mock.broker_set_up(leader)
    assert producer.flush(30) == 0
    assert all(err is None for err, _ in reports), reports
    high = rdpy_mock.watermarks(topic, 0)[2]
    values = [m.value() for m in consume_all(bootstrap, topic, 1, 11)]
    expected = [b"warm-up"] + [b"m%d" % i for i in range(10)]
    if idempotent:
        assert high == 11 and values == expected
        assert [offset for _, offset in reports] == list(range(11))
    else:
        assert high == 21 and values == expected + expected[1:], (high, values)


def test_a_leader_move_is_followed_by_producer_and_consumer(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "move", 1, 3)
    consumer = ck.Consumer(consumer_conf(bootstrap, **{"enable.partition.eof": True, "topic.metadata.refresh.interval.ms": 1000}))
    try:
        consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
        first = produce(bootstrap, topic, ({"value": b"a%d" % i, "partition": 0} for i in range(50)))
        assert [m.offset() for m in drain(ck, consumer, [(topic, 0)], expected=50)] == list(range(50))
        assert rdpy_mock.partition_leader(topic, 0) == 1
        rdpy_mock.partition_set_leader(topic, 0, 3)
        second = produce(bootstrap, topic, ({"value": b"b%d" % i, "partition": 0} for i in range(50)))
        assert [s.offset for s in first + second] == list(range(100))
        rest = drain(ck, consumer, [(topic, 0)], expected=50)
        assert [(m.offset(), m.value()) for m in rest] == [(50 + i, b"b%d" % i) for i in range(50)]
    finally:
        consumer.close()
    assert rdpy_mock.watermarks(topic, 0) == (0, 100, 100)


def test_a_producer_keeps_its_messages_while_the_leader_is_down(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "down", 1, 1)
    leader = rdpy_mock.partition_leader(topic, 0)
    producer = ck.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, **QUIET})
    offsets: list[int] = []
    errors: list[Any] = []

    def report(err: Any, msg: Any) -> None:
        (errors.append(err) if err else offsets.append(msg.offset()))

    for i in range(20):
        producer.produce(topic, b"before-%d" % i, partition=0, on_delivery=report)
    assert producer.flush(10) == 0
    rdpy_mock.broker_set_down(leader)
    for i in range(20):
        producer.produce(topic, b"during-%d" % i, partition=0, on_delivery=report)
    assert producer.flush(1.5) == 20  # nothing reaches a broker that is down
    rdpy_mock.broker_set_up(leader)
    assert producer.flush(30) == 0
    assert not errors and sorted(offsets) == list(range(40))
    values = [m.value() for m in consume_all(bootstrap, topic, 1, 40)]
    assert values == [b"before-%d" % i for i in range(20)] + [b"during-%d" % i for i in range(20)]
