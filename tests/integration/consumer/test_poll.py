"""poll()/consume() shapes, partition EOF events, seek, pause/resume, position, watermarks,
offsets_for_times, list_topics and close(), on librdkafka's mock cluster. Data is produced
through a tests.support.invariants.Ledger (exactly one delivery report each) and what is read
is checked with check_consumed where a test reads a known range."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from rdpy.protocol.messages import ListOffsetsRequest
from tests.integration.consumer._util import (
    by_partition,
    check_consumed,
    consumer_conf,
    drain,
    mock_topic,
    poll_for,
    produce,
    seeded_mock_topic,
    seq_expected,
)
from tests.support.clients import has_capability
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

pytestmark = pytest.mark.mockcluster

_LIST_OFFSETS = ListOffsetsRequest.API_KEY
_LINGER: dict[str, Any] = {"linger.ms": 50}  # several records per batch


def _topic(mock: LibrdkafkaMockCluster, partitions: int, per_partition: int) -> str:
    """A fresh topic with produce_seq's data (if per_partition); its name."""
    return seeded_mock_topic(mock, "poll", partitions, per_partition)[0]


def test_poll_returns_one_message_or_none(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    ck = consumer_client
    topic = _topic(librdkafka_mock, 1, per_partition=0)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    t0 = time.monotonic()
    assert consumer.poll(0.5) is None
    assert 0.4 <= time.monotonic() - t0 < 3.0
    assert consumer.poll(0) is None
    produce(librdkafka_mock.bootstrap_servers, topic, [{"value": b"m%d" % i, "partition": 0} for i in range(3)])
    got: list[Any] = []
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None:
            assert isinstance(m, ck.Message)
            got.append(m)
    assert [(m.offset(), m.value()) for m in got] == [(i, b"m%d" % i) for i in range(3)]


def test_consume_returns_a_list(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    ck = consumer_client
    topic = _topic(librdkafka_mock, 1, per_partition=25)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    got: list[Any] = []
    deadline = time.monotonic() + 10
    while len(got) < 25 and time.monotonic() < deadline:
        batch = consumer.consume(10, 0.5)
        assert isinstance(batch, list) and len(batch) <= 10
        got.extend(batch)
    assert [m.offset() for m in got] == list(range(25))
    t0 = time.monotonic()
    assert consumer.consume(10, 0.5) == []
    assert 0.4 <= time.monotonic() - t0 < 3.0
    assert consumer.consume(0, 0.1) == []
    assert consumer.consume(timeout=0) == []  # num_messages defaults to 1
    with pytest.raises(ValueError, match="num_messages must be between 0 and 1000000"):
        consumer.consume(1_000_001, 0)


def test_partition_eof_events(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    """enable.partition.eof: one _PARTITION_EOF event per partition each time it reaches the
    end of what is there, carrying topic, partition and the end offset."""
    ck = consumer_client
    topic = _topic(librdkafka_mock, 2, per_partition=5)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True}))
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(2)])
    events = poll_for(consumer, 1.5)
    msgs = [m for m in events if m.error() is None]
    eofs = [m for m in events if m.error() is not None]
    assert sorted((m.partition(), m.offset()) for m in msgs) == [(p, o) for p in range(2) for o in range(5)]
    assert sorted((m.partition(), m.offset()) for m in eofs) == [(0, 5), (1, 5)]
    for m in eofs:
        err = m.error()
        assert err.code() == ck.KafkaError._PARTITION_EOF and err.name() == "_PARTITION_EOF"
        assert not err.fatal() and not err.retriable()
        assert m.topic() == topic and m.key() is None
        # librdkafka: "Fetch from broker N reached end of partition at offset 5 (HighwaterMark 5)"
        assert "reached end of partition at offset 5" in err.str()
        assert m.value() == err.str().encode()
        assert m.timestamp() == (ck.TIMESTAMP_NOT_AVAILABLE, -1)
    for p, ms in by_partition(events).items():
        assert ms[-1].error() is not None, f"partition {p}: EOF comes after its last message"
    # A new message, then a new EOF at the new end.
    produce(librdkafka_mock.bootstrap_servers, topic, [{"value": b"more", "partition": 1}])
    more = poll_for(consumer, 1.0)
    assert [(m.partition(), m.offset(), m.error() is None) for m in more] == [(1, 5, True), (1, 6, False)]


