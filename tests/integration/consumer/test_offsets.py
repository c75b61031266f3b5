"""Where consumption starts: explicit and logical offsets (BEGINNING, END, STORED, INVALID,
tail), auto.offset.reset earliest/latest/error, out-of-range offsets, and (incremental)
assign/unassign. Run on librdkafka's mock cluster: Tansu answers "latest" per batch.
What is read from the seeded data is checked with tests.support.invariants.check_consumed:
per partition exactly the logged records from the start offset on, once each, in order, with
their values."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.integration.consumer._util import (
    by_partition,
    check_consumed,
    consumer_conf,
    drain,
    poll_for,
    produce,
    seeded_mock_topic,
    seq_expected,
    seq_of,
    seq_value,
)
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

pytestmark = pytest.mark.mockcluster

PER_PARTITION = 10


def OFFSET_TAIL(n: int) -> int:
    """librdkafka's RD_KAFKA_OFFSET_TAIL(n); confluent-kafka has no constant for it but passes
    the value through TopicPartition.offset."""
    return -2000 - n


def _offsets(msgs: list[Any]) -> dict[int, list[int]]:
    return {p: [m.offset() for m in ms] for p, ms in by_partition(msgs).items()}


def _check_read(msgs: list[Any], seqs: dict[int, list[int]], starts: dict[int, int]) -> None:
    """Per partition in `starts` (and no other): the seeded records from starts[p] on."""
    offsets, values = seq_expected(seqs, starts)
    check_consumed(msgs, {p: o for p, o in offsets.items() if o}, values=values)


def test_assign_explicit_beginning_end_and_tail(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    ck = consumer_client
    topic, seqs = seeded_mock_topic(librdkafka_mock, "offsets", 4, PER_PARTITION)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True}))
    wanted = [
        ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING),
        ck.TopicPartition(topic, 1, 4),
        ck.TopicPartition(topic, 2, ck.OFFSET_END),
        ck.TopicPartition(topic, 3, OFFSET_TAIL(3)),
    ]
    consumer.assign(wanted)
    # assignment() hands back the assigned partitions with the offsets as given.
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in consumer.assignment()) == sorted(
        (tp.topic, tp.partition, tp.offset) for tp in wanted
    )
    got = drain(ck, consumer, [(topic, p) for p in range(4)], expected=10 + 6 + 3)
    assert _offsets(got) == {0: list(range(10)), 1: list(range(4, 10)), 3: [7, 8, 9]}
    _check_read(got, seqs, {0: 0, 1: 4, 2: 10, 3: 7})
    assert [seq_of(m.value()) for m in got if m.partition() == 1] == seqs[1][4:]
    # OFFSET_END: only what is produced after the assignment.
    produce(librdkafka_mock.bootstrap_servers, topic, [{"value": b"late-%d" % i, "partition": 2} for i in range(3)])
    late = drain(ck, consumer, [(topic, 2)], expected=3)
    assert [(m.partition(), m.offset(), m.value()) for m in late] == [(2, 10 + i, b"late-%d" % i) for i in range(3)]


@pytest.mark.parametrize("logical", ["OFFSET_STORED", "OFFSET_INVALID"])
@pytest.mark.parametrize("reset", ["earliest", "latest"])
def test_stored_offset_committed_or_auto_reset(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster, logical: str, reset: str
) -> None:
    """Partition 0 has a committed offset (5): consumption starts there. Partition 1 has none:
    auto.offset.reset decides. OFFSET_INVALID in assign() means the same as OFFSET_STORED."""
    ck = consumer_client
    topic, seqs = seeded_mock_topic(librdkafka_mock, "offsets", 2, PER_PARTITION)
    conf = consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True, "auto.offset.reset": reset})
    committer = make_consumer(conf)
    assert committer.commit(offsets=[ck.TopicPartition(topic, 0, 5)], asynchronous=False)[0].offset == 5
    committer.close()

    consumer = make_consumer(conf)
    offset = getattr(ck, logical)
    consumer.assign([ck.TopicPartition(topic, 0, offset), ck.TopicPartition(topic, 1, offset)])
    got = drain(ck, consumer, [(topic, 0), (topic, 1)], expected=5 + (10 if reset == "earliest" else 0))
    expected = {0: list(range(5, 10))}
    if reset == "earliest":
        expected[1] = list(range(10))
    assert _offsets(got) == expected
    _check_read(got, seqs, {0: 5, 1: 0 if reset == "earliest" else 10})
    assert [seq_of(m.value()) for m in got if m.partition() == 0] == seqs[0][5:]


@pytest.mark.parametrize("reset", ["earliest", "latest"])
def test_out_of_range_offset_is_reset(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster, reset: str
) -> None:
    """An offset beyond the log end gets OFFSET_OUT_OF_RANGE from the broker; the consumer
    resets it by auto.offset.reset without surfacing an error."""
    ck = consumer_client
    topic, seqs = seeded_mock_topic(librdkafka_mock, "offsets", 1, PER_PARTITION)
    consumer = make_consumer(
        consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True, "auto.offset.reset": reset})
    )
    consumer.assign([ck.TopicPartition(topic, 0, 100)])
    got = drain(ck, consumer, [(topic, 0)], expected=10 if reset == "earliest" else 0)
    assert [m.offset() for m in got] == (list(range(10)) if reset == "earliest" else [])
    _check_read(got, seqs, {0: 0 if reset == "earliest" else 10})
    # position() is the offset after the last message handed to the application: an offset
    # reset or an EOF event does not move it (nothing consumed -> OFFSET_INVALID).
    pos = consumer.position([ck.TopicPartition(topic, 0)])[0]
    assert pos.offset == (10 if reset == "earliest" else ck.OFFSET_INVALID)
    produce(librdkafka_mock.bootstrap_servers, topic, [{"value": b"new", "partition": 0}])
    (new,) = drain(ck, consumer, [(topic, 0)], expected=1)
    assert (new.offset(), new.value()) == (10, b"new")


def test_auto_offset_reset_error(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    """auto.offset.reset=error: no committed offset (partition 0) and an out-of-range offset
    (partition 1) each surface one _AUTO_OFFSET_RESET error event, and no messages."""
    ck = consumer_client
    topic, _ = seeded_mock_topic(librdkafka_mock, "offsets", 2, PER_PARTITION)
    consumer = make_consumer(
        consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True, "auto.offset.reset": "error"})
    )
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_STORED), ck.TopicPartition(topic, 1, 100)])
    events = poll_for(consumer, 2.5)
    assert all(m.error() is not None for m in events), "no messages from a partition that failed to reset"
    by_part = {m.partition(): m for m in events}
    assert sorted(by_part) == [0, 1] and len(events) == 2, [(m.partition(), m.error()) for m in events]
    for m in events:
        err = m.error()
        assert err.code() == ck.KafkaError._AUTO_OFFSET_RESET
        assert err.name() == "_AUTO_OFFSET_RESET"
        assert not err.fatal() and not err.retriable()
        assert m.topic() == topic
        assert m.value() == err.str().encode()  # confluent: an error event's value is its text
        assert m.key() is None
        assert m.timestamp() == (ck.TIMESTAMP_NOT_AVAILABLE, -1)
    # librdkafka's wording: "no previously committed offset available: Local: No offset stored"
    assert "no previously committed offset" in by_part[0].error().str()
    assert by_part[0].offset() is None
    # "fetch failed due to requested offset not available on the broker: Broker: Offset out
    # of range (broker N)"
    assert "Offset out of range" in by_part[1].error().str()
    assert by_part[1].offset() == 100


def test_incremental_assign_and_unassign(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    ck = consumer_client
    bootstrap = librdkafka_mock.bootstrap_servers
    topic, seqs = seeded_mock_topic(librdkafka_mock, "offsets", 3, PER_PARTITION)
    consumer = make_consumer(consumer_conf(bootstrap, **{"enable.partition.eof": True}))
    assert consumer.assignment() == []
    consumer.incremental_assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    consumer.incremental_assign([ck.TopicPartition(topic, 1, 7), ck.TopicPartition(topic, 2, ck.OFFSET_END)])
    assert sorted((tp.topic, tp.partition) for tp in consumer.assignment()) == [(topic, 0), (topic, 1), (topic, 2)]
    got = drain(ck, consumer, [(topic, p) for p in range(3)], expected=13)
    assert _offsets(got) == {0: list(range(10)), 1: [7, 8, 9]}
    _check_read(got, seqs, {0: 0, 1: 7, 2: 10})

    consumer.incremental_unassign([ck.TopicPartition(topic, 0)])
    assert sorted((tp.topic, tp.partition) for tp in consumer.assignment()) == [(topic, 1), (topic, 2)]
    produce(bootstrap, topic, [{"value": seq_value(100 + p), "partition": p} for p in range(3)])
    got = drain(ck, consumer, [(topic, 1), (topic, 2)], expected=2)
    assert sorted((m.partition(), m.offset()) for m in got) == [(1, 10), (2, 10)]
    assert all(m.partition() != 0 for m in poll_for(consumer, 0.5))

    # Partition 0 assigned again at an explicit offset: it restarts there.
    consumer.incremental_assign([ck.TopicPartition(topic, 0, 9)])
    got = drain(ck, consumer, [(topic, 0)], expected=2)
    assert [(m.partition(), m.offset()) for m in got] == [(0, 9), (0, 10)]

    consumer.unassign()
    assert consumer.assignment() == []
    produce(bootstrap, topic, [{"value": b"unseen", "partition": p} for p in range(3)])
    assert poll_for(consumer, 0.7) == []


def test_assign_replaces_the_assignment(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    ck = consumer_client
    topic, seqs = seeded_mock_topic(librdkafka_mock, "offsets", 2, PER_PARTITION)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True}))
    consumer.assign([ck.TopicPartition(topic, 0, 8)])
    got = drain(ck, consumer, [(topic, 0)], expected=2)
    assert _offsets(got) == {0: [8, 9]}
    _check_read(got, seqs, {0: 8})
    consumer.assign([ck.TopicPartition(topic, 1, 6)])
    assert [(tp.topic, tp.partition) for tp in consumer.assignment()] == [(topic, 1)]
    got = drain(ck, consumer, [(topic, 1)], expected=4)
    assert _offsets(got) == {1: [6, 7, 8, 9]}
    _check_read(got, seqs, {1: 6})
