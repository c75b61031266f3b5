"""Reading partitions to their end: ``drain`` with any client's consumer, ``consume_all`` with
confluent-kafka's (the independent checker every suite reads back with).

Both need end-of-partition events (enable.partition.eof=true): a read is complete when every
partition asked for reported _PARTITION_EOF after its last record, so records beyond the
expected count are seen too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import confluent_kafka

__all__ = ["consume_all", "drain"]

_QUIET = {"log_level": 0}  # keep librdkafka's connection chatter out of test output


def drain(
    client: ModuleType,
    consumer: Any,
    partitions: Iterable[tuple[str, int]],
    *,
    expected: int = 0,
    timeout: float = 30.0,
    use_consume: bool = False,
) -> list[Any]:
    """Poll until every (topic, partition) reported _PARTITION_EOF after at least `expected`
    messages were read (needs enable.partition.eof=true); return the messages in the order
    read. Any error other than _PARTITION_EOF fails the test."""
    waiting = set(partitions)
    at_eof: set[tuple[str, int]] = set()
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = consumer.consume(100, 0.2) if use_consume else [consumer.poll(0.2)]
        for msg in batch:
            # NB: `if msg:` would be wrong -- Message defines __len__ (the value's length), so a
            # message with an empty or None value is falsy.
            if msg is None:
                continue
            err = msg.error()
            key = (msg.topic(), msg.partition())
            if err is not None:
                assert err.code() == client.KafkaError._PARTITION_EOF, f"consumer error: {err}"
                at_eof.add(key)
                continue
            at_eof.discard(key)
            got.append(msg)
        if waiting <= at_eof and len(got) >= expected:
            return got
    raise TimeoutError(f"read {len(got)} of {expected} messages; at EOF: {sorted(at_eof)} of {sorted(waiting)}")


def consume_all(
    bootstrap: str, topic: str, partitions: int, expected: int, timeout: float = 30.0, **conf: Any
) -> list[Any]:
    """Every message of partitions 0..partitions-1 of `topic` from the beginning, read with
    confluent's Consumer (configured by `conf` too) until each reported its end after at least
    `expected` messages (see drain); in the order read, per partition in offset order."""
    assert partitions > 0, f"{topic}: no partitions to read"
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"checker-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "fetch.wait.max.ms": 50,
        **_QUIET,
        **conf,
    })
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in range(partitions)])
        return drain(confluent_kafka, consumer, [(topic, p) for p in range(partitions)],
                     expected=expected, timeout=timeout)
    finally:
        consumer.close()
