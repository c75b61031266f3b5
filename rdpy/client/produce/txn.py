"""Transactions (transactional.id set): librdkafka's transaction manager (rdkafka_txnmgr.c) on
top of the idempotent producer.

`Transactions` owns the transaction state (rd_kafka_txn_state_t), the application call in
progress and its result (librdkafka's txn_curr_api: one transactional call at a time, a call
that timed out resumed by calling it again), the partitions of the current transaction
(pending, being added, added), and the requests to the transaction coordinator
(AddPartitionsToTxn, AddOffsetsToTxn, EndTxn) and to the group coordinator (TxnOffsetCommit).

Threads:
- the application's thread runs init/begin/commit/abort_transaction and
  send_offsets_to_transaction: each checks and changes the state itself, sends what it
  needs, then waits (`_op`) for the result a background thread sets (`_set_result`);
- the main thread (`main_tick`) registers partitions with the transaction, and sends again
  what must be retried later;
- broker threads complete the requests; Idempotence tells `idemp_state_change` when the
  producer id changes (holding its own lock: so this class never calls Idempotence while
  holding `lock`).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdpy.client.coordinators import CoordinatorType
from rdpy.client.group.metadata import GroupMetadata
from rdpy.client.produce.idempotence import IdempState, Idempotence
from rdpy.client.produce.purge import purge
from rdpy.client.request import Request
from rdpy.client.toppar import TXN_IN, TXN_NONE, TXN_PENDING
from rdpy.errors import (
    ErrAction,
    ErrorCode,
    KafkaError,
    KafkaException,
    RequestKind,
    err2name,
    err2str,
    err_action,
)
from rdpy.protocol.messages import add_offsets_to_txn as add_offsets_to_txn_msgs
from rdpy.protocol.messages import add_partitions_to_txn as add_partitions_to_txn_msgs
from rdpy.protocol.messages import end_txn as end_txn_msgs
from rdpy.protocol.messages import txn_offset_commit as txn_offset_commit_msgs

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.handle import Handle
    from rdpy.client.msg import ProducerMessage
    from rdpy.client.toppar import Toppar
    from rdpy.protocol.messages.add_offsets_to_txn import AddOffsetsToTxnResponse
    from rdpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnResponse
    from rdpy.protocol.messages.end_txn import EndTxnResponse
    from rdpy.protocol.messages.txn_offset_commit import (
        TxnOffsetCommitRequest,
        TxnOffsetCommitRequestPartition,
        TxnOffsetCommitResponse,
    )

__all__ = ["TxnState", "Transactions"]

#: Versions whose layout these requests are written for (librdkafka sends no newer ones:
#: later versions change the transaction protocol, KIP-890).
_ADD_PARTITIONS_MAX = 3
_ADD_OFFSETS_MAX = 3
_END_TXN_MAX = 3
_TXN_OFFSET_COMMIT_MAX = 3

_INF = float("inf")

#: The producer's flush(timeout) -> messages left. Given to each call, never kept: the
#: engine holds no reference to the facade (a producer dropped without close() is freed).
Flush = Callable[[float], int]


class TxnState(str, enum.Enum):
    """The transaction's state; the values are librdkafka's names (statistics' txn_state)."""

    INIT = "Init"
    WAIT_PID = "WaitPID"
    READY_NOT_ACKED = "ReadyNotAcked"
    READY = "Ready"
    IN_TRANSACTION = "InTransaction"
    BEGIN_COMMIT = "BeginCommit"
    COMMITTING_TRANSACTION = "CommittingTransaction"
    COMMIT_NOT_ACKED = "CommitNotAcked"
    BEGIN_ABORT = "BeginAbort"
    ABORTING_TRANSACTION = "AbortingTransaction"
    ABORT_NOT_ACKED = "AbortedNotAcked"
    ABORTABLE_ERROR = "AbortableError"
    FATAL_ERROR = "FatalError"


S = TxnState

#: rd_kafka_txn_state_transition_is_valid(): the states each state may be entered from
#: (ABORTABLE_ERROR and FATAL_ERROR are decided in _set_state).
_ENTERED_FROM: dict[TxnState, frozenset[TxnState]] = {
    S.INIT: frozenset(),
    S.WAIT_PID: frozenset({S.INIT}),
    S.READY_NOT_ACKED: frozenset({S.WAIT_PID}),
    S.READY: frozenset({S.READY_NOT_ACKED, S.COMMIT_NOT_ACKED, S.ABORT_NOT_ACKED}),
    S.IN_TRANSACTION: frozenset({S.READY}),
    S.BEGIN_COMMIT: frozenset({S.IN_TRANSACTION}),
    S.COMMITTING_TRANSACTION: frozenset({S.BEGIN_COMMIT}),
    S.COMMIT_NOT_ACKED: frozenset({S.BEGIN_COMMIT, S.COMMITTING_TRANSACTION}),
    S.BEGIN_ABORT: frozenset({S.IN_TRANSACTION, S.ABORTING_TRANSACTION, S.ABORTABLE_ERROR}),
    S.ABORTING_TRANSACTION: frozenset({S.BEGIN_ABORT}),
    S.ABORT_NOT_ACKED: frozenset({S.BEGIN_ABORT, S.ABORTING_TRANSACTION}),
    S.ABORTABLE_ERROR: frozenset({S.IN_TRANSACTION, S.BEGIN_COMMIT,
                                  S.COMMITTING_TRANSACTION}),
}
#: States in which a later abortable error is ignored (the transaction is being aborted).
_IGNORES_ABORTABLE = frozenset({S.BEGIN_ABORT, S.ABORTING_TRANSACTION, S.FATAL_ERROR})

def _normalize(err: int) -> int:
    """rd_kafka_txn_normalize_err()."""
    if err in (ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED):
        return ErrorCode._FENCED
    if err == ErrorCode._TIMED_OUT_QUEUE:
        return ErrorCode._TIMED_OUT
    return err


@dataclass
class _OffsetsJob:
    """A send_offsets_to_transaction() in progress: AddOffsetsToTxn to the transaction
    coordinator, then TxnOffsetCommit to the group's coordinator."""

    offsets: list[tuple[str, int, int, str | None, int]]  # topic, partition, offset, metadata, epoch
    group: GroupMetadata
    deadline: float
    stage: str = "add"  # "add", "commit"
    #: When the main thread may send it (again): not before the application's thread tried.
    retry_at: float = float("inf")
    sent: bool = False


class Transactions:
    """The transaction manager of one transactional producer."""

    def __init__(self, handle: Handle, idempotence: Idempotence, transactional_id: str
                 ) -> None:
        self.handle = handle
        self.idempotence = idempotence
        self.transactional_id = transactional_id
        self.timeout_ms = handle.settings.get_int("transaction.timeout.ms")
        self.coordinator = handle.coordinators.get(CoordinatorType.TRANSACTION,
                                                   transactional_id)
        self.coordinator.error_listener = self._coordinator_lookup_failed
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self.state = S.INIT
        self.state_since = handle.clock()
        #: produce() may queue messages (IN_TRANSACTION only). Read without the lock.
        self.may_enq = False
        # The application call in progress (rk_eos.txn_curr_api).
        self._api = ""
        self._calling = False
        self._has_result = False
        self._result: KafkaError | None = None
        # The current transaction.
        self.txn_err = 0
        self.txn_errstr = ""
        self.requires_epoch_bump = False
        #: Requests sent to the coordinator in this transaction: without any, EndTxn is not
        #: sent (the coordinator knows nothing of it).
        self.req_cnt = 0
        #: Messages that failed delivery in this transaction (commit is refused then).
        self.dr_fails = 0
        #: The error InitProducerId last failed with (init_transactions() reports it).
        self.init_err = 0
        #: Partitions waiting to be added, being added, added (by (topic, partition)).
        self._pending: dict[tuple[str, int], Toppar] = {}
        self._waitresp: dict[tuple[str, int], Toppar] = {}
        self._added: dict[tuple[str, int], Toppar] = {}
        self._register_at = _INF
        #: AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS this many times in a row.
        self._concurrent_retries = 0
        self._offsets_job: _OffsetsJob | None = None
        #: An EndTxn to send again (after a retriable error) at this time, commit or abort.
        self._end_txn_retry: tuple[float, bool] | None = None

    # --- state (lock held) ----------------------------------------------------------------------

    def _set_state(self, state: TxnState) -> None:
        current = self.state
        if current is state:
            return
        if state is S.ABORTABLE_ERROR and current in _IGNORES_ABORTABLE:
            return
        if state is not S.FATAL_ERROR and current not in _ENTERED_FROM[state]:
            self.handle.log(2, "TXNSTATE", "BUG: Invalid transaction state transition "
                            f"attempted: {current.value} -> {state.value}")
            return
        self.handle.dbg("eos", "TXNSTATE", f"Transaction state change {current.value} -> "
                        f"{state.value}")
        self.may_enq = state is S.IN_TRANSACTION
        self.state = state
        self.state_since = self.handle.clock()

    def _require(self, *states: TxnState) -> KafkaError | None:
        """The error for a call made in the wrong state (rd_kafka_txn_require_states)."""
        if self.state in states:
            return None
        if self.state is S.FATAL_ERROR:
            return KafkaError(self.txn_err, self.txn_errstr, fatal=True)
        if self.state is S.ABORTABLE_ERROR:
            return KafkaError(self.txn_err, self.txn_errstr, txn_requires_abort=True)
        return KafkaError(ErrorCode._STATE, f"Operation not valid in state {self.state.value}")

    # --- the application's call in progress (txn_curr_api) ----------------------------------------

    def _api_begin(self, name: str, timeout: float | None, cap: bool) -> float:
        """App thread. Start (or resume) call `name`; returns its monotonic deadline."""
        self.handle.dbg("eos", "TXNAPI", f"Transactional API called: {name} (in txn state "
                        f"{self.state.value}, idemp state {self.idempotence.state.value})")
        with self.lock:
            if self._api and self._api != name:
                raise KafkaException(KafkaError(
                    ErrorCode._CONFLICT, f"Conflicting {self._api} API call is already in "
                    "progress", retriable=True))
            if self._calling:
                raise KafkaException(KafkaError(
                    ErrorCode._PREV_IN_PROGRESS, f"Simultaneous {self._api} API calls not "
                    "allowed", retriable=True))
            self._api = name
            self._calling = True
            deadline = _deadline(timeout)
            if cap:
                deadline = min(deadline, time.monotonic() + self.timeout_ms / 1000.0)
            return deadline

    @contextmanager
    def _calling_guard(self) -> Iterator[None]:
        """App thread. A call interrupted by anything but its own result (an exception from a
        delivery callback served by its flush(), KeyboardInterrupt) is no longer being called:
        it stays current, so calling it again resumes it."""
        try:
            yield
        except BaseException:
            with self.lock:
                self._calling = False
            raise

    def _api_return(self, resumable: bool, error: KafkaError | None) -> None:
        """App thread. End the call; raise `error` if any. A resumable call that failed with
        a retriable error stays current: calling it again resumes it."""
        with self.lock:
            self.handle.dbg("eos", "TXNAPI", f"Transactional API {self._api} return"
                            f"{' resumable' if resumable and error is not None and error.retriable() else ''}: "
                            f"{error.str() if error is not None else 'Success'}")
            self._calling = False
            if not resumable or (error is not None and not error.retriable()):
                self._api = ""
                self._result = None
                self._has_result = False
        if error is not None:
            raise KafkaException(error)

    def _set_result(self, error: KafkaError | None, actions: ErrAction = ErrAction(0)) -> None:
        """Any thread. The current call's result (dropped if no call is in progress); a
        result already set (typically a fatal error) is kept."""
        with self.lock:
            if not self._api:
                return
            self._has_result = True
            if self._result is not None:
                return
            if error is not None and actions:
                error = _flagged(error, actions)
            self._result = error
            self._cond.notify_all()

    def _op(self, op: Callable[[], None], deadline: float) -> KafkaError | None:
        """App thread. A result already set (a call that timed out finished since) is the
        answer; otherwise run `op` (which sets the result at once or starts what will) and
        wait for the result until `deadline`."""
        with self.lock:
            if self._has_result:
                return self._take_result()
        op()
        with self.lock:
            while not self._has_result:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return KafkaError(ErrorCode._TIMED_OUT, "Timed out waiting for operation "
                                      "to finish, retry call to resume", retriable=True)
                self._cond.wait(min(remaining, 0.2))
            return self._take_result()

    def _take_result(self) -> KafkaError | None:
        result = self._result
        self._result = None
        self._has_result = False
        return result

    # --- errors -----------------------------------------------------------------------------------

    def set_fatal_error(self, err: int, reason: str) -> None:
        """Any thread (never holding Idempotence's lock... except through it): the producer
        is unusable (rd_kafka_txn_set_fatal_error)."""
        self.handle.log(1, "TXNERR", f"Fatal transaction error: {reason} ({err2name(err)})")
        self.handle.set_fatal_error(err, reason)
        with self.lock:
            self.txn_err = err
            self.txn_errstr = reason
            self._set_state(S.FATAL_ERROR)
        self._set_result(KafkaError(err, reason, fatal=True))

    def set_abortable_error(self, err: int, reason: str, requires_epoch_bump: bool = False
                            ) -> None:
        """Any thread. The current transaction failed and must be aborted: everything queued
        is purged (rd_kafka_txn_set_abortable_error0)."""
        if self.handle.fatal_error is not None:
            self.handle.dbg("eos", "FATAL", "Not propagating abortable transactional error "
                            f"({err2name(err)}) since previous fatal error already raised")
            return
        with self.lock:
            if requires_epoch_bump:
                self.requires_epoch_bump = True
            if self.txn_err:
                self.handle.dbg("eos", "TXNERR", "Ignoring sub-sequent abortable transaction "
                                f"error: {reason} ({err2name(err)}): previous error "
                                f"({err2name(self.txn_err)}) already raised")
                return
            self.txn_err = err
            self.txn_errstr = reason
            self.handle.log(3, "TXNERR", f"Current transaction failed in state "
                            f"{self.state.value}: {reason} ({err2name(err)}"
                            f"{', requires epoch bump' if requires_epoch_bump else ''})")
            self._set_state(S.ABORTABLE_ERROR)
        purge(self.handle, in_queue=True, in_flight=False, blocking=False,
              numbered_dropped=self.purged_in_abort, abort_txn=True)

    def purged_in_abort(self, tp: Toppar, msgs: Sequence[ProducerMessage]) -> None:
        """Any thread. `msgs`, numbered messages of `tp`, were purged by an abort: they will
        not be sent, so the partition's sequence skips them (rd_kafka_toppar_purge_queues
        with RD_KAFKA_PURGE_F_ABORT_TXN).

        Unless one of them may have been written: queued again after an answer that left
        that open (a timeout, a lost connection), its sequence numbers may be on the broker,
        and the next transaction would send other messages under them under the same
        epoch: DUPLICATE_SEQUENCE_NUMBER (reported delivered, never written) or a fatal
        OUT_OF_ORDER_SEQUENCE_NUMBER. The abort then bumps the epoch, so every partition
        starts its sequence over (librdkafka skips them regardless)."""
        with tp.lock:
            tp.epoch_base_msgid += len(msgs)
        self.handle.dbg("eos", "ADVBASE", f"{tp.topic} [{tp.partition}] advancing epoch base "
                        f"msgid to {tp.epoch_base_msgid} due to {len(msgs)} message(s) in "
                        "aborted transaction")
        if any(m.possibly_persisted for m in msgs):
            with self.lock:
                self.requires_epoch_bump = True
            self.handle.dbg("eos", "ADVBASE", f"{tp.topic} [{tp.partition}]: a purged message "
                            "may have been written: the abort bumps the epoch")

    def purged_by_application(self) -> None:
        """Any thread. purge() took messages of this transaction that had sequence numbers:
        the abort that must follow bumps the epoch (the sequence has a gap)."""
        with self.lock:
            self.requires_epoch_bump = True

    def count_delivery_failures(self, failed: int) -> None:
        """App thread (serving delivery reports). Failed messages make commit impossible."""
        self.dr_fails += failed

    # --- Idempotence's side -----------------------------------------------------------------------

    def coordinator_broker(self) -> Broker | None:
        """Any thread. The transaction coordinator if it is known (a request to it connects
        it; one that cannot be sent fails with _TRANSPORT), else None with a lookup under way.
        """
        broker = self.coordinator.current()
        if broker is None:
            self.coordinator.lookup()
        return broker

    def _coordinator_lookup_failed(self, code: int, asked: str, message: str) -> None:
        """Broker thread. FindCoordinator refused us for good (not authorized): fatal, as
        rd_kafka_txn_handle_FindCoordinator decides; other errors are looked up again."""
        if err_action(code, RequestKind.TXN_FIND_COORDINATOR) & ErrAction.FATAL:
            self.idempotence.set_fatal_error(
                code, f"Failed to find transaction coordinator: {asked}: {err2str(code)}"
                      + (f": {message}" if message else ""))

    def open(self) -> bool:
        """Any thread. A transaction was begun and not finished (close() aborts it)."""
        return self.state not in (S.INIT, S.WAIT_PID, S.READY_NOT_ACKED, S.READY)

    def in_transaction(self) -> bool:
        """Any thread. A transaction is under way that an abortable error can fail."""
        return self.state in (S.IN_TRANSACTION, S.BEGIN_COMMIT, S.COMMITTING_TRANSACTION)

    def may_send(self) -> bool:
        """Broker thread. Batches may be sent in these states."""
        return self.state in (S.IN_TRANSACTION, S.BEGIN_COMMIT)

    def discards_queued(self) -> bool:
        """Broker thread. The transaction failed or is being aborted: what it has queued
        will never be sent (the abort's purge fails it)."""
        return self.state in _DISCARDS_QUEUED

    def idemp_state_change(self, state: IdempState) -> None:
        """Any thread, Idempotence's lock held (rd_kafka_txn_idemp_state_change)."""
        done = False
        with self.lock:
            if state is IdempState.ASSIGNED and self.state is S.WAIT_PID:
                self._set_state(S.READY_NOT_ACKED)
                done = True
            elif state is IdempState.ASSIGNED and self.state in (S.BEGIN_ABORT,
                                                                  S.ABORTING_TRANSACTION):
                self._set_state(S.ABORT_NOT_ACKED)
                done = True
            elif state is IdempState.FATAL_ERROR and self.state is not S.FATAL_ERROR:
                self._set_state(S.FATAL_ERROR)
        if done:
            self._set_result(None)

    def pid_failed(self, err: int) -> None:
        """Broker thread. InitProducerId failed with an error that is retried: remembered
        for init_transactions(); a coordinator error looks the coordinator up again."""
        self.init_err = err
        if err in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE):
            self.coordinator.reset()

    # --- partitions in the transaction ------------------------------------------------------------

    def add_partition(self, tp: Toppar) -> None:
        """App or main thread. `tp` has messages in this transaction: register it."""
        if tp.txn_state:
            return
        with self.lock:
            if tp.txn_state:
                return
            tp.txn_state = TXN_PENDING
            schedule = not self._pending
            self._pending[(tp.topic, tp.partition)] = tp
            self.handle.dbg("eos", "ADDPARTS", f"Marked {tp.topic} [{tp.partition}] as part "
                            f"of transaction: {'' if schedule else 'not '}scheduling "
                            "registration")
            if schedule:
                self._register_at = min(self._register_at, self.handle.clock())
        if schedule:
            self.handle.wake_main()

    def main_tick(self, now: float) -> None:
        """Main thread. Register new partitions; send again what waited for a retry."""
        if self.state in (S.IN_TRANSACTION, S.BEGIN_COMMIT):
            self._find_unregistered()
        if now >= self._register_at:
            self._register_partitions(now)
        job = self._offsets_job
        if job is not None and not job.sent and now >= job.retry_at:
            self._send_offsets_step(job, now)
        retry = self._end_txn_retry
        if retry is not None and now >= retry[0]:
            self._end_txn_retry = None
            self._send_end_txn(retry[1])

    def _find_unregistered(self) -> None:
        """Main thread. Messages placed on a partition by the main thread (they waited for
        their topic's metadata) register it too."""
        with self.handle.lock:
            topics = list(self.handle.topics.values())
        for topic in topics:
            for tp in topic.partitions:
                if not tp.txn_state and (tp.msgq or tp.xmitq):
                    self.add_partition(tp)

    def _register_partitions(self, now: float) -> None:
        """Main thread (rd_kafka_txn_register_partitions): one AddPartitionsToTxn at a time
        with every pending partition, to the coordinator when it is up."""
        with self.lock:
            if self.state not in (S.IN_TRANSACTION, S.BEGIN_COMMIT):
                self._register_at = _INF
                return
            if not self._pending or self._waitresp:
                self._register_at = _INF if not self._pending else self._register_at
                return
        pid = self.idempotence.send_pid
        broker = self.coordinator_broker()
        if pid is None or broker is None:
            return  # the next tick tries again
        with self.lock:
            self._register_at = _INF
            self._waitresp = dict(self._pending)
            self._pending.clear()
            self.req_cnt += 1
            by_topic: dict[str, list[int]] = {}
            for topic, partition in sorted(self._waitresp):
                by_topic.setdefault(topic, []).append(partition)
        self.handle.dbg("eos", "ADDPARTS", f"{broker.name}: Registering partitions with "
                        "transaction")
        txn_id = self.transactional_id
        broker.enqueue_request(Request(
            add_partitions_to_txn_msgs.AddPartitionsToTxnResponse,
            lambda v: add_partitions_to_txn_msgs.AddPartitionsToTxnRequest(
                v3_and_below_transactional_id=txn_id, v3_and_below_producer_id=pid.id,
                v3_and_below_producer_epoch=pid.epoch,
                v3_and_below_topics=[
                    add_partitions_to_txn_msgs.AddPartitionsToTxnTopic(name=t, partitions=p)
                    for t, p in by_topic.items()]),
            self._on_add_partitions, self.handle.request_timeout,
            max_version=_ADD_PARTITIONS_MAX))

    def _on_add_partitions(self, broker: Broker, err: int,
                           response: AddPartitionsToTxnResponse | None,
                           request: Request[AddPartitionsToTxnResponse]) -> None:
        """Broker thread (rd_kafka_txn_handle_AddPartitionsToTxn)."""
        actions = ErrAction(0)
        retry_backoff = 0.5
        reset_coordinator = False
        require_bump = False
        if not err and response is not None:
            with self.lock:
                if self.state not in (S.IN_TRANSACTION, S.BEGIN_COMMIT):
                    self.handle.dbg("eos", "ADDPARTS", "Ignoring outdated AddPartitionsToTxn "
                                    f"response in state {self.state.value}")
                    err = ErrorCode._OUTDATED
            if not err:
                err, actions, retry_backoff, reset_coordinator, require_bump = \
                    self._added_partitions(broker, response)
        elif not err:
            err = ErrorCode._BAD_MSG
            actions = ErrAction.PERMANENT
        if err == ErrorCode._DESTROY or err == ErrorCode._OUTDATED:
            # The transaction ended meanwhile: its abort (or the next completion) resets
            # these partitions with the rest (_clear_partitions), as librdkafka leaves them
            # on its wait-response list.
            return
        if err and not actions:
            # A local error: the coordinator may have received it.
            actions = ErrAction.RETRY
        if err and err in (ErrorCode._TRANSPORT, ErrorCode._TIMED_OUT):
            self.coordinator.reset()
        elif reset_coordinator:
            self.coordinator.reset()
        with self.lock:
            if err > 0:
                # The coordinator refused it (a local error may still have reached it).
                self.req_cnt = max(0, self.req_cnt - 1)
            # What failed waits for the next AddPartitionsToTxn.
            self._pending.update(self._waitresp)
            self._waitresp.clear()
        err = _normalize(err)
        if actions & ErrAction.FATAL:
            self.set_fatal_error(err, f"Failed to add partitions to transaction: {err2str(err)}")
        elif actions & ErrAction.PERMANENT:
            text = (f"Failed to add partition(s) to transaction on broker "
                    f"{_coordinator_name(broker)}: {err2str(err)} (after "
                    f"{_rtt_ms(broker, request)} ms)")
            if require_bump:
                self.idempotence.drain_epoch_bump(err, text)
            else:
                self.set_abortable_error(err, text)
        else:
            with self.lock:
                if err == ErrorCode.CONCURRENT_TRANSACTIONS:
                    # The coordinator is still writing the previous transaction's markers,
                    # usually for a millisecond or two: ask again soon, then back off to
                    # librdkafka's 20 ms (2, 4, 8, 16, 20 ms).
                    retry_backoff = min(retry_backoff, 0.002 * (1 << self._concurrent_retries))
                    self._concurrent_retries = min(self._concurrent_retries + 1, 4)
                else:
                    self._concurrent_retries = 0
                if self._pending:
                    delay = retry_backoff if actions & ErrAction.RETRY else 0.0
                    self._register_at = min(self._register_at, self.handle.clock() + delay)
                register_at = self._register_at
            self.handle.wake_main_at(register_at)
        if not err:
            for b in self.handle.all_brokers():
                b.wake()  # the added partitions may now send

    def _added_partitions(self, broker: Broker, response: AddPartitionsToTxnResponse
                          ) -> tuple[int, ErrAction, float, bool, bool]:
        """Broker thread. Each partition's answer: added ones move to the transaction; the
        first request-level error stands for every partition."""
        err = 0
        actions = ErrAction(0)
        backoff = 0.5
        reset = False
        bump = False
        for topic in response.results_by_topic_v3_and_below:
            for part in topic.results_by_partition:
                key = (topic.name, part.partition_index)
                code = part.partition_error_code
                with self.lock:
                    tp = self._waitresp.get(key)
                    if tp is not None and not code:
                        del self._waitresp[key]
                        tp.txn_state = TXN_IN
                        self._added[key] = tp
                        self.handle.dbg("eos", "ADDPARTS", f"{topic.name} [{key[1]}] registered "
                                        "with transaction")
                if not code or tp is None:
                    continue
                p_actions = err_action(code, RequestKind.ADD_PARTITIONS_TO_TXN)
                if code == ErrorCode.OPERATION_NOT_ATTEMPTED:
                    err = err or code
                else:
                    err = code
                if code == ErrorCode.CONCURRENT_TRANSACTIONS:
                    backoff = 0.02
                if code in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE):
                    reset = True
                if p_actions & ErrAction.SPECIAL:
                    bump = True
                actions |= p_actions
                if p_actions & (ErrAction.FATAL | ErrAction.PERMANENT):
                    self.handle.log(3, "ADDPARTS", f"{broker.name}: Failed to add partition "
                                    f"\"{topic.name}\" [{key[1]}] to transaction: "
                                    f"{err2str(code)}")
                if p_actions & (ErrAction.RETRY | ErrAction.FATAL) or bump:
                    return err, actions, backoff, reset, bump  # request-level: the rest too
        return err, actions, backoff, reset, bump

    def _clear_partitions(self, pending_only: bool) -> None:
        """Lock held. Forget the transaction's partitions (pending ones only, or all)."""
        tables = [self._pending, self._waitresp] if pending_only else \
            [self._pending, self._waitresp, self._added]
        for table in tables:
            for tp in table.values():
                tp.txn_state = TXN_NONE
            table.clear()

    # --- init_transactions() ----------------------------------------------------------------------

    def init_transactions(self, timeout: float | None) -> None:
        """App thread. Get the producer id from the transaction coordinator (completing or
        fencing a previous instance's transaction)."""
        if timeout is None or timeout < 0:
            # librdkafka caps an infinite wait: no coordinator times us out yet.
            timeout = 2 * self.timeout_ms / 1000.0
        deadline = self._api_begin("init_transactions", timeout, cap=False)
        with self._calling_guard():
            error = self._op(self._op_init, deadline)
            if error is not None:
                if error.code() == ErrorCode._TIMED_OUT:
                    init_err = _normalize(self.init_err)
                    if init_err and init_err != ErrorCode._TIMED_OUT:
                        error = KafkaError(init_err, f"Failed to initialize Producer ID: "
                                                     f"{err2str(init_err)}", retriable=True)
                self._api_return(True, error)
            error = self._op(self._op_ack, _INF)
            self._api_return(False, error)

    def _op_init(self) -> None:
        with self.lock:
            error = self._require(S.INIT, S.WAIT_PID, S.READY_NOT_ACKED)
            if error is None and self.state is not S.READY_NOT_ACKED:
                self._set_state(S.WAIT_PID)
                self.init_err = 0
                start = True
            else:
                start = False
        if error is not None:
            self._set_result(error)
        elif start:
            self.idempotence.start()
        else:
            self._set_result(None)  # initialized after an earlier call timed out

    def _op_ack(self) -> None:
        """READY_NOT_ACKED -> READY, COMMIT_NOT_ACKED/ABORT_NOT_ACKED -> READY."""
        with self.lock:
            state = self.state
            if state is S.READY_NOT_ACKED:
                self._set_state(S.READY)
                error = None
            elif state in (S.COMMIT_NOT_ACKED, S.ABORT_NOT_ACKED):
                self.handle.dbg("eos", "TXNCOMPLETE", f"Transaction successfully "
                                f"{'committed' if state is S.COMMIT_NOT_ACKED else 'aborted'}")
                self._clear_partitions(pending_only=False)
                self.requires_epoch_bump = False
                self.req_cnt = 0
                self._set_state(S.READY)
                error = None
            else:
                error = self._require(S.READY_NOT_ACKED)
        self._set_result(error)

    # --- begin_transaction() ----------------------------------------------------------------------

    def begin_transaction(self) -> None:
        """App thread. Start a transaction (local: nothing is sent yet)."""
        self._api_begin("begin_transaction", 0, cap=False)
        with self._calling_guard():
            error = self._op(self._op_begin, _INF)
            self._api_return(False, error)

    def _op_begin(self) -> None:
        with self.lock:
            error = self._require(S.READY)
            if error is None:
                self._set_state(S.IN_TRANSACTION)
                self.dr_fails = 0
                self.txn_err = 0
                self.txn_errstr = ""
        if error is None:
            for b in self.handle.all_brokers():
                b.wake()
        self._set_result(error)

    # --- send_offsets_to_transaction() ------------------------------------------------------------

    def send_offsets_to_transaction(self, offsets: list[tuple[str, int, int, str | None, int]],
                                    group: GroupMetadata, timeout: float | None) -> None:
        """App thread. Commit the consumer's `offsets` (topic, partition, offset, metadata,
        leader epoch) with the transaction."""
        deadline = self._api_begin("send_offsets_to_transaction", timeout, cap=True)
        with self._calling_guard():
            with self.lock:
                error = self._require(S.IN_TRANSACTION)
            if error is not None:
                self._api_return(False, error)
            valid = sorted(o for o in offsets if o[2] >= 0)
            if not valid:
                self._api_return(False, None)  # nothing consumed: nothing to do
                return
            job = _OffsetsJob(valid, group, deadline)
            error = self._op(lambda: self._op_send_offsets(job), _INF)
            self._api_return(False, error)

    def _op_send_offsets(self, job: _OffsetsJob) -> None:
        with self.lock:
            error = self._require(S.IN_TRANSACTION)
            if error is None:
                self._offsets_job = job
                self.req_cnt += 1
        if error is not None:
            self._set_result(error)
            return
        self._send_offsets_step(job, self.handle.clock())

    def _send_offsets_step(self, job: _OffsetsJob, now: float) -> None:
        """Any thread. Send the job's current request if its coordinator is there, else the
        main thread tries again on a later tick."""
        if time.monotonic() >= job.deadline:
            self._offsets_done(job, KafkaError(ErrorCode._TIMED_OUT, "Timed out adding "
                                               "offsets to the transaction", retriable=True),
                               ErrAction(0))
            return
        pid = self.idempotence.send_pid
        if job.stage == "add":
            broker = self.coordinator_broker()
            if broker is None or pid is None:
                job.retry_at = now + 0.05
                self.handle.wake_main_at(job.retry_at)
                return
            job.sent = True
            txn_id, group_id = self.transactional_id, job.group.group_id
            broker.enqueue_request(Request(
                add_offsets_to_txn_msgs.AddOffsetsToTxnResponse,
                lambda v: add_offsets_to_txn_msgs.AddOffsetsToTxnRequest(
                    transactional_id=txn_id, producer_id=pid.id, producer_epoch=pid.epoch,
                    group_id=group_id),
                lambda b, e, r, q: self._on_add_offsets(job, b, e, r, q),
                self.handle.request_timeout, max_version=_ADD_OFFSETS_MAX))
            return
        group_coordinator = self.handle.coordinators.get(CoordinatorType.GROUP,
                                                         job.group.group_id)
        broker = group_coordinator.current()
        if broker is None or pid is None:
            group_coordinator.lookup()
            job.retry_at = now + 0.05
            self.handle.wake_main_at(job.retry_at)
            return
        job.sent = True
        request = self._txn_offset_commit(job, pid.id, pid.epoch)
        broker.enqueue_request(Request(
            txn_offset_commit_msgs.TxnOffsetCommitResponse, request,
            lambda b, e, r, q: self._on_txn_offset_commit(job, b, e, r),
            self.handle.request_timeout, max_version=_TXN_OFFSET_COMMIT_MAX))

    def _txn_offset_commit(self, job: _OffsetsJob, producer_id: int, epoch: int
                           ) -> Callable[[int], TxnOffsetCommitRequest]:
        by_topic: dict[str, list[TxnOffsetCommitRequestPartition]] = {}
        for topic, partition, offset, metadata, leader_epoch in job.offsets:
            by_topic.setdefault(topic, []).append(
                txn_offset_commit_msgs.TxnOffsetCommitRequestPartition(
                    partition_index=partition, committed_offset=offset,
                    committed_leader_epoch=leader_epoch, committed_metadata=metadata))
        group = job.group
        txn_id = self.transactional_id

        def build(version: int) -> TxnOffsetCommitRequest:
            return txn_offset_commit_msgs.TxnOffsetCommitRequest(
                transactional_id=txn_id, group_id=group.group_id, producer_id=producer_id,
                producer_epoch=epoch, generation_id=group.generation_id,
                member_id=group.member_id, group_instance_id=group.group_instance_id,
                topics=[txn_offset_commit_msgs.TxnOffsetCommitRequestTopic(name=t, partitions=p)
                        for t, p in by_topic.items()])
        return build

    def _on_add_offsets(self, job: _OffsetsJob, broker: Broker, err: int,
                        response: AddOffsetsToTxnResponse | None,
                        request: Request[AddOffsetsToTxnResponse]) -> None:
        """Broker thread (rd_kafka_txn_handle_AddOffsetsToTxn)."""
        job.sent = False
        if err == ErrorCode._DESTROY:
            return
        if not err:
            err = response.error_code if response is not None else ErrorCode._BAD_MSG
        if not err and time.monotonic() >= job.deadline:
            err = ErrorCode._TIMED_OUT
        if not err:
            job.stage = "commit"
            self._send_offsets_step(job, self.handle.clock())
            return
        actions = err_action(err, RequestKind.ADD_OFFSETS_TO_TXN) or ErrAction.PERMANENT
        err = _normalize(err)
        text = (f"Failed to add offsets to transaction on broker {_coordinator_name(broker)}: "
                f"{err2str(err)} (after {_rtt_ms(broker, request)}ms)")
        if actions & ErrAction.FATAL:
            self.set_fatal_error(err, f"Failed to add offsets to transaction: {err2str(err)}")
            self._offsets_done(job, KafkaError(err, text), actions)
            return
        if actions & ErrAction.REFRESH:
            self.coordinator.reset()
        if actions & ErrAction.RETRY and time.monotonic() < job.deadline:
            job.retry_at = self.handle.clock() + self.handle.settings.get_int(
                "retry.backoff.ms") / 1000.0
            self.handle.wake_main_at(job.retry_at)
            return
        if err not in (ErrorCode._TRANSPORT, ErrorCode._TIMED_OUT):
            # Refused: the coordinator has nothing of it (a lost one may have arrived).
            with self.lock:
                self.req_cnt = max(0, self.req_cnt - 1)
        self.handle.log(3, "ADDOFFSETS", text)
        if actions & ErrAction.PERMANENT:
            self.set_abortable_error(err, text)
        self._offsets_done(job, KafkaError(err, text), actions)

    def _on_txn_offset_commit(self, job: _OffsetsJob, broker: Broker, err: int,
                              response: TxnOffsetCommitResponse | None) -> None:
        """Broker thread (rd_kafka_txn_handle_TxnOffsetCommit)."""
        job.sent = False
        if err == ErrorCode._DESTROY:
            return
        text = ""
        if not err and response is not None:
            failed = [(t.name, p.partition_index, p.error_code) for t in response.topics
                      for p in t.partitions if p.error_code]
            if failed:
                err = failed[0][2]
                text = ("Failed to commit offsets to transaction on broker "
                        f"{broker.name}: " + ", ".join(f"{t}[{p}]: {err2str(c)}"
                                                        for t, p, c in failed))
        elif not err:
            err = ErrorCode._BAD_MSG
        if not err:
            self._offsets_done(job, None, ErrAction(0))
            return
        if not text:
            text = (f"Failed to commit offsets to transaction on broker {broker.name}: "
                    f"{err2str(err)}")
        actions = err_action(err, RequestKind.TXN_OFFSET_COMMIT) or ErrAction.PERMANENT
        if actions & ErrAction.REFRESH or err in (ErrorCode._TRANSPORT, ErrorCode._TIMED_OUT):
            self.handle.coordinators.get(CoordinatorType.GROUP, job.group.group_id).reset()
        err = _normalize(err)
        if actions & ErrAction.FATAL:
            self.set_fatal_error(err, text)
        elif actions & ErrAction.RETRY:
            if time.monotonic() < job.deadline:
                job.retry_at = self.handle.clock() + 0.5
                self.handle.wake_main_at(job.retry_at)
                return
            actions |= ErrAction.PERMANENT
        if actions & ErrAction.PERMANENT and not actions & ErrAction.FATAL:
            self.set_abortable_error(err, text)
        self._offsets_done(job, KafkaError(err, text), actions)

    def _offsets_done(self, job: _OffsetsJob, error: KafkaError | None,
                      actions: ErrAction) -> None:
        with self.lock:
            if self._offsets_job is job:
                self._offsets_job = None
        self._set_result(error, actions)

    # --- commit_transaction() / abort_transaction() ------------------------------------------------

    def commit_transaction(self, timeout: float | None, flush: Flush) -> None:
        """App thread. Flush (the producer's flush(), serving delivery reports here), then
        commit the transaction on the coordinator."""
        deadline = self._api_begin("commit_transaction", timeout, cap=False)
        with self._calling_guard():
            error = self._op(self._op_begin_commit, deadline)
            if error is not None:
                self._api_return(False, error)
            raised = self._flush_for(deadline, flush)
            error = self._op(self._op_commit, deadline)
            if error is not None:
                self._api_return(True, error)
            error = self._op(self._op_ack, _INF)
            self._api_return(False, error)
            if raised is not None:
                raise raised

    def _flush_for(self, deadline: float, flush: Flush) -> Exception | None:
        """App thread. Wait for every message's delivery report (served here) before the
        commit or abort goes on; a resumable _TIMED_OUT if the call's time runs out. An
        exception from a delivery callback does not stop the call: as in confluent-kafka,
        the call completes and then raises it (returned here for that)."""
        raised: Exception | None = None
        while True:
            try:
                left = flush(max(0.0, deadline - time.monotonic()))
                break
            except KafkaException as exc:  # a fatal error raised while serving
                self._api_return(False, exc.args[0])
            except Exception as exc:
                raised = raised or exc
        if left:
            self._api_return(True, KafkaError(
                ErrorCode._TIMED_OUT, "Failed to flush all outstanding messages within the "
                f"API timeout: {left} message(s) remaining", retriable=True))
        return raised

    def _op_begin_commit(self) -> None:
        with self.lock:
            error = self._require(S.IN_TRANSACTION, S.BEGIN_COMMIT, S.COMMITTING_TRANSACTION,
                                  S.COMMIT_NOT_ACKED)
            if error is None and self.state is S.IN_TRANSACTION:
                self._set_state(S.BEGIN_COMMIT)
        self._set_result(error)

    def _op_commit(self) -> None:
        with self.lock:
            error = self._require(S.BEGIN_COMMIT, S.COMMITTING_TRANSACTION, S.COMMIT_NOT_ACKED)
            state = self.state
            if error is None and state is S.BEGIN_COMMIT and self.dr_fails:
                error = KafkaError(ErrorCode._INCONSISTENT, f"{self.dr_fails} message(s) "
                                   "failed delivery (see individual delivery reports)",
                                   txn_requires_abort=True)
            send = bool(self.req_cnt)
        if error is not None:
            if error.txn_requires_abort():
                self.set_abortable_error(error.code(), error.str())
            self._set_result(error)
        elif state is S.COMMIT_NOT_ACKED:
            self._set_result(None)  # committed after an earlier call timed out
        elif state is S.COMMITTING_TRANSACTION:
            pass  # a commit that timed out is still under way
        elif send:
            self._send_end_txn(commit=True)
        else:
            self.handle.dbg("eos", "TXNCOMMIT", "No partitions registered: not sending EndTxn")
            self._end_txn_complete(commit=True)

    def abort_transaction(self, timeout: float | None, flush: Flush) -> None:
        """App thread. Purge what is queued, wait for what is in flight (the producer's
        flush()), then abort the transaction on the coordinator (bumping the epoch first if an
        error requires it)."""
        deadline = self._api_begin("abort_transaction", timeout, cap=False)
        with self._calling_guard():
            error = self._op(self._op_begin_abort, deadline)
            if error is not None:
                self._api_return(False, error)
            purge(self.handle, in_queue=True, in_flight=False, blocking=True,
                  numbered_dropped=self.purged_in_abort, abort_txn=True)
            raised = self._flush_for(deadline, flush)
            error = self._op(self._op_abort, deadline)
            if error is not None:
                self._api_return(True, error)
            error = self._op(self._op_ack, _INF)
            self._api_return(False, error)
            if raised is not None:
                raise raised

    def _op_begin_abort(self) -> None:
        with self.lock:
            error = self._require(S.IN_TRANSACTION, S.BEGIN_ABORT, S.ABORTING_TRANSACTION,
                                  S.ABORTABLE_ERROR, S.ABORT_NOT_ACKED)
            if error is None and self.state in (S.IN_TRANSACTION, S.ABORTABLE_ERROR):
                self._set_state(S.BEGIN_ABORT)
                self._clear_partitions(pending_only=True)
                self._register_at = _INF
        self._set_result(error)

    def _op_abort(self) -> None:
        with self.lock:
            error = self._require(S.BEGIN_ABORT, S.ABORTING_TRANSACTION, S.ABORT_NOT_ACKED)
            state = self.state
            req_cnt = self.req_cnt
        if error is not None:
            self._set_result(error)
            return
        if state is S.ABORT_NOT_ACKED:
            self._set_result(None)
            return
        if state is S.ABORTING_TRANSACTION:
            return  # an abort that timed out is still under way
        if not req_cnt:
            self.handle.dbg("eos", "TXNABORT", "No partitions registered: not sending EndTxn")
            self._end_txn_complete(commit=False)
            return
        if self.idempotence.state not in (IdempState.ASSIGNED, IdempState.WAIT_TXN_ABORT):
            # The producer id is being bumped: idemp_state_change() finishes the abort.
            self.handle.dbg("eos", "TXNABORT", "Waiting for transaction coordinator PID bump "
                            "to complete before aborting transaction (idempotent producer "
                            f"state {self.idempotence.state.value})")
            return
        self._send_end_txn(commit=False)

    def _send_end_txn(self, commit: bool) -> None:
        """App or main thread. EndTxn to the coordinator (the main thread retries while it
        is not known)."""
        pid = self.idempotence.pid
        broker = self.coordinator_broker()
        if pid is None:
            self._set_result(KafkaError(ErrorCode._STATE, "No PID available (idempotence "
                                        f"state {self.idempotence.state.value})",
                                        retriable=True))
            return
        with self.lock:
            self._set_state(S.COMMITTING_TRANSACTION if commit else S.ABORTING_TRANSACTION)
        if broker is None:
            self._end_txn_retry = (self.handle.clock() + 0.05, commit)
            self.handle.wake_main_at(self._end_txn_retry[0])
            return
        txn_id = self.transactional_id
        broker.enqueue_request(Request(
            end_txn_msgs.EndTxnResponse,
            lambda v: end_txn_msgs.EndTxnRequest(transactional_id=txn_id, producer_id=pid.id,
                                                 producer_epoch=pid.epoch, committed=commit),
            lambda b, e, r, q: self._on_end_txn(commit, b, e, r),
            self.handle.request_timeout, max_version=_END_TXN_MAX))

    def _on_end_txn(self, commit: bool, broker: Broker, err: int,
                    response: EndTxnResponse | None) -> None:
        """Broker thread (rd_kafka_txn_handle_EndTxn)."""
        if err == ErrorCode._DESTROY:
            return
        if not err:
            err = response.error_code if response is not None else ErrorCode._BAD_MSG
        with self.lock:
            state = self.state
            txn_err, txn_errstr = self.txn_err, self.txn_errstr
        if state is S.ABORTABLE_ERROR:
            # The transaction failed locally meanwhile: that error is the answer.
            self._set_result(*_failed_locally(commit, err, txn_err, txn_errstr))
            return
        if not err and state not in (S.COMMITTING_TRANSACTION, S.ABORTING_TRANSACTION):
            return  # outdated
        if not err:
            self._end_txn_complete(commit)
            return
        actions = err_action(err, RequestKind.END_TXN) or ErrAction.PERMANENT
        if err in (ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE) or \
                actions & ErrAction.REFRESH:
            self.coordinator.reset()
        require_bump = bool(actions & ErrAction.SPECIAL)
        err = _normalize(err)
        text = f"EndTxn {'commit' if commit else 'abort'} failed: {err2str(err)}"
        if actions & ErrAction.FATAL:
            self.set_fatal_error(err, f"Failed to end transaction: {err2str(err)}")
        elif actions & ErrAction.PERMANENT:
            if require_bump and not commit:
                self.idempotence.drain_epoch_bump(err, text, allow_txn_abort=False)
                return
            with self.lock:
                if self.state is S.ABORTING_TRANSACTION:
                    self._set_state(S.BEGIN_ABORT)
            self.set_abortable_error(err, f"Failed to end transaction: {err2str(err)}",
                                     require_bump)
        elif actions & ErrAction.RETRY:
            self._end_txn_retry = (self.handle.clock() + (
                0.05 if actions & ErrAction.REFRESH else
                self.handle.settings.get_int("retry.backoff.ms") / 1000.0), commit)
            self.handle.wake_main_at(self._end_txn_retry[0])
            return
        self._set_result(KafkaError(err, text), actions)

    def _end_txn_complete(self, commit: bool) -> None:
        """Any thread (rd_kafka_txn_endtxn_complete). An epoch bump an error required is
        done first (idemp_state_change finishes the abort)."""
        with self.lock:
            bump = self.requires_epoch_bump
            bump_err = self.txn_err
            if not bump:
                self._set_state(S.COMMIT_NOT_ACKED if commit else S.ABORT_NOT_ACKED)
        if bump:
            self.idempotence.drain_epoch_bump(bump_err, f"Transaction aborted: "
                                                        f"{err2str(bump_err)}",
                                              allow_txn_abort=False)
            return
        self._set_result(None)

    # --- statistics -------------------------------------------------------------------------------

    def stats(self, now: float) -> tuple[str, int, bool]:
        """Any thread. txn_state, txn_stateage (ms), txn_may_enq."""
        return self.state.value, int((now - self.state_since) * 1000), self.may_enq