def test_no_eof_events_by_default(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    ck = consumer_client
    topic, seqs = seeded_mock_topic(librdkafka_mock, "poll", 2, 5)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(2)])
    events = poll_for(consumer, 1.5)
    assert all(m.error() is None for m in events)
    assert len(events) == 10
    offsets, values = seq_expected(seqs)
    check_consumed(events, offsets, values=values)  # each record once, in order


def test_seek_backwards_and_forwards(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    ck = consumer_client
    topic = _topic(librdkafka_mock, 2, per_partition=10)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers, **{"enable.partition.eof": True}))
    # Seeking a partition this consumer never knew: _UNKNOWN_PARTITION ("Failed to seek to
    # offset 3: Local: Unknown partition"). (librdkafka answers _STATE instead for a known
    # but unassigned partition, e.g. after get_watermark_offsets() on it.)
    with pytest.raises(ck.KafkaException) as info:
        consumer.seek(ck.TopicPartition(topic, 0, 3))
    assert info.value.args[0].code() == ck.KafkaError._UNKNOWN_PARTITION
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING), ck.TopicPartition(topic, 1, ck.OFFSET_BEGINNING)])
    # seek right after assign, before anything was fetched
    consumer.seek(ck.TopicPartition(topic, 1, 6))
    first = drain(ck, consumer, [(topic, 0), (topic, 1)], expected=14)
    assert {p: [m.offset() for m in ms] for p, ms in by_partition(first).items()} == {0: list(range(10)), 1: [6, 7, 8, 9]}
    consumer.seek(ck.TopicPartition(topic, 0, 2))  # backwards, after EOF
    again = drain(ck, consumer, [(topic, 0)], expected=8)
    assert [m.offset() for m in again] == list(range(2, 10))
    consumer.seek(ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING))  # logical offset
    m = None
    while m is None or m.error() is not None:
        m = consumer.poll(5)
    assert (m.partition(), m.offset()) == (0, 0)
    consumer.seek(ck.TopicPartition(topic, 0, 8))  # forwards, mid-stream (prefetched data dropped)
    rest = drain(ck, consumer, [(topic, 0)], expected=2)
    assert [m.offset() for m in rest] == [8, 9]
    assert consumer.position([ck.TopicPartition(topic, 0)])[0].offset == 10


