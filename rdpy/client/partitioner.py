"""librdkafka's partitioners as pure functions.

Everything here is deterministic given its inputs: randomness comes in through a ``randint``
callable (inclusive bounds, like librdkafka's ``rd_jitter(lo, hi)``), partition availability
through an ``available`` predicate, and time (for sticky partitioning) as an explicit
``now_us`` argument. No sockets, threads or clocks.

Two layers mirror librdkafka (src/rdkafka_msg.c):

* ``PARTITIONERS[name](key, partition_count, randint, available)`` is exactly the
  ``rd_kafka_msg_partitioner_<name>()`` function of that name. ``key`` is ``None`` for a NULL
  key (the C functions see ``key == NULL, keylen == 0``) and ``b""`` for an empty one
  (``key != NULL, keylen == 0``).
* :class:`TopicPartitioner` is ``rd_kafka_msg_partitioner()``'s dispatch for one topic: with
  ``sticky.partitioning.linger.ms > 0`` and a partitioner other than ``consistent``,
  ``murmur2`` or ``fnv1a``, NULL keys (and empty keys for ``consistent_random``) go to the
  topic's sticky partition instead of the partitioner function.

Hash rules (all 32-bit):

* ``consistent``: ``rd_crc32(key) % n`` -- CRC-32 (zlib / IEEE 802.3), unsigned.
* ``murmur2``: ``(rd_murmur2(key) & 0x7fffffff) % n`` -- Java ``Utils.murmur2`` (seed
  0x9747b28c), same as the Java client's ``toPositive(murmur2(key)) % n``.
* ``fnv1a``: ``rd_fnv1a(key) % n`` where ``rd_fnv1a`` is 32-bit FNV-1a (offset basis
  0x811C9DC5, prime 0x01000193) computed in an ``int32_t`` and made non-negative with
  ``if (h < 0) h = -h`` (Sarama's NewHashPartitioner); INT32_MIN stays 0x80000000.
"""

from __future__ import annotations

from random import Random
import struct
import zlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "Available",
    "DEFAULT_PARTITIONER",
    "PARTITIONERS",
    "PartitionerFn",
    "RandInt",
    "TopicPartitioner",
    "consistent_partition",
    "crc32",
    "fnv1a_hash",
    "fnv1a_partition",
    "murmur2",
    "murmur2_partition",
    "murmur2_unsigned",
    "partition_for",
    "partitioner_consistent",
    "partitioner_consistent_random",
    "partitioner_fnv1a",
    "partitioner_fnv1a_random",
    "partitioner_murmur2",
    "partitioner_murmur2_random",
    "partitioner_random",
    "random_partition",
    "uses_sticky",
]

RandInt = Callable[[int, int], int]
"""``randint(lo, hi)``: a uniformly chosen int with ``lo <= r <= hi`` (like ``rd_jitter``)."""

Available = Callable[[int], bool]
"""``available(partition)``: whether the partition currently has a leader."""

PartitionerFn = Callable[[bytes | None, int, RandInt, Available | None], int]
"""``fn(key, partition_count, randint, available) -> partition``."""

DEFAULT_PARTITIONER: Final = "consistent_random"
"""librdkafka's default for the ``partitioner`` topic property."""

_M32: Final = 0xFFFFFFFF
_MURMUR2_SEED: Final = 0x9747B28C
_MURMUR2_M: Final = 0x5BD1E995
_FNV1A_OFFSET: Final = 0x811C9DC5
_FNV1A_PRIME: Final = 0x01000193

_default_randint: RandInt = Random().randint


# --------------------------------------------------------------------------- hashes


def murmur2_unsigned(data: bytes) -> int:
    """librdkafka's ``rd_murmur2()``: Java-compatible MurmurHash2 as an unsigned 32-bit int."""
    length = len(data)
    m = _MURMUR2_M
    h = (_MURMUR2_SEED ^ length) & _M32
    body = length & ~3
    if body:
        for (k,) in struct.iter_unpack("<I", data[:body]):
            k = (k * m) & _M32
            k ^= k >> 24
            k = (k * m) & _M32
            h = ((h * m) & _M32) ^ k
    rest = length & 3
    if rest:
        if rest == 3:
            h ^= data[body + 2] << 16
        if rest >= 2:
            h ^= data[body + 1] << 8
        h ^= data[body]
        h = (h * m) & _M32
    h ^= h >> 13
    h = (h * m) & _M32
    h ^= h >> 15
    return h