#: States in which the transaction's queued messages are purged rather than kept.
_DISCARDS_QUEUED = frozenset((S.ABORTABLE_ERROR, S.BEGIN_ABORT, S.ABORTING_TRANSACTION,
                              S.ABORT_NOT_ACKED))


def _coordinator_name(broker: Broker) -> str:
    """How librdkafka names the transaction coordinator in errors (its logical broker)."""
    return f"TxnCoordinator/{broker.node_id}"


def _rtt_ms(broker: Broker, request: Request[Any]) -> int:
    """How long the request took, as librdkafka's "(after N ms)"."""
    return int((broker.clock() - request.sent_at) * 1000) if request.sent_at else 0


def _failed_locally(commit: bool, err: int, txn_err: int, txn_errstr: str
                    ) -> tuple[KafkaError, ErrAction]:
    """EndTxn's answer once the transaction had failed locally (rd_kafka_txn_handle_EndTxn):
    the local error, abortable, or fatal when the broker committed it after all."""
    if err:
        return KafkaError(txn_err, f"EndTxn failed with {err2name(err)} but transaction had "
                          f"already failed due to: {txn_errstr}"), ErrAction.PERMANENT
    if commit:
        return KafkaError(txn_err, "Transaction commit succeeded on the broker but the "
                          f"transaction had already failed locally due to: {txn_errstr}"
                          ), ErrAction.FATAL
    return KafkaError(txn_err, "Transaction abort succeeded on the broker but the "
                      f"transactionhad already failed locally due to: {txn_errstr}"
                      ), ErrAction.PERMANENT


def _deadline(timeout: float | None) -> float:
    if timeout is None or timeout < 0:
        return _INF
    return time.monotonic() + timeout


def _flagged(error: KafkaError, actions: ErrAction) -> KafkaError:
    """The error with the flag its actions give it (rd_kafka_txn_curr_api_set_result)."""
    if actions & ErrAction.FATAL:
        return KafkaError(error.code(), error.str(), fatal=True)
    if actions & ErrAction.PERMANENT:
        return KafkaError(error.code(), error.str(), txn_requires_abort=True)
    if actions & ErrAction.RETRY:
        return KafkaError(error.code(), error.str(), retriable=True)
    return error