def test_pause_and_resume(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    """A paused partition yields nothing while others flow; after resume() it continues from
    where the application was, with nothing lost and nothing repeated (even what had been
    prefetched before the pause)."""
    ck = consumer_client
    bootstrap = librdkafka_mock.bootstrap_servers
    topic = _topic(librdkafka_mock, 2, per_partition=20)
    consumer = make_consumer(consumer_conf(bootstrap))
    tps = [ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(2)]
    consumer.assign(tps)
    seen: list[Any] = []
    while sum(1 for m in seen if m.partition() == 0) < 5:
        m = consumer.poll(5)
        assert m is not None and m.error() is None
        seen.append(m)
    consumer.pause([ck.TopicPartition(topic, 0)])
    produce(bootstrap, topic, [{"value": b"late-%d" % p, "partition": p} for p in range(2)])
    during = poll_for(consumer, 1.5)
    assert during, "the unpaused partition keeps flowing"
    assert all(m.partition() == 1 for m in during), [(m.partition(), m.offset()) for m in during if m.partition() == 0]
    consumer.resume([ck.TopicPartition(topic, 0)])
    after = poll_for(consumer, 1.5)
    allmsgs = seen + during + after
    for p in range(2):
        assert [m.offset() for m in allmsgs if m.partition() == p] == list(range(21)), f"partition {p}"


def test_position(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    """position(): the offset after the last message handed to the application; before any
    (assigned or not, whatever the assign offset) it is OFFSET_INVALID (-1001)."""
    ck = consumer_client
    topic = _topic(librdkafka_mock, 2, per_partition=10)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    (before,) = consumer.position([ck.TopicPartition(topic, 0)])
    assert (before.topic, before.partition, before.offset) == (topic, 0, ck.OFFSET_INVALID)
    consumer.assign([ck.TopicPartition(topic, 0, 3), ck.TopicPartition(topic, 1, ck.OFFSET_BEGINNING)])
    assert [tp.offset for tp in consumer.position([ck.TopicPartition(topic, p) for p in range(2)])] == [ck.OFFSET_INVALID] * 2
    got: list[Any] = []
    while len([m for m in got if m.partition() == 0]) < 4:
        m = consumer.poll(5)
        assert m is not None and m.error() is None
        got.append(m)
    last = {p: ms[-1].offset() for p, ms in by_partition(got).items()}
    pos = consumer.position([ck.TopicPartition(topic, p) for p in range(2)])
    assert pos[0].offset == last[0] + 1 == 7
    assert pos[1].offset == (last[1] + 1 if 1 in last else ck.OFFSET_INVALID)
    assert all(tp.error is None for tp in pos)


def test_watermark_offsets(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    ck = consumer_client
    bootstrap = librdkafka_mock.bootstrap_servers
    topic, seqs = seeded_mock_topic(librdkafka_mock, "poll", 2, 10)
    consumer = make_consumer(consumer_conf(bootstrap, **{"enable.partition.eof": True}))
    tp0 = ck.TopicPartition(topic, 0)
    # cached=True answers from what fetches saw: nothing yet -> (OFFSET_INVALID, OFFSET_INVALID)
    assert consumer.get_watermark_offsets(tp0, cached=True) == (ck.OFFSET_INVALID, ck.OFFSET_INVALID)
    lo, hi = consumer.get_watermark_offsets(tp0, timeout=10)
    assert (lo, hi) == (0, 10) and type(lo) is int and type(hi) is int
    assert consumer.get_watermark_offsets(tp0, timeout=10, cached=False) == (0, 10)
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    offsets, values = seq_expected(seqs, {0: 0})
    check_consumed(drain(ck, consumer, [(topic, 0)], expected=10), offsets, values=values)
    assert consumer.get_watermark_offsets(tp0, cached=True) == (0, 10)
    produce(bootstrap, topic, [{"value": b"x", "partition": 0}] * 3)
    assert consumer.get_watermark_offsets(tp0, timeout=10) == (0, 13)
    check_consumed(drain(ck, consumer, [(topic, 0)], expected=3), {0: [10, 11, 12]}, values={0: [b"x"] * 3})
    assert consumer.get_watermark_offsets(tp0, cached=True) == (0, 13)
    for bad in (ck.TopicPartition(topic, 7), ck.TopicPartition("no-such-topic-x", 0)):
        with pytest.raises(ck.KafkaException) as info:
            consumer.get_watermark_offsets(bad, timeout=3)
        assert info.value.args[0].code() == ck.KafkaError._UNKNOWN_PARTITION


def test_offsets_for_times(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    """offsets_for_times on the mock: the logical timestamps -2 (earliest) and -1 (latest)
    answer the log start and end; a timestamp after every record answers -1 (Kafka's "no
    such offset"). (The mock answers -1 to any real timestamp lookup, so per-record lookups
    cannot be proven here; Tansu answers 0.)"""
    ck = consumer_client
    topic = _topic(librdkafka_mock, 2, per_partition=10)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    res = consumer.offsets_for_times([ck.TopicPartition(topic, 0, -2), ck.TopicPartition(topic, 1, -1)], timeout=10)
    assert [(tp.topic, tp.partition, tp.offset, tp.error) for tp in res] == [(topic, 0, 0, None), (topic, 1, 10, None)]
    future = int(time.time() * 1000) + 86_400_000
    res = consumer.offsets_for_times([ck.TopicPartition(topic, p, future) for p in range(2)], timeout=10)
    assert [(tp.partition, tp.offset) for tp in res] == [(0, -1), (1, -1)]
    with pytest.raises(ck.KafkaException) as info:
        consumer.offsets_for_times([ck.TopicPartition(topic, 9, 1000)], timeout=3)
    assert info.value.args[0].code() == ck.KafkaError._UNKNOWN_PARTITION


def test_list_topics(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    topic = _topic(librdkafka_mock, 4, per_partition=0)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    md = consumer.list_topics(topic, timeout=10)
    assert sorted(md.brokers) == [1, 2, 3]
    t = md.topics[topic]
    assert t.error is None and sorted(t.partitions) == [0, 1, 2, 3]
    assert all(pm.leader in (1, 2, 3) for pm in t.partitions.values())
    assert topic in consumer.list_topics(timeout=10).topics


def test_close(consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster) -> None:
    """close() returns None and may be called again; afterwards every other call raises
    RuntimeError ("Consumer closed"; list_topics: "Handle has been closed")."""
    ck = consumer_client
    topic = _topic(librdkafka_mock, 1, per_partition=3)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    tp = ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)
    consumer.assign([tp])
    assert consumer.poll(5) is not None
    assert consumer.close() is None
    assert consumer.close() is None
    calls: dict[str, Callable[[], Any]] = {
        "poll": lambda: consumer.poll(0),
        "consume": lambda: consumer.consume(1, 0),
        "assign": lambda: consumer.assign([tp]),
        "assignment": lambda: consumer.assignment(),
        "position": lambda: consumer.position([tp]),
        "commit": lambda: consumer.commit(asynchronous=False),
        "get_watermark_offsets": lambda: consumer.get_watermark_offsets(tp),
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError, match="Consumer closed"):
            call()
    with pytest.raises(RuntimeError, match="closed"):
        consumer.list_topics(timeout=1)


def test_offsets_for_times_per_record(consumer_client: ModuleType, make_consumer: Any, rdpy_mock: Any) -> None:
    """On rdpy's mock, which looks timestamps up record by record (librdkafka's mock answers -1
    and Tansu 0): the first offset whose timestamp is at or after the one asked, with the
    partition's leader epoch, and -1 past the last record."""
    ck = consumer_client
    topic = mock_topic(rdpy_mock, "times", 2)
    base = 1_700_000_000_000
    produce(rdpy_mock.bootstrap_servers, topic, [
        {"value": b"v%d" % i, "partition": part, "timestamp": base + 100 * i + part}
        for i in range(10) for part in range(2)], **_LINGER)
    rdpy_mock.partition_set_leader(topic, 1, rdpy_mock.partition_leader(topic, 1) % 3 + 1)  # epoch 1
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers))
    asked = [ck.TopicPartition(topic, 0, base + 250), ck.TopicPartition(topic, 1, base + 101),
             ck.TopicPartition(topic, 0, base), ck.TopicPartition(topic, 1, base + 5000)]
    got = [consumer.offsets_for_times([tp], timeout=10)[0] for tp in asked]  # one at a time: see DESIGN.md
    assert [(tp.partition, tp.offset, tp.leader_epoch, tp.error) for tp in got] == [
        (0, 3, 0, None), (1, 1, 1, None), (0, 0, 0, None), (1, -1, 1, None)]


def _timed_topic(mock: Any, partitions: int, base: int) -> str:
    """A topic on rdpy's mock whose partition p holds 10 records, record i stamped
    base + 100 * i + p, led by broker p % 3 + 1 (every broker leads some partitions)."""
    topic = mock_topic(mock, "times", partitions)
    for part in range(partitions):
        mock.partition_set_leader(topic, part, part % 3 + 1)
    produce(mock.bootstrap_servers, topic, [
        {"value": b"v%d" % i, "partition": part, "timestamp": base + 100 * i + part}
        for i in range(10) for part in range(partitions)], **_LINGER)
    return topic


def test_offsets_for_times_asks_each_leader_once(consumer_client: ModuleType, make_consumer: Any, rdpy_mock: Any) -> None:
    """offsets_for_times over six partitions led by three brokers sends one ListOffsets per
    leader, not one per partition, and answers each partition from its own records."""
    ck = consumer_client
    base = 1_700_000_000_000
    topic = _timed_topic(rdpy_mock, 6, base)
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers))
    consumer.list_topics(topic, timeout=10)
    before = rdpy_mock.request_count(_LIST_OFFSETS)
    asked = [ck.TopicPartition(topic, p, base + 100 * p + 50) for p in range(6)]
    got = consumer.offsets_for_times(asked, timeout=10)
    assert rdpy_mock.request_count(_LIST_OFFSETS) - before == 3
    # partition p: record p + 1 is the first stamped at or after base + 100 * p + 50
    assert [(tp.partition, tp.offset, tp.error) for tp in got] == [(p, p + 1, None) for p in range(6)]