def murmur2(data: bytes) -> int:
    """Java's ``org.apache.kafka.common.utils.Utils.murmur2``: a signed 32-bit int."""
    h = murmur2_unsigned(data)
    return h - 0x100000000 if h & 0x80000000 else h


def crc32(data: bytes) -> int:
    """librdkafka's ``rd_crc32()`` (zlib's CRC-32), unsigned 32-bit."""
    return zlib.crc32(data) & _M32


def fnv1a_hash(data: bytes) -> int:
    """librdkafka's ``rd_fnv1a()``: FNV-1a in an int32, negated when negative, as uint32."""
    h = _FNV1A_OFFSET
    prime = _FNV1A_PRIME
    for byte in data:
        h = ((h ^ byte) * prime) & _M32
    if h & 0x80000000:  # int32 h < 0: h = -h (INT32_MIN maps to itself)
        h = (-h) & _M32
    return h


# ------------------------------------------------------------ hash -> partition rules


def murmur2_partition(key: bytes | None, partition_count: int) -> int:
    """``(rd_murmur2(key) & 0x7fffffff) % partition_count``; a NULL key hashes as empty."""
    return (murmur2_unsigned(key or b"") & 0x7FFFFFFF) % partition_count


def consistent_partition(key: bytes | None, partition_count: int) -> int:
    """``rd_crc32(key) % partition_count``; a NULL key hashes as empty (CRC 0: partition 0)."""
    return crc32(key or b"") % partition_count


def fnv1a_partition(key: bytes | None, partition_count: int) -> int:
    """``rd_fnv1a(key) % partition_count``; a NULL key hashes as empty."""
    return fnv1a_hash(key or b"") % partition_count


# ----------------------------------------------------- rd_kafka_msg_partitioner_<name>


def random_partition(
    partition_count: int, randint: RandInt = _default_randint, available: Available | None = None
) -> int:
    """``rd_kafka_msg_partitioner_random``: a random partition; if it is unavailable, one more
    random draw which is returned without checking (librdkafka's exact rule)."""
    p = randint(0, partition_count - 1)
    if available is not None and not available(p):
        return randint(0, partition_count - 1)
    return p


def partitioner_random(
    key: bytes | None, n: int, randint: RandInt, available: Available | None
) -> int:
    """``rd_kafka_msg_partitioner_random``: ignores the key."""
    return random_partition(n, randint, available)


def partitioner_consistent(
    key: bytes | None, n: int, randint: RandInt, available: Available | None
) -> int:
    """``rd_kafka_msg_partitioner_consistent``: CRC32; NULL and empty keys both give 0."""
    return consistent_partition(key, n)


def partitioner_consistent_random(
    key: bytes | None, n: int, randint: RandInt, available: Available | None
) -> int:
    """``rd_kafka_msg_partitioner_consistent_random``: ``keylen == 0`` (NULL *or* empty) is
    random, anything else CRC32."""
    if not key:
        return random_partition(n, randint, available)
    return consistent_partition(key, n)


def partitioner_murmur2(
    key: bytes | None, n: int, randint: RandInt, available: Available | None
) -> int:
    """``rd_kafka_msg_partitioner_murmur2``: NULL keys hash as empty."""
    return murmur2_partition(key, n)


def partitioner_murmur2_random(
    key: bytes | None, n: int, randint: RandInt, available: Available | None
) -> int:
    """``rd_kafka_msg_partitioner_murmur2_random``: only a NULL key is random; ``b""`` hashes."""
    if key is None:
        return random_partition(n, randint, available)
    return murmur2_partition(key, n)


def partitioner_fnv1a(
    key: bytes | None, n: int, randint: RandInt, available: Available | None
) -> int:
    """``rd_kafka_msg_partitioner_fnv1a``: NULL keys hash as empty."""
    return fnv1a_partition(key, n)


def partitioner_fnv1a_random(
    key: bytes | None, n: int, randint: RandInt, available: Available | None
) -> int:
    """``rd_kafka_msg_partitioner_fnv1a_random``: only a NULL key is random; ``b""`` hashes."""
    if key is None:
        return random_partition(n, randint, available)
    return fnv1a_partition(key, n)


