"""read_committed over real Kafka transactions, for the consumer under test.

Until now only rdpy's mock cluster listed aborted transactions in its Fetch responses (Tansu and
librdkafka's mock send none); here Apache Kafka does. confluent-kafka writes every transaction
(rdpy has no transactional producer yet).

1. A closed history on two partitions (tests.support.transactions): committed and aborted
   transactions of several batches, an aborted transaction with a second transactional
   producer's committed one and a plain producer's records interleaved inside it, a short
   aborted one, a committed one at the end. read_committed returns exactly the committed and non-transactional records, in offset order
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
from types import ModuleType
from typing import Any

import pytest

from tests.integration.consumer._util import consumer_conf, drain
from tests.integration.kafka._util import create_topic, unique_name
from tests.support.kafka import KafkaBroker
from tests.support.transactions import HISTORY_PARTITIONS as PARTITIONS
from tests.support.transactions import Writer, Written, check_isolated_read, visible, write_history


@pytest.fixture(scope="module")
def history(kafka_broker: KafkaBroker) -> tuple[str, list[Written]]:
    """The closed history of the module docstring (written once, read by each test)."""
    bootstrap = kafka_broker.bootstrap_servers
    topic = create_topic({"bootstrap.servers": bootstrap}, unique_name("txn-history"), PARTITIONS)
    return topic, write_history(bootstrap, topic)


@pytest.mark.parametrize("isolation", ["read_committed", "read_uncommitted"])
def test_read_committed_over_aborted_transactions(
    client: ModuleType, make_consumer: Callable[[dict[str, Any]], Any], kafka_broker: KafkaBroker,
    history: tuple[str, list[Written]], isolation: str,
) -> None:
    topic, records = history
    assert len(records) == 376 and sum(not r.committed for r in records) == 130
    wanted = visible(records, isolation)
    consumer = make_consumer(consumer_conf(kafka_broker.bootstrap_servers, **{
        "isolation.level": isolation, "enable.partition.eof": True, "max.partition.fetch.bytes": 600}))
    consumer.assign([client.TopicPartition(topic, p, client.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = drain(client, consumer, [(topic, p) for p in range(PARTITIONS)], expected=len(wanted))
    check_isolated_read(got, records, isolation)
    for p in range(PARTITIONS):
        mine = [r for r in records if r.partition == p]
        # One control record per transaction that wrote here (txn_a's five, txn_b's one), the
        # last of them a commit marker just before the high watermark.
        low, high = consumer.get_watermark_offsets(client.TopicPartition(topic, p), timeout=10)
        assert (low, high) == (0, max(r.offset for r in mine) + 2)
        assert high - len(mine) == 6
        # At end of partition the position is past the final marker: the log end offset.
        [pos] = consumer.position([client.TopicPartition(topic, p)])
        assert pos.offset == high


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
