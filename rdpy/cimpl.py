"""confluent_kafka.cimpl's names for rdpy, for code that imports them from there.

Owns nothing of its own: it re-exports the classes, constants and functions of
confluent-kafka's C module that rdpy implements. The light ones (Message, KafkaError,
KafkaException, TopicPartition, the OFFSET_*/TIMESTAMP_* constants, version()) are imported
with this module; the clients and partitioner functions on first use, so that importing
rdpy.cimpl starts no engine code. Import time only; no thread of its own.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rdpy.constants import (
    OFFSET_BEGINNING,
    OFFSET_END,
    OFFSET_INVALID,
    OFFSET_STORED,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    libversion,
    version,
)
from rdpy.errors import KafkaError, KafkaException
from rdpy.message import Message
from rdpy.topic_partition import TopicPartition

if TYPE_CHECKING:
    from rdpy.consumer import Consumer
    from rdpy.partitioners import consistent, fnv1a, murmur2
    from rdpy.producer import Producer
    from rdpy.share_consumer import ShareConsumer

__all__ = [
    "Consumer",
    "KafkaError",
    "KafkaException",
    "Message",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_INVALID",
    "OFFSET_STORED",
    "Producer",
    "ShareConsumer",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "TopicPartition",
    "consistent",
    "fnv1a",
    "libversion",
    "murmur2",
    "version",
]

#: Names imported on first use: name -> the module defining it.
_LAZY = {
    "Consumer": "rdpy.consumer",
    "Producer": "rdpy.producer",
    "ShareConsumer": "rdpy.share_consumer",
    "consistent": "rdpy.partitioners",
    "fnv1a": "rdpy.partitioners",
    "murmur2": "rdpy.partitioners",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rdpy.cimpl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
