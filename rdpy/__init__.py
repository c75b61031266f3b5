"""rdpy: a pure-Python Apache Kafka client with librdkafka's semantics and confluent-kafka-python's API.

The clients (Producer, ...) and the submodules confluent_kafka makes reachable as attributes
(rdpy.serialization, rdpy.error, rdpy.admin, rdpy.cimpl, ...) are imported on first use, so that
`import rdpy.protocol` or `import rdpy.records` stays free of sockets and threads
(tests/unit/test_sans_io.py) and `import rdpy` stays cheap.
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
    "DeserializingConsumer",
    "DeserializingShareConsumer",
    "KafkaError",
    "KafkaException",
    "Message",
    "Messages",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_INVALID",
    "OFFSET_STORED",
    "Producer",
    "SerializingProducer",
    "ShareConsumer",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "ThrottleEvent",
    "TopicPartition",
    "__version__",
    "consistent",
    "fnv1a",
    "libversion",
    "murmur2",
    "version",
]

if TYPE_CHECKING:
    from rdpy import admin, cimpl, error, serialization  # noqa: F401
    from rdpy.consumer import Consumer
    from rdpy.deserializing_consumer import DeserializingConsumer
    from rdpy.message import Messages
    from rdpy.partitioners import consistent, fnv1a, murmur2
    from rdpy.producer import Producer
    from rdpy.serializing_producer import SerializingProducer
    from rdpy.share_consumer import DeserializingShareConsumer, ShareConsumer

#: Public names imported on first use: name -> the module defining it.
_LAZY = {
    "Consumer": "rdpy.consumer",
    "DeserializingConsumer": "rdpy.deserializing_consumer",
    "DeserializingShareConsumer": "rdpy.share_consumer",
    "Messages": "rdpy.message",
    "Producer": "rdpy.producer",
    "SerializingProducer": "rdpy.serializing_producer",
    "ShareConsumer": "rdpy.share_consumer",
    "consistent": "rdpy.partitioners",
    "fnv1a": "rdpy.partitioners",
    "murmur2": "rdpy.partitioners",
}

#: Submodules reachable as attributes of the package without their own import, as
#: `confluent_kafka.serialization` is (confluent_kafka imports them eagerly; rdpy on first use).
_SUBMODULES = frozenset({
    "admin", "cimpl", "deserializing_consumer", "error", "serialization", "serializing_producer",
})


def __getattr__(name: str) -> Any:
    import importlib

    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"rdpy.{name}")
    else:
        raise AttributeError(f"module 'rdpy' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
