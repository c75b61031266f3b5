"""Recoveries of the idempotent and transactional producer that an adversarial review found
wanting, each run on both clients against rdpy's mock cluster (confluent-kafka first):

- a late AddPartitionsToTxn answer (the transaction already failed) leaves its partition
  usable in the next transaction;
- a delivery callback raising inside commit_transaction()'s flush: the commit completes, then
  the exception is raised (confluent-kafka's order);
- a producer fenced by a newer instance asks for no producer id any more;
- under seeded random Produce faults and leader moves, an idempotent producer with batches
  in flight on several partitions writes every message once, in order (the shared Ledger).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from rdpy.errors import ErrorCode
from rdpy.mock import MockCluster
from rdpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest
from rdpy.protocol.messages.init_producer_id import InitProducerIdRequest
from rdpy.protocol.messages.produce import ProduceRequest
from tests.integration.producer._util import QUIET
from tests.support.invariants import Ledger
from tests.support.reading import consume_all

PRODUCE = ProduceRequest.API_KEY
ADD_PARTITIONS = AddPartitionsToTxnRequest.API_KEY
INIT_PRODUCER_ID = InitProducerIdRequest.API_KEY


@pytest.fixture
def mock() -> Iterator[MockCluster]:
    with MockCluster(3) as mc:
        yield mc


def _transactional(client: ModuleType, mock: MockCluster, txn_id: str,
                   **conf: Any) -> Any:
    p = client.Producer({"bootstrap.servers": mock.bootstrap_servers,
                         "transactional.id": txn_id, "linger.ms": 0, **QUIET, **conf})
    p.init_transactions(10)
    return p


def test_a_late_add_partitions_answer_leaves_the_partition_usable(
        client: ModuleType, mock: MockCluster) -> None:
    mock.create_topic("t", 2, 3)
    p = _transactional(client, mock, "late-add")
    try:
        coordinator = mock.coordinator("transaction", "late-add")
        others = [b for b in (1, 2, 3) if b != coordinator]
        mock.partition_set_leader("t", 0, others[0])
        mock.partition_set_leader("t", 1, others[1])
        p.begin_transaction()
        p.produce("t", b"a", partition=0)
        assert p.flush(5) == 0
        # Partition 1's AddPartitionsToTxn is answered late; meanwhile partition 0's next
        # batch fails for good, so the transaction is abortable when that answer comes.
        mock.broker_push_request_error_rtts(coordinator, ADD_PARTITIONS, (0, 1500))
        mock.push_request_errors(PRODUCE, ErrorCode.MSG_SIZE_TOO_LARGE)
        p.produce("t", b"b", partition=1)
        time.sleep(0.2)
        p.produce("t", b"c", partition=0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and mock.request_count(ADD_PARTITIONS) < 2:
            p.poll(0.1)
        time.sleep(2.0)  # the late answer arrives after the transaction failed
        p.abort_transaction(10)
        p.begin_transaction()
        reports: list[Any] = []
        p.produce("t", b"d", partition=1, on_delivery=lambda err, msg: reports.append(err))
        assert p.flush(5) == 0
        assert reports == [None]
        p.commit_transaction(10)
    finally:
        p.close()


def test_a_delivery_callback_raising_in_commit_is_raised_after_it(
        client: ModuleType, mock: MockCluster) -> None:
    mock.create_topic("t", 1, 3)
    p = _transactional(client, mock, "raising-cb")
    try:
        p.begin_transaction()

        def raising(err: Any, msg: Any) -> None:
            raise RuntimeError("boom from on_delivery")

        p.produce("t", b"v", on_delivery=raising)
        with pytest.raises(RuntimeError, match="boom from on_delivery"):
            p.commit_transaction(10)
        with pytest.raises(client.KafkaException) as excinfo:
            p.abort_transaction(2)  # committed: nothing to abort
        assert excinfo.value.args[0].code() == client.KafkaError._STATE
        p.begin_transaction()  # and the next transaction starts
        p.abort_transaction(2)
    finally:
        p.close()


def test_a_fenced_producer_asks_for_no_producer_id(client: ModuleType,
                                                    mock: MockCluster) -> None:
    mock.create_topic("t", 1, 3)
    p = _transactional(client, mock, "fenced")
    try:
        before = mock.request_count(INIT_PRODUCER_ID)
        p.begin_transaction()
        mock.push_request_errors(PRODUCE, ErrorCode.INVALID_PRODUCER_EPOCH)
        p.produce("t", b"v")
        with pytest.raises(client.KafkaException) as excinfo:
            p.flush(5)
        err = excinfo.value.args[0]
        assert (err.code(), err.fatal()) == (client.KafkaError._FENCED, True)
        time.sleep(1.5)
        assert mock.request_count(INIT_PRODUCER_ID) == before
    finally:
        # close() aborts the open transaction, which fails: a RuntimeWarning, as confluent's.
        with pytest.warns(RuntimeWarning, match="Producer abort_transaction failed during "
                                                "close: .*fenced by newer producer instance"):
            p.close()


@pytest.mark.parametrize("seed", [13, 18])
def test_idempotent_producer_under_random_produce_faults(client: ModuleType, mock: MockCluster,
                                                          seed: int) -> None:
    """Seeded Produce errors (with delays) on random brokers and leader moves while 3000
    messages go to 3 partitions, batches in flight on each: every message is reported once,
    and what was acknowledged is in the log once, in produce() order. (Message timeouts may
    fail some under this fault density: they are reported, never written twice.)"""
    rnd = random.Random(seed)
    partitions = 3
    mock.create_topic("s", partitions, 3)
    p = client.Producer({"bootstrap.servers": mock.bootstrap_servers, "enable.idempotence": True,
                         "linger.ms": 2, "batch.num.messages": 50, "message.timeout.ms": 20000,
                         "socket.timeout.ms": 3000, **QUIET})
    ledger = Ledger()
    # The producer is known on every partition before the faults (a broker accepts any
    # sequence from a producer it does not know yet).
    for partition in range(partitions):
        ledger.produce(p, "s", partition=partition)
    assert ledger.flush(p, 10) == 0
    codes = [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_ENOUGH_REPLICAS,
             ErrorCode.REQUEST_TIMED_OUT, ErrorCode._TRANSPORT,
             ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, 0]
    for i in range(3000):
        ledger.produce(p, "s", partition=i % partitions)
        if i % 150 == 0:
            code = rnd.choice(codes)
            mock.broker_push_request_error_rtts(
                rnd.choice([1, 2, 3]), PRODUCE,
                *[(code, rnd.choice([0, 50, 400])) for _ in range(rnd.randint(1, 3))])
        if i % 700 == 0 and i:
            mock.partition_set_leader("s", rnd.randrange(partitions), rnd.choice([1, 2, 3]))
        if i % 50 == 0:
            p.poll(0.005)
    assert ledger.flush(p, 60) == 0
    p.close()
    summary = ledger.check_reports(ordered=True)
    assert summary.delivered, "nothing delivered"
    consumed = consume_all(mock.bootstrap_servers, "s", partitions,
                           expected=len(summary.delivered), timeout=30)
    ledger.check_log(consumed, ordered=True, allow_duplicates=False)


def test_close_aborts_an_open_transaction(client: ModuleType, mock: MockCluster) -> None:
    """As confluent-kafka's close(): the transaction left open is aborted, not left to time
    out on the coordinator (and a closed producer between transactions aborts nothing)."""
    mock.create_topic("t", 1, 3)
    done = _transactional(client, mock, "closing-done")
    done.begin_transaction()
    done.commit_transaction(10)
    assert done.close() is True
    p = _transactional(client, mock, "closing")
    p.begin_transaction()
    p.produce("t", b"left open")
    assert p.flush(5) == 0
    assert p.close() is True
    committed = consume_all(mock.bootstrap_servers, "t", 1, expected=0,
                            **{"isolation.level": "read_committed"})
    uncommitted = consume_all(mock.bootstrap_servers, "t", 1, expected=1,
                              **{"isolation.level": "read_uncommitted"})
    assert [m.value() for m in committed] == []
    assert [m.value() for m in uncommitted] == [b"left open"]
