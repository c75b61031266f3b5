"""rdpy.client.partitioner: hash vectors from Java and librdkafka, and librdkafka's key rules."""

from __future__ import annotations

import ast
import ctypes
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdpy.client import partitioner as part
from rdpy.client.partitioner import (
    DEFAULT_PARTITIONER,
    PARTITIONERS,
    TopicPartitioner,
    consistent_partition,
    crc32,
    fnv1a_hash,
    fnv1a_partition,
    murmur2,
    murmur2_partition,
    murmur2_unsigned,
    partition_for,
    random_partition,
    uses_sticky,
)

# org.apache.kafka.common.utils.UtilsTest#testMurmur2 (apache/kafka, clients/src/test/java).
JAVA_MURMUR2 = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]

_SHORT = b"1234"
_UNALIGNED = b"PreAmbleWillBeRemoved,ThePrePartThatIs"

# librdkafka src/rdmurmur2.c unittest_murmur2(): (int32_t)rd_murmur2(key) == expected.
LIBRDKAFKA_MURMUR2 = [
    (b"kafka", 0xD067CF64),
    (b"giberish123456789", 0x8F552B0C),
    (_SHORT, 0x9FC97B14),
    (_SHORT[1:], 0xE7C009CA),
    (_SHORT[2:], 0x873930DA),
    (_SHORT[3:], 0x5A4B5CA1),
    (_UNALIGNED, 0x78424F1C),
    (_UNALIGNED[1:], 0x4A62B377),
    (_UNALIGNED[2:], 0xE0E4E09E),
    (_UNALIGNED[3:], 0x62B8B43F),
    (b"", 0x106E08D9),
]

# librdkafka's older unittest_murmurhashneutral2() checked the sign-masked value.
LIBRDKAFKA_MURMUR2_MASKED = [
    (b"kafka", 1348980580),
    (b"amqp", 767747138),
    (b"giberish123456789", 257239820),
]

# librdkafka src/rdfnv1a.c unittest_fnv1a() (values from Go's hash/fnv + abs, as Sarama).
LIBRDKAFKA_FNV1A = [
    (b"kafka", 0xD33C4E1),
    (b"giberish123456789", 0x77A58295),
    (_SHORT, 0x23BDD03),
    (_SHORT[1:], 0x2DEA3CD2),
    (_SHORT[2:], 0x740FA83E),
    (_SHORT[3:], 0x310CA263),
    (_UNALIGNED, 0x65CBD69C),
    (_UNALIGNED[1:], 0x6E49C79A),
    (_UNALIGNED[2:], 0x69EED356),
    (_UNALIGNED[3:], 0x6ABCC023),
    (b"", 0x7EE3623B),
]

