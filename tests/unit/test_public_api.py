"""The curated public API of `rdpy`, pinned, and its distance to confluent_kafka's top level."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import types

import confluent_kafka
import pytest

import rdpy

EXPECTED_ALL = [
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

# confluent_kafka public top-level names rdpy does not provide yet. This list must only shrink:
# implementing one of these means removing it here and adding it to EXPECTED_ALL.
NOT_YET_PROVIDED = {
    "AcknowledgeType",
    "ConcurrentModificationException",
    "ConsumerGroupState",
    "ConsumerGroupTopicPartitions",
    "ConsumerGroupType",
    "ElectionType",
    "IllegalStateException",
    "IsolationLevel",
    "Node",
    "TopicCollection",
    "TopicPartitionInfo",
    "Uuid",
    "aio",
    "deserializing_share_consumer",
    "kafkatest",
    "schema_registry",
}

# Submodules confluent_kafka makes reachable as attributes right after `import confluent_kafka`
# (plus admin, which rdpy's clients use anyway); rdpy imports them on first access.
ATTRIBUTE_SUBMODULES = ["admin", "cimpl", "deserializing_consumer", "error", "serialization",
                        "serializing_producer"]


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


def _rdpy_public_names() -> set[str]:
    """What rdpy offers, counted as _confluent_public_names() counts confluent_kafka's: its
    attributes (lazy ones included) plus its subpackages/modules, so the answer does not depend
    on which submodules other tests imported."""
    names = {m.name for m in pkgutil.iter_modules(rdpy.__path__) if not m.name.startswith("_")}
    return names | {n for n in dir(rdpy) if not n.startswith("_")}


def test_missing_confluent_names_are_exactly_the_known_list() -> None:
    missing = _confluent_public_names() - _rdpy_public_names()
    assert missing == NOT_YET_PROVIDED


def test_exports_are_a_subset_of_confluent_plus_version() -> None:
    extra = set(EXPECTED_ALL) - _confluent_public_names() - {"__version__"}
    assert extra == set()


@pytest.mark.parametrize("name", ATTRIBUTE_SUBMODULES)
def test_submodules_are_reachable_as_attributes(name: str) -> None:
    module = getattr(rdpy, name)
    assert isinstance(module, types.ModuleType)
    assert module.__name__ == f"rdpy.{name}"


def test_partitioner_functions_are_exported() -> None:
    from rdpy import partitioners

    assert rdpy.murmur2 is partitioners.murmur2
    assert rdpy.consistent is partitioners.consistent
    assert rdpy.fnv1a is partitioners.fnv1a


def test_unknown_attribute_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rdpy.nope  # noqa: B018


def test_import_rdpy_does_not_import_the_clients() -> None:
    # The lazy names stay lazy: a fresh interpreter's `import rdpy` loads no client module.
    code = ("import sys, rdpy; "
            "print(sorted(m for m in sys.modules if m.startswith('rdpy.') and m.split('.')[1] in "
            "{'producer', 'consumer', 'client', 'serialization', 'admin', 'partitioners'}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "[]"
