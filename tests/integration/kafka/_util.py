"""Helpers for the suites on real Apache Kafka. confluent-kafka is the independent checker:
topics are created with its AdminClient and data is read back with its Consumer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tests.support.topics import create_topic

if TYPE_CHECKING:
    from tests.support.kafka.server import KafkaCluster

__all__ = ["QUIET", "create_topic", "leaders_moved", "unique_name"]

QUIET = {"log_level": 0}  # keep librdkafka's connection chatter out of test output


def unique_name(prefix: str) -> str:
    return f"rdpy-kafka-{prefix}-{uuid.uuid4().hex[:10]}"


def leaders_moved(cluster: KafkaCluster, topic: str, victim: int,
                  led: list[int]) -> dict[int, int] | None:
    """The partitions' leaders once none of `led` is the killed broker `victim` and each has
    one; else None (a condition to wait for after a kill)."""
    try:
        leaders = cluster.leaders(topic, timeout=2)
    except Exception:  # noqa: BLE001 -- metadata may be unavailable for a moment
        return None
    if any(leaders.get(p, -1) in (victim, -1) for p in led):
        return None
    return leaders
