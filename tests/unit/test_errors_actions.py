"""err_action() and the retriable table, row by row.

The expected rows are transcribed here independently from librdkafka's src/rdkafka_request.c
(rd_kafka_err_action()'s default switch and the explicit list in rd_kafka_handle_Produce_error())
and from Kafka's org.apache.kafka.common.errors (RetriableException subclasses): librdkafka does not
export rd_kafka_err_action, so there is no binary to compare against. Each table in rdpy.errors must
have exactly these rows, so a change to either side fails here.

The per-request tables (second half of this file) are transcribed from librdkafka v2.15.0
(src/rdkafka.h: RD_KAFKA_VERSION 0x020f00ff), git commit 4c3b017c3de8d9c10de12b9eec0ea688e8d5787d,
with librdkafka's own spelling: the var-args lists as (flags, error) pairs in source order, the
switch-based handlers as (case labels, what the branch does). Aliases are resolved as rdkafka.h
#defines them (LIBRDKAFKA_ALIASES).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from rdpy.errors import (
    ACTIONS_BY_KIND,
    actions_str,
    ADD_OFFSETS_TO_TXN_ACTIONS,
    ADD_PARTITIONS_TO_TXN_ACTIONS,
    COORD_REQ_FIND_COORDINATOR_ACTIONS,
    DEFAULT_ACTIONS,
    DEFAULT_UNKNOWN_ACTION,
    END_TXN_ACTIONS,
    FETCH_ACTIONS,
    FETCH_REQUEST_ACTIONS,
    FIND_COORDINATOR_ACTIONS,
    INIT_PRODUCER_ID_ACTIONS,
    LIST_OFFSETS_ACTIONS,
    METADATA_ACTIONS,
    OFFSET_COMMIT_ACTIONS,
    OFFSET_FETCH_ACTIONS,
    OFFSET_FETCH_PARTITION_ACTIONS,
    OFFSET_FOR_LEADER_EPOCH_ACTIONS,
    PRODUCE_ACTIONS,
    RETRIABLE_BROKER_ERRORS,
    SWITCH_DEFAULTS,
    TXN_FIND_COORDINATOR_ACTIONS,
    TXN_OFFSET_COMMIT_ACTIONS,
    ErrAction,
    ErrorCode,
    KafkaError,
    RequestKind,
    SwitchDefault,
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


# ==================================================================================================
# Per-request tables, transcribed from librdkafka v2.15.0 (RD_KAFKA_VERSION 0x020f00ff),
# commit 4c3b017c3de8d9c10de12b9eec0ea688e8d5787d. Spelled as in the C source.
# ==================================================================================================

#: src/rdkafka.h: names librdkafka #defines as another code.
LIBRDKAFKA_ALIASES = {
    "NOT_LEADER_OR_FOLLOWER": "NOT_LEADER_FOR_PARTITION",
    "GROUP_COORDINATOR_NOT_AVAILABLE": "COORDINATOR_NOT_AVAILABLE",
    "NOT_COORDINATOR_FOR_GROUP": "NOT_COORDINATOR",
}

# A var-args list: (RD_KAFKA_ERR_ACTION_* flags joined by "|", RD_KAFKA_RESP_ERR_* name).
VarArgs = list[tuple[str, str]]
# A switch: (case labels, what the branch does, as RD_KAFKA_ERR_ACTION_* flags joined by "|").
Switch = list[tuple[tuple[str, ...], str]]


def _flags(text: str) -> ErrAction:
    out = A.NONE
    for name in text.split("|"):
        out |= ErrAction[name.strip()]
    return out


def _code(name: str) -> int:
    return int(ErrorCode[LIBRDKAFKA_ALIASES.get(name, name)])


def _from_varargs(rows: VarArgs) -> dict[int, ErrAction]:
    """As rd_kafka_err_action() reads its var-args: every match's actions are OR-ed."""
    out: dict[int, ErrAction] = {}
    for flags, name in rows:
        out[_code(name)] = out.get(_code(name), A.NONE) | _flags(flags)
    return out


def _from_switch(rows: Switch) -> dict[int, ErrAction]:
    out: dict[int, ErrAction] = {}
    for labels, flags in rows:
        for name in labels:
            assert _code(name) not in out, f"{name} in two case labels"
            out[_code(name)] = _flags(flags)
    return out


