"""Offsets committed by an assigned (non-member) consumer with a group.id, on Tansu: commit()
sync and async, explicit offsets and message=, committed() from a second instance,
store_offsets() with enable.auto.offset.store=false, enable.auto.commit, and on_commit.
Whatever a consumer reads is checked with tests.support.invariants (each record once, per
partition in offset order from where it started, no gaps, the logged values)."""

from __future__ import annotations

import threading
import time
from types import ModuleType
from typing import Any

from tests.integration.consumer._util import (
    check_consumed,
    check_consumed_from,
    consumer_conf,
    create_topic,
    drain,
    produce,
    produce_seq,
    seq_expected,
    unique_group,
    unique_topic,
)


def _topic(broker: Any, partitions: int = 2, per_partition: int = 10) -> str:
    return _topic_seqs(broker, partitions, per_partition)[0]


def _topic_seqs(broker: Any, partitions: int = 2, per_partition: int = 10) -> tuple[str, dict[int, list[int]]]:
    """A fresh topic holding produce_seq's data; its name and produce_seq's answer."""
    topic = create_topic(broker.bootstrap_servers, unique_topic("commit"), partitions)
    return topic, produce_seq(broker.bootstrap_servers, topic, partitions, per_partition)


def _committed(make_consumer: Any, ck: ModuleType, bootstrap: str, group: str, topic: str, partitions: int) -> list[int]:
    """committed() as a second consumer instance of the same group sees it."""
    other = make_consumer(consumer_conf(bootstrap, **{"group.id": group}))
    res = other.committed([ck.TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    assert [(tp.topic, tp.partition, tp.error) for tp in res] == [(topic, p, None) for p in range(partitions)]
    offsets = [tp.offset for tp in res]
    other.close()
    return offsets


def _read(consumer: Any, n: int) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None:
            assert m.error() is None, m.error()
            got.append(m)
    assert len(got) == n
    return got


class Commits:
    def __init__(self) -> None:
        self.items: list[tuple[Any, list[tuple[str, int, int]], int]] = []

    def __call__(self, err: Any, partitions: Any) -> None:
        self.items.append((err, [(tp.topic, tp.partition, tp.offset) for tp in partitions], threading.get_ident()))


def test_no_committed_offset_is_offset_invalid(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    ck = consumer_client
    topic = _topic(broker)
    assert _committed(make_consumer, ck, broker.bootstrap_servers, unique_group(), topic, 2) == [ck.OFFSET_INVALID] * 2


def test_commit_sync_explicit_offsets_and_message(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    ck = consumer_client
    bootstrap = broker.bootstrap_servers
    topic = _topic(broker)
    group = unique_group()
    consumer = make_consumer(consumer_conf(bootstrap, **{"group.id": group}))
    res = consumer.commit(offsets=[ck.TopicPartition(topic, 0, 4), ck.TopicPartition(topic, 1, 6)], asynchronous=False)
    assert [(tp.topic, tp.partition, tp.offset, tp.error) for tp in res] == [(topic, 0, 4, None), (topic, 1, 6, None)]
    assert _committed(make_consumer, ck, bootstrap, group, topic, 2) == [4, 6]

    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_STORED)])
    (m,) = _read(consumer, 1)
    assert (m.partition(), m.offset()) == (0, 4), "assign(OFFSET_STORED) starts at the committed offset"
    res = consumer.commit(message=m, asynchronous=False)  # commits the message's offset + 1
    assert [(tp.topic, tp.partition, tp.offset, tp.error) for tp in res] == [(topic, 0, 5, None)]
    assert _committed(make_consumer, ck, bootstrap, group, topic, 2) == [5, 6]

    # committed() from the committing instance itself, while it is assigned
    own = consumer.committed([ck.TopicPartition(topic, 0), ck.TopicPartition(topic, 1)], timeout=10)
    assert [tp.offset for tp in own] == [5, 6]


def test_commit_current_positions(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    """commit() without offsets commits the consumed positions of the assignment; a partition
    with nothing consumed comes back as OFFSET_INVALID and is not committed."""
    ck = consumer_client
    bootstrap = broker.bootstrap_servers
    topic, seqs = _topic_seqs(broker, partitions=2, per_partition=10)
    group = unique_group()
    consumer = make_consumer(consumer_conf(bootstrap, **{"group.id": group, "enable.partition.eof": True}))
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    offsets, values = seq_expected(seqs, {0: 0})
    check_consumed(drain(ck, consumer, [(topic, 0)], expected=10), offsets, values=values)
    consumer.incremental_assign([ck.TopicPartition(topic, 1, ck.OFFSET_END)])
    res = consumer.commit(asynchronous=False)
    assert sorted((tp.topic, tp.partition, tp.offset) for tp in res) == [(topic, 0, 10), (topic, 1, ck.OFFSET_INVALID)]
    assert _committed(make_consumer, ck, bootstrap, group, topic, 2) == [10, ck.OFFSET_INVALID]


def test_commit_with_nothing_to_commit(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    """Nothing consumed or stored: a synchronous commit raises KafkaException(_NO_OFFSET); an
    asynchronous one returns None and on_commit gets (_NO_OFFSET error, []) from poll()."""
    ck = consumer_client
    commits = Commits()
    consumer = make_consumer(consumer_conf(broker.bootstrap_servers, on_commit=commits))
    try:
        consumer.commit(asynchronous=False)
    except ck.KafkaException as exc:
        err = exc.args[0]
        assert err.code() == ck.KafkaError._NO_OFFSET
        assert err.str() == "Commit failed: Local: No offset stored"
    else:
        raise AssertionError("commit() with nothing to commit did not raise")
    assert consumer.commit() is None  # asynchronous=True is the default
    deadline = time.monotonic() + 5
    while not commits.items and time.monotonic() < deadline:
        consumer.poll(0.1)
    assert len(commits.items) == 1
    err, parts, _ = commits.items[0]
    assert err is not None and err.code() == ck.KafkaError._NO_OFFSET and parts == []


def test_async_commit_reports_through_on_commit_from_poll(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    ck = consumer_client
    bootstrap = broker.bootstrap_servers
    topic = _topic(broker)
    group = unique_group()
    commits = Commits()
    consumer = make_consumer(consumer_conf(bootstrap, **{"group.id": group, "on_commit": commits}))
    assert consumer.commit(offsets=[ck.TopicPartition(topic, 1, 7)], asynchronous=True) is None
    time.sleep(0.5)
    assert commits.items == [], "on_commit runs only inside poll()/consume()/close()"
    deadline = time.monotonic() + 5
    while not commits.items and time.monotonic() < deadline:
        consumer.poll(0.1)
    assert [(e, p) for e, p, _ in commits.items] == [(None, [(topic, 1, 7)])]
    assert commits.items[0][2] == threading.get_ident()
    # A synchronous commit reports by its return value; on_commit is not called for it.
    consumer.commit(offsets=[ck.TopicPartition(topic, 0, 3)], asynchronous=False)
    for _ in range(5):
        consumer.poll(0.1)
    assert len(commits.items) == 1
    assert _committed(make_consumer, ck, bootstrap, group, topic, 2) == [3, 7]


def test_store_offsets_then_commit(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    ck = consumer_client
    bootstrap = broker.bootstrap_servers
    topic = _topic(broker)
    group = unique_group()
    auto_store = make_consumer(consumer_conf(bootstrap, **{"group.id": group}))
    auto_store.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    (m0,) = _read(auto_store, 1)
    try:  # store_offsets needs enable.auto.offset.store=false
        auto_store.store_offsets(message=m0)
    except ck.KafkaException as exc:
        assert exc.args[0].code() == ck.KafkaError._INVALID_ARG
    else:
        raise AssertionError("store_offsets() with enable.auto.offset.store=true did not raise")
    auto_store.close()

    consumer = make_consumer(consumer_conf(bootstrap, **{"group.id": group, "enable.auto.offset.store": False}))
    try:  # a partition that is not assigned
        consumer.store_offsets(offsets=[ck.TopicPartition(topic, 0, 3)])
    except ck.KafkaException as exc:
        assert exc.args[0].code() == ck.KafkaError._UNKNOWN_PARTITION
    else:
        raise AssertionError("store_offsets() on an unassigned partition did not raise")
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(2)])
    got = _read(consumer, 4)
    check_consumed_from(got, {0: 0, 1: 0})
    try:  # consumed but nothing stored: nothing to commit
        consumer.commit(asynchronous=False)
    except ck.KafkaException as exc:
        assert exc.args[0].code() == ck.KafkaError._NO_OFFSET
    else:
        raise AssertionError("commit() with no stored offsets did not raise")
    m = got[0]
    assert consumer.store_offsets(message=m) is None  # stores offset + 1
    res = consumer.commit(asynchronous=False)
    assert [(tp.topic, tp.partition, tp.offset) for tp in res if tp.offset >= 0] == [(topic, m.partition(), m.offset() + 1)]
    consumer.store_offsets(offsets=[ck.TopicPartition(topic, 0, 9), ck.TopicPartition(topic, 1, 8)])
    consumer.commit(asynchronous=False)
    assert _committed(make_consumer, ck, bootstrap, group, topic, 2) == [9, 8]


def test_auto_commit_for_an_assigned_consumer(consumer_client: ModuleType, make_consumer: Any, broker: Any) -> None:
    """enable.auto.commit with auto.commit.interval.ms: the committed offset follows what the
    application consumed without commit() calls; on_commit reports each auto commit from
    poll(); close() commits the final position."""
    ck = consumer_client
    bootstrap = broker.bootstrap_servers
    topic = _topic(broker, partitions=1, per_partition=20)
    group = unique_group()
    commits = Commits()
    consumer = make_consumer(
        consumer_conf(
            bootstrap,
            **{"group.id": group, "enable.auto.commit": True, "auto.commit.interval.ms": 200, "on_commit": commits},
        )
    )
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    read = _read(consumer, 5)
    deadline = time.monotonic() + 5
    committed = [ck.OFFSET_INVALID]
    while time.monotonic() < deadline:
        m = consumer.poll(0.1)  # serves on_commit (and may read further messages)
        if m is not None:
            read.append(m)
        committed = _committed(make_consumer, ck, bootstrap, group, topic, 1)
        pos = consumer.position([ck.TopicPartition(topic, 0)])[0].offset
        if committed == [pos] and commits.items:
            break
    assert committed[0] >= 5
    assert commits.items and all(e is None for e, _, _ in commits.items)
    assert all(parts[0][:2] == (topic, 0) for _, parts, _ in commits.items)
    # Read a few more (produced now: the loop above may have read everything), then close():
    # the final position is committed.
    produce(bootstrap, topic, [{"value": b"more", "partition": 0}] * 3)
    more = _read(consumer, 3)
    check_consumed_from(read + more, {0: 0})  # everything from the start, once each
    final = more[-1].offset() + 1
    consumer.close()
    assert _committed(make_consumer, ck, bootstrap, group, topic, 1) == [final]


def test_close_finishes_an_asynchronous_commit_and_reports_it(
    consumer_client: ModuleType, make_consumer: Any, broker: Any
) -> None:
    """close() right after commit(asynchronous=True): the commit still lands, and on_commit
    hears of it during close(), on the application's thread (librdkafka waits for outstanding
    commits before it closes)."""
    ck = consumer_client
    bootstrap = broker.bootstrap_servers
    topic, seqs = _topic_seqs(broker, partitions=2, per_partition=5)
    group = unique_group()
    commits = Commits()
    consumer = make_consumer(consumer_conf(bootstrap, **{"group.id": group, "on_commit": commits}))
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(2)])
    offsets, values = seq_expected(seqs)
    check_consumed(_read(consumer, 10), offsets, values=values)
    consumer.commit(asynchronous=True)
    consumer.close()
    assert [(err, sorted(parts)) for err, parts, _ in commits.items] == [(None, [(topic, 0, 5), (topic, 1, 5)])]
    assert commits.items[0][2] == threading.get_ident()
    assert _committed(make_consumer, ck, bootstrap, group, topic, 2) == [5, 5]
