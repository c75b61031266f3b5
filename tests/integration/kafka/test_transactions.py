"""read_committed over real Kafka transactions, for the consumer under test.

Until now only rdpy's mock cluster listed aborted transactions in its Fetch responses (Tansu and
librdkafka's mock send none); here Apache Kafka does. confluent-kafka writes every transaction
(rdpy has no transactional producer yet).

1. A closed history on two partitions: committed and aborted transactions of several batches,
   an aborted transaction with a second transactional producer's committed one and a plain
   producer's records interleaved inside it, a short aborted one, a committed one at the end.
   read_committed returns exactly the committed and non-transactional records, in offset order
   with their offsets; read_uncommitted returns every data record; neither returns a control
   record; the high watermark is one past the last commit marker.
2. An open transaction: read_committed stops at the last stable offset (the open
   transaction's first record) and reports end of partition there, while read_uncommitted
   reads past it; after the commit (or abort) read_committed reads on, skipping the marker
   (and, for an abort, the aborted records).
Every record is produced through a tests.support.invariants.Ledger (one delivery report each).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

from tests.integration.consumer._util import consumer_conf, drain
from tests.integration.kafka._util import QUIET, create_topic, unique_name
from tests.support.invariants import Ledger
from tests.support.kafka import KafkaBroker

PARTITIONS = 2


@dataclass(frozen=True)
class Written:
    partition: int
    offset: int
    value: bytes
    committed: bool  # False: part of an aborted (or still open) transaction


class Writer:
    """confluent-kafka producers on one topic, recording what their delivery reports said."""

    def __init__(self, bootstrap: str, topic: str, partitions: int = PARTITIONS) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.records: list[Written] = []
        self.ledger = Ledger()
        self.producers: list[Any] = []

    def producer(self, *, transactional: bool) -> Any:
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "linger.ms": 5, **QUIET}
        if transactional:
            conf["transactional.id"] = unique_name("txn")
        producer = confluent_kafka.Producer(conf)
        if transactional:
            producer.init_transactions(30)
        self.producers.append(producer)
        return producer

    def chunk(self, producer: Any, label: str, n: int, *, committed: bool) -> None:
        """`n` records round-robin over the partitions, flushed (one batch per partition)."""
        seqs = [self.ledger.produce(producer, self.topic, b"%s-%03d" % (label.encode(), i),
                                    partition=i % self.partitions, mark=False) for i in range(n)]
        assert producer.flush(30) == 0
        delivered = self.ledger.check_reports(expect_delivered=True).delivered
        for s in seqs:
            r = delivered[s]
            assert r.partition is not None and r.offset is not None and r.value is not None
            self.records.append(Written(r.partition, r.offset, r.value, committed))

    def transaction(self, producer: Any, label: str, chunks: list[int], *, commit: bool,
                    between: Callable[[], None] | None = None) -> None:
        producer.begin_transaction()
        for i, n in enumerate(chunks):
            self.chunk(producer, f"{label}{i}", n, committed=commit)
            if i == 0 and between is not None:
                between()
        (producer.commit_transaction if commit else producer.abort_transaction)(30)

    def close(self) -> None:
        for producer in self.producers:
            producer.close()
        self.producers.clear()


@pytest.fixture(scope="module")
def history(kafka_broker: KafkaBroker) -> tuple[str, list[Written]]:
    """The closed history of the module docstring (written once, read by each test)."""
    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name("txn-history"), PARTITIONS)
    w = Writer(bootstrap, topic)
    txn_a, txn_b, plain = w.producer(transactional=True), w.producer(transactional=True), w.producer(transactional=False)
    try:
        w.transaction(txn_a, "commit1-", [30, 30, 30], commit=True)

        def interleave() -> None:
            w.chunk(plain, "plain-inside-", 20, committed=True)
            w.transaction(txn_b, "other-commit-", [20, 20], commit=True)

        w.transaction(txn_a, "abort1-", [40, 40, 40], commit=False, between=interleave)
        w.chunk(plain, "plain-between-", 20, committed=True)
        w.transaction(txn_a, "commit2-", [30, 30], commit=True)
        w.transaction(txn_a, "abort2-", [10], commit=False)
        w.transaction(txn_a, "commit3-", [16], commit=True)
    finally:
        w.close()
    return topic, w.records


@pytest.mark.parametrize("isolation", ["read_committed", "read_uncommitted"])
def test_read_committed_over_aborted_transactions(
    client: ModuleType, make_consumer: Callable[[dict[str, Any]], Any], kafka_broker: KafkaBroker,
    history: tuple[str, list[Written]], isolation: str,
) -> None:
    topic, records = history
    assert len(records) == 376 and sum(not r.committed for r in records) == 130
    wanted = [r for r in records if r.committed or isolation == "read_uncommitted"]
    consumer = make_consumer(consumer_conf(kafka_broker.bootstrap_servers, **{
        "isolation.level": isolation, "enable.partition.eof": True, "max.partition.fetch.bytes": 600}))
    consumer.assign([client.TopicPartition(topic, p, client.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = drain(client, consumer, [(topic, p) for p in range(PARTITIONS)], expected=len(wanted))
    for p in range(PARTITIONS):
        read = [(m.offset(), m.value()) for m in got if m.partition() == p]
        expected = sorted((r.offset, r.value) for r in wanted if r.partition == p)
        assert read == expected, _first_difference(read, expected)
        mine = [r for r in records if r.partition == p]
        # One control record per transaction that wrote here (txn_a's five, txn_b's one), the
        # last of them a commit marker just before the high watermark.
        low, high = consumer.get_watermark_offsets(client.TopicPartition(topic, p), timeout=10)
        assert (low, high) == (0, max(r.offset for r in mine) + 2)
        assert high - len(mine) == 6
        # At end of partition the position is past the final marker: the log end offset.
        [pos] = consumer.position([client.TopicPartition(topic, p)])
        assert pos.offset == high
    assert len(got) == len(wanted)


@pytest.mark.parametrize("outcome", ["commit", "abort"])
def test_read_committed_stops_at_an_open_transaction(
    client: ModuleType, make_consumer: Callable[[dict[str, Any]], Any], kafka_broker: KafkaBroker, outcome: str,
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name(f"txn-open-{outcome}"), 1)
    w = Writer(bootstrap, topic, partitions=1)
    txn, plain = w.producer(transactional=True), w.producer(transactional=False)
    try:
        w.chunk(plain, "before", 3, committed=True)
        txn.begin_transaction()
        w.chunk(txn, "open", 10, committed=outcome == "commit")
        w.chunk(plain, "after", 5, committed=True)

        committed = make_consumer(consumer_conf(bootstrap, **{"isolation.level": "read_committed",
                                                               "enable.partition.eof": True}))
        uncommitted = make_consumer(consumer_conf(bootstrap, **{"isolation.level": "read_uncommitted",
                                                                 "enable.partition.eof": True}))
        for c in (committed, uncommitted):
            c.assign([client.TopicPartition(topic, 0, client.OFFSET_BEGINNING)])
        everything = drain(client, uncommitted, [(topic, 0)], expected=18)
        assert [m.offset() for m in everything] == list(range(18))
        stable = drain(client, committed, [(topic, 0)], expected=3)
        assert [(m.offset(), m.value()) for m in stable] == [(i, b"before-%03d" % i) for i in range(3)]

        (txn.commit_transaction if outcome == "commit" else txn.abort_transaction)(30)
        rest = drain(client, committed, [(topic, 0)], expected=15 if outcome == "commit" else 5)
        want = [(r.offset, r.value) for r in w.records if r.committed and r.offset >= 3]
        assert [(m.offset(), m.value()) for m in rest] == sorted(want)
        # The marker sits at offset 18: the log ends at 19, and read_committed reads to it.
        assert committed.get_watermark_offsets(client.TopicPartition(topic, 0), timeout=10) == (0, 19)
    finally:
        w.close()


def _first_difference(read: list[tuple[int, bytes]], expected: list[tuple[int, bytes]]) -> str:
    for i, (a, b) in enumerate(zip(read, expected)):
        if a != b:
            return f"first difference at index {i}: read {a}, expected {b}"
    return f"read {len(read)} records, expected {len(expected)}"
