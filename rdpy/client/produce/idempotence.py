"""The idempotent producer (enable.idempotence=true): the producer id and epoch, each
partition's sequence numbers, and the recoveries that keep them in step with the brokers
(librdkafka's rdkafka_idempotence.c and the idempotent parts of rd_kafka_handle_Produce_error).

`Idempotence` is the client's ProducerIdentity and one of its MainThreadWork components:
- The main thread asks any UP broker (a transactional producer: its transaction coordinator)
  for a producer id (InitProducerId) whenever the state is REQ_PID: at start (a transactional
  producer: when init_transactions() asks), after a drain for a reset or a coordinator bump,
  and 500 ms after a failed attempt.
- Broker threads ask `sendable_batches(tp)` before sending a partition's batches (the gate:
  no id, a drain in progress or a partition still waiting for its batches in flight hold it;
  at most five batches in flight per partition, the brokers' de-duplication window), then
  `batch_identity()` for each batch's header, and report each batch sent and settled.
- A partition's sequence numbers follow from msgids (given in queue order, see Toppar): the
  base sequence of a batch is its first msgid minus the msgid that was sequence 0 when the
  partition started under the current id and epoch, wrapped at 2**31.
- Produce errors that break the sequence (a gap left by a timed-out or failed message, an
  answer out of order) drain every partition's requests in flight and then bump the epoch
  locally (KIP-360) or fail the producer with a fatal error, as librdkafka decides it
  (`produce_error`).

Threads: the main thread (main_tick), broker threads (gate, identity, responses: possibly a
former leader's thread), any thread for the statistics. `lock` guards the state, the id and
the count of partitions with batches in flight; it is taken before a toppar's lock and before
the transaction manager's (which it tells of state changes), never after either.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from rdpy.client.broker.setup import BrokerState
from rdpy.client.produce.identity import BatchIdentity
from rdpy.client.request import Request
from rdpy.client.toppar import TXN_IN
from rdpy.errors import ErrAction, ErrorCode, RequestKind, err2str, err_action
from rdpy.protocol.messages import init_producer_id as init_producer_id_msgs

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.handle import Handle
    from rdpy.client.msg import ProducerMessage
    from rdpy.client.produce.txn import Transactions
    from rdpy.client.toppar import Toppar
    from rdpy.protocol.messages.init_producer_id import InitProducerIdResponse

__all__ = ["IdempState", "Idempotence", "ProduceErr", "Pid", "MAX_INFLIGHT_BATCHES"]

#: Batches in flight per partition: the brokers remember the last five of each producer.
MAX_INFLIGHT_BATCHES = 5
_SEQ_MASK = 0x7FFFFFFF
#: librdkafka's PID timer: a failed InitProducerId is sent again after 500 ms.
_PID_RETRY_INTERVAL = 0.5
#: InitProducerId v5+ belongs to the next transaction protocol (KIP-890, KIP-939).
_INIT_PID_MAX = 4


class IdempState(str, enum.Enum):
    """The producer id's state; the values are librdkafka's names (statistics' idemp_state)."""

    INIT = "Init"
    TERM = "Terminate"
    FATAL_ERROR = "FatalError"
    REQ_PID = "RequestPID"
    WAIT_TRANSPORT = "WaitTransport"
    WAIT_PID = "WaitPID"
    ASSIGNED = "Assigned"
    DRAIN_RESET = "DrainReset"
    DRAIN_BUMP = "DrainBump"
    WAIT_TXN_ABORT = "WaitTxnAbort"


class Pid(NamedTuple):
    """A producer id and epoch."""

    id: int
    epoch: int

    def bumped(self) -> Pid:
        """The next epoch (rd_kafka_pid_bump: wraps within int16's positive range)."""
        return Pid(self.id, (self.epoch + 1) & 0x7FFF)

    def __str__(self) -> str:
        return f"PID{{Id:{self.id},Epoch:{self.epoch}}}"


@dataclass
class ProduceErr:
    """What to do about one partition's failed batch (librdkafka's struct
    rd_kafka_Produce_err): the error reported for messages that fail, the actions, whether a
    retry counts against `retries`, and which expected sequences move past the batch."""

    err: int
    actions: ErrAction
    incr_retry: bool = True
    update_next_ack: bool = False
    update_next_err: bool = True


class Idempotence:
    """The idempotent producer's identity and state machine (one per producer). A
    transactional producer attaches its transaction manager (`attach`): the producer id then
    comes from the transaction coordinator when init_transactions() asks for it, and errors
    that need an epoch bump fail the transaction first (librdkafka's WAIT_TXN_ABORT)."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.gapless = handle.settings.get_bool("enable.gapless.guarantee")
        self.lock = threading.Lock()
        self.state = IdempState.REQ_PID
        self.state_since = handle.clock()
        #: The current id and epoch (None before the first InitProducerId answer).
        self.pid: Pid | None = None
        #: What broker threads send under: `pid` while ASSIGNED, else None (read without
        #: the lock: one attribute, replaced whole).
        self.send_pid: Pid | None = None
        #: Ids and epochs taken since start (statistics' epoch_cnt).
        self.epoch_cnt = 0
        #: Partitions with at least one batch in flight (rk_eos.inflight_toppar_cnt).
        self.inflight_toppars = 0
        self._next_pid_request = 0.0
        self._started = self.state_since
        #: The transaction manager of a transactional producer (None: idempotent only).
        self.txn: Transactions | None = None

    def attach(self, txn: Transactions) -> None:
        """App thread, before the client starts. Serve a transactional producer: no
        producer id until init_transactions() asks for one (start())."""
        self.txn = txn
        self.state = IdempState.INIT

    @property
    def transactional_id(self) -> str | None:
        """The transactional.id every ProduceRequest carries (None: not transactional)."""
        return self.txn.transactional_id if self.txn is not None else None

    def start(self) -> None:
        """Any thread. Ask for a producer id now (unless a request is out already)."""
        with self.lock:
            if self.state not in (IdempState.INIT, IdempState.REQ_PID,
                                  IdempState.WAIT_TRANSPORT):
                return  # asked for already, or assigned meanwhile
            self._set_state(IdempState.REQ_PID)
            self._next_pid_request = 0.0
        self.handle.wake_main()

    # --- state (lock held) ----------------------------------------------------------------------

    def _set_state(self, state: IdempState) -> None:
        if state is self.state:
            return
        if self.handle.fatal_error is not None and state not in (IdempState.FATAL_ERROR,
                                                                 IdempState.TERM):
            return  # nothing more happens after a fatal error (no new producer id)
        self.handle.dbg("eos", "IDEMPSTATE", f"Idempotent producer state change "
                        f"{self.state.value} -> {state.value}")
        self.state = state
        self.state_since = self.handle.clock()
        self.send_pid = self.pid if state is IdempState.ASSIGNED else None
        if self.txn is not None:
            self.txn.idemp_state_change(state)

    # --- main thread: acquiring a producer id ----------------------------------------------------

    def main_tick(self, now: float) -> None:
        """Main thread. Send InitProducerId when one is due: to any UP broker, or to the
        transaction coordinator (with the current id and epoch when bumping it, KIP-360)."""
        handle = self.handle
        txn = self.txn
        if handle.fatal_error is not None:
            return  # a producer with a fatal error asks for nothing any more
        with self.lock:
            if self.state is not IdempState.REQ_PID or now < self._next_pid_request:
                return
            if txn is not None:
                broker = txn.coordinator_broker()
            else:
                with handle.lock:
                    up = [b for b in list(handle.brokers.values()) + handle.bootstrap
                          if b.state == BrokerState.UP]
                broker = up[0] if up else None
            if broker is None:
                return  # the next tick (or a broker coming up) tries again
            self._set_state(IdempState.WAIT_PID)
            current = self.pid if txn is not None else None
        handle.dbg("eos", "GETPID", f"{broker.name}: " + (
            f"Requesting ProducerId bump for {current}" if current is not None
            else "Acquiring ProducerId"))
        txn_id = txn.transactional_id if txn is not None else None
        timeout_ms = txn.timeout_ms if txn is not None else -1
        producer_id, epoch = current if current is not None else (-1, -1)
        broker.enqueue_request(Request(
            init_producer_id_msgs.InitProducerIdResponse,
            lambda v: init_producer_id_msgs.InitProducerIdRequest(
                transactional_id=txn_id, transaction_timeout_ms=timeout_ms,
                producer_id=producer_id, producer_epoch=epoch),
            self._on_init_producer_id, handle.request_timeout, max_version=_INIT_PID_MAX))

    def _on_init_producer_id(self, broker: Broker, err: int,
                             response: InitProducerIdResponse | None,
                             _request: Request[InitProducerIdResponse]) -> None:
        """Broker thread. The producer id is ours, or the request is sent again later."""
        if response is not None and response.error_code:
            err = response.error_code
        if err or response is None:
            self._pid_failed(broker, err or ErrorCode._BAD_MSG)
            return
        pid = Pid(response.producer_id, response.producer_epoch)
        with self.lock:
            if self.state is not IdempState.WAIT_PID:
                self.handle.dbg("eos", "GETPID", f"{broker.name}: Ignoring InitProduceId "
                                f"response ({pid}) in state {self.state.value}")
                return
            if pid.id < 0 or pid.epoch < 0:
                valid = False
            else:
                valid = True
                previous = f" (previous {self.pid})" if self.pid is not None else ""
                self.handle.dbg("eos", "GETPID", f"Acquired {pid}{previous}")
                self.pid = pid
                self.epoch_cnt += 1
                self._set_state(IdempState.ASSIGNED)
        if not valid:
            self.handle.log(4, "GETPID", f"{broker.name}: Acquired invalid "
                            f"PID{{{pid.id},{pid.epoch}}}: ignoring")
            self._pid_failed(broker, ErrorCode._BAD_MSG)
            return
        self._wake_brokers()

    def _pid_failed(self, broker: Broker, err: int) -> None:
        """Broker thread. InitProducerId failed: fatal, or asked again in 500 ms
        (rd_kafka_idemp_request_pid_failed)."""
        if err == ErrorCode._DESTROY:
            return
        kind = "transactional" if self.txn is not None else "idempotence"
        text = f"Failed to acquire {kind} PID from broker {broker.name}: {err2str(err)}"
        if err_action(err, RequestKind.INIT_PRODUCER_ID) & ErrAction.FATAL:
            if err in (ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED):
                self.set_fatal_error(ErrorCode._FENCED, f"Producer fenced by newer instance: "
                                                        f"{text}")
            else:
                self.set_fatal_error(err, text)
            return
        if self.txn is not None:
            self.txn.pid_failed(err)
        with self.lock:
            if self.state in (IdempState.FATAL_ERROR, IdempState.TERM):
                return
            self._set_state(IdempState.REQ_PID)
            self._next_pid_request = self.handle.clock() + _PID_RETRY_INTERVAL
            retry_at = self._next_pid_request
        self.handle.log(4, "GETPID", f"{text}: retrying")
        self.handle.wake_main_at(retry_at)

    def _wake_brokers(self) -> None:
        """Any thread. Every broker thread looks at its partitions again (a new id)."""
        for b in self.handle.all_brokers():
            b.wake()

    # --- fatal errors ----------------------------------------------------------------------------

    def set_fatal_error(self, err: int, reason: str) -> None:
        """Any thread. The producer can no longer keep its guarantees: nothing more is sent,
        queued messages fail and the application is told (Handle.set_fatal_error)."""
        with self.lock:
            self._set_state(IdempState.FATAL_ERROR)
        if self.txn is not None:
            self.txn.set_fatal_error(err, reason)
        else:
            self.handle.set_fatal_error(err, reason)

    # --- drains (rd_kafka_idemp_drain_*) ---------------------------------------------------------

    def drain_epoch_bump(self, err: int, reason: str, allow_txn_abort: bool = True) -> None:
        """Any thread. Hold every partition until nothing is in flight, then bump the
        epoch (every partition's sequence starts over under it). A transaction in progress
        must be aborted first: it fails with an abortable error that requires the bump,
        which abort_transaction() then asks the coordinator for."""
        # A transaction under way fails first (its abort bumps); between transactions the
        # coordinator bumps at once.
        txn_abort = allow_txn_abort and self.txn is not None and self.txn.in_transaction()
        with self.lock:
            if self.state in (IdempState.FATAL_ERROR, IdempState.TERM):
                return
            self.handle.dbg("eos", "DRAIN", (
                "Need transaction abort before beginning partition drain" if txn_abort
                else "Beginning partition drain") + f" in state {self.state.value} for "
                f"{self.pid} epoch bump for {self.inflight_toppars} partition(s) with "
                f"in-flight requests: {reason}")
            if txn_abort:
                self._set_state(IdempState.WAIT_TXN_ABORT)
                drained = False
            else:
                self._set_state(IdempState.DRAIN_BUMP)
                drained = self.inflight_toppars == 0
        if txn_abort:
            assert self.txn is not None
            self.txn.set_abortable_error(err, reason, requires_epoch_bump=True)
        elif drained:
            self._drain_done()

    def drain_reset(self, reason: str) -> None:
        """Any thread. Hold every partition until nothing is in flight, then ask for a new
        producer id."""
        with self.lock:
            if self.state in (IdempState.FATAL_ERROR, IdempState.TERM) or \
                    self.handle.fatal_error is not None:
                return
            self.handle.dbg("eos", "DRAIN", f"Beginning partition drain for {self.pid} reset "
                            f"for {self.inflight_toppars} partition(s) with in-flight "
                            f"requests: {reason}")
            self._set_state(IdempState.DRAIN_RESET)
            drained = self.inflight_toppars == 0
        if drained:
            self._drain_done()

    def _drain_done(self) -> None:
        """Any thread. Nothing is in flight any more: finish the reset or the bump."""
        wake_brokers = False
        with self.lock:
            if self.state is IdempState.DRAIN_RESET:
                self.handle.dbg("eos", "DRAIN", "All partitions drained")
                self._set_state(IdempState.REQ_PID)
                self._next_pid_request = 0.0
            elif self.state is IdempState.DRAIN_BUMP and self.txn is not None:
                # The coordinator bumps a transactional producer's epoch (InitProducerId).
                self.handle.dbg("eos", "DRAIN", "All partitions drained, asking coordinator "
                                f"to bump epoch (currently {self.pid})")
                self._set_state(IdempState.REQ_PID)
                self._next_pid_request = 0.0
            elif self.state is IdempState.DRAIN_BUMP and self.pid is not None:
                self.pid = self.pid.bumped()
                self.handle.dbg("eos", "DRAIN", f"All partitions drained, bumped epoch to "
                                f"{self.pid}")
                self._set_state(IdempState.ASSIGNED)
                wake_brokers = True
            else:
                return
        if wake_brokers:
            self._wake_brokers()
        else:
            self.handle.wake_main()

    def drain_toppar(self, tp: Toppar, reason: str) -> None:
        """Broker thread. `tp` sends nothing new until its batches in flight are answered."""
        if tp.wait_drain:
            return
        self.handle.dbg("eos", "DRAIN", f"{tp.topic} [{tp.partition}] beginning partition "
                        f"drain: {reason}")
        tp.wait_drain = True

    # --- broker threads: sending ------------------------------------------------------------------

    def sendable_batches(self, tp: Toppar) -> int:
        """Leader's broker thread, after msgq was moved to the transmit queue. How many more
        of `tp`'s batches may be sent now (0: hold it). Starts the partition's sequence over
        when the id or epoch changed and nothing of it is in flight."""
        pid = self.send_pid
        if pid is None:
            return 0
        txn = self.txn
        if txn is not None and (tp.txn_state != TXN_IN or not txn.may_send()):
            return 0  # not added to the transaction yet (or no transaction going on)
        inflight = tp.inflight_batches
        if tp.wait_drain:
            if inflight:
                return 0
            self.handle.dbg("eos", "TOPPAR", f"{tp.topic} [{tp.partition}] all in-flight "
                            "requests drained from queue")
            tp.wait_drain = False
        if tp.eos_pid != pid:
            if inflight or not tp.xmitq:
                return 0
            if self._resolve_under_old_epoch(tp, pid):
                return 1
            base = tp.xmitq[0].msgid
            with tp.lock:
                self.handle.dbg("eos", "NEWPID", f"{tp.topic} [{tp.partition}] changed "
                                f"{_pid_str(tp.eos_pid)} -> {pid} with base MsgId {base}")
                tp.eos_pid = pid
                tp.epoch_base_msgid = base
                tp.next_ack_seq = 0
                tp.next_err_seq = 0
        return MAX_INFLIGHT_BATCHES - inflight

    def _resolve_under_old_epoch(self, tp: Toppar, pid: Pid) -> bool:
        """Whether `tp`'s next batch goes out once more under the epoch it was sent with.
        A batch whose earlier send may have been written (a lost connection, a timeout) must
        be sent again where the broker can recognise it: under a new epoch it would be
        written twice. So when the epoch was bumped for another reason (a gap elsewhere) and
        this batch is exactly the next sequence the old epoch expects, it is settled there
        first; the partition moves to the new epoch once it is answered."""
        head = tp.xmitq[0]
        old = tp.eos_pid
        return (old is not None and old[0] == pid.id and head.last_msgid != 0
                and head.possibly_persisted
                and (head.msgid - tp.epoch_base_msgid) & _SEQ_MASK == tp.next_ack_seq)

    def batch_identity(self, tp: Toppar, first: ProducerMessage) -> BatchIdentity:
        """Leader's broker thread, after sendable_batches() let `tp` send."""
        pid = tp.eos_pid
        assert pid is not None  # set by sendable_batches()
        return BatchIdentity(producer_id=pid[0], producer_epoch=pid[1],
                             base_sequence=(first.msgid - tp.epoch_base_msgid) & _SEQ_MASK,
                             transactional=self.txn is not None)

    def batch_sent(self, tp: Toppar) -> None:
        """Leader's broker thread. One more batch of `tp` in flight."""
        with tp.lock:
            tp.inflight_batches += 1
            first = tp.inflight_batches == 1
        if first:
            with self.lock:
                self.inflight_toppars += 1

    def batch_settled(self, tp: Toppar, broker: Broker) -> None:
        """The broker thread that sent it. One of `tp`'s batches was answered (or failed,
        or purged), its messages already reported or queued again."""
        with tp.lock:
            tp.inflight_batches -= 1
            last = tp.inflight_batches == 0
        if not last:
            return
        with self.lock:
            self.inflight_toppars -= 1
            drained = self.inflight_toppars == 0 and self.state in (IdempState.DRAIN_BUMP,
                                                                    IdempState.DRAIN_RESET)
        if drained:
            self._drain_done()
        leader = tp.leader
        if leader is not None and leader is not broker:
            leader.wake()  # a new leader waits for this partition's drain

    # --- broker threads: answers ---------------------------------------------------------------------

    def produce_success(self, broker: Broker, tp: Toppar, base_seq: int, next_seq: int,
                        first_msgid: int, last_msgid: int) -> int:
        """A batch was written (rd_kafka_handle_idempotent_Produce_success): the expected
        sequences move past it. Returns the msgid up to which messages still queued are
        acknowledged by it (an earlier batch that failed with an uncertain outcome was
        written after all), or 0."""
        fatal = ""
        implicit_ack = 0
        with tp.lock:
            if tp.acked_msgid < first_msgid - 1:
                implicit_ack = last_msgid
            elif base_seq != tp.next_ack_seq and base_seq == tp.next_err_seq:
                fatal = (f"ProduceRequest for {tp.topic} [{tp.partition}] with "
                         f"{last_msgid - first_msgid + 1} message(s) succeeded when expecting "
                         f"failure (broker {broker.node_id} {_pid_str(tp.eos_pid)}, base seq "
                         f"{base_seq}, next ack seq {tp.next_ack_seq}, next err seq "
                         f"{tp.next_err_seq}: unable to retry without risking "
                         "duplication/reordering")
                tp.next_err_seq = next_seq
            if not fatal:
                if tp.next_err_seq == tp.next_ack_seq:
                    tp.next_err_seq = next_seq
                tp.next_ack_seq = next_seq
            if last_msgid > tp.acked_msgid:
                tp.acked_msgid = last_msgid
        if fatal:
            self.set_fatal_error(ErrorCode._INCONSISTENT, fatal)
        return implicit_ack

    def produce_error(self, broker: Broker, tp: Toppar, perr: ProduceErr, batch_pid: Pid,
                      base_seq: int, msgs: list[ProducerMessage], count: int) -> None:
        """A batch failed with `perr.err`: the idempotent producer's own handling of it
        (rd_kafka_handle_idempotent_Produce_error), changing `perr` before the retry or
        failure is carried out."""
        if tp.eos_pid != batch_pid:
            # The id changed since: no retry can be known to be correct.
            perr.actions = ErrAction.PERMANENT
            self.handle.dbg("eos", "ERRPID", f"{tp.topic} [{tp.partition}] PID mismatch: "
                            f"request {batch_pid} != partition {_pid_str(tp.eos_pid)}: failing "
                            f"messages with error {err2str(perr.err)}")
            return
        err = perr.err
        what = (f"ProduceRequest for {tp.topic} [{tp.partition}] with {count} message(s) "
                "failed")
        if err == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER:
            behind = base_seq - tp.next_ack_seq
            if behind == 0:
                # The first batch in flight: the broker and we disagree about the sequence.
                self.set_fatal_error(err, f"{what} due to sequence desynchronization with "
                                          f"broker {broker.node_id} ({batch_pid}, base seq "
                                          f"{base_seq})")
                perr.actions = ErrAction.PERMANENT
                perr.update_next_ack = False
                perr.update_next_err = True
            elif behind > 0:
                # An earlier batch failed, so this one skipped sequence numbers: not
                # written, safe to send again after an epoch bump (without counting a retry).
                self.handle.dbg("eos", "ERRSEQ", f"{what} due to skipped sequence numbers "
                                f"({batch_pid}, base seq {base_seq} > next seq "
                                f"{tp.next_ack_seq}) caused by previous failed request: "
                                "recovering and retrying")
                perr.incr_retry = False
                perr.actions = ErrAction.RETRY
                perr.update_next_ack = False
                perr.update_next_err = True
                self.drain_epoch_bump(err, "skipped sequence numbers")
            else:
                self.set_fatal_error(err, f"{what} with rewound sequence number on broker "
                                          f"{broker.node_id} ({batch_pid}, base seq {base_seq} "
                                          f"< next seq {tp.next_ack_seq})")
                perr.actions = ErrAction.PERMANENT
                perr.update_next_ack = False
                perr.update_next_err = False
        elif err == ErrorCode.DUPLICATE_SEQUENCE_NUMBER:
            # Written before, by a send whose answer was lost: delivered.
            self.handle.dbg("eos", "DUPSEQ", f"{what} due to duplicate sequence number: "
                            "previous send succeeded but was not acknowledged "
                            f"({batch_pid}, base seq {base_seq}): marking the messages "
                            "successfully delivered")
            perr.err = 0
            perr.actions = ErrAction(0)
            perr.update_next_ack = True
            perr.update_next_err = True
        elif err == ErrorCode.UNKNOWN_PRODUCER_ID:
            # The brokers forgot us (our last records were deleted): safe to start over
            # only if nothing before this batch is unaccounted for.
            if self.txn is not None:
                # The transaction fails; abort_transaction() has the epoch bumped.
                self.handle.dbg("eos", "UNKPID", f"{what} due to unknown producer id "
                                f"({batch_pid}, base seq {base_seq}): failing the current "
                                "transaction")
                self.drain_epoch_bump(err, "unknown producer id")
                perr.incr_retry = False
                perr.actions = ErrAction.PERMANENT
            elif msgs and not msgs[0].retries and tp.next_err_seq == base_seq:
                self.handle.dbg("eos", "UNKPID", f"{what} due to unknown producer id "
                                f"({batch_pid}, base seq {base_seq}, 0 retries): no risk of "
                                "duplication/reordering: resetting PID and retrying")
                self.drain_epoch_bump(err, "unknown producer id")
                perr.incr_retry = False
                perr.actions = ErrAction.RETRY
            else:
                retries = msgs[0].retries if msgs else 0
                self.set_fatal_error(err, f"{what} due to unknown producer id (broker "
                                          f"{broker.node_id} {batch_pid}, base seq {base_seq}, "
                                          f"{retries} retries): unable to retry without "
                                          "risking duplication/reordering")
                perr.actions = ErrAction.PERMANENT
            perr.update_next_ack = False
            perr.update_next_err = True

    def retrying(self, tp: Toppar, perr: ProduceErr) -> None:
        """A failed batch goes back to its queue: drain the partition first, so the retry
        is sent knowing how every batch before it ended."""
        perr.update_next_ack = False
        perr.update_next_err = True
        self.drain_toppar(tp, "drain before retrying")

    def failed_permanently(self, tp: Toppar, perr: ProduceErr, broker: Broker,
                           batch_pid: Pid, base_seq: int, count: int) -> None:
        """A batch's messages failed for good: they leave a gap in the sequence. A
        transactional producer fenced by a newer instance stops (_FENCED), any other failure
        fails its transaction; an idempotent one stops with enable.gapless.guarantee, else
        every partition starts over under a bumped epoch."""
        where = (f"ProduceRequest for {tp.topic} [{tp.partition}] with {count} message(s) "
                 f"failed: {err2str(perr.err)} (broker {broker.node_id} {batch_pid}, base seq "
                 f"{base_seq})")
        if self.txn is not None and perr.err == ErrorCode.INVALID_PRODUCER_EPOCH:
            self.txn.set_fatal_error(ErrorCode._FENCED, f"{where}: transactional producer "
                                                        "fenced by newer producer instance")
            self.drain_reset("fenced by new transactional producer")
        elif self.txn is not None:
            self.txn.set_abortable_error(perr.err, f"{where}: current transaction must be "
                                                   "aborted")
        elif self.gapless:
            self.set_fatal_error(ErrorCode._GAPLESS_GUARANTEE,
                                 f"{where}: unable to satisfy gap-less guarantee")
            self.drain_reset("unable to satisfy gap-less guarantee")
        else:
            self.drain_epoch_bump(perr.err, "message sequence gap")
        perr.update_next_ack = False
        perr.update_next_err = True

    def purged(self, tp: Toppar, msgs: Sequence[ProducerMessage], abort_txn: bool = False) -> None:
        """Any thread. purge() took `msgs`, messages of `tp` that had sequence numbers
        (abort_transaction()'s purge: the sequence skips them)."""
        if self.txn is None:
            self.messages_dropped(tp, len(msgs), "purged")
        elif abort_txn:
            self.txn.purged_in_abort(tp, msgs)
        else:
            # Purged by the application: the transaction cannot commit (their reports are
            # failures, commit_transaction() says _INCONSISTENT), and its abort bumps the
            # epoch so that the next transaction's sequences have no gap.
            self.txn.purged_by_application()

    def messages_dropped(self, tp: Toppar, count: int, why: str) -> None:
        """Any thread. `count` messages of `tp` that had sequence numbers will never be sent
        (timed out, purged): the sequence has a gap, so every partition starts over under a
        bumped epoch once nothing is in flight."""
        self.drain_epoch_bump(ErrorCode._TIMED_OUT,
                              f"{count} message(s) {why} on {tp.topic} [{tp.partition}]")

    # --- statistics ----------------------------------------------------------------------------------

    def eos_stats(self, now: float) -> dict[str, object]:
        """Any thread. The statistics' "eos" object."""
        txn_state, txn_age, may_enq = (
            self.txn.stats(now) if self.txn is not None
            # No transaction manager: its state never changed since the start.
            else ("Init", int((now - self._started) * 1000), False))
        with self.lock:
            pid = self.pid
            return {
                "idemp_state": self.state.value,
                "idemp_stateage": int((now - self.state_since) * 1000),
                "txn_state": txn_state,
                "txn_stateage": txn_age,
                "txn_may_enq": may_enq,
                "producer_id": pid.id if pid is not None else -1,
                "producer_epoch": pid.epoch if pid is not None else -1,
                "epoch_cnt": self.epoch_cnt,
            }


def _pid_str(pid: tuple[int, int] | None) -> str:
    return str(Pid(*pid)) if pid is not None else "PID{Invalid}"
