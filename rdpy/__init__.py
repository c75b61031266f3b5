"""rdpy: a pure-Python Apache Kafka client with librdkafka's semantics and confluent-kafka-python's API."""

from rdpy._version import __version__

__all__ = ["__version__"]