NAMES = sorted(PARTITIONERS)
HASHING = ["consistent", "consistent_random", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random"]


class FakeRandom:
    """randint(lo, hi) returning scripted values; records every call."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)
        self.calls: list[tuple[int, int]] = []

    def __call__(self, lo: int, hi: int) -> int:
        self.calls.append((lo, hi))
        v = self.values.pop(0)
        assert lo <= v <= hi
        return v


def no_random(lo: int, hi: int) -> int:
    raise AssertionError("randomness used where librdkafka hashes")


# ------------------------------------------------------------------- reference models


def java_murmur2(data: bytes) -> int:
    """A line-by-line transliteration of Java's Utils.murmur2 with int32 arithmetic."""

    def i32(x: int) -> int:
        return ctypes.c_int32(x).value

    def ushr(x: int, n: int) -> int:  # Java >>>
        return (x & 0xFFFFFFFF) >> n

    length = len(data)
    seed = i32(0x9747B28C)
    m = 0x5BD1E995
    r = 24
    h = i32(seed ^ length)
    length4 = length // 4
    for i in range(length4):
        i4 = i * 4
        k = i32(
            (data[i4] & 0xFF)
            + ((data[i4 + 1] & 0xFF) << 8)
            + ((data[i4 + 2] & 0xFF) << 16)
            + ((data[i4 + 3] & 0xFF) << 24)
        )
        k = i32(k * m)
        k ^= ushr(k, r)
        k = i32(k * m)
        h = i32(h * m)
        h = i32(h ^ k)
    rest = length % 4
    if rest == 3:
        h = i32(h ^ ((data[(length & ~3) + 2] & 0xFF) << 16))
    if rest >= 2:
        h = i32(h ^ ((data[(length & ~3) + 1] & 0xFF) << 8))
    if rest >= 1:
        h = i32(h ^ (data[length & ~3] & 0xFF))
        h = i32(h * m)
    h = i32(h ^ ushr(h, 13))
    h = i32(h * m)
    h = i32(h ^ ushr(h, 15))
    return h


def c_fnv1a(data: bytes) -> int:
    """rd_fnv1a() with an int32_t accumulator, as the C code (wrapping) computes it."""
    h = ctypes.c_int32(0x811C9DC5).value
    for b in data:
        h = ctypes.c_int32(h ^ b).value
        h = ctypes.c_int32(h * 0x01000193).value
    if h < 0:
        h = ctypes.c_int32(-h).value
    return h & 0xFFFFFFFF


# ------------------------------------------------------------------------ hash vectors


@pytest.mark.parametrize(("data", "expected"), JAVA_MURMUR2)
def test_murmur2_java_vectors(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected
    assert murmur2_unsigned(data) == expected & 0xFFFFFFFF


@pytest.mark.parametrize(("data", "expected"), LIBRDKAFKA_MURMUR2)
def test_murmur2_librdkafka_vectors(data: bytes, expected: int) -> None:
    assert murmur2_unsigned(data) == expected


@pytest.mark.parametrize(("data", "expected"), LIBRDKAFKA_MURMUR2_MASKED)
def test_murmur2_librdkafka_masked_vectors(data: bytes, expected: int) -> None:
    assert murmur2_unsigned(data) & 0x7FFFFFFF == expected


@pytest.mark.parametrize(("data", "expected"), LIBRDKAFKA_FNV1A)
def test_fnv1a_librdkafka_vectors(data: bytes, expected: int) -> None:
    assert fnv1a_hash(data) == expected


def test_crc32_is_zlib_ieee() -> None:
    assert crc32(b"123456789") == 0xCBF43926
    assert crc32(b"") == 0


@given(st.binary(max_size=300))
def test_murmur2_matches_java_transliteration(data: bytes) -> None:
    assert murmur2(data) == java_murmur2(data)
    assert -(2**31) <= murmur2(data) < 2**31


@given(st.binary(max_size=300))
def test_fnv1a_matches_c_int32_model(data: bytes) -> None:
    assert fnv1a_hash(data) == c_fnv1a(data)
    # After the abs, only INT32_MIN keeps the top bit.
    assert fnv1a_hash(data) < 2**31 or fnv1a_hash(data) == 2**31


def test_fnv1a_int32_min_stays_int32_min() -> None:
    # This key's raw FNV-1a is 0x80000000 (INT32_MIN); librdkafka's `h = -h` leaves it so.
    key = b"\x02W\x96\xdfM"
    assert fnv1a_hash(key) == 0x80000000 == c_fnv1a(key)
    assert fnv1a_partition(key, 7) == 0x80000000 % 7


# --------------------------------------------------------------- hash -> partition


@given(st.binary(max_size=64), st.integers(min_value=1, max_value=10_000))
def test_partition_rules(key: bytes, n: int) -> None:
    assert murmur2_partition(key, n) == (murmur2(key) & 0x7FFFFFFF) % n
    assert consistent_partition(key, n) == zlib.crc32(key) % n
    assert fnv1a_partition(key, n) == c_fnv1a(key) % n
    for name in HASHING:
        if key or not name.startswith("consistent_random"):
            p = PARTITIONERS[name](key, n, no_random, None)
            assert 0 <= p < n


def test_java_default_partitioner_examples() -> None:
    # Java: Utils.toPositive(Utils.murmur2(key)) % numPartitions
    for data, h in JAVA_MURMUR2:
        for n in (1, 3, 7, 16, 50):
            assert murmur2_partition(data, n) == (h & 0x7FFFFFFF) % n


# ------------------------------------------------------------- NULL vs empty key rules


@pytest.mark.parametrize("n", [1, 3, 7, 16, 50])
def test_non_random_partitioners_hash_null_key_as_empty(n: int) -> None:
    for name in ("consistent", "murmur2", "fnv1a"):
        fn = PARTITIONERS[name]
        assert fn(None, n, no_random, None) == fn(b"", n, no_random, None)
    assert PARTITIONERS["consistent"](None, n, no_random, None) == 0
    assert PARTITIONERS["murmur2"](None, n, no_random, None) == (0x106E08D9 & 0x7FFFFFFF) % n
    assert PARTITIONERS["fnv1a"](None, n, no_random, None) == 0x7EE3623B % n


def test_consistent_random_null_and_empty_keys_are_random() -> None:
    for key in (None, b""):
        rng = FakeRandom(5)
        assert PARTITIONERS["consistent_random"](key, 7, rng, None) == 5
        assert rng.calls == [(0, 6)]
    assert PARTITIONERS["consistent_random"](b"k", 7, no_random, None) == zlib.crc32(b"k") % 7


@pytest.mark.parametrize("name", ["murmur2_random", "fnv1a_random"])
def test_murmur2_fnv1a_random_only_null_key_is_random(name: str) -> None:
    rng = FakeRandom(4)
    assert PARTITIONERS[name](None, 7, rng, None) == 4
    hashed = PARTITIONERS[name.removesuffix("_random")]
    assert PARTITIONERS[name](b"", 7, no_random, None) == hashed(b"", 7, no_random, None)
    assert PARTITIONERS[name](b"key", 7, no_random, None) == hashed(b"key", 7, no_random, None)


def test_random_ignores_key() -> None:
    assert PARTITIONERS["random"](b"anything", 9, FakeRandom(8), None) == 8


def test_random_partition_second_draw_is_unchecked() -> None:
    # rd_kafka_msg_partitioner_random: one re-draw if the first pick is unavailable, and the
    # re-draw is returned even if it is unavailable too.
    rng = FakeRandom(2, 2)
    assert random_partition(5, rng, lambda p: p != 2) == 2
    assert len(rng.calls) == 2
    rng = FakeRandom(1, 3)
    assert random_partition(5, rng, lambda p: p != 1) == 3
    rng = FakeRandom(0)
    assert random_partition(5, rng, lambda p: True) == 0
    assert len(rng.calls) == 1


def test_random_partition_default_rng_spreads() -> None:
    seen = {random_partition(4) for _ in range(400)}
    assert seen == {0, 1, 2, 3}


# ---------------------------------------------------------------- dispatch & sticky


@pytest.mark.parametrize(
    ("name", "key", "sticky"),
    [
        ("consistent", None, False),
        ("murmur2", None, False),
        ("fnv1a", None, False),
        ("consistent_random", None, True),
        ("consistent_random", b"", True),
        ("consistent_random", b"k", False),
        ("murmur2_random", None, True),
        ("murmur2_random", b"", False),
        ("fnv1a_random", None, True),
        ("fnv1a_random", b"", False),
        ("random", None, True),
        ("random", b"", False),
        ("random", b"k", False),
    ],
)
def test_uses_sticky(name: str, key: bytes | None, sticky: bool) -> None:
    assert uses_sticky(name, key) is sticky
    assert uses_sticky(name, key, sticky_linger_ms=10) is sticky
    assert uses_sticky(name, key, sticky_linger_ms=0) is False


def test_topic_partitioner_sticky_window() -> None:
    tp = TopicPartitioner("murmur2_random", sticky_linger_ms=10)
    rng = FakeRandom(3, 1)
    t0 = 1_000_000_000
    assert tp.partition(None, 5, t0, randint=rng) == 3
    assert tp.partition(None, 5, t0 + 5_000, randint=rng) == 3
    assert tp.partition(None, 5, t0 + 10_000, randint=rng) == 3  # rd_interval needs diff > 0
    assert len(rng.calls) == 1
    assert tp.partition(None, 5, t0 + 10_001, randint=rng) == 1
    assert len(rng.calls) == 2
    # Keyed messages are hashed and don't disturb the sticky partition.
    assert tp.partition(b"k", 5, t0 + 10_002, randint=no_random) == murmur2_partition(b"k", 5)
    assert tp.partition(None, 5, t0 + 10_003, randint=no_random) == 1


def test_topic_partitioner_sticky_repicks_when_unavailable_or_out_of_range() -> None:
    tp = TopicPartitioner("consistent_random")
    t0 = 5_000_000
    assert tp.partition(b"", 6, t0, randint=FakeRandom(4)) == 4
    assert tp.partition(b"", 6, t0 + 1, randint=FakeRandom(2), available=lambda p: p != 4) == 2
    assert tp.partition(None, 2, t0 + 2, randint=FakeRandom(0)) == 0  # 2 >= n=2: re-pick


def test_topic_partitioner_without_sticky() -> None:
    tp = TopicPartitioner("consistent_random", sticky_linger_ms=0)
    assert tp.partition(None, 6, 1, randint=FakeRandom(4)) == 4
    assert tp.partition(None, 6, 2, randint=FakeRandom(5)) == 5
    for name in ("consistent", "murmur2", "fnv1a"):
        tp = TopicPartitioner(name, sticky_linger_ms=10)
        assert tp.partition(None, 6, 1, randint=no_random) == PARTITIONERS[name](
            b"", 6, no_random, None
        )


def test_default_partitioner_is_consistent_random() -> None:
    assert DEFAULT_PARTITIONER == "consistent_random"
    assert TopicPartitioner().name == "consistent_random"


def test_partition_for() -> None:
    assert partition_for("murmur2", b"foobar", 16) == (-790332482 & 0x7FFFFFFF) % 16
    assert partition_for("consistent_random", None, 3, randint=FakeRandom(2)) == 2
    with pytest.raises(ValueError, match="unknown partitioner"):
        partition_for("murmur3", b"k", 3)
    with pytest.raises(ValueError, match="partition_count"):
        partition_for("murmur2", b"k", 0)
    with pytest.raises(ValueError, match="unknown partitioner"):
        TopicPartitioner("nope")


def test_partitioner_names_match_librdkafka() -> None:
    assert set(NAMES) == {
        "random",
        "consistent",
        "consistent_random",
        "murmur2",
        "murmur2_random",
        "fnv1a",
        "fnv1a_random",
    }


def test_module_is_pure() -> None:
    tree = ast.parse(Path(part.__file__).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    forbidden = {"socket", "threading", "time", "asyncio", "selectors", "os", "ssl"}
    assert not imported & forbidden, imported & forbidden
