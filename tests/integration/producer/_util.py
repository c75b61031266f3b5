"""Helpers for the producer acceptance suite.

confluent-kafka is the independent checker: topics on Tansu are created with its AdminClient
and everything produced is consumed back with its Consumer, whatever client produced it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import confluent_kafka
from confluent_kafka import Consumer, TopicPartition
from tests.support.invariants import normalize_headers, to_bytes  # noqa: F401  (re-exported)
from tests.support.topics import create_topic as create_topic_with

QUIET = {"log_level": 0}  # keep librdkafka's connection-refused chatter out of test output


def unique_topic(prefix: str) -> str:
    return f"rdpy-prod-{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap: str, name: str, partitions: int, timeout: float = 15.0) -> str:
    """Create `name` with confluent's AdminClient and wait until every partition's leader
    takes writes (tests.support.topics)."""
    return create_topic_with({"bootstrap.servers": bootstrap}, name, partitions, timeout=timeout)


def consume_all(
    bootstrap: str, topic: str, partitions: int, expected: int, timeout: float = 20.0
) -> list[Any]:
    """Every message of `topic` from the beginning, read with confluent's Consumer.

    Stops when every partition reported end-of-partition after at least `expected` messages
    were read (so extra messages are seen too), or raises TimeoutError after `timeout` seconds.
    Messages are returned in the order read (per partition: offset order).
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"checker-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 50,
            **QUIET,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in range(partitions)])
        got: list[Any] = []
        at_eof: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            # NB: `if msg:` would be wrong -- Message defines __len__ (the value's length), so a
            # message with an empty or None value is falsy.
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    at_eof.add(msg.partition() or 0)
                    if len(at_eof) == partitions and len(got) >= expected:
                        return got
                    continue
                raise AssertionError(f"checker consumer error: {err}")
            at_eof.discard(msg.partition())
            got.append(msg)
        raise TimeoutError(f"read {len(got)} of {expected} messages from {topic} in {timeout}s")
    finally:
        consumer.close()


@dataclass
class Report:
    """One delivery report, captured inside the callback (the Message is read there)."""

    # Typed loosely on purpose: assertions check the actual values (None where confluent
    # gives None), so the annotations should not pretend more.
    err: Any
    topic: Any
    partition: Any
    offset: Any
    key: Any
    value: Any
    headers: Any
    timestamp: tuple[int, int]
    latency: Any
    thread: int
    tag: Any = None

    @property
    def code(self) -> int | None:
        return None if self.err is None else self.err.code()


@dataclass
class Reports:
    """Collects delivery reports; `callback(tag)` makes a per-message on_delivery."""

    items: list[Report] = field(default_factory=list)

    def callback(self, tag: Any = None) -> Callable[[Any, Any], None]:
        def on_delivery(err: Any, msg: Any) -> None:
            self.items.append(
                Report(
                    err=err,
                    topic=msg.topic(),
                    partition=msg.partition(),
                    offset=msg.offset(),
                    key=msg.key(),
                    value=msg.value(),
                    headers=msg.headers(),
                    timestamp=msg.timestamp(),
                    latency=msg.latency(),
                    thread=threading.get_ident(),
                    tag=tag,
                )
            )

        return on_delivery

    def __len__(self) -> int:
        return len(self.items)

    def codes(self) -> list[int | None]:
        return [r.code for r in self.items]

    def by_tag(self) -> dict[Any, list[Report]]:
        out: dict[Any, list[Report]] = {}
        for r in self.items:
            out.setdefault(r.tag, []).append(r)
        return out


def poll_until(producer: Any, done: Callable[[], bool], timeout: float, step: float = 0.05) -> None:
    """poll(step) until done() or raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached while polling")
        producer.poll(step)


def seq_value(seq: int, pad: int = 0) -> bytes:
    return b"seq:%08d:" % seq + b"x" * pad


def seq_of(value: bytes) -> int:
    return int(value.split(b":")[1])
