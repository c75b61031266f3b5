"""The module-level partitioner functions confluent_kafka exports: murmur2, consistent, fnv1a.

Each is `f(key: bytes, partition_count: int) -> int`, librdkafka's
rd_kafka_msg_partitioner_<name>() called without a topic, so an application can compute the
partition a keyed message goes to. The hashing lives in rdpy/client/partitioner.py (the
engine's partitioners use the same functions); this module only checks the arguments as
confluent-kafka's C layer does (`PyArg_ParseTuple("y#i")`: positional only, read-only bytes,
a C int). Pure functions: any thread.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from rdpy.client.partitioner import consistent_partition, fnv1a_partition, murmur2_partition

__all__ = ["consistent", "fnv1a", "murmur2"]

_INT_MAX = (1 << 31) - 1
_INT_MIN = -(1 << 31)


def _checked(key: bytes, partition_count: int) -> tuple[bytes, int]:
    """The arguments as the "y#i" format takes them, with its TypeError/OverflowError texts,
    then confluent-kafka's own partition_count check."""
    if type(key) is not bytes:
        if isinstance(key, bytes):  # a bytes subclass is bytes to "y#"
            key = bytes(key)
        elif isinstance(key, (bytearray, memoryview)):
            raise TypeError("argument 1 must be read-only bytes-like object, "
                            f"not {type(key).__name__}")
        else:
            raise TypeError(f"a bytes-like object is required, not '{type(key).__name__}'")
    count = operator.index(partition_count)  # "'str' object cannot be interpreted as ..."
    if count > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if count < _INT_MIN:
        raise OverflowError("signed integer is less than minimum")
    if count <= 0:
        raise ValueError(f"partition_count must be > 0, got {count}")
    return key, count


def _partition_with(rule: Callable[[bytes | None, int], int], key: bytes,
                    partition_count: int) -> int:
    checked_key, count = _checked(key, partition_count)
    return rule(checked_key, count)


def murmur2(key: bytes, partition_count: int, /) -> int:
    """The partition of `key` by the Java client's murmur2 hash:
    `(murmur2(key) & 0x7fffffff) % partition_count`. Deterministic.

    Raises ValueError if partition_count <= 0, TypeError if key is not bytes or
    partition_count not an int."""
    return _partition_with(murmur2_partition, key, partition_count)


def consistent(key: bytes, partition_count: int, /) -> int:
    """The partition of `key` by CRC-32: `crc32(key) % partition_count`. Deterministic.

    Raises ValueError if partition_count <= 0, TypeError if key is not bytes or
    partition_count not an int."""
    return _partition_with(consistent_partition, key, partition_count)


def fnv1a(key: bytes, partition_count: int, /) -> int:
    """The partition of `key` by 32-bit FNV-1a (as Sarama's hash partitioner):
    `fnv1a(key) % partition_count`. Deterministic.

    Raises ValueError if partition_count <= 0, TypeError if key is not bytes or
    partition_count not an int."""
    return _partition_with(fnv1a_partition, key, partition_count)
