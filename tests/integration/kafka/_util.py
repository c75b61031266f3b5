"""Helpers for the suites on real Apache Kafka. confluent-kafka is the independent checker:
topics are created with its AdminClient and data is read back with its Consumer."""

from __future__ import annotations

import uuid

from tests.support.topics import create_topic

__all__ = ["QUIET", "create_topic", "unique_name"]

QUIET = {"log_level": 0}  # keep librdkafka's connection chatter out of test output


def unique_name(prefix: str) -> str:
    return f"rdpy-kafka-{prefix}-{uuid.uuid4().hex[:10]}"


