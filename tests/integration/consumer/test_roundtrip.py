"""Every record of every partition is read exactly once, with its key, value, headers and
timestamp, for every codec; Message accessors have confluent-kafka's types.

What the consumer read is checked with tests.support.invariants: check_consumed (per partition
each logged offset once, in increasing order, no gaps, the logged values) and the producing
Ledger's check_log (nothing acknowledged missing, nothing never produced, keys/values/headers as
sent, produce() order per partition)."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

from tests.integration.consumer._util import (
    BASE_TS,
    Sent,
    check_consumed,
    consumer_conf,
    create_topic,
    drain,
    expected_log,
    messages_of_every_shape,
    mock_topic,
    produce,
    unique_topic,
)
from tests.support.invariants import Ledger
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PARTITIONS = 6


def _items(n: int, partitions: int) -> list[dict[str, Any]]:
    """messages_of_every_shape, spread round-robin over the partitions."""
    return [{**kw, "partition": i % partitions} for i, kw in enumerate(messages_of_every_shape(n))]


def _check_exactly_once(consumed: list[Any], sent: list[Sent], ledger: Ledger, *, report_timestamps: bool = True, items: list[dict[str, Any]] | None = None, window: tuple[int, int] = (0, 0)) -> None:
    """Exactly the reported (partition, offset)s, each once, in offset order, with the sent
    key/value/headers. Timestamps equal the delivery reports' when `report_timestamps`;
    otherwise (librdkafka's mock answers LogAppendTime 1234 in Produce responses but stores
    the CreateTime) they are CreateTime: the explicit one, or within `window`."""
    _check_read(consumed, sent)
    ledger.check_log(consumed)
    by_pos = {(m.partition(), m.offset()): m for m in consumed}
    for s in sent:
        m = by_pos[(s.partition, s.offset)]
        if report_timestamps:
            assert m.timestamp() == s.timestamp, s.index
        else:
            assert items is not None
            ts_type, ts = m.timestamp()
            assert ts_type == 1, s.index  # TIMESTAMP_CREATE_TIME
            if "timestamp" in items[s.index]:
                assert ts == items[s.index]["timestamp"], s.index
            else:
                assert window[0] - 1000 <= ts <= window[1] + 1000, s.index


def _check_read(consumed: list[Any], sent: list[Sent]) -> None:
    """Per partition: every logged offset once, in order, with the logged value."""
    offsets, values = expected_log(sent)
    check_consumed(consumed, offsets, values=values)


@pytest.mark.parametrize("codec", CODECS)
def test_every_record_once_every_codec(consumer_client: ModuleType, make_consumer: Any, broker: Any, codec: str) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic(f"codec-{codec}"), PARTITIONS)
    before_ms = int(time.time() * 1000)
    ledger = Ledger()
    items = _items(240, PARTITIONS)
    sent = produce(
        broker.bootstrap_servers, topic, items, ledger,
        **{"compression.type": codec, "linger.ms": 20},
    )
    after_ms = int(time.time() * 1000)
    for s in sent:  # the reference's own view: create time, explicit or the producer's clock
        assert s.timestamp[0] == consumer_client.TIMESTAMP_CREATE_TIME
        if "timestamp" in items[s.index]:
            assert s.timestamp[1] == items[s.index]["timestamp"]
        else:
            assert before_ms - 1000 <= s.timestamp[1] <= after_ms + 1000

    consumer = make_consumer(consumer_conf(broker.bootstrap_servers, **{"enable.partition.eof": True}))
    consumer.assign([consumer_client.TopicPartition(topic, p, consumer_client.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    consumed = drain(consumer_client, consumer, [(topic, p) for p in range(PARTITIONS)], expected=len(sent))
    _check_exactly_once(consumed, sent, ledger)
    assert all(m.topic() == topic for m in consumed)


def test_every_record_once_over_three_brokers_with_consume(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    """Partitions led by three different brokers, read with consume(num_messages, timeout)."""
    topic = mock_topic(librdkafka_mock, "mock-rt", PARTITIONS)
    items = _items(300, PARTITIONS)
    before_ms = int(time.time() * 1000)
    ledger = Ledger()
    sent = produce(librdkafka_mock.bootstrap_servers, topic, items, ledger, **{"linger.ms": 5})
    after_ms = int(time.time() * 1000)
    assert {s.timestamp for s in sent} == {(consumer_client.TIMESTAMP_LOG_APPEND_TIME, 1234)}
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True}))
    consumer.assign([consumer_client.TopicPartition(topic, p, consumer_client.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    consumed = drain(consumer_client, consumer, [(topic, p) for p in range(PARTITIONS)], expected=len(sent), use_consume=True)
    _check_exactly_once(consumed, sent, ledger, report_timestamps=False, items=items, window=(before_ms, after_ms))


def test_message_accessor_types(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic("types"), 1)
    ledger = Ledger()
    sent = produce(
        broker.bootstrap_servers,
        topic,
        [
            {"key": b"k", "value": b"12345", "headers": [("a", b"b")], "timestamp": BASE_TS},
            {"key": None, "value": None},
            {"key": b"", "value": b""},
        ],
        ledger,
    )
    consumer = make_consumer(consumer_conf(broker.bootstrap_servers, **{"enable.partition.eof": True}))
    consumer.assign([consumer_client.TopicPartition(topic, 0, consumer_client.OFFSET_BEGINNING)])
    read = drain(consumer_client, consumer, [(topic, 0)], expected=3)
    _check_read(read, sent)
    ledger.check_log(read)
    m1, m2, m3 = read
    assert [m.offset() for m in (m1, m2, m3)] == [s.offset for s in sent] == [0, 1, 2]
    for m in (m1, m2, m3):
        assert m.error() is None
        assert isinstance(m.topic(), str) and m.topic() == topic
        assert type(m.partition()) is int and type(m.offset()) is int
        ts_type, ts = m.timestamp()
        assert type(ts_type) is int and type(ts) is int
        assert ts_type == consumer_client.TIMESTAMP_CREATE_TIME
        le = m.leader_epoch()
        assert le is None or type(le) is int
        assert m.latency() is None  # latency is a producer-side (delivery report) figure
    assert m1.timestamp() == (consumer_client.TIMESTAMP_CREATE_TIME, BASE_TS)
    assert (m1.key(), m1.value(), m1.headers(), len(m1)) == (b"k", b"12345", [("a", b"b")], 5)
    assert type(m1.key()) is bytes and type(m1.value()) is bytes
    # Null key/value are None; len() of a message with a null value is 0, so `if msg:` is
    # False for it (confluent's Message.__len__ is the value's length).
    assert (m2.key(), m2.value(), m2.headers(), len(m2), bool(m2)) == (None, None, None, 0, False)
    assert (m3.key(), m3.value(), m3.headers(), len(m3)) == (b"", b"", None, 0)
