"""read_committed hides the records of aborted transactions -- proven on rdpy's mock cluster,
the one broker here whose Fetch responses list aborted transactions (librdkafka's mock and
Tansu send none; see test_transactions.py).

confluent-kafka producers write, on two partitions: committed and aborted transactions of
several batches each, an aborted transaction with a second transactional producer's committed
one and a plain producer's records interleaved inside it, a short aborted transaction, and a
committed one at the end, so the log ends with a commit marker. The consumer under test reads
with small fetches (many Fetch requests, several batches each):
- read_committed returns exactly the committed and non-transactional records, in offset order
  with their offsets;
- read_uncommitted returns every data record, aborted ones included;
- neither returns a control record, and position() ends at the log end offset.
Every record is produced through a tests.support.invariants.Ledger (exactly one delivery report
each, in produce() order per partition) and the producers are closed before the consumer reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest

from rdpy.mock import MockCluster
from tests.integration.consumer._util import QUIET, consumer_conf, drain, unique_topic
from tests.support.invariants import Ledger

PARTITIONS = 2
FETCH = 1


@dataclass(frozen=True)
class Written:
    partition: int
    offset: int
    value: bytes
    committed: bool  # False: part of an aborted transaction


class Writer:
    """confluent-kafka producers on one topic, recording what their delivery reports said."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.records: list[Written] = []
        self.ledger = Ledger()
        self.txn_a = self._producer(bootstrap, transactional=True)
        self.txn_b = self._producer(bootstrap, transactional=True)
        self.plain = self._producer(bootstrap, transactional=False)

    @staticmethod
    def _producer(bootstrap: str, *, transactional: bool) -> Any:
        conf: dict[str, Any] = {"bootstrap.servers": bootstrap, "linger.ms": 5, **QUIET}
        if transactional:
            conf["transactional.id"] = f"rdpy-aborted-{uuid.uuid4().hex[:8]}"
        producer = confluent_kafka.Producer(conf)
        if transactional:
            producer.init_transactions(15)
        return producer

    def chunk(self, producer: Any, label: str, n: int, *, committed: bool) -> None:
        """`n` records round-robin over the partitions, flushed: one batch per partition."""
        seqs = [
            self.ledger.produce(producer, self.topic, b"%s-%03d" % (label.encode(), i), partition=i % PARTITIONS, mark=False)
            for i in range(n)
        ]
        assert producer.flush(15) == 0
        delivered = self.ledger.check_reports(expect_delivered=True).delivered
        for s in sorted(seqs, key=lambda s: delivered[s].arrival):  # in report order
            r = delivered[s]
            assert r.partition is not None and r.offset is not None and r.value is not None
            self.records.append(Written(r.partition, r.offset, r.value, committed))

    def close(self) -> None:
        """Close every producer (nothing is left to deliver)."""
        for producer in (self.txn_a, self.txn_b, self.plain):
            producer.close()

    def transaction(self, producer: Any, label: str, chunks: list[int], *, commit: bool,
                    between: Callable[[], None] | None = None) -> None:
        """One transaction of several flushed chunks (so several batches per partition);
        `between` runs after the first chunk, while the transaction is open."""
        producer.begin_transaction()
        for i, n in enumerate(chunks):
            self.chunk(producer, f"{label}{i}", n, committed=commit)
            if i == 0 and between is not None:
                between()
        (producer.commit_transaction if commit else producer.abort_transaction)(15)


@pytest.fixture
def written(rdpy_mock: MockCluster) -> tuple[str, list[Written]]:
    topic = unique_topic("aborted")
    rdpy_mock.create_topic(topic, PARTITIONS, 3)
    w = Writer(rdpy_mock.bootstrap_servers, topic)
    w.transaction(w.txn_a, "commit1-", [30, 30, 30], commit=True)

    def interleave() -> None:
        w.chunk(w.plain, "plain-inside-", 20, committed=True)
        w.transaction(w.txn_b, "other-commit-", [20, 20], commit=True)

    w.transaction(w.txn_a, "abort1-", [40, 40, 40], commit=False, between=interleave)
    w.chunk(w.plain, "plain-between-", 20, committed=True)
    w.transaction(w.txn_a, "commit2-", [30, 30], commit=True)
    w.transaction(w.txn_a, "abort2-", [10], commit=False)
    w.transaction(w.txn_a, "commit3-", [16], commit=True)
    w.close()
    return topic, w.records


def test_the_scenario_is_what_this_suite_claims(rdpy_mock: MockCluster, written: tuple[str, list[Written]]) -> None:
    """The data itself: markers leave offset gaps, other producers' committed records sit
    inside the first aborted transaction, and every partition ends with a commit marker."""
    topic, records = written
    assert len(records) == 376 and sum(not r.committed for r in records) == 130
    for p in range(PARTITIONS):
        mine = [r for r in records if r.partition == p]
        low, lso, high = rdpy_mock.watermarks(topic, p)
        assert (low, lso) == (0, high)  # nothing left open
        assert high == max(r.offset for r in mine) + 2  # the last record, then a commit marker
        assert high - len(mine) == 6  # one marker per transaction: txn_a's five, txn_b's one
        abort1 = [r.offset for r in mine if r.value.startswith(b"abort1-")]
        inside = [r for r in mine if min(abort1) < r.offset < max(abort1) and r.committed]
        assert {r.value.split(b"-")[0] for r in inside} == {b"plain", b"other"}


@pytest.mark.parametrize("isolation", ["read_committed", "read_uncommitted"])
def test_read_committed_returns_exactly_the_committed_records(
    consumer_client: ModuleType, make_consumer: Callable[[dict[str, Any]], Any], rdpy_mock: MockCluster,
    written: tuple[str, list[Written]], isolation: str,
) -> None:
    ck = consumer_client
    topic, records = written
    wanted = [r for r in records if r.committed or isolation == "read_uncommitted"]
    fetches_before = rdpy_mock.request_count(FETCH)
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers, **{
        "isolation.level": isolation, "enable.partition.eof": True, "max.partition.fetch.bytes": 600}))
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = drain(ck, consumer, [(topic, p) for p in range(PARTITIONS)], expected=len(wanted))
    for p in range(PARTITIONS):
        read = [(m.offset(), m.value()) for m in got if m.partition() == p]
        expected = sorted((r.offset, r.value) for r in wanted if r.partition == p)
        assert read == expected, _first_difference(read, expected)
    assert len(got) == len(wanted)
    # Each partition holds 188 records of over 20 bytes (a 13-byte value and the record
    # framing): more than 5 * 600 bytes, so at least five fetches each.
    assert rdpy_mock.request_count(FETCH) - fetches_before >= 2 * 5
    positions = consumer.position([ck.TopicPartition(topic, p) for p in range(PARTITIONS)])
    assert [tp.offset for tp in positions] == [rdpy_mock.watermarks(topic, p)[2] for p in range(PARTITIONS)]


def _first_difference(read: list[tuple[int, bytes]], expected: list[tuple[int, bytes]]) -> str:
    for i, (a, b) in enumerate(zip(read, expected)):
        if a != b:
            return f"first difference at #{i}: read {a}, expected {b} ({len(read)} read, {len(expected)} expected)"
    return f"{len(read)} read, {len(expected)} expected; extra: {(read or expected)[min(len(read), len(expected)):][:3]}"