PARTITIONERS: Final[Mapping[str, PartitionerFn]] = MappingProxyType(
    {
        "random": partitioner_random,
        "consistent": partitioner_consistent,
        "consistent_random": partitioner_consistent_random,
        "murmur2": partitioner_murmur2,
        "murmur2_random": partitioner_murmur2_random,
        "fnv1a": partitioner_fnv1a,
        "fnv1a_random": partitioner_fnv1a_random,
    }
)
"""The ``partitioner`` topic property's values, each exactly librdkafka's function."""

# Partitioners for which rd_kafka_topic_new0() sets random_partitioner = true, i.e. never
# sticky (src/rdkafka_topic.c); with sticky.partitioning.linger.ms == 0 none is sticky.
_NEVER_STICKY: Final = frozenset({"consistent", "murmur2", "fnv1a"})


def _lookup(name: str) -> PartitionerFn:
    try:
        return PARTITIONERS[name]
    except KeyError:
        raise ValueError(
            f"unknown partitioner {name!r}; expected one of {', '.join(PARTITIONERS)}"
        ) from None


def partition_for(
    name: str,
    key: bytes | None,
    partition_count: int,
    *,
    randint: RandInt = _default_randint,
    available: Available | None = None,
) -> int:
    """Run partitioner ``name`` for one message, without sticky partitioning (what librdkafka
    does with ``sticky.partitioning.linger.ms=0``). Raises ValueError for an unknown name or a
    partition count below 1."""
    if partition_count < 1:
        raise ValueError(f"partition_count must be >= 1, got {partition_count}")
    return _lookup(name)(key, partition_count, randint, available)


def uses_sticky(name: str, key: bytes | None, sticky_linger_ms: int = 10) -> bool:
    """Whether librdkafka sends this message to the topic's sticky partition instead of
    running the partitioner (``rd_kafka_msg_partitioner()`` in src/rdkafka_msg.c)."""
    if sticky_linger_ms <= 0 or name in _NEVER_STICKY:
        return False
    return key is None or (not key and name == "consistent_random")


class TopicPartitioner:
    """One topic's partitioning state: the partitioner plus librdkafka's sticky partition.

    ``partition(key, partition_count, now_us)`` is ``rd_kafka_msg_partitioner()`` for a message
    without an explicit partition; ``now_us`` is a monotonic clock in microseconds supplied by
    the caller. The sticky partition is re-chosen (with the ``random`` partitioner) when
    ``sticky_linger_ms`` has passed since it was chosen, or when it is unavailable.
    """

    __slots__ = ("name", "_fn", "_sticky_enabled", "_linger_us", "_sticky", "_sticky_since")

    def __init__(self, name: str = DEFAULT_PARTITIONER, sticky_linger_ms: int = 10) -> None:
        self.name = name
        self._fn = _lookup(name)
        self._sticky_enabled = sticky_linger_ms > 0 and name not in _NEVER_STICKY
        self._linger_us = sticky_linger_ms * 1000
        self._sticky = -1
        self._sticky_since: int | None = None

    def partition(
        self,
        key: bytes | None,
        partition_count: int,
        now_us: int,
        *,
        randint: RandInt = _default_randint,
        available: Available | None = None,
    ) -> int:
        if partition_count < 1:
            raise ValueError(f"partition_count must be >= 1, got {partition_count}")
        if self._sticky_enabled and (
            key is None or (not key and self.name == "consistent_random")
        ):
            p = self._sticky
            since = self._sticky_since
            if (since is not None and p < partition_count and available is None
                    and now_us - (since + self._linger_us) <= 0):
                return p  # the common case, without a second call (produce() hot path)
            return self._sticky_partition(partition_count, now_us, randint, available)
        return self._fn(key, partition_count, randint, available)

    def _sticky_partition(
        self, n: int, now_us: int, randint: RandInt, available: Available | None
    ) -> int:
        # rd_kafka_msg_sticky_partition(): expedite when the current one is unavailable, then
        # rd_interval(linger) > 0, i.e. now - (last + linger) > 0, picks a new random one.
        p = self._sticky
        since = self._sticky_since
        if (
            since is None
            or p >= n
            or (available is not None and not available(p))
            or now_us - (since + self._linger_us) > 0
        ):
            p = self._sticky = random_partition(n, randint, available)
            self._sticky_since = now_us
        return p
