"""confluent_kafka's module-level partitioner functions murmur2/consistent/fnv1a, on
confluent_kafka and on rdpy: the same partitions, and the same argument errors."""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

import rdpy
from tests.support.clients import client  # noqa: F401  (the fixture)

NAMES = ["murmur2", "consistent", "fnv1a"]


@pytest.mark.parametrize("name", NAMES)
def test_same_partition_as_librdkafka(name: str) -> None:
    theirs, ours = getattr(confluent_kafka, name), getattr(rdpy, name)
    rng = random.Random(name)
    for _ in range(500):
        key = rng.randbytes(rng.randint(0, 40))
        count = rng.randint(1, 1000)
        assert ours(key, count) == theirs(key, count), (key, count)
    assert ours(b"", 3) == theirs(b"", 3)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("args, error", [
    ((b"k", 0), ("ValueError", "partition_count must be > 0, got 0")),
    ((b"k", -1), ("ValueError", "partition_count must be > 0, got -1")),
    (("k", 10), ("TypeError", "a bytes-like object is required, not 'str'")),
    ((None, 10), ("TypeError", "a bytes-like object is required, not 'NoneType'")),
    ((bytearray(b"k"), 10), ("TypeError", "argument 1 must be read-only bytes-like object, not bytearray")),
    ((b"k", "10"), ("TypeError", "'str' object cannot be interpreted as an integer")),
    ((b"k", 1.0), ("TypeError", "'float' object cannot be interpreted as an integer")),
    ((b"k", 1 << 31), ("OverflowError", "signed integer is greater than maximum")),
])
def test_argument_errors(client: ModuleType, name: str, args: tuple[Any, ...],
                         error: tuple[str, str]) -> None:
    with pytest.raises(Exception) as excinfo:
        getattr(client, name)(*args)
    assert (type(excinfo.value).__name__, str(excinfo.value)) == error


@pytest.mark.parametrize("name", NAMES)
def test_a_bool_is_an_int(client: ModuleType, name: str) -> None:
    assert getattr(client, name)(b"key", True) == 0
