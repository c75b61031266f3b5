"""The transaction manager's own rules, without a cluster: which call is allowed in which
state and with which error (as confluent-kafka reports them), one call at a time, abortable
and fatal errors, and a transaction with nothing sent completing locally."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rdpy import KafkaError, KafkaException, Producer, TopicPartition
from rdpy.client.produce.txn import TxnState, Transactions
from rdpy.errors import ErrorCode


@pytest.fixture
def producer() -> Iterator[Producer]:
    p = Producer({"bootstrap.servers": "127.0.0.1:1", "transactional.id": "t", "log_level": 0,
                  "message.timeout.ms": 1000})
    yield p
    p.close()


def _txn(p: Producer) -> Transactions:
    txn = p._txn
    assert txn is not None
    return txn


def _ready(p: Producer) -> Transactions:
    """As if init_transactions() had completed (no cluster here)."""
    txn = _txn(p)
    with txn.lock:
        txn.state = TxnState.READY
    return txn


def _error(excinfo: pytest.ExceptionInfo[KafkaException]) -> KafkaError:
    err = excinfo.value.args[0]
    assert isinstance(err, KafkaError)
    return err


def test_the_transactional_api_needs_a_transactional_id() -> None:
    p = Producer({"bootstrap.servers": "127.0.0.1:1", "log_level": 0})
    try:
        for call in (lambda: p.init_transactions(0.1), p.begin_transaction,
                     lambda: p.commit_transaction(0.1), lambda: p.abort_transaction(0.1)):
            with pytest.raises(KafkaException) as excinfo:
                call()
            err = _error(excinfo)
            assert (err.code(), err.str()) == (
                KafkaError._NOT_CONFIGURED,
                "The Transactional API requires transactional.id to be configured")
    finally:
        p.close()


def test_calls_before_init_are_refused_with_the_state(producer: Producer) -> None:
    for call in (producer.begin_transaction, lambda: producer.commit_transaction(0.1),
                 lambda: producer.abort_transaction(0.1)):
        with pytest.raises(KafkaException) as excinfo:
            call()
        err = _error(excinfo)
        assert (err.code(), err.str()) == (KafkaError._STATE,
                                           "Operation not valid in state Init")
    with pytest.raises(KafkaException) as excinfo:
        producer.produce("t", b"v")
    assert _error(excinfo).str() == "Unable to produce message: Local: Erroneous state"


def test_init_without_a_coordinator_times_out_resumably_and_blocks_other_calls(
        producer: Producer) -> None:
    for _ in range(2):  # the second call resumes the first
        with pytest.raises(KafkaException) as excinfo:
            producer.init_transactions(0.3)
        err = _error(excinfo)
        assert err.code() == KafkaError._TIMED_OUT and err.retriable()
    with pytest.raises(KafkaException) as excinfo:
        producer.begin_transaction()
    err = _error(excinfo)
    assert (err.code(), err.str(), err.retriable()) == (
        KafkaError._CONFLICT, "Conflicting init_transactions API call is already in progress",
        True)


def test_the_same_call_from_two_threads_at_once(producer: Producer) -> None:
    started = threading.Event()

    def first() -> None:
        started.set()
        try:
            producer.init_transactions(1.0)
        except KafkaException:
            pass

    t = threading.Thread(target=first)
    t.start()
    started.wait()
    try:
        for _ in range(100):
            if _txn(producer)._calling:
                break
            threading.Event().wait(0.01)
        with pytest.raises(KafkaException) as excinfo:
            producer.init_transactions(0.1)
        err = _error(excinfo)
        assert (err.code(), err.str(), err.retriable()) == (
            KafkaError._PREV_IN_PROGRESS, "Simultaneous init_transactions API calls not allowed",
            True)
    finally:
        t.join()


def test_a_transaction_with_nothing_sent_ends_locally(producer: Producer) -> None:
    txn = _ready(producer)
    producer.begin_transaction()
    assert txn.state is TxnState.IN_TRANSACTION and txn.may_enq
    producer.commit_transaction(1.0)
    assert txn.state is TxnState.READY and not txn.may_enq
    producer.begin_transaction()
    producer.abort_transaction(1.0)
    assert txn.state is TxnState.READY


def test_an_abortable_error_must_be_aborted_then_the_next_transaction_starts(
        producer: Producer) -> None:
    txn = _ready(producer)
    producer.begin_transaction()
    txn.set_abortable_error(ErrorCode.INVALID_RECORD, "a batch failed")
    assert txn.state is TxnState.ABORTABLE_ERROR and not txn.may_enq
    for call in (lambda: producer.commit_transaction(0.5), producer.begin_transaction):
        with pytest.raises(KafkaException) as excinfo:
            call()
        err = _error(excinfo)
        assert (err.code(), err.str(), err.txn_requires_abort(), err.fatal()) == (
            ErrorCode.INVALID_RECORD, "a batch failed", True, False)
    producer.abort_transaction(1.0)
    assert txn.state is TxnState.READY
    producer.begin_transaction()
    producer.commit_transaction(1.0)


def test_failed_deliveries_make_the_commit_abortable(producer: Producer) -> None:
    txn = _ready(producer)
    producer.begin_transaction()
    txn.count_delivery_failures(3)
    with pytest.raises(KafkaException) as excinfo:
        producer.commit_transaction(1.0)
    err = _error(excinfo)
    assert (err.code(), err.str(), err.txn_requires_abort()) == (
        KafkaError._INCONSISTENT, "3 message(s) failed delivery (see individual delivery "
        "reports)", True)
    assert txn.state is TxnState.ABORTABLE_ERROR
    producer.abort_transaction(1.0)


def test_a_fatal_error_ends_every_call(producer: Producer) -> None:
    txn = _ready(producer)
    producer.begin_transaction()
    txn.set_fatal_error(ErrorCode._FENCED, "fenced by a newer instance")
    with pytest.raises(KafkaException) as excinfo:
        producer.poll(1.0)  # raised once, from poll(), as confluent-kafka does
    assert _error(excinfo).fatal()
    for call in (lambda: producer.commit_transaction(0.5), lambda: producer.abort_transaction(0.5),
                 producer.begin_transaction):
        with pytest.raises(KafkaException) as excinfo:
            call()
        err = _error(excinfo)
        assert (err.code(), err.fatal()) == (KafkaError._FENCED, True)
    with pytest.raises(KafkaException) as excinfo:
        producer.produce("t", b"v")
    assert _error(excinfo).code() == KafkaError._FATAL


def test_send_offsets_outside_a_transaction_and_with_bad_metadata(producer: Producer) -> None:
    with pytest.raises(KafkaException) as excinfo:
        producer.send_offsets_to_transaction([TopicPartition("t", 0, 1)], b"junk")
    assert (_error(excinfo).code(), _error(excinfo).str()) == (KafkaError._BAD_MSG,
                                                               "Input buffer is too short")
    with pytest.raises(TypeError):
        producer.send_offsets_to_transaction([TopicPartition("t", 0, 1)], None)  # type: ignore[arg-type]
    with pytest.raises(KafkaException) as excinfo:
        producer.send_offsets_to_transaction([], b"CGMDv2:\xff\xff\xff\xffgrp\x00\x00\x01")
    assert _error(excinfo).str() == "Operation not valid in state Init"