def test_offsets_for_times_with_a_partition_asked_twice(consumer_client: ModuleType, make_consumer: Any, rdpy_mock: Any) -> None:
    """A partition listed twice with different timestamps: rdpy looks each one up (a broker
    answers a partition once per request, so the second goes in a second request);
    librdkafka answers every entry of that partition from one lookup."""
    ck = consumer_client
    base = 1_700_000_000_000
    topic = _timed_topic(rdpy_mock, 1, base)
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers))
    got = consumer.offsets_for_times([ck.TopicPartition(topic, 0, base + 250), ck.TopicPartition(topic, 0, base)], timeout=10)
    offsets = [tp.offset for tp in got]
    if has_capability(ck, "answers_each_repeated_lookup"):
        assert offsets == [3, 0]
    else:
        assert offsets[0] == offsets[1] and offsets[0] in (3, 0)


def test_offsets_for_times_retries_a_moved_leader_and_reports_other_errors(consumer_client: ModuleType, make_consumer: Any, rdpy_mock: Any) -> None:
    """NOT_LEADER_OR_FOLLOWER is retried (after a metadata refresh) within the timeout; an
    error that is not retriable raises KafkaException with the broker's code."""
    ck = consumer_client
    base = 1_700_000_000_000
    topic = _timed_topic(rdpy_mock, 2, base)
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers))
    consumer.list_topics(topic, timeout=10)
    rdpy_mock.push_request_errors(_LIST_OFFSETS, ck.KafkaError.NOT_LEADER_FOR_PARTITION)
    asked = [ck.TopicPartition(topic, p, base + 150) for p in range(2)]
    if has_capability(ck, "retries_offset_lookups"):
        got = consumer.offsets_for_times(asked, timeout=10)
        assert [(tp.partition, tp.offset) for tp in got] == [(0, 2), (1, 2)]
    else:
        with pytest.raises(ck.KafkaException) as info:
            consumer.offsets_for_times(asked, timeout=10)
        assert info.value.args[0].code() == ck.KafkaError.NOT_LEADER_FOR_PARTITION
    rdpy_mock.push_request_errors(_LIST_OFFSETS, ck.KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT)
    with pytest.raises(ck.KafkaException) as info:
        consumer.offsets_for_times([ck.TopicPartition(topic, 0, base)], timeout=10)
    assert info.value.args[0].code() == ck.KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT
    assert info.value.args[0].str() == "Failed to get offsets: Broker: Message format on broker does not support request"


