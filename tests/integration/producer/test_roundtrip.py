"""Produce -> delivery report -> consume back with confluent-kafka, on Tansu.

Covers every codec (interop: what the client produces, confluent-kafka consumes byte for
byte), keys/values of every shape, headers as a list of tuples and as a dict, explicit and
default timestamps, acks 0/1/all, and per-partition ordering.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from types import ModuleType
from typing import Any

import pytest

from tests.integration.producer._util import (
    Report,
    QUIET,
    Reports,
    consume_all,
    create_topic,
    normalize_headers,
    seq_of,
    seq_value,
    to_bytes,
    unique_topic,
)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PARTITIONS = 3
BASE_TS = 1_700_000_000_000  # explicit CreateTime timestamps, ms


def _messages(n: int) -> list[dict[str, Any]]:
    """produce() keyword sets covering the shapes a client must carry unchanged."""
    rng = random.Random(4)
    keys: list[Any] = [None, b"", "text-key-\u00e9", b"\x00\xffbinary"]
    values: list[Any] = [
        None,
        b"",
        "text value \u2603",
        b"\x00\x01\x02" * 7,
        b"compressible " * 400,  # ~5 KB, so every codec actually compresses something
    ]
    headers: list[Any] = [
        None,
        [("h", b"1"), ("h", b"2"), ("empty", b""), ("none", None), ("text", "caf\u00e9")],
        {"d1": b"x", "d2": "y", "d3": None},
        [("only", b"\xff\x00")],
    ]
    msgs = []
    for i in range(n):
        kw: dict[str, Any] = {
            "key": keys[i % len(keys)] if i % 5 else b"key-%d" % i,
            "value": values[i % len(values)] if i % 3 else rng.randbytes(rng.randint(1, 3000)),
            "headers": headers[i % len(headers)],
        }
        if i % 2:
            kw["timestamp"] = BASE_TS + i  # explicit; even i: default (0 -> now)
        msgs.append(kw)
    return msgs


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
    msgs = _messages(60)
    reports = Reports()
    before_ms = int(time.time() * 1000)
    for i, kw in enumerate(msgs):
        producer.produce(topic, on_delivery=reports.callback(i), **kw)
    assert producer.flush(30) == 0
    after_ms = int(time.time() * 1000)

    assert len(reports) == len(msgs)
    by_tag = reports.by_tag()
    assert sorted(by_tag) == list(range(len(msgs))), "exactly one delivery report per message"
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

    consumed = consume_all(broker.bootstrap_servers, topic, PARTITIONS, expected=len(msgs))
    assert len(consumed) == len(msgs)
    by_pos = {(m.partition(), m.offset()): m for m in consumed}
    for i, kw in enumerate(msgs):
        (r,) = by_tag[i]
        m = by_pos[(r.partition, r.offset)]
        assert m.key() == to_bytes(kw["key"]), i
        assert m.value() == to_bytes(kw["value"]), i
        assert m.headers() == normalize_headers(kw["headers"]), i
        assert m.timestamp() == r.timestamp, i


@pytest.mark.parametrize("acks", ["0", "1", "all", "-1"])
def test_acks(client: ModuleType, broker: Any, acks: str) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic(f"acks{acks}"), 1)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": acks, **QUIET})
    reports = Reports()
    n = 20
    for i in range(n):
        producer.produce(topic, seq_value(i), key=b"k", on_delivery=reports.callback(i))
    producer.produce(topic, b"explicit-ts", timestamp=BASE_TS, on_delivery=reports.callback(n))
    assert producer.flush(15) == 0
    assert [r.tag for r in reports.items] == list(range(n + 1))
    assert all(r.err is None for r in reports.items)
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
    consumed = consume_all(broker.bootstrap_servers, topic, 1, expected=n + 1)
    assert [m.value() for m in consumed] == [seq_value(i) for i in range(n)] + [b"explicit-ts"]


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
    reports = Reports()
    n = 900
    for i in range(n):
        producer.produce(topic, seq_value(i), key=b"key-%d" % (i % 11), on_delivery=reports.callback(i))
        if i % 100 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert len(reports) == n and all(r.err is None for r in reports.items)
    per_partition: dict[int, list[Report]] = defaultdict(list)
    for r in reports.items:
        per_partition[r.partition].append(r)
    assert len(per_partition) > 1
    for part, rs in per_partition.items():
        tags = [r.tag for r in rs]
        assert tags == sorted(tags), f"partition {part}: reports out of produce order"
        offsets = [r.offset for r in rs]
        assert all(a < b for a, b in zip(offsets, offsets[1:])), f"partition {part}: offsets {offsets[:20]}"
    consumed = consume_all(broker.bootstrap_servers, topic, PARTITIONS, expected=n)
    assert len(consumed) == n
    logged: dict[int, list[int]] = defaultdict(list)
    for m in consumed:
        logged[m.partition()].append(seq_of(m.value()))
    for part, rs in per_partition.items():
        assert logged[part] == [r.tag for r in rs]
