"""rdpy's partitioners choose exactly the partitions librdkafka (confluent-kafka) chooses.

Keys are produced with confluent-kafka's `partitioner` setting to topics of librdkafka's mock
cluster and each delivery report's partition is compared with rdpy.client.partitioner.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import KafkaError, Producer  # noqa: E402

from rdpy.client.partitioner import PARTITIONERS, partition_for, uses_sticky  # noqa: E402
from tests.support.rdkafka_mock import LibrdkafkaMockCluster  # noqa: E402

pytestmark = pytest.mark.mockcluster

PARTITION_COUNTS = (1, 3, 7, 16, 50)
HASHING = ["consistent", "consistent_random", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random"]


def _keys() -> list[bytes]:
    rng = random.Random(20240611)
    # b"\x02W\x96\xdfM" has raw FNV-1a 0x80000000 (INT32_MIN, which librdkafka's abs keeps).
    keys: dict[bytes, None] = {b"": None, b"\x02W\x96\xdfM": None}
    for text in ("kafka", "amqp", "21", "foobar", "abc", "giberish123456789", "ключ", "キー"):
        keys[text.encode()] = None
    for i in range(200):
        keys[f"user-{i}".encode()] = None
        keys[f"order:{i * 7919}:{i % 13}".encode()] = None
    while len(keys) < 1200:
        keys[rng.randbytes(rng.randint(1, 40))] = None
    return list(keys)


KEYS = _keys()


def _no_random(lo: int, hi: int) -> int:
    raise AssertionError("a hashed key must not need randomness")


@pytest.fixture(scope="module")
def mock_cluster() -> Iterator[LibrdkafkaMockCluster]:
    with LibrdkafkaMockCluster(broker_cnt=3) as cluster:
        yield cluster


def _produce(
    cluster: LibrdkafkaMockCluster,
    partitioner: str,
    topic_keys: dict[str, list[bytes | None]],
    **extra: Any,
) -> dict[str, list[tuple[bytes | None, int]]]:
    """Produce every key of every topic, flush once; returns [(key, partition)] per topic."""
    conf: dict[str, Any] = {
        "bootstrap.servers": cluster.bootstrap_servers,
        "partitioner": partitioner,
        "linger.ms": 2,
        "message.timeout.ms": 20000,
    }
    conf.update(extra)
    producer = Producer(conf)
    for topic in topic_keys:
        producer.list_topics(topic, timeout=10)
    results: dict[str, list[tuple[bytes | None, int]]] = {t: [] for t in topic_keys}
    errors: list[KafkaError] = []

    def report(topic: str, key: bytes | None) -> Any:
        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                errors.append(err)
            else:
                results[topic].append((key, msg.partition()))

        return on_delivery

    for topic, keys in topic_keys.items():
        for key in keys:
            producer.produce(topic, value=b"v", key=key, on_delivery=report(topic, key))
            producer.poll(0)
    assert producer.flush(30) == 0
    assert not errors, errors[:5]
    for topic, keys in topic_keys.items():
        assert len(results[topic]) == len(keys), topic
    return results


@pytest.mark.parametrize("name", HASHING)
def test_keyed_partitioning_matches_librdkafka(
    mock_cluster: LibrdkafkaMockCluster, name: str
) -> None:
    topics: dict[str, int] = {}
    for n in PARTITION_COUNTS:
        topic = f"part-{name}-{n}"
        mock_cluster.create_topic(topic, partitions=n, replication_factor=1)
        topics[topic] = n
    got = _produce(mock_cluster, name, {t: list(KEYS) for t in topics})

    checked = 0
    mismatches: list[tuple[str, bytes | None, int, int]] = []
    for topic, n in topics.items():
        for key, partition in got[topic]:
            assert 0 <= partition < n
            if uses_sticky(name, key):  # consistent_random with b"": sticky, not hashed
                continue
            expected = partition_for(name, key, n, randint=_no_random)
            checked += 1
            if expected != partition:
                mismatches.append((topic, key, partition, expected))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:5]}"
    assert checked >= len(PARTITION_COUNTS) * (len(KEYS) - 1)


@pytest.mark.parametrize("name", HASHING + ["random"])
def test_null_keys(mock_cluster: LibrdkafkaMockCluster, name: str) -> None:
    n = 7
    topic = f"null-{name}"
    mock_cluster.create_topic(topic, partitions=n, replication_factor=1)
    got = _produce(mock_cluster, name, {topic: [None] * 200})[topic]
    partitions = [p for _, p in got]
    assert all(0 <= p < n for p in partitions)
    if not uses_sticky(name, None):
        # consistent / murmur2 / fnv1a hash a NULL key as empty: one fixed partition.
        expected = PARTITIONERS[name](None, n, _no_random, None)
        assert set(partitions) == {expected}


@pytest.mark.parametrize("name", ["consistent_random", "murmur2_random", "fnv1a_random", "random"])
def test_null_keys_spread_without_sticky_partitioning(
    mock_cluster: LibrdkafkaMockCluster, name: str
) -> None:
    # With sticky.partitioning.linger.ms=0 librdkafka runs the partitioner for NULL keys, and
    # the *_random ones pick a random partition per message.
    n = 7
    topic = f"null-spread-{name}"
    mock_cluster.create_topic(topic, partitions=n, replication_factor=1)
    got = _produce(
        mock_cluster, name, {topic: [None] * 350}, **{"sticky.partitioning.linger.ms": 0}
    )[topic]
    counts = [sum(1 for _, p in got if p == i) for i in range(n)]
    assert sum(counts) == 350
    assert min(counts) > 0, counts  # P(some partition empty) ~ 7 * (6/7)**350: negligible


def test_consistent_random_empty_key_is_not_hashed_but_murmur2_random_is(
    mock_cluster: LibrdkafkaMockCluster,
) -> None:
    # b"" is keylen 0 for consistent_random (random/sticky) but a non-NULL key for
    # murmur2_random and fnv1a_random (hashed).
    n = 16
    for name in ("murmur2_random", "fnv1a_random"):
        topic = f"empty-{name}"
        mock_cluster.create_topic(topic, partitions=n, replication_factor=1)
        got = _produce(
            mock_cluster, name, {topic: [b""] * 50}, **{"sticky.partitioning.linger.ms": 0}
        )
        assert {p for _, p in got[topic]} == {partition_for(name, b"", n, randint=_no_random)}
    topic = "empty-consistent_random"
    mock_cluster.create_topic(topic, partitions=n, replication_factor=1)
    got = _produce(
        mock_cluster,
        "consistent_random",
        {topic: [b""] * 200},
        **{"sticky.partitioning.linger.ms": 0},
    )
    assert len({p for _, p in got[topic]}) > 1
