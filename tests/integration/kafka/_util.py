"""Helpers for the suites on real Apache Kafka. confluent-kafka is the independent checker:
topics are created with its AdminClient and data is read back with its Consumer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

QUIET = {"log_level": 0}  # keep librdkafka's connection chatter out of test output


def unique_name(prefix: str) -> str:
    return f"rdpy-kafka-{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(conf: Mapping[str, Any], name: str, partitions: int, replication_factor: int = 1,
                 config: Mapping[str, str] | None = None, timeout: float = 30.0) -> str:
    """Create `name` with confluent's AdminClient (configured by `conf`: bootstrap.servers and
    any security settings) and wait until the metadata shows every partition with a leader."""
    admin = AdminClient({**conf, **QUIET})
    topic = NewTopic(name, partitions, replication_factor, config=dict(config or {}))
    for future in admin.create_topics([topic], operation_timeout=timeout).values():
        future.result(timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(name, timeout=timeout)
        t = md.topics.get(name)
        if (t is not None and t.error is None and len(t.partitions) == partitions
                and all(p.leader >= 0 for p in t.partitions.values())):
            return name
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} not visible with {partitions} led partitions")
        time.sleep(0.05)
