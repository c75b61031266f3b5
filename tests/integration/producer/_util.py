"""Helpers for the producer acceptance suite.

confluent-kafka is the independent checker: topics on Tansu are created with its AdminClient
and everything produced is consumed back with its Consumer, whatever client produced it.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.invariants import normalize_headers as normalize_headers  # noqa: F401  (re-exported)
from tests.support.invariants import to_bytes as to_bytes  # noqa: F401  (re-exported)
from tests.support.reading import consume_all as consume_all  # noqa: F401  (re-exported)
from tests.support.topics import create_topic as create_topic_with

QUIET = {"log_level": 0}  # keep librdkafka's connection-refused chatter out of test output
BASE_TS = 1_700_000_000_000  # explicit CreateTime timestamps, ms


def unique_topic(prefix: str) -> str:
    return f"rdpy-prod-{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap: str, name: str, partitions: int, timeout: float = 15.0) -> str:
    """Create `name` with confluent's AdminClient and wait until every partition's leader
    takes writes (tests.support.topics)."""
    return create_topic_with({"bootstrap.servers": bootstrap}, name, partitions, timeout=timeout)


def messages_of_every_shape(n: int) -> list[dict[str, Any]]:
    """produce() keyword sets covering the shapes a client must carry unchanged: keys and
    values null, empty, text, binary, compressible and random; headers none, a list (repeated
    names, empty, null and text values), a dict, one binary; on odd i an explicit CreateTime
    timestamp (BASE_TS + i), on even i the default (0 -> now)."""
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
            kw["timestamp"] = BASE_TS + i
        msgs.append(kw)
    return msgs


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
