"""Creating a test topic and waiting until it can be written, with confluent-kafka (the
independent reference), on any broker the suites use.

Apache Kafka lists a new topic's partitions and leaders in Metadata a moment before the
leaders take writes: the first Produce requests are answered NOT_LEADER_OR_FOLLOWER, and the
retries that follow may reorder messages, for confluent-kafka and rdpy alike. So a topic is
ready only once every partition's leader answers a ListOffsets (the same leadership check as
Produce), which writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

__all__ = ["create_topic"]

_QUIET = {"log_level": 0}


def create_topic(conf: Mapping[str, Any], name: str, partitions: int, replication_factor: int = 1,
                 config: Mapping[str, str] | None = None, timeout: float = 30.0) -> str:
    """Create `name` with confluent's AdminClient (configured by `conf`: bootstrap.servers and
    any security settings); return once the metadata shows every partition with a leader and
    every leader answers for its partition."""
    admin = AdminClient({**conf, **_QUIET})
    topic = NewTopic(name, partitions, replication_factor, config=dict(config or {}))
    for future in admin.create_topics([topic], operation_timeout=timeout).values():
        future.result(timeout=timeout)
    deadline = time.monotonic() + timeout
    _wait_for_leaders(admin, name, partitions, deadline)
    _wait_until_leaders_answer(conf, name, partitions, deadline)
    return name


def _wait_for_leaders(admin: Any, name: str, partitions: int, deadline: float) -> None:
    while True:
        md = admin.list_topics(name, timeout=max(0.1, deadline - time.monotonic()))
        t = md.topics.get(name)
        if (t is not None and t.error is None and len(t.partitions) == partitions
                and all(p.leader >= 0 for p in t.partitions.values())):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} not visible with {partitions} led partitions")
        time.sleep(0.05)


def _wait_until_leaders_answer(conf: Mapping[str, Any], name: str, partitions: int,
                               deadline: float) -> None:
    consumer = Consumer({**conf, "group.id": "rdpy-topic-ready", **_QUIET})
    try:
        for p in range(partitions):
            while True:
                try:
                    consumer.get_watermark_offsets(TopicPartition(name, p), timeout=5)
                    break
                except KafkaException:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} [{p}]: leader does not answer") from None
                    time.sleep(0.05)
    finally:
        consumer.close()