def test_offset_lookups_that_time_out(consumer_client: ModuleType, make_consumer: Any, rdpy_mock: Any) -> None:
    """A leader slower than the timeout: offsets_for_times and get_watermark_offsets raise
    _TIMED_OUT with librdkafka's texts, and return in about the time given."""
    ck = consumer_client
    topic = _timed_topic(rdpy_mock, 1, 1_700_000_000_000)
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers))
    consumer.list_topics(topic, timeout=10)
    # Connected to the leader before it slows down: otherwise librdkafka's request may still
    # wait for the connection when the timeout hits (_TIMED_OUT_QUEUE, seen 1 run in 16).
    assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, 10)
    leader = rdpy_mock.partition_leader(topic, 0)
    rdpy_mock.set_rtt(leader, 3000)
    try:
        calls: list[tuple[Callable[[], Any], str]] = [
            (lambda: consumer.offsets_for_times([ck.TopicPartition(topic, 0, 1000)], timeout=1), "offsets"),
            (lambda: consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=1), "watermark offsets"),
        ]
        for call, what in calls:
            started = time.monotonic()
            with pytest.raises(ck.KafkaException) as info:
                call()
            assert time.monotonic() - started < 2.5
            # _TIMED_OUT_QUEUE when the request never left the client's queue (librdkafka,
            # on a loaded machine: the connection was still busy with the previous one).
            code = info.value.args[0].code()
            texts = {ck.KafkaError._TIMED_OUT: "Local: Timed out",
                     ck.KafkaError._TIMED_OUT_QUEUE: "Local: Timed out in queue"}
            assert code in texts
            assert info.value.args[0].str() == f"Failed to get {what}: {texts[code]}"
    finally:
        rdpy_mock.set_rtt(leader, 0)
