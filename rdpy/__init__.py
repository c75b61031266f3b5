"""rdpy: a pure-Python Apache Kafka client with librdkafka's semantics and confluent-kafka-python's API."""

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
from rdpy.topic_partition import TopicPartition

# Pinned by tests/unit/test_public_api.py: add a name here and there together.
__all__ = [
    "KafkaError",
    "KafkaException",
    "Message",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_INVALID",
    "OFFSET_STORED",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "TopicPartition",
    "__version__",
    "libversion",
    "version",
]
