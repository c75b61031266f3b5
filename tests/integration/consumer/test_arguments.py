"""The consumer's arguments, checked as confluent-kafka 2.16 (librdkafka) checks them, found by
experiment on it: a negative partition never reads another partition, wrong types raise
TypeError before anything changes, and each error has librdkafka's code and words.

The topic has two partitions of three messages each (values b"p<partition>-<i>").
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

from tests.integration.consumer._util import QUIET, consumer_conf, create_topic, unique_topic

PARTITIONS = 2
PER_PARTITION = 3


def _topic(broker: Any) -> str:
    topic = create_topic(broker.bootstrap_servers, unique_topic("args"), PARTITIONS)
    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap_servers, **QUIET})
    for p in range(PARTITIONS):
        for i in range(PER_PARTITION):
            producer.produce(topic, b"p%d-%d" % (p, i), partition=p)
    assert producer.flush(30) == 0
    return topic


def _read(ck: ModuleType, consumer: Any, seconds: float, until_eof: set[int] | None = None) -> list[tuple[int, int]]:
    """(partition, offset) of the messages read for `seconds`, or until each partition of
    `until_eof` reported _PARTITION_EOF; any other error fails the test."""
    got: list[tuple[int, int]] = []
    eof: set[int] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (until_eof is None or not until_eof <= eof):
        m = consumer.poll(0.1)
        if m is None:
            continue
        if m.error() is not None:
            assert m.error().code() == ck.KafkaError._PARTITION_EOF, m.error()
            eof.add(m.partition())
            continue
        assert m.value() == b"p%d-%d" % (m.partition(), m.offset())
        got.append((m.partition(), m.offset()))
    if until_eof is not None:
        assert until_eof <= eof, f"no end of partition {sorted(until_eof - eof)}: read {got}"
    return got


def _assignment(consumer: Any) -> list[tuple[str, int, int]]:
    return [(p.topic, p.partition, p.offset) for p in consumer.assignment()]


def _raises(ck: ModuleType, code: int, fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ck.KafkaException) as info:
        fn(*args, **kwargs)
    assert info.value.args[0].code() == code, info.value
    return str(info.value.args[0].str())


def test_a_negative_partition_is_assigned_but_never_read(
    consumer_client: ModuleType, make_consumer: Any, broker: Any
) -> None:
    """librdkafka takes TopicPartition(t, -1) (or any negative partition) into the assignment
    and fetches nothing for it; it never stands for the last partition (a Python index)."""
    ck = consumer_client
    topic = _topic(broker)
    tp = ck.TopicPartition
    conf = consumer_conf(broker.bootstrap_servers, **{"enable.partition.eof": True})
    # Before the topic's partitions are known ...
    fresh = make_consumer(conf)
    fresh.assign([tp(topic, -1, 0)])
    assert _assignment(fresh) == [(topic, -1, 0)]
    assert _read(ck, fresh, 2.0) == []

    # ... and once they are (they were read): partition 1, the last, is not read either.
    consumer = make_consumer(conf)
    consumer.assign([tp(topic, 0, 0), tp(topic, 1, 0)])
    assert sorted(_read(ck, consumer, 20, until_eof={0, 1})) == [(p, o) for p in (0, 1) for o in range(3)]
    consumer.assign([tp(topic, -1, 0), tp(topic, -2, 1), tp(topic, -100, ck.OFFSET_BEGINNING),
                     tp(topic, -3)])
    # assignment() is ordered by partition and says OFFSET_STORED for OFFSET_INVALID.
    assert _assignment(consumer) == [(topic, -100, ck.OFFSET_BEGINNING), (topic, -3, ck.OFFSET_STORED),
                                     (topic, -2, 1), (topic, -1, 0)]
    assert _read(ck, consumer, 2.0) == []
    # Positions, pause, resume and seek of a negative partition change nothing either.
    assert [p.offset for p in consumer.position([tp(topic, -1), tp(topic, -2)])] == [ck.OFFSET_INVALID] * 2
    consumer.pause([tp(topic, -1)])
    consumer.resume([tp(topic, -1)])
    consumer.seek(tp(topic, -1, 1))
    # A real partition next to them is read, once.
    consumer.incremental_assign([tp(topic, 1, 1)])
    assert _read(ck, consumer, 20, until_eof={1}) == [(1, 1), (1, 2)]
    consumer.incremental_unassign([tp(topic, -1), tp(topic, -2)])
    assert _assignment(consumer) == [(topic, -100, ck.OFFSET_BEGINNING), (topic, -3, ck.OFFSET_STORED),
                                     (topic, 1, 1)]
    assert _read(ck, consumer, 1.0) == []


def test_seek_checks_its_partition_then_its_offset(
    consumer_client: ModuleType, make_consumer: Any, broker: Any
) -> None:
    """A partition that is not assigned: _UNKNOWN_PARTITION for a topic librdkafka has no
    object for, _STATE once it has one (a partition of it was assigned, or list_topics()
    asked for it), whatever the partition number. OFFSET_STORED is no place to seek to."""
    ck = consumer_client
    topic = _topic(broker)
    tp = ck.TopicPartition
    consumer = make_consumer(consumer_conf(broker.bootstrap_servers, **{"enable.partition.eof": True}))
    for partition in (-1, 0):
        assert _raises(ck, ck.KafkaError._UNKNOWN_PARTITION, consumer.seek, tp(topic, partition, 1)) == (
            "Failed to seek to offset 1: Local: Unknown partition")
    consumer.assign([tp(topic, 1, 0)])
    for partition in (-2, -1, 0, 5):
        assert _raises(ck, ck.KafkaError._STATE, consumer.seek, tp(topic, partition, 1)) == (
            "Failed to seek to offset 1: Local: Erroneous state")
    assert _raises(ck, ck.KafkaError._INVALID_ARG, consumer.seek, tp(topic, 1, ck.OFFSET_STORED)) == (
        "Failed to seek to offset -1000: Local: Invalid argument or configuration")
    assert _assignment(consumer) == [(topic, 1, 0)]
    consumer.seek(tp(topic, 1, 2))
    assert _read(ck, consumer, 20, until_eof={1}) == [(1, 2)]

    other = make_consumer(consumer_conf(broker.bootstrap_servers))
    other.list_topics(topic, timeout=10)
    assert _raises(ck, ck.KafkaError._STATE, other.seek, tp(topic, 1, 1)) == (
        "Failed to seek to offset 1: Local: Erroneous state")


def test_partition_lists_must_be_lists_of_topic_partitions(
    consumer_client: ModuleType, make_consumer: Any
) -> None:
    """A tuple, a lone TopicPartition, anything else in the list, or a subclass of
    TopicPartition: TypeError, raised before anything changes. No broker is needed."""
    ck = consumer_client
    consumer = make_consumer(consumer_conf("127.0.0.1:1", **{"enable.auto.offset.store": False}))
    tp = ck.TopicPartition

    class SubTopicPartition(ck.TopicPartition):  # type: ignore[misc,name-defined]
        pass

    consumer.assign([tp("t", 0, 5)])
    list_calls = [
        ("assign", lambda arg: consumer.assign(arg)),
        ("incremental_assign", lambda arg: consumer.incremental_assign(arg)),
        ("incremental_unassign", lambda arg: consumer.incremental_unassign(arg)),
        ("pause", lambda arg: consumer.pause(arg)),
        ("resume", lambda arg: consumer.resume(arg)),
        ("position", lambda arg: consumer.position(arg)),
        ("committed", lambda arg: consumer.committed(arg, timeout=1)),
        ("commit", lambda arg: consumer.commit(offsets=arg, asynchronous=False)),
        ("store_offsets", lambda arg: consumer.store_offsets(offsets=arg)),
        ("offsets_for_times", lambda arg: consumer.offsets_for_times(arg, timeout=1)),
    ]
    bad_lists = [(tp("t", 0, 1),), tp("t", 0, 1), [1], [tp("t", 0, 1), "t"], [SubTopicPartition("t", 0, 1)]]
    for name, call in list_calls:
        # None is commit()'s and store_offsets()'s default (the stored offsets, the message).
        for bad in bad_lists + ([] if name in ("commit", "store_offsets") else [None]):
            with pytest.raises(TypeError):
                call(bad)
                pytest.fail(f"{name}({bad!r}) did not raise")
    for name, call1 in [("seek", lambda arg: consumer.seek(arg)),
                        ("get_watermark_offsets", lambda arg: consumer.get_watermark_offsets(arg, timeout=1))]:
        for bad in ([tp("t", 0, 1)], None, SubTopicPartition("t", 0, 1)):
            with pytest.raises(TypeError):
                call1(bad)
                pytest.fail(f"{name}({bad!r}) did not raise")
    assert _assignment(consumer) == [("t", 0, 5)]


def test_commit_never_sends_an_offset_below_zero(
    consumer_client: ModuleType, make_consumer: Any, broker: Any
) -> None:
    """Explicit offsets below 0 are left out of the commit (the results list them as given);
    with none left it is _NO_OFFSET: raised by a synchronous commit, told to on_commit."""
    ck = consumer_client
    topic = _topic(broker)
    tp = ck.TopicPartition
    commits: list[tuple[Any, list[tuple[int, int, Any]]]] = []

    def on_commit(err: Any, partitions: list[Any]) -> None:
        commits.append((err.code() if err is not None else None,
                        [(p.partition, p.offset, p.error) for p in partitions]))

    consumer = make_consumer(consumer_conf(broker.bootstrap_servers, on_commit=on_commit))
    for offsets in ([tp(topic, 0, -5)], [tp(topic, 0, ck.OFFSET_INVALID), tp(topic, 1, ck.OFFSET_END)], []):
        assert _raises(ck, ck.KafkaError._NO_OFFSET, consumer.commit, offsets=offsets,
                       asynchronous=False) == "Commit failed: Local: No offset stored"
    assert consumer.commit(offsets=[tp(topic, 0, -5)], asynchronous=True) is None
    assert consumer.commit(offsets=[], asynchronous=True) is None
    deadline = time.monotonic() + 10
    while len(commits) < 2 and time.monotonic() < deadline:
        consumer.poll(0.1)
    assert commits == [(ck.KafkaError._NO_OFFSET, [(0, -5, None)]), (ck.KafkaError._NO_OFFSET, [])]

    results = consumer.commit(offsets=[tp(topic, 0, 2), tp(topic, 1, -5)], asynchronous=False)
    assert [(p.partition, p.offset, p.error) for p in results] == [(0, 2, None), (1, -5, None)]
    assert [p.offset for p in consumer.committed([tp(topic, 0), tp(topic, 1)], timeout=10)] == [2, ck.OFFSET_INVALID]


def test_store_offsets_skips_partitions_that_are_not_assigned(
    consumer_client: ModuleType, make_consumer: Any, broker: Any
) -> None:
    """As rd_kafka_offsets_store: each partition that is not assigned is skipped with its
    error (_STATE for a topic librdkafka knows, _UNKNOWN_PARTITION otherwise); the call raises
    the last error only when nothing was stored."""
    ck = consumer_client
    topic = _topic(broker)
    tp = ck.TopicPartition
    consumer = make_consumer(consumer_conf(broker.bootstrap_servers, **{"enable.auto.offset.store": False}))
    assert _raises(ck, ck.KafkaError._UNKNOWN_PARTITION, consumer.store_offsets,
                   offsets=[tp(topic, 0, 1)]) == "StoreOffsets failed: Local: Unknown partition"
    consumer.assign([tp(topic, 1, 0)])
    for partition in (0, -1, 5):
        assert _raises(ck, ck.KafkaError._STATE, consumer.store_offsets,
                       offsets=[tp(topic, partition, 1)]) == "StoreOffsets failed: Local: Erroneous state"
    other = unique_topic("args-other")
    assert _raises(ck, ck.KafkaError._STATE, consumer.store_offsets,
                   offsets=[tp(other, 0, 1), tp(topic, 0, 1)]) == "StoreOffsets failed: Local: Erroneous state"
    assert _raises(ck, ck.KafkaError._UNKNOWN_PARTITION, consumer.store_offsets,
                   offsets=[tp(topic, 0, 1), tp(other, 0, 1)]) == "StoreOffsets failed: Local: Unknown partition"
    consumer.store_offsets(offsets=[tp(topic, 1, 2), tp(topic, 0, 1), tp(topic, -1, 1)])
    assert [(p.partition, p.offset) for p in consumer.commit(asynchronous=False)] == [(1, 2)]
    # A message of a partition no longer assigned.
    messages = []
    deadline = time.monotonic() + 20
    while not messages and time.monotonic() < deadline:
        m = consumer.poll(0.1)
        if m is not None and m.error() is None:
            messages.append(m)
    assert messages, "nothing read"
    consumer.unassign()
    assert _raises(ck, ck.KafkaError._STATE, consumer.store_offsets,
                   message=messages[0]) == "StoreOffsets failed: Local: Erroneous state"


def test_offset_lookups_of_partitions_that_do_not_exist(
    consumer_client: ModuleType, make_consumer: Any, broker: Any
) -> None:
    """A negative partition, one past the last or of a topic that does not exist: watermark
    lookups raise _UNKNOWN_PARTITION; offsets_for_times raises it when no partition asked for
    exists, else reports each one's error (its offset still the timestamp asked for). Cached
    watermarks of a negative partition are OFFSET_INVALID, never the last partition's."""
    ck = consumer_client
    topic = _topic(broker)
    tp = ck.TopicPartition
    missing = unique_topic("args-missing")
    consumer = make_consumer(consumer_conf(broker.bootstrap_servers, **{"enable.partition.eof": True}))
    for partition in (tp(topic, -1), tp(topic, 5), tp(missing, 0)):
        assert _raises(ck, ck.KafkaError._UNKNOWN_PARTITION, consumer.get_watermark_offsets, partition,
                       timeout=10) == "Failed to get watermark offsets: Local: Unknown partition"
    for partitions in ([tp(topic, -1, 0)], [tp(topic, 5, 0), tp(missing, 0, 0)]):
        assert _raises(ck, ck.KafkaError._UNKNOWN_PARTITION, consumer.offsets_for_times, partitions,
                       timeout=10) == "Failed to get offsets: Local: Unknown partition"
    assert _raises(ck, ck.KafkaError._INVALID_ARG, consumer.offsets_for_times, [], timeout=10) == (
        "Failed to get offsets: Local: Invalid argument or configuration")
    found = consumer.offsets_for_times([tp(topic, 0, 0), tp(topic, -1, 12345), tp(topic, 7, 999),
                                        tp(missing, 0, 4242)], timeout=10)
    assert found[0].error is None
    assert [(p.topic, p.partition, p.offset, p.error.code()) for p in found[1:]] == [
        (topic, -1, 12345, ck.KafkaError._UNKNOWN_PARTITION),
        (topic, 7, 999, ck.KafkaError._UNKNOWN_PARTITION),
        (missing, 0, 4242, ck.KafkaError.UNKNOWN_TOPIC_OR_PART),
    ]

    consumer.assign([tp(topic, 0, 0), tp(topic, 1, 0)])
    _read(ck, consumer, 20, until_eof={0, 1})
    assert consumer.get_watermark_offsets(tp(topic, 1), cached=True) == (0, PER_PARTITION)
    for partition in (-1, -2, 2):
        assert consumer.get_watermark_offsets(tp(topic, partition), cached=True) == (ck.OFFSET_INVALID,
                                                                                     ck.OFFSET_INVALID)
    assert [p.offset for p in consumer.position([tp(topic, -1)])] == [ck.OFFSET_INVALID]
    assert [p.offset for p in consumer.committed([tp(topic, -1)], timeout=10)] == [ck.OFFSET_INVALID]
