"""The curated public API of `rdpy`, pinned, and its distance to confluent_kafka's top level."""

from __future__ import annotations

import pkgutil
import types

import confluent_kafka

import rdpy

EXPECTED_ALL = [
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

# confluent_kafka public top-level names rdpy does not provide yet. This list must only shrink:
# implementing one of these means removing it here and adding it to EXPECTED_ALL.
NOT_YET_PROVIDED = {
    "AcknowledgeType",
    "ConcurrentModificationException",
    "ConsumerGroupState",
    "ConsumerGroupTopicPartitions",
    "ConsumerGroupType",
    "DeserializingConsumer",
    "DeserializingShareConsumer",
    "ElectionType",
    "IllegalStateException",
    "IsolationLevel",
    "Messages",
    "Node",
    "SerializingProducer",
    "ShareConsumer",
    "TopicCollection",
    "TopicPartitionInfo",
    "Uuid",
    "aio",
    "avro",
    "cimpl",
    "consistent",
    "deserializing_consumer",
    "deserializing_share_consumer",
    "error",
    "fnv1a",
    "kafkatest",
    "murmur2",
    "schema_registry",
    "serialization",
    "serializing_producer",
}


def test_all_is_pinned_and_sorted() -> None:
    assert rdpy.__all__ == EXPECTED_ALL
    assert EXPECTED_ALL == sorted(EXPECTED_ALL)


def test_every_exported_name_resolves() -> None:
    for name in rdpy.__all__:
        assert getattr(rdpy, name) is not None, name


def _confluent_public_names() -> set[str]:
    """Public non-module attributes of confluent_kafka plus its public subpackages/modules.

    Submodules are listed from the package directory so the answer does not depend on which
    of them other tests happened to import.
    """
    names = {m.name for m in pkgutil.iter_modules(confluent_kafka.__path__) if not m.name.startswith("_")}
    for n in dir(confluent_kafka):
        if not n.startswith("_") and not isinstance(getattr(confluent_kafka, n), types.ModuleType):
            names.add(n)
    return names


def test_missing_confluent_names_are_exactly_the_known_list() -> None:
    missing = _confluent_public_names() - set(dir(rdpy))
    assert missing == NOT_YET_PROVIDED


def test_exports_are_a_subset_of_confluent_plus_version() -> None:
    extra = set(EXPECTED_ALL) - _confluent_public_names() - {"__version__"}
    assert extra == set()
