"""rdpy: a pure-Python Apache Kafka client with librdkafka's semantics and confluent-kafka-python's API.

The clients (Producer, ...) are imported on first use, so that `import rdpy.protocol` or
`import rdpy.records` stays free of sockets and threads (tests/unit/test_sans_io.py).
"""

from typing import TYPE_CHECKING, Any

from rdpy._version import __version__
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
from rdpy.throttle_event import ThrottleEvent
from rdpy.topic_partition import TopicPartition

# Pinned by tests/unit/test_public_api.py: add a name here and there together.
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
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "ThrottleEvent",
    "TopicPartition",
    "__version__",
    "libversion",
    "version",
]

if TYPE_CHECKING:
    from rdpy.consumer import Consumer
    from rdpy.producer import Producer

_LAZY = {"Consumer": "rdpy.consumer", "Producer": "rdpy.producer"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rdpy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
