"""err_action() and the retriable table, row by row.

The expected rows are transcribed here independently from librdkafka's src/rdkafka_request.c
(rd_kafka_err_action()'s default switch and the explicit list in rd_kafka_handle_Produce_error())
and from Kafka's org.apache.kafka.common.errors (RetriableException subclasses): librdkafka does not
export rd_kafka_err_action, so there is no binary to compare against. Each table in rdpy.errors must
have exactly these rows, so a change to either side fails here.
"""

from __future__ import annotations

import pytest

from rdpy.errors import (
    DEFAULT_ACTIONS,
    DEFAULT_UNKNOWN_ACTION,
    PRODUCE_ACTIONS,
    RETRIABLE_BROKER_ERRORS,
    ErrAction,
    ErrorCode,
    KafkaError,
    RequestKind,
    broker_error,
    err_action,
    is_retriable,
)

A = ErrAction
E = ErrorCode
MSG_FLAGS = A.MSG_NOT_PERSISTED | A.MSG_POSSIBLY_PERSISTED | A.MSG_PERSISTED

DEFAULT_ROWS: list[tuple[str, ErrAction]] = [
    ("NO_ERROR", A.NONE),
    ("LEADER_NOT_AVAILABLE", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("NOT_LEADER_FOR_PARTITION", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("BROKER_NOT_AVAILABLE", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("REPLICA_NOT_AVAILABLE", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("COORDINATOR_NOT_AVAILABLE", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("NOT_COORDINATOR", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("_WAIT_COORD", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("_DESTROY_BROKER", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("KAFKA_STORAGE_ERROR", A.REFRESH | A.RETRY | A.MSG_NOT_PERSISTED),
    ("_TRANSPORT", A.RETRY | A.MSG_POSSIBLY_PERSISTED),
    ("_SSL", A.RETRY | A.MSG_POSSIBLY_PERSISTED),
    ("_TIMED_OUT", A.RETRY | A.MSG_POSSIBLY_PERSISTED),
    ("REQUEST_TIMED_OUT", A.RETRY | A.MSG_POSSIBLY_PERSISTED),
    ("NOT_ENOUGH_REPLICAS_AFTER_APPEND", A.RETRY | A.MSG_POSSIBLY_PERSISTED),
    ("NOT_ENOUGH_REPLICAS", A.RETRY | A.MSG_NOT_PERSISTED),
    ("INVALID_MSG", A.RETRY | A.MSG_NOT_PERSISTED),
    ("_TIMED_OUT_QUEUE", A.RETRY | A.MSG_NOT_PERSISTED),
    ("_PURGE_INFLIGHT", A.PERMANENT | A.MSG_POSSIBLY_PERSISTED),
    ("_BAD_MSG", A.PERMANENT | A.MSG_POSSIBLY_PERSISTED),
    ("COORDINATOR_LOAD_IN_PROGRESS", A.RETRY),
    ("_DESTROY", A.PERMANENT | A.MSG_NOT_PERSISTED),
    ("INVALID_SESSION_TIMEOUT", A.PERMANENT | A.MSG_NOT_PERSISTED),
    ("_UNSUPPORTED_FEATURE", A.PERMANENT | A.MSG_NOT_PERSISTED),
    ("_PURGE_QUEUE", A.PERMANENT | A.MSG_NOT_PERSISTED),
]

PRODUCE_ROWS: list[tuple[str, ErrAction]] = [
    ("_TRANSPORT", A.REFRESH | A.MSG_POSSIBLY_PERSISTED),
    ("UNKNOWN_TOPIC_OR_PART", A.REFRESH | A.MSG_NOT_PERSISTED),
    ("TOPIC_AUTHORIZATION_FAILED", A.PERMANENT | A.MSG_NOT_PERSISTED),
    ("KAFKA_STORAGE_ERROR", A.REFRESH | A.RETRY | A.MSG_NOT_PERSISTED),
    ("NOT_ENOUGH_REPLICAS", A.RETRY | A.MSG_NOT_PERSISTED),
    ("NOT_ENOUGH_REPLICAS_AFTER_APPEND", A.RETRY | A.MSG_POSSIBLY_PERSISTED),
    ("_TIMED_OUT_QUEUE", A.RETRY | A.MSG_NOT_PERSISTED),
    ("_TIMED_OUT", A.RETRY | A.MSG_POSSIBLY_PERSISTED),
    ("_MSG_TIMED_OUT", A.PERMANENT | A.MSG_POSSIBLY_PERSISTED),
    ("OUT_OF_ORDER_SEQUENCE_NUMBER", A.PERMANENT | A.MSG_POSSIBLY_PERSISTED),
    ("DUPLICATE_SEQUENCE_NUMBER", A.PERMANENT | A.MSG_POSSIBLY_PERSISTED),
    ("UNKNOWN_PRODUCER_ID", A.PERMANENT | A.MSG_NOT_PERSISTED),
    ("INVALID_PRODUCER_EPOCH", A.PERMANENT | A.MSG_NOT_PERSISTED),
    ("_RETRY", A.RETRY),
]

RETRIABLE_ROWS = [
    "INVALID_MSG", "UNKNOWN_TOPIC_OR_PART", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION",
    "REQUEST_TIMED_OUT", "REPLICA_NOT_AVAILABLE", "NETWORK_EXCEPTION", "COORDINATOR_LOAD_IN_PROGRESS",
    "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "NOT_CONTROLLER", "CONCURRENT_TRANSACTIONS",
    "KAFKA_STORAGE_ERROR", "FETCH_SESSION_ID_NOT_FOUND", "INVALID_FETCH_SESSION_EPOCH",
    "LISTENER_NOT_FOUND", "FENCED_LEADER_EPOCH", "UNKNOWN_LEADER_EPOCH", "OFFSET_NOT_AVAILABLE",
    "PREFERRED_LEADER_NOT_AVAILABLE", "ELIGIBLE_LEADERS_NOT_AVAILABLE", "UNSTABLE_OFFSET_COMMIT",
    "THROTTLING_QUOTA_EXCEEDED", "UNKNOWN_TOPIC_ID", "INCONSISTENT_TOPIC_ID",
    "SHARE_SESSION_NOT_FOUND", "INVALID_SHARE_SESSION_EPOCH", "SHARE_SESSION_LIMIT_REACHED",
]


def test_flag_values_match_librdkafka_defines() -> None:
    # RD_KAFKA_ERR_ACTION_* in src/rdkafka_request.h
    assert [int(f) for f in (A.PERMANENT, A.IGNORE, A.REFRESH, A.RETRY, A.INFORM, A.SPECIAL,
                             A.MSG_NOT_PERSISTED, A.MSG_POSSIBLY_PERSISTED, A.MSG_PERSISTED,
                             A.FATAL)] == [1 << i for i in range(10)]


def test_tables_have_exactly_the_transcribed_rows() -> None:
    assert {ErrorCode[n]: a for n, a in DEFAULT_ROWS} == DEFAULT_ACTIONS
    assert {ErrorCode[n]: a for n, a in PRODUCE_ROWS} == PRODUCE_ACTIONS
    assert {ErrorCode[n] for n in RETRIABLE_ROWS} == RETRIABLE_BROKER_ERRORS
    assert DEFAULT_UNKNOWN_ACTION == A.PERMANENT | A.MSG_NOT_PERSISTED


def _expected_default(actions: ErrAction, produce: bool, have_request: bool) -> ErrAction:
    if actions & (A.PERMANENT | A.FATAL):
        actions &= ~A.RETRY
    if not have_request:
        actions &= ~A.RETRY
    elif not produce:
        actions &= ~MSG_FLAGS
    return actions


@pytest.mark.parametrize("name, actions", DEFAULT_ROWS, ids=[r[0] for r in DEFAULT_ROWS])
def test_default_rows_for_non_produce_requests(name: str, actions: ErrAction) -> None:
    assert err_action(ErrorCode[name]) == _expected_default(actions, produce=False, have_request=True)
    assert err_action(ErrorCode[name], have_request=False) == _expected_default(
        actions, produce=False, have_request=False
    )
    # No message-status flags ever leak out for non-Produce requests
    assert not err_action(ErrorCode[name]) & MSG_FLAGS


@pytest.mark.parametrize("name, actions", PRODUCE_ROWS, ids=[r[0] for r in PRODUCE_ROWS])
def test_produce_rows_are_returned_verbatim(name: str, actions: ErrAction) -> None:
    # Explicit matches are returned as given (librdkafka returns before any masking).
    assert err_action(ErrorCode[name], RequestKind.PRODUCE) == actions
    assert err_action(ErrorCode[name], RequestKind.PRODUCE, have_request=False) == actions


@pytest.mark.parametrize(
    "name, actions",
    [r for r in DEFAULT_ROWS if r[0] not in {p[0] for p in PRODUCE_ROWS}],
    ids=[r[0] for r in DEFAULT_ROWS if r[0] not in {p[0] for p in PRODUCE_ROWS}],
)
def test_produce_falls_back_to_default_rows_keeping_msg_flags(name: str, actions: ErrAction) -> None:
    assert err_action(ErrorCode[name], RequestKind.PRODUCE) == _expected_default(actions, True, True)


@pytest.mark.parametrize("code", sorted(set(m.value for m in E) - set(DEFAULT_ACTIONS) - set(PRODUCE_ACTIONS)) + [98, 9999])
def test_every_other_error_is_permanent(code: int) -> None:
    assert err_action(code) == A.PERMANENT
    assert err_action(code, RequestKind.PRODUCE) == A.PERMANENT | A.MSG_NOT_PERSISTED


def test_produce_semantics_spot_checks() -> None:
    # A transport failure may have delivered the batch: refresh, and the messages are possibly persisted.
    a = err_action(E._TRANSPORT, RequestKind.PRODUCE)
    assert a & A.REFRESH and a & A.MSG_POSSIBLY_PERSISTED and not a & A.PERMANENT
    # A leader change: refresh metadata, nothing was written.
    a = err_action(E.NOT_LEADER_OR_FOLLOWER, RequestKind.PRODUCE)
    assert a == A.REFRESH | A.MSG_NOT_PERSISTED
    # Message timeout: permanent, possibly persisted.
    assert err_action(E._MSG_TIMED_OUT, RequestKind.PRODUCE) == A.PERMANENT | A.MSG_POSSIBLY_PERSISTED


def test_explicit_table_overrides_defaults() -> None:
    explicit: dict[int, ErrAction] = {E.UNKNOWN_TOPIC_OR_PART: A.REFRESH | A.RETRY, E.OFFSET_OUT_OF_RANGE: A.SPECIAL}
    assert err_action(E.UNKNOWN_TOPIC_OR_PART, explicit=explicit) == A.REFRESH | A.RETRY
    assert err_action(E.OFFSET_OUT_OF_RANGE, explicit=explicit) == A.SPECIAL
    # Not in the explicit table: default handling (and Produce rows are not consulted)
    assert err_action(E._TRANSPORT, RequestKind.PRODUCE, explicit) == A.RETRY | A.MSG_POSSIBLY_PERSISTED
    assert err_action(0, explicit={0: A.PERMANENT}) == A.NONE


@pytest.mark.parametrize("code", sorted(m.value for m in E if m.value > 0))
def test_retriable_flag_of_broker_errors(code: int) -> None:
    expected = ErrorCode(code).name in RETRIABLE_ROWS
    assert is_retriable(code) is expected
    err = broker_error(code, "why")
    assert isinstance(err, KafkaError)
    assert (err.code(), err.str(), err.retriable(), err.fatal()) == (code, "why", expected, False)


def test_retriable_only_broker_codes() -> None:
    assert all(c > 0 for c in RETRIABLE_BROKER_ERRORS)
