"""Same key -> same partition as librdkafka (a reference confluent-kafka producer), for every
built-in partitioner, on librdkafka's mock cluster; and the Python-callable partitioner.
Every message goes through tests.support.invariants.Ledger (exactly one report each, delivered,
on the application's thread, in produce() order per partition) and every producer is closed."""

from __future__ import annotations

import threading

import random
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

from tests.integration.producer._util import QUIET, Reports, unique_topic
from tests.support.invariants import Ledger
from tests.support.clients import has_capability
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

pytestmark = pytest.mark.mockcluster

PARTITIONS = 7
PARTITIONERS = ["random", "consistent", "consistent_random", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random"]

# Which keys each partitioner places deterministically (librdkafka's CONFIGURATION.md):
# random never; *_random send NULL keys (consistent_random: also empty keys) to a random/sticky
# partition; consistent, murmur2 and fnv1a hash every key, NULL included.
DETERMINISTIC_NULL = {"consistent", "murmur2", "fnv1a"}
DETERMINISTIC_EMPTY = {"consistent", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random"}


def _keys() -> list[bytes]:
    rng = random.Random(1234)
    keys = {b"\x02W\x96\xdfM": None, b"kafka": None, "\u043a\u043b\u044e\u0447".encode(): None}
    for i in range(150):
        keys[b"user-%d" % i] = None
    while len(keys) < 300:
        keys[rng.randbytes(rng.randint(1, 40))] = None
    return list(keys)


KEYS = _keys()


def _placements(producer_factory: Any, topic: str, keys: list[bytes | None]) -> list[int]:
    """The partition each key's message was delivered to, in `keys` order."""
    producer = producer_factory()
    producer.list_topics(topic, timeout=10)
    ledger = Ledger()
    seqs = [ledger.produce(producer, topic, b"v", key=key, mark=False) for key in keys]
    assert producer.flush(20) == 0
    delivered = ledger.check_reports(expect_delivered=True).delivered
    producer.close()
    partitions = [delivered[s].partition for s in seqs]
    assert None not in partitions
    return [p for p in partitions if p is not None]


@pytest.mark.parametrize("partitioner", PARTITIONERS)
def test_partitioner_placement_matches_librdkafka(
    client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster, partitioner: str
) -> None:
    topic = unique_topic(f"part-{partitioner}")
    librdkafka_mock.create_topic(topic, PARTITIONS)
    conf = {"bootstrap.servers": librdkafka_mock.bootstrap_servers, "partitioner": partitioner, **QUIET}
    keys: list[bytes | None] = list(KEYS)
    keys += [b""] * 3 + [None] * 3

    got = _placements(lambda: client.Producer(dict(conf)), topic, keys)
    assert all(0 <= p < PARTITIONS for p in got)

    if partitioner == "random":
        # No placement to compare; keyed messages are spread per message.
        assert len(set(got[: len(KEYS)])) > 1
        return
    ref = _placements(lambda: confluent_kafka.Producer(dict(conf)), topic, keys)
    for key, mine, theirs in zip(keys, got, ref):
        if key is None and partitioner not in DETERMINISTIC_NULL:
            continue
        if key == b"" and partitioner not in DETERMINISTIC_EMPTY:
            continue
        assert mine == theirs, f"{partitioner}: key {key!r} -> {mine}, librdkafka chose {theirs}"


def test_default_partitioner_is_consistent_random(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = unique_topic("part-default")
    librdkafka_mock.create_topic(topic, PARTITIONS)
    conf = {"bootstrap.servers": librdkafka_mock.bootstrap_servers, **QUIET}
    got = _placements(lambda: client.Producer(dict(conf)), topic, list(KEYS))
    ref = _placements(
        lambda: confluent_kafka.Producer({**conf, "partitioner": "consistent_random"}), topic, list(KEYS)
    )
    assert got == ref


def test_explicit_partition_overrides_partitioner(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = unique_topic("part-explicit")
    librdkafka_mock.create_topic(topic, PARTITIONS)
    producer = client.Producer({"bootstrap.servers": librdkafka_mock.bootstrap_servers, "partitioner": "murmur2", **QUIET})
    ledger = Ledger()
    reports = Reports()
    for i, key in enumerate(KEYS[:50]):
        ledger.produce(producer, topic, b"v", key=key, partition=i % PARTITIONS, on_delivery=reports.callback(i))
    assert producer.flush(20) == 0
    assert sorted((r.tag, r.partition) for r in reports.items) == [(i, i % PARTITIONS) for i in range(50)]
    ledger.check_reports(expect_delivered=True)
    producer.close()


def test_callable_partitioner(client: ModuleType, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = unique_topic("part-callable")
    librdkafka_mock.create_topic(topic, PARTITIONS)
    calls: list[tuple[Any, ...]] = []

    def last_byte_partitioner(key: bytes | None, partition_count: int, *rest: Any) -> int:
        calls.append((key, partition_count, threading.get_ident()))
        return (key[-1] if key else 0) % partition_count

    conf = {
        "bootstrap.servers": librdkafka_mock.bootstrap_servers,
        "partitioner": last_byte_partitioner,
        **QUIET,
    }
    if not has_capability(client, "callable_partitioner"):
        # confluent-kafka (the reference) refuses a callable at construction time.
        with pytest.raises(client.KafkaException) as excinfo:
            client.Producer(conf)
        assert excinfo.value.args[0].code() == client.KafkaError._INVALID_ARG
        assert "partitioner" in excinfo.value.args[0].str()
        return
    keys = KEYS[:100]
    got = _placements(lambda: client.Producer(conf), topic, list(keys))
    assert got == [k[-1] % PARTITIONS for k in keys]
    assert calls and all(c[1] == PARTITIONS for c in calls)
    # User code runs only on the application's thread (from produce() or poll()/flush()),
    # including for messages produced before the topic's partition count was known.
    assert {c[2] for c in calls} == {threading.get_ident()}
    assert len(calls) >= len(keys)