# src/rdkafka_request.c rd_kafka_handle_ListOffsets(): rd_kafka_err_action(rkb, err, request, ...)
LIBRDKAFKA_LIST_OFFSETS: VarArgs = [
    ("PERMANENT", "UNKNOWN_TOPIC_OR_PART"),
    ("REFRESH", "NOT_LEADER_FOR_PARTITION"),
    ("REFRESH", "REPLICA_NOT_AVAILABLE"),
    ("REFRESH", "KAFKA_STORAGE_ERROR"),
    ("REFRESH", "OFFSET_NOT_AVAILABLE"),
    ("REFRESH|RETRY", "LEADER_NOT_AVAILABLE"),
    ("REFRESH|RETRY", "FENCED_LEADER_EPOCH"),
    ("REFRESH|RETRY", "UNKNOWN_LEADER_EPOCH"),
    ("RETRY", "_TRANSPORT"),
    ("RETRY", "REQUEST_TIMED_OUT"),
]

# src/rdkafka_offset.c rd_kafka_toppar_handle_OffsetForLeaderEpoch(): rd_kafka_err_action(...)
LIBRDKAFKA_OFFSET_FOR_LEADER_EPOCH: VarArgs = [
    ("REFRESH", "UNKNOWN_LEADER_EPOCH"),
    ("REFRESH", "FENCED_LEADER_EPOCH"),
    ("REFRESH", "UNKNOWN_TOPIC_OR_PART"),
    ("REFRESH", "OFFSET_NOT_AVAILABLE"),
    ("REFRESH", "KAFKA_STORAGE_ERROR"),
]

# src/rdkafka_request.c rd_kafka_handle_OffsetFetch_err_action():
# rd_kafka_err_action(rkb, err, request, RD_KAFKA_ERR_ACTION_END) -- no explicit actions.
LIBRDKAFKA_OFFSET_FETCH: VarArgs = []

# src/rdkafka_assignment.c rd_kafka_assignment_apply_offsets(), per partition (and
# src/rdkafka_request.c rd_kafka_handle_OffsetFetch()'s retry_unstable):
#   STALE_MEMBER_EPOCH -> back to the pending list (offset STORED): asked again
#   UNSTABLE_OFFSET_COMMIT -> back to the pending list: asked again
#   else if (rktpar->err) -> rd_kafka_consumer_err(), not added back to .pending
LIBRDKAFKA_OFFSET_FETCH_PARTITION: Switch = [
    (("STALE_MEMBER_EPOCH",), "RETRY"),
    (("UNSTABLE_OFFSET_COMMIT",), "RETRY"),
]
LIBRDKAFKA_OFFSET_FETCH_PARTITION_OTHERS = "INFORM|PERMANENT"

# src/rdkafka_request.c rd_kafka_handle_OffsetCommit_error() (per partition) ...
LIBRDKAFKA_OFFSET_COMMIT_PARTITION: VarArgs = [
    ("PERMANENT", "GROUP_AUTHORIZATION_FAILED"),
    ("PERMANENT", "TOPIC_AUTHORIZATION_FAILED"),
    ("PERMANENT", "OFFSET_METADATA_TOO_LARGE"),
    ("PERMANENT", "INVALID_COMMIT_OFFSET_SIZE"),
    ("RETRY", "COORDINATOR_LOAD_IN_PROGRESS"),
    ("RETRY", "UNKNOWN_TOPIC_OR_PART"),
    ("REFRESH|RETRY|SPECIAL", "COORDINATOR_NOT_AVAILABLE"),
    ("REFRESH|RETRY|SPECIAL", "NOT_COORDINATOR"),
    ("REFRESH|RETRY", "REQUEST_TIMED_OUT"),
    ("PERMANENT|FATAL", "FENCED_INSTANCE_ID"),
    ("PERMANENT", "REBALANCE_IN_PROGRESS"),
    ("PERMANENT", "UNKNOWN_MEMBER_ID"),
    ("PERMANENT", "ILLEGAL_GENERATION"),
]
# ... and rd_kafka_handle_OffsetCommit() (request level, "if (!actions)")
LIBRDKAFKA_OFFSET_COMMIT_REQUEST: VarArgs = [
    ("REFRESH|SPECIAL|RETRY", "_TRANSPORT"),
]

# src/rdkafka_request.c rd_kafka_handle_Metadata(): rd_kafka_err_action(...)
LIBRDKAFKA_METADATA: VarArgs = [
    ("SPECIAL", "REBOOTSTRAP_REQUIRED"),
    ("RETRY", "_PARTIAL"),
]

# src/rdkafka_cgrp.c rd_kafka_cgrp_handle_FindCoordinator(): rd_kafka_err_action(...)
LIBRDKAFKA_FIND_COORDINATOR: VarArgs = [
    ("RETRY|REFRESH", "GROUP_COORDINATOR_NOT_AVAILABLE"),
    ("RETRY", "_TRANSPORT"),
    ("RETRY", "_TIMED_OUT"),
    ("RETRY", "_TIMED_OUT_QUEUE"),
    ("RETRY", "_DESTROY_BROKER"),
]

