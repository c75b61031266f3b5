"""Produce -> delivery report -> consume back with confluent-kafka, on Tansu.

Covers every codec (interop: what the client produces, confluent-kafka consumes byte for
byte), keys/values of every shape, headers as a list of tuples and as a dict, explicit and
default timestamps, acks 0/1/all, and per-partition ordering. Every test checks the delivery
invariants through tests.support.invariants.Ledger: exactly one report per message on the
application's thread, nothing acknowledged missing from the log, produce() order per partition.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

from tests.integration.producer._util import (
    BASE_TS,
    QUIET,
    Reports,
    consume_all,
    create_topic,
    messages_of_every_shape,
    to_bytes,
    unique_topic,
)
from tests.support.invariants import Ledger

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PARTITIONS = 3
@pytest.mark.parametrize("codec", CODECS)
def test_codec_round_trip(client: ModuleType, broker: Any, codec: str) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic(f"codec-{codec}"), PARTITIONS)
    producer = client.Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "compression.type": codec,
            "linger.ms": 20,
            **QUIET,
        }
    )
    msgs = messages_of_every_shape(60)
    ledger = Ledger()
    reports = Reports()
    before_ms = int(time.time() * 1000)
    for i, kw in enumerate(msgs):
        # Unmarked: the values must reach the log unchanged (None and b"" included).
        ledger.produce(producer, topic, mark=False, on_delivery=reports.callback(i), **kw)
    assert producer.flush(30) == 0
    after_ms = int(time.time() * 1000)

    ledger.check_reports(expect_delivered=True)
    by_tag = reports.by_tag()
    for i, kw in enumerate(msgs):
        (r,) = by_tag[i]
        assert r.err is None, r.err
        assert r.topic == topic
        assert r.partition is not None and 0 <= r.partition < PARTITIONS
        assert isinstance(r.offset, int) and r.offset >= 0
        assert r.key == to_bytes(kw["key"])
        assert r.value == to_bytes(kw["value"])
        assert r.latency is not None and r.latency >= 0
        ts_type, ts = r.timestamp
        assert ts_type == client.TIMESTAMP_CREATE_TIME
        if "timestamp" in kw:
            assert ts == kw["timestamp"]
        else:  # default timestamp: the producer's wall clock when produce() was called
            assert before_ms - 1000 <= ts <= after_ms + 1000

    producer.close()
    consumed = consume_all(broker.bootstrap_servers, topic, PARTITIONS, expected=len(msgs))
    # Each record at its report's position with the key, value and headers sent; none extra.
    ledger.check_log(consumed)
    by_pos = {(m.partition(), m.offset()): m for m in consumed}
    for i in range(len(msgs)):
        (r,) = by_tag[i]
        assert by_pos[(r.partition, r.offset)].timestamp() == r.timestamp, i


@pytest.mark.parametrize("acks", ["0", "1", "all", "-1"])
def test_acks(client: ModuleType, broker: Any, acks: str) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic(f"acks{acks}"), 1)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": acks, **QUIET})
    ledger = Ledger()
    reports = Reports()
    n = 20
    for i in range(n):
        ledger.produce(producer, topic, key=b"k", on_delivery=reports.callback(i))
    ledger.produce(producer, topic, b"explicit-ts", timestamp=BASE_TS, on_delivery=reports.callback(n))
    assert producer.flush(15) == 0
    ledger.check_reports(expect_delivered=True)
    assert [r.tag for r in reports.items] == list(range(n + 1))
    assert all(r.partition == 0 for r in reports.items)
    assert reports.items[-1].timestamp == (client.TIMESTAMP_CREATE_TIME, BASE_TS)
    assert all(r.timestamp[0] == client.TIMESTAMP_CREATE_TIME for r in reports.items)
    assert all(r.latency is not None for r in reports.items)
    offsets = [r.offset for r in reports.items]
    if acks == "0":
        # confluent-kafka: with acks=0 the broker sends no response, so the delivery report
        # has err None and no offset (Message.offset() is None, librdkafka's OFFSET_INVALID).
        assert offsets == [None] * (n + 1)
    else:
        assert offsets == list(range(n + 1))
    producer.close()
    consumed = consume_all(broker.bootstrap_servers, topic, 1, expected=n + 1)
    # With acks=0 records are matched by the mark in their values (reports name no offset).
    ledger.check_log(consumed)
    assert [m.value() for m in consumed] == ledger.values()


def test_order_per_partition(client: ModuleType, broker: Any) -> None:
    """Many small batches over 3 partitions: per partition, delivery reports arrive in produce
    order with strictly increasing offsets, and the log holds the produce order."""
    topic = create_topic(broker.bootstrap_servers, unique_topic("order"), PARTITIONS)
    producer = client.Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "linger.ms": 1,
            "batch.num.messages": 17,
            "partitioner": "murmur2",
            **QUIET,
        }
    )
    ledger = Ledger()
    n = 900
    for i in range(n):
        ledger.produce(producer, topic, key=b"key-%d" % (i % 11))
        if i % 100 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    # Per partition: reports in produce order, offsets increasing with it.
    delivered = ledger.check_reports(expect_delivered=True).delivered
    assert len({r.partition for r in delivered.values()}) > 1
    producer.close()
    consumed = consume_all(broker.bootstrap_servers, topic, PARTITIONS, expected=n)
    # Per partition, the log holds the produce order, each message once, nothing missing.
    ledger.check_log(consumed)
