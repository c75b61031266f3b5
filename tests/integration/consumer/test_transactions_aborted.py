"""read_committed hides the records of aborted transactions -- proven on rdpy's mock cluster,
the one broker here whose Fetch responses list aborted transactions (librdkafka's mock and
Tansu send none; see test_transactions.py).

confluent-kafka producers write tests.support.transactions' history (committed and aborted
transactions of several batches, other producers' records interleaved inside an aborted one, a
commit marker at the end of each partition). The consumer under test reads with small fetches
(many Fetch requests, several batches each):
- read_committed returns exactly the committed and non-transactional records, in offset order
  with their offsets;
- read_uncommitted returns every data record, aborted ones included;
- neither returns a control record, and position() ends at the log end offset.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from rdpy.mock import MockCluster
from tests.integration.consumer._util import consumer_conf, drain, mock_topic
from tests.support.transactions import HISTORY_PARTITIONS as PARTITIONS
from tests.support.transactions import Written, check_isolated_read, visible, write_history

FETCH = 1


@pytest.fixture
def written(rdpy_mock: MockCluster) -> tuple[str, list[Written]]:
    topic = mock_topic(rdpy_mock, "aborted", PARTITIONS, 3)
    return topic, write_history(rdpy_mock.bootstrap_servers, topic)


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
    wanted = visible(records, isolation)
    fetches_before = rdpy_mock.request_count(FETCH)
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers, **{
        "isolation.level": isolation, "enable.partition.eof": True, "max.partition.fetch.bytes": 600}))
    consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = drain(ck, consumer, [(topic, p) for p in range(PARTITIONS)], expected=len(wanted))
    check_isolated_read(got, records, isolation)
    # Each partition holds 188 records of over 20 bytes (a 13-byte value and the record
    # framing): more than 5 * 600 bytes, so at least five fetches each.
    assert rdpy_mock.request_count(FETCH) - fetches_before >= 2 * 5
    positions = consumer.position([ck.TopicPartition(topic, p) for p in range(PARTITIONS)])
    assert [tp.offset for tp in positions] == [rdpy_mock.watermarks(topic, p)[2] for p in range(PARTITIONS)]
