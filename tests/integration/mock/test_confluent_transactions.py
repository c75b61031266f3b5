"""Transactions on rdpy's mock cluster, with confluent-kafka on both ends: the first broker
here to list aborted transactions in Fetch responses, so read_committed can be proven to hide
aborted records (librdkafka's mock and Tansu cannot show it)."""

from __future__ import annotations

from typing import Any

import confluent_kafka
import pytest

from rdpy.errors import ErrorCode
from rdpy.mock import MockCluster
from tests.integration.consumer._util import QUIET, consumer_conf, drain, mock_topic
from tests.integration.mock._util import unique
from tests.support.reading import consume_all

ck = confluent_kafka
END_TXN = 26
ADD_PARTITIONS_TO_TXN = 24


def txn_producer(bootstrap: str, txn_id: str | None = None, **conf: Any) -> Any:
    producer = ck.Producer({"bootstrap.servers": bootstrap,
                            "transactional.id": txn_id or unique("txid"), **QUIET, **conf})
    producer.init_transactions(15)
    return producer


def run_txn(producer: Any, topic: str, values: list[tuple[int, bytes]], *, commit: bool | None) -> list[tuple[int, int]]:
    """One transaction of (partition, value) records; returns their (partition, offset).
    commit=None leaves it open."""
    delivered: list[tuple[int, int]] = []

    def on_delivery(err: Any, msg: Any) -> None:
        assert err is None, err
        delivered.append((msg.partition(), msg.offset()))

    producer.begin_transaction()
    for partition, value in values:
        producer.produce(topic, value, partition=partition, on_delivery=on_delivery)
    producer.flush(15)
    if commit is True:
        producer.commit_transaction(15)
    elif commit is False:
        producer.abort_transaction(15)
    assert len(delivered) == len(values)
    return delivered


def read(bootstrap: str, topic: str, partitions: int, isolation: str, expected: int) -> tuple[list[Any], Any]:
    consumer = ck.Consumer(consumer_conf(bootstrap, **{"isolation.level": isolation, "enable.partition.eof": True}))
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(partitions)])
    got = drain(ck, consumer, [(topic, p) for p in range(partitions)], expected=expected)
    return got, consumer


@pytest.mark.parametrize("isolation", ["read_committed", "read_uncommitted"])
def test_read_committed_hides_aborted_records_and_no_one_sees_markers(rdpy_mock: MockCluster, isolation: str) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "txn", 2, 3)
    producer = txn_producer(bootstrap)
    c1 = run_txn(producer, topic, [(i % 2, b"c1-%d" % i) for i in range(6)], commit=True)
    a1 = run_txn(producer, topic, [(i % 2, b"a1-%d" % i) for i in range(6)], commit=False)
    c2 = run_txn(producer, topic, [(i % 2, b"c2-%d" % i) for i in range(4)], commit=True)
    # Per partition: 3 committed, marker, 3 aborted, marker, 2 committed, marker.
    assert sorted(o for p, o in c1 + a1 + c2 if p == 0) == [0, 1, 2, 4, 5, 6, 8, 9]
    ends = [rdpy_mock.watermarks(topic, p) for p in (0, 1)]
    assert ends == [(0, 11, 11), (0, 11, 11)]

    committed = [(p, o) for p, o in c1 + c2]
    wanted = committed if isolation == "read_committed" else committed + a1
    got, consumer = read(bootstrap, topic, 2, isolation, len(wanted))
    try:
        assert sorted((m.partition(), m.offset()) for m in got) == sorted(wanted)
        for p in (0, 1):
            offsets = [m.offset() for m in got if m.partition() == p]
            assert offsets == sorted(offsets)
        assert all(not m.value().startswith(b"a1") for m in got) or isolation == "read_uncommitted"
        positions = consumer.position([ck.TopicPartition(topic, p) for p in (0, 1)])
        assert [tp.offset for tp in positions] == [11, 11]  # past the last commit marker
    finally:
        consumer.close()


def test_an_open_transaction_holds_read_committed_at_the_last_stable_offset(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "open", 1, 1)
    producer = txn_producer(bootstrap)
    run_txn(producer, topic, [(0, b"c0"), (0, b"c1")], commit=True)  # 0, 1, marker 2
    run_txn(producer, topic, [(0, b"o0"), (0, b"o1")], commit=None)  # 3, 4: open
    assert rdpy_mock.watermarks(topic, 0) == (0, 3, 5)
    got, committed_reader = read(bootstrap, topic, 1, "read_committed", 2)
    try:
        assert [m.value() for m in got] == [b"c0", b"c1"]
        assert committed_reader.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, 3)
        producer.abort_transaction(15)  # marker 5
        rest = drain(ck, committed_reader, [(topic, 0)], expected=0)
        assert rest == []
        assert committed_reader.position([ck.TopicPartition(topic, 0)])[0].offset == 6
    finally:
        committed_reader.close()
    assert rdpy_mock.watermarks(topic, 0) == (0, 6, 6)


def test_transactional_offsets_count_only_when_the_transaction_commits(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "sendoff", 1, 1)
    group = unique("group")
    consumer = ck.Consumer(consumer_conf(bootstrap, **{"group.id": group}))
    try:
        producer = txn_producer(bootstrap)
        for offset, commit in [(7, True), (9, False)]:
            producer.begin_transaction()
            producer.produce(topic, b"x", partition=0)
            producer.send_offsets_to_transaction([ck.TopicPartition(topic, 0, offset)],
                                                 consumer.consumer_group_metadata(), 15)
            (producer.commit_transaction if commit else producer.abort_transaction)(15)
            committed = consumer.committed([ck.TopicPartition(topic, 0)], timeout=10)
            assert committed[0].offset == 7
    finally:
        consumer.close()


def test_a_second_producer_with_the_same_transactional_id_fences_the_first(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "fence", 1, 1)
    txn_id = unique("shared")
    first = txn_producer(bootstrap, txn_id)
    run_txn(first, topic, [(0, b"zombie-0"), (0, b"zombie-1")], commit=None)
    second = txn_producer(bootstrap, txn_id)  # aborts the zombie's transaction
    with pytest.raises(ck.KafkaException) as e:
        first.commit_transaction(15)
    assert e.value.args[0].fatal() or e.value.args[0].txn_requires_abort()
    run_txn(second, topic, [(0, b"live")], commit=True)
    got = consume_all(bootstrap, topic, 1, 1, **{"isolation.level": "read_committed"})
    assert [m.value() for m in got] == [b"live"]


def test_the_producer_retries_coordinator_errors(rdpy_mock: MockCluster) -> None:
    bootstrap = rdpy_mock.bootstrap_servers
    topic = mock_topic(rdpy_mock, "coord", 1, 1)
    producer = txn_producer(bootstrap)
    rdpy_mock.push_request_errors(ADD_PARTITIONS_TO_TXN, ErrorCode.NOT_COORDINATOR)
    rdpy_mock.push_request_errors(END_TXN, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS)
    assert run_txn(producer, topic, [(0, b"v")], commit=True) == [(0, 0)]
    got = consume_all(bootstrap, topic, 1, 1, **{"isolation.level": "read_committed"})
    assert [m.value() for m in got] == [b"v"]