# src/rdkafka_coord.c rd_kafka_coord_req_handle_FindCoordinator(): rd_kafka_err_action(...)
LIBRDKAFKA_COORD_REQ_FIND_COORDINATOR: VarArgs = [
    ("SPECIAL", "_DESTROY"),
    ("PERMANENT", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"),
    ("PERMANENT", "CLUSTER_AUTHORIZATION_FAILED"),
    ("REFRESH", "_TRANSPORT"),
    ("RETRY", "COORDINATOR_NOT_AVAILABLE"),
]

# src/rdkafka_fetcher.c rd_kafka_fetch_reply_handle_partition_error(): switch (err), then
# rd_kafka_toppar_fetch_backoff() (no backoff for _PARTITION_EOF).
LIBRDKAFKA_FETCH: Switch = [
    # "Errors handled by rdkafka": rd_kafka_toppar_leader_unavailable(), then backoff
    (("OFFSET_NOT_AVAILABLE", "UNKNOWN_TOPIC_OR_PART", "LEADER_NOT_AVAILABLE",
      "NOT_LEADER_OR_FOLLOWER", "BROKER_NOT_AVAILABLE", "REPLICA_NOT_AVAILABLE",
      "KAFKA_STORAGE_ERROR", "UNKNOWN_LEADER_EPOCH", "FENCED_LEADER_EPOCH", "UNKNOWN_TOPIC_ID"),
     "REFRESH|RETRY"),
    # rd_kafka_offset_reset(), then backoff
    (("OFFSET_OUT_OF_RANGE",), "SPECIAL|RETRY"),
    # rd_kafka_consumer_err() (once per rktp_last_error), then a longer backoff
    (("TOPIC_AUTHORIZATION_FAILED",), "INFORM|RETRY"),
    # "Application errors": rd_kafka_consumer_err() if enable.partition.eof; no backoff
    (("_PARTITION_EOF",), "INFORM"),
    # case MSG_SIZE_TOO_LARGE: default: rd_kafka_consumer_err(), then backoff
    (("MSG_SIZE_TOO_LARGE",), "INFORM|RETRY"),
]
LIBRDKAFKA_FETCH_DEFAULT = "INFORM|RETRY"

# src/rdkafka_fetcher.c rd_kafka_broker_fetch_reply(): switch (err), then
# rd_kafka_broker_fetch_backoff() for every error but _DESTROY (returned before).
LIBRDKAFKA_FETCH_REQUEST: Switch = [
    (("_DESTROY",), "IGNORE"),
    (("UNKNOWN_TOPIC_OR_PART", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION",
      "BROKER_NOT_AVAILABLE", "REPLICA_NOT_AVAILABLE", "UNKNOWN_TOPIC_ID"),
     "REFRESH|RETRY"),  # rd_kafka_metadata_refresh_known_topics(); FALLTHRU
    (("_TRANSPORT", "REQUEST_TIMED_OUT", "_MSG_TIMED_OUT"), "RETRY"),
]
LIBRDKAFKA_FETCH_REQUEST_DEFAULT = "RETRY"

# src/rdkafka_txnmgr.c rd_kafka_txn_handle_FindCoordinator(): switch (err)
LIBRDKAFKA_TXN_FIND_COORDINATOR: Switch = [
    (("_DESTROY",), "IGNORE"),
    (("TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED"), "FATAL"),
    (("_UNKNOWN_BROKER",), "REFRESH|RETRY"),  # rd_kafka_metadata_refresh_brokers()
]
LIBRDKAFKA_TXN_FIND_COORDINATOR_DEFAULT = "RETRY"  # rd_kafka_txn_coord_set(NULL): 500 ms timer

# src/rdkafka_request.c rd_kafka_handle_InitProducerId() -> src/rdkafka_idempotence.c
# rd_kafka_idemp_request_pid_failed() -> rd_kafka_idemp_check_error(): switch (err)
LIBRDKAFKA_INIT_PRODUCER_ID: Switch = [
    (("_DESTROY",), "IGNORE"),
    (("_UNSUPPORTED_FEATURE", "INVALID_TRANSACTION_TIMEOUT",
      "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED"), "FATAL"),
    (("INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED"), "FATAL"),  # normalized to _FENCED
    # rd_kafka_txn_coord_set(rk, NULL, ...), then the 500 ms retry
    (("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE"), "REFRESH|RETRY"),
]
LIBRDKAFKA_INIT_PRODUCER_ID_DEFAULT = "RETRY"  # rd_kafka_idemp_pid_timer_restart()

# src/rdkafka_txnmgr.c rd_kafka_txn_handle_AddPartitionsToTxn(): switch (ErrorCode) per
# partition, then switch (err) for the request; outcome checked FATAL > PERMANENT > RETRY.
LIBRDKAFKA_ADD_PARTITIONS_TO_TXN: Switch = [
    (("_DESTROY", "_OUTDATED"), "IGNORE"),
    (("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE"), "REFRESH|RETRY"),  # reset_coord_err
    (("CONCURRENT_TRANSACTIONS",), "RETRY"),  # retry_backoff_ms = 20
    (("COORDINATOR_LOAD_IN_PROGRESS", "UNKNOWN_TOPIC_OR_PART"), "RETRY"),
    (("INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
      "INVALID_TXN_STATE", "CLUSTER_AUTHORIZATION_FAILED"), "FATAL"),
    (("UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_ID_MAPPING"), "PERMANENT|SPECIAL"),  # require_bump
    (("TOPIC_AUTHORIZATION_FAILED",), "PERMANENT"),
    (("OPERATION_NOT_ATTEMPTED",), "PERMANENT"),
    (("_TRANSPORT", "_TIMED_OUT"), "RETRY"),
    (("_BAD_MSG", "_UNDERFLOW"), "PERMANENT"),  # err_parse: actions |= PERMANENT
]
LIBRDKAFKA_ADD_PARTITIONS_TO_TXN_DEFAULT = ("PERMANENT", "RETRY")  # (broker, local)

# src/rdkafka_txnmgr.c rd_kafka_txn_handle_AddOffsetsToTxn(): switch (err)
LIBRDKAFKA_ADD_OFFSETS_TO_TXN: Switch = [
    (("_DESTROY", "_OUTDATED"), "IGNORE"),
    (("_TRANSPORT", "_TIMED_OUT", "_TIMED_OUT_QUEUE", "COORDINATOR_NOT_AVAILABLE",
      "NOT_COORDINATOR", "REQUEST_TIMED_OUT"), "RETRY|REFRESH"),
    (("TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED",
      "INVALID_PRODUCER_EPOCH", "INVALID_TXN_STATE", "UNSUPPORTED_FOR_MESSAGE_FORMAT"), "FATAL"),
    (("TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED"), "PERMANENT"),
    (("UNKNOWN_TOPIC_OR_PART", "COORDINATOR_LOAD_IN_PROGRESS", "CONCURRENT_TRANSACTIONS"),
     "RETRY"),
]
LIBRDKAFKA_ADD_OFFSETS_TO_TXN_DEFAULT = "PERMANENT"

# src/rdkafka_txnmgr.c rd_kafka_txn_handle_TxnOffsetCommit(): switch (err)
LIBRDKAFKA_TXN_OFFSET_COMMIT: Switch = [
    (("_DESTROY", "_OUTDATED"), "IGNORE"),
    (("NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE", "REQUEST_TIMED_OUT", "_TRANSPORT",
      "_TIMED_OUT", "_TIMED_OUT_QUEUE"), "REFRESH|RETRY"),  # rd_kafka_coord_cache_evict()
    (("CONCURRENT_TRANSACTIONS", "COORDINATOR_LOAD_IN_PROGRESS", "UNKNOWN_TOPIC_OR_PART"),
     "RETRY"),
    (("TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED",
      "INVALID_PRODUCER_ID_MAPPING", "INVALID_PRODUCER_EPOCH", "INVALID_TXN_STATE",
      "UNSUPPORTED_FOR_MESSAGE_FORMAT"), "FATAL"),
    (("TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED"), "PERMANENT"),
    (("ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID"), "PERMANENT"),
]
LIBRDKAFKA_TXN_OFFSET_COMMIT_DEFAULT = "PERMANENT"

# src/rdkafka_txnmgr.c rd_kafka_txn_handle_EndTxn(): switch (err)
LIBRDKAFKA_END_TXN: Switch = [
    (("_DESTROY", "_OUTDATED"), "IGNORE"),
    (("_TIMED_OUT", "_TIMED_OUT_QUEUE", "_TRANSPORT"), "RETRY|REFRESH"),
    # rd_kafka_txn_coord_set(rk, NULL, ...); actions |= RETRY
    (("COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR"), "RETRY|REFRESH"),
    (("COORDINATOR_LOAD_IN_PROGRESS", "CONCURRENT_TRANSACTIONS"), "RETRY"),
    (("UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_ID_MAPPING"), "PERMANENT|SPECIAL"),  # require_bump
    (("INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
      "CLUSTER_AUTHORIZATION_FAILED", "INVALID_TXN_STATE"), "FATAL"),
]
LIBRDKAFKA_END_TXN_DEFAULT = "PERMANENT"


def _default(spec: str | tuple[str, str]) -> SwitchDefault:
    broker, local = (spec, spec) if isinstance(spec, str) else spec
    return SwitchDefault(_flags(broker), _flags(local))


Row = tuple[Mapping[int, ErrAction], dict[int, ErrAction], SwitchDefault | None]


def _va(ours: Mapping[int, ErrAction], theirs: VarArgs) -> Row:
    return ours, _from_varargs(theirs), None


def _sw(ours: Mapping[int, ErrAction], theirs: Switch, default: str | tuple[str, str]) -> Row:
    return ours, _from_switch(theirs), _default(default)


#: kind -> (rdpy's table, librdkafka's table as transcribed, switch default or None)
K = RequestKind
TRANSCRIBED: dict[RequestKind, Row] = {
    K.LIST_OFFSETS: _va(LIST_OFFSETS_ACTIONS, LIBRDKAFKA_LIST_OFFSETS),
    K.OFFSET_FOR_LEADER_EPOCH: _va(OFFSET_FOR_LEADER_EPOCH_ACTIONS,
                                   LIBRDKAFKA_OFFSET_FOR_LEADER_EPOCH),
    K.OFFSET_FETCH: _va(OFFSET_FETCH_ACTIONS, LIBRDKAFKA_OFFSET_FETCH),
    K.OFFSET_FETCH_PARTITION: _sw(OFFSET_FETCH_PARTITION_ACTIONS,
                                  LIBRDKAFKA_OFFSET_FETCH_PARTITION,
                                  LIBRDKAFKA_OFFSET_FETCH_PARTITION_OTHERS),
    K.OFFSET_COMMIT: _va(OFFSET_COMMIT_ACTIONS,
                         LIBRDKAFKA_OFFSET_COMMIT_PARTITION + LIBRDKAFKA_OFFSET_COMMIT_REQUEST),
    K.METADATA: _va(METADATA_ACTIONS, LIBRDKAFKA_METADATA),
    K.FIND_COORDINATOR: _va(FIND_COORDINATOR_ACTIONS, LIBRDKAFKA_FIND_COORDINATOR),
    K.COORD_REQ_FIND_COORDINATOR: _va(COORD_REQ_FIND_COORDINATOR_ACTIONS,
                                      LIBRDKAFKA_COORD_REQ_FIND_COORDINATOR),
    K.FETCH: _sw(FETCH_ACTIONS, LIBRDKAFKA_FETCH, LIBRDKAFKA_FETCH_DEFAULT),
    K.FETCH_REQUEST: _sw(FETCH_REQUEST_ACTIONS, LIBRDKAFKA_FETCH_REQUEST,
                         LIBRDKAFKA_FETCH_REQUEST_DEFAULT),
    K.TXN_FIND_COORDINATOR: _sw(TXN_FIND_COORDINATOR_ACTIONS, LIBRDKAFKA_TXN_FIND_COORDINATOR,
                                LIBRDKAFKA_TXN_FIND_COORDINATOR_DEFAULT),
    K.INIT_PRODUCER_ID: _sw(INIT_PRODUCER_ID_ACTIONS, LIBRDKAFKA_INIT_PRODUCER_ID,
                            LIBRDKAFKA_INIT_PRODUCER_ID_DEFAULT),
    K.ADD_PARTITIONS_TO_TXN: _sw(ADD_PARTITIONS_TO_TXN_ACTIONS, LIBRDKAFKA_ADD_PARTITIONS_TO_TXN,
                                 LIBRDKAFKA_ADD_PARTITIONS_TO_TXN_DEFAULT),
    K.ADD_OFFSETS_TO_TXN: _sw(ADD_OFFSETS_TO_TXN_ACTIONS, LIBRDKAFKA_ADD_OFFSETS_TO_TXN,
                              LIBRDKAFKA_ADD_OFFSETS_TO_TXN_DEFAULT),
    K.TXN_OFFSET_COMMIT: _sw(TXN_OFFSET_COMMIT_ACTIONS, LIBRDKAFKA_TXN_OFFSET_COMMIT,
                             LIBRDKAFKA_TXN_OFFSET_COMMIT_DEFAULT),
    K.END_TXN: _sw(END_TXN_ACTIONS, LIBRDKAFKA_END_TXN, LIBRDKAFKA_END_TXN_DEFAULT),
}
KINDS = list(TRANSCRIBED)
ALL_CODES = sorted({m.value for m in E}) + [98, 9999, -99]


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_kind_table_matches_librdkafka(kind: RequestKind) -> None:
    table, transcribed, switch = TRANSCRIBED[kind]
    assert ACTIONS_BY_KIND[kind] is table
    names = {int(c): E(c).name for c in set(table) | set(transcribed)}
    assert {names[int(c)]: a for c, a in table.items()} == {
        names[c]: a for c, a in transcribed.items()}
    assert SWITCH_DEFAULTS.get(kind) == switch


def test_every_kind_has_exactly_one_table() -> None:
    assert set(ACTIONS_BY_KIND) == set(RequestKind)
    assert set(TRANSCRIBED) | {RequestKind.PRODUCE, RequestKind.OTHER} == set(RequestKind)
    assert ACTIONS_BY_KIND[RequestKind.PRODUCE] is PRODUCE_ACTIONS
    assert dict(ACTIONS_BY_KIND[RequestKind.OTHER]) == {}
    assert set(SWITCH_DEFAULTS) <= set(RequestKind) - {RequestKind.PRODUCE, RequestKind.OTHER}


@pytest.mark.parametrize("kind", list(RequestKind), ids=[k.name for k in RequestKind])
def test_table_rows_are_real_codes_and_actions(kind: RequestKind) -> None:
    for code, actions in ACTIONS_BY_KIND[kind].items():
        assert isinstance(code, ErrorCode) and code != 0
        assert actions != A.NONE  # a NONE row would fall through to the defaults
        if kind is not RequestKind.PRODUCE:
            assert not actions & MSG_FLAGS


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_err_action_per_kind(kind: RequestKind) -> None:
    """Rows verbatim; otherwise the switch's default branch, or rd_kafka_err_action()'s defaults
    (masked as for any non-Produce request)."""
    table, _, switch = TRANSCRIBED[kind]
    for code in ALL_CODES:
        got = err_action(code, kind)
        if code == 0:
            expected = A.NONE
        elif code in table:
            expected = table[code]
        elif switch is not None:
            expected = switch.local if code < -1 else switch.broker
        else:
            expected = _expected_default(DEFAULT_ACTIONS.get(code, DEFAULT_UNKNOWN_ACTION),
                                         produce=False, have_request=True)
        assert got == expected, (kind, code)
        assert not got & MSG_FLAGS


def test_flags_spelled_in_transcriptions_exist() -> None:
    assert _flags("REFRESH|RETRY") == A.REFRESH | A.RETRY
    with pytest.raises(KeyError):
        _flags("REFRESHH")
    with pytest.raises(KeyError):
        _code("NO_SUCH_ERROR")
    # rd_kafka_err_action() ORs the actions of repeated errors
    assert _from_varargs([("REFRESH", "_TRANSPORT"), ("RETRY", "_TRANSPORT")]) == {
        int(E._TRANSPORT): A.REFRESH | A.RETRY}


# --- Behaviour, in the words of the call sites ---------------------------------------------------

def test_fetch_partition_errors() -> None:
    k = RequestKind.FETCH
    # Leadership moved: look the leader up again, fetch again after the backoff, tell nobody.
    for code in (E.NOT_LEADER_OR_FOLLOWER, E.LEADER_NOT_AVAILABLE, E.UNKNOWN_TOPIC_OR_PART,
                 E.FENCED_LEADER_EPOCH, E.UNKNOWN_LEADER_EPOCH, E.KAFKA_STORAGE_ERROR,
                 E.REPLICA_NOT_AVAILABLE, E.BROKER_NOT_AVAILABLE, E.OFFSET_NOT_AVAILABLE,
                 E.UNKNOWN_TOPIC_ID):
        a = err_action(code, k)
        assert a & A.REFRESH and a & A.RETRY and not a & A.INFORM, code.name
    # Out of range: the offset reset (auto.offset.reset), not an error event of its own.
    a = err_action(E.OFFSET_OUT_OF_RANGE, k)
    assert a & A.SPECIAL and not a & (A.INFORM | A.REFRESH)
    # Not authorized: reported, and fetched again (after a longer backoff).
    assert err_action(E.TOPIC_AUTHORIZATION_FAILED, k) == A.INFORM | A.RETRY
    # EOF: reported (if enable.partition.eof), no backoff.
    assert err_action(E._PARTITION_EOF, k) == A.INFORM
    # Anything else: reported, backoff, fetched again.
    for other in (E.MSG_SIZE_TOO_LARGE, E.INVALID_MSG, E.UNKNOWN, 9999):
        assert err_action(other, k) == A.INFORM | A.RETRY
    # librdkafka never stops fetching a partition because of a Fetch error.
    assert not any(err_action(c, k) & (A.PERMANENT | A.FATAL) for c in ALL_CODES)


def test_fetch_request_errors() -> None:
    k = RequestKind.FETCH_REQUEST
    assert err_action(E.NOT_LEADER_FOR_PARTITION, k) == A.REFRESH | A.RETRY
    assert err_action(E._TRANSPORT, k) == A.RETRY  # the broker's fetcher backs off
    assert err_action(E._BAD_MSG, k) == A.RETRY
    assert err_action(E._DESTROY, k) == A.IGNORE
    assert not any(err_action(c, k) & (A.PERMANENT | A.INFORM) for c in ALL_CODES)


def test_list_offsets_errors() -> None:
    k = RequestKind.LIST_OFFSETS
    assert err_action(E.NOT_LEADER_OR_FOLLOWER, k) == A.REFRESH
    assert err_action(E.LEADER_NOT_AVAILABLE, k) == A.REFRESH | A.RETRY
    assert err_action(E.FENCED_LEADER_EPOCH, k) == A.REFRESH | A.RETRY
    assert err_action(E.OFFSET_NOT_AVAILABLE, k) == A.REFRESH
    assert err_action(E._TRANSPORT, k) == A.RETRY
    assert err_action(E.REQUEST_TIMED_OUT, k) == A.RETRY
    # librdkafka 2.15 (and since 2016) treats an unknown topic as permanent for ListOffsets:
    # the consumer reports it and applies auto.offset.reset; no refresh, no retry.
    assert err_action(E.UNKNOWN_TOPIC_OR_PART, k) == A.PERMANENT
    # Defaults: a broker that is gone refreshes; a client-side timeout retries.
    assert err_action(E.BROKER_NOT_AVAILABLE, k) == A.REFRESH
    assert err_action(E._TIMED_OUT, k) == A.RETRY
    assert not err_action(E._TIMED_OUT, k, have_request=False) & A.RETRY
    assert err_action(E.TOPIC_AUTHORIZATION_FAILED, k) == A.PERMANENT


def test_offset_fetch_errors() -> None:
    k = RequestKind.OFFSET_FETCH
    assert err_action(E.NOT_COORDINATOR, k) == A.REFRESH  # re-query the coordinator
    assert err_action(E.COORDINATOR_NOT_AVAILABLE, k) == A.REFRESH
    assert err_action(E.COORDINATOR_LOAD_IN_PROGRESS, k) == A.RETRY
    assert err_action(E._TRANSPORT, k) == A.RETRY  # retried, the coordinator is kept
    assert err_action(E.GROUP_AUTHORIZATION_FAILED, k) == A.PERMANENT
    p = RequestKind.OFFSET_FETCH_PARTITION
    assert err_action(E.UNSTABLE_OFFSET_COMMIT, p) == A.RETRY
    assert err_action(E.TOPIC_AUTHORIZATION_FAILED, p) == A.INFORM | A.PERMANENT
    assert err_action(E.UNKNOWN_TOPIC_OR_PART, p) == A.INFORM | A.PERMANENT


def test_offset_commit_errors() -> None:
    k = RequestKind.OFFSET_COMMIT
    # The coordinator moved: mark it dead (SPECIAL), look it up again, commit again.
    for code in (E.NOT_COORDINATOR, E.COORDINATOR_NOT_AVAILABLE):
        assert err_action(code, k) == A.REFRESH | A.RETRY | A.SPECIAL
    assert err_action(E.REQUEST_TIMED_OUT, k) == A.REFRESH | A.RETRY  # re-query, not dead
    assert err_action(E._TRANSPORT, k) == A.REFRESH | A.SPECIAL | A.RETRY
    assert err_action(E.COORDINATOR_LOAD_IN_PROGRESS, k) == A.RETRY
    assert err_action(E.UNKNOWN_TOPIC_OR_PART, k) == A.RETRY
    for code in (E.REBALANCE_IN_PROGRESS, E.ILLEGAL_GENERATION, E.UNKNOWN_MEMBER_ID,
                 E.OFFSET_METADATA_TOO_LARGE, E.GROUP_AUTHORIZATION_FAILED):
        assert err_action(code, k) == A.PERMANENT
    assert err_action(E.FENCED_INSTANCE_ID, k) == A.PERMANENT | A.FATAL


def test_metadata_errors() -> None:
    k = RequestKind.METADATA
    assert err_action(E.REBOOTSTRAP_REQUIRED, k) == A.SPECIAL
    assert err_action(E._PARTIAL, k) == A.RETRY
    assert err_action(E._TRANSPORT, k) == A.RETRY
    assert err_action(E.CLUSTER_AUTHORIZATION_FAILED, k) == A.PERMANENT


def test_find_coordinator_errors() -> None:
    k = RequestKind.FIND_COORDINATOR
    assert err_action(E.COORDINATOR_NOT_AVAILABLE, k) == A.RETRY | A.REFRESH
    assert err_action(E.NOT_COORDINATOR, k) == A.REFRESH  # default row
    assert err_action(E.COORDINATOR_LOAD_IN_PROGRESS, k) == A.RETRY  # default row
    assert err_action(E._TRANSPORT, k) == A.RETRY
    assert err_action(E._DESTROY_BROKER, k) == A.RETRY
    # Neither REFRESH nor RETRY: the consumer reports it (and keeps querying).
    assert err_action(E.GROUP_AUTHORIZATION_FAILED, k) == A.PERMANENT
    c = RequestKind.COORD_REQ_FIND_COORDINATOR
    assert err_action(E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, c) == A.PERMANENT
    assert err_action(E.COORDINATOR_NOT_AVAILABLE, c) == A.RETRY
    assert err_action(E._TRANSPORT, c) == A.REFRESH


def test_coordinator_load_in_progress_retries_everywhere() -> None:
    for kind in (RequestKind.OTHER, RequestKind.OFFSET_FETCH, RequestKind.OFFSET_COMMIT,
                 RequestKind.FIND_COORDINATOR, RequestKind.ADD_PARTITIONS_TO_TXN,
                 RequestKind.ADD_OFFSETS_TO_TXN, RequestKind.TXN_OFFSET_COMMIT,
                 RequestKind.END_TXN, RequestKind.INIT_PRODUCER_ID):
        a = err_action(E.COORDINATOR_LOAD_IN_PROGRESS, kind)
        assert a & A.RETRY and not a & (A.PERMANENT | A.FATAL), kind


def test_transactional_errors() -> None:
    assert err_action(E.PRODUCER_FENCED, RequestKind.INIT_PRODUCER_ID) == A.FATAL
    assert err_action(E.NOT_COORDINATOR, RequestKind.INIT_PRODUCER_ID) == A.REFRESH | A.RETRY
    assert err_action(E.REQUEST_TIMED_OUT, RequestKind.INIT_PRODUCER_ID) == A.RETRY
    # AddPartitionsToTxn: unnamed broker errors are abortable, unnamed local ones retried.
    k = RequestKind.ADD_PARTITIONS_TO_TXN
    assert err_action(E.INVALID_RECORD, k) == A.PERMANENT
    assert err_action(E._TIMED_OUT_QUEUE, k) == A.RETRY
    assert err_action(E.UNKNOWN_PRODUCER_ID, k) == A.PERMANENT | A.SPECIAL  # epoch bump
    assert err_action(E.CONCURRENT_TRANSACTIONS, k) == A.RETRY
    # AddOffsetsToTxn does not name PRODUCER_FENCED: abortable there, fatal elsewhere.
    assert err_action(E.PRODUCER_FENCED, RequestKind.ADD_OFFSETS_TO_TXN) == A.PERMANENT
    assert err_action(E.PRODUCER_FENCED, RequestKind.END_TXN) == A.FATAL
    assert err_action(E.NOT_COORDINATOR, RequestKind.TXN_OFFSET_COMMIT) == A.REFRESH | A.RETRY
    assert err_action(E.UNKNOWN_MEMBER_ID, RequestKind.TXN_OFFSET_COMMIT) == A.PERMANENT
    assert err_action(E._OUTDATED, RequestKind.END_TXN) == A.IGNORE
    assert err_action(E.CLUSTER_AUTHORIZATION_FAILED, RequestKind.TXN_FIND_COORDINATOR) == A.FATAL
    assert err_action(E.COORDINATOR_NOT_AVAILABLE, RequestKind.TXN_FIND_COORDINATOR) == A.RETRY


def test_explicit_table_replaces_the_kind_table_but_not_its_default() -> None:
    explicit = {E.OFFSET_OUT_OF_RANGE: A.PERMANENT}
    assert err_action(E.OFFSET_OUT_OF_RANGE, RequestKind.FETCH, explicit) == A.PERMANENT
    # not in the explicit table: the Fetch switch's default, not the FETCH table's row
    assert err_action(E.NOT_LEADER_OR_FOLLOWER, RequestKind.FETCH, explicit) == A.INFORM | A.RETRY
    assert err_action(E.NOT_LEADER_OR_FOLLOWER, RequestKind.LIST_OFFSETS, explicit) == A.REFRESH


def test_actions_are_named_as_librdkafka_names_them() -> None:
    # rd_kafka_actions2str(): rd_kafka_actions_descs in bit order, comma-separated.
    assert actions_str(ErrAction.PERMANENT | ErrAction.MSG_NOT_PERSISTED) == "Permanent,MsgNotPersisted"
    assert actions_str(ErrAction.REFRESH | ErrAction.RETRY | ErrAction.MSG_POSSIBLY_PERSISTED) == (
        "Refresh,Retry,MsgPossiblyPersisted")
    assert actions_str(ErrAction.NONE) == ""


def test_metadata_request_failures_as_rd_kafka_handle_metadata_decides_them() -> None:
    # A local failure of the request: the connection (retried), an undecodable answer (logged
    # as a permanent error), as rd_kafka_handle_Metadata() with rd_kafka_err_action()'s defaults.
    assert err_action(ErrorCode._TRANSPORT, RequestKind.METADATA) & ErrAction.RETRY
    assert err_action(ErrorCode._BAD_MSG, RequestKind.METADATA) & ErrAction.PERMANENT
    assert err_action(ErrorCode.REBOOTSTRAP_REQUIRED, RequestKind.METADATA) == ErrAction.SPECIAL
