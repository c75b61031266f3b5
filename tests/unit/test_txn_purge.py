"""A transaction's messages that come back into a queue after its abort's purge, driven by
hand (no client thread): a ProduceRequest of the transaction, still in flight when
abort_transaction() purged the queues, is answered with a retriable error and its messages
are put back. They must fail at once (as purged) rather than wait for message.timeout.ms
with abort_transaction() waiting on them; and if such a message may have been written, the
abort bumps the epoch so that the next transaction never sends other messages under its
sequence numbers."""

from __future__ import annotations

import pytest

from rdpy.client.broker.broker import Broker
from rdpy.client.handle import Handle
from rdpy.client.msg import ProducerMessage
from rdpy.client.ops import DeliveryReports, Purge
from rdpy.client.produce.idempotence import IdempState, Idempotence, Pid
from rdpy.client.produce.server import InFlight, ProduceServer, SentBatch
from rdpy.client.produce.txn import Transactions, TxnState
from rdpy.client.request import Request
from rdpy.client.toppar import TXN_IN, Toppar
from rdpy.config import Conf
from rdpy.errors import ErrorCode
from rdpy.protocol.messages.init_producer_id import InitProducerIdResponse

PID = Pid(7, 0)


class Setup:
    """A transactional producer in a transaction that added t[0], led by broker 1, whose
    ProduceServer is driven by hand."""

    def __init__(self) -> None:
        settings = Conf.from_dict({"bootstrap.servers": "127.0.0.1:1", "log_level": 0,
                                   "transactional.id": "tx"}, "producer").finalize("producer")
        self.handle = Handle(settings, "producer")
        self.eos = Idempotence(self.handle)
        self.txn = Transactions(self.handle, self.eos, "tx")
        self.eos.attach(self.txn)
        self.broker = Broker(self.handle, 1, "127.0.0.1", 1)
        self.handle.brokers[1] = self.broker
        self.eos.state = IdempState.WAIT_PID
        self.eos._on_init_producer_id(self.broker, 0, InitProducerIdResponse(
            producer_id=PID.id, producer_epoch=PID.epoch), Request(
            InitProducerIdResponse, lambda v: None, lambda *a: None, 1.0))  # type: ignore[arg-type,return-value]
        self.server = ProduceServer(self.broker, self.eos)
        self.tp = Toppar("t", 0)
        self.broker.toppars.append(self.tp)
        assert self.tp.claim_xmitq(self.broker)
        with self.txn.lock:
            self.txn.state = TxnState.READY
        self.begin()

    def begin(self) -> None:
        self.txn._op_begin()
        assert self.txn.state is TxnState.IN_TRANSACTION
        self.tp.txn_state = TXN_IN

    def produce(self, first: int, n: int) -> None:
        for i in range(first, first + n):
            self.tp.enqueue(ProducerMessage("t", 0, None, b"%d" % i, None, 0, None, 0.0, 1e12, 1))
        self.tp.move_msgq_to_xmitq()

    def send(self, n: int) -> SentBatch:
        """The first `n` queued messages go out in one batch."""
        tp = self.tp
        assert self.eos.sendable_batches(tp) > 0
        msgs = [tp.xmitq.popleft() for _ in range(n)]
        tp.xmit_bytes -= sum(m.size for m in msgs)
        tp.inflight += n
        ident = self.eos.batch_identity(tp, msgs[0])
        self.eos.batch_sent(tp)
        return SentBatch(tp, msgs, Pid(ident.producer_id, ident.producer_epoch), ident.base_sequence)

    def answer(self, batch: SentBatch, err: int) -> None:
        self.server._settle(batch, InFlight({("t", 0): batch}), err, -1, -1, 0.0)

    def abort_purge(self) -> None:
        """abort_transaction(): BEGIN_ABORT, then its purge of the queues."""
        if self.txn.state is not TxnState.BEGIN_ABORT:
            self.txn._op_begin_abort()
        self.server.purge(Purge(True, False, None, abort_txn=True), 0.0)

    def reports(self) -> dict[bytes | None, int]:
        return {m.value: m.err for op in self.handle.reply_q.pop_all()
                if isinstance(op, DeliveryReports) for m in op.msgs}


def test_messages_put_back_while_aborting_fail_as_purged() -> None:
    """They were held (nothing is sent while aborting) until message.timeout.ms, and
    abort_transaction()'s flush with them."""
    s = Setup()
    s.produce(1, 6)
    batch = s.send(3)
    s.abort_purge()
    assert s.reports() == {b"4": ErrorCode._PURGE_QUEUE, b"5": ErrorCode._PURGE_QUEUE,
                           b"6": ErrorCode._PURGE_QUEUE}
    s.answer(batch, ErrorCode.NOT_ENOUGH_REPLICAS)  # retriable, not written
    s.server.serve(1.0)
    assert not s.tp.xmitq and not s.tp.msgq
    assert s.reports() == {b"1": ErrorCode._PURGE_QUEUE, b"2": ErrorCode._PURGE_QUEUE,
                           b"3": ErrorCode._PURGE_QUEUE}


@pytest.mark.parametrize("requeued", ["before-the-abort", "after-its-purge"])
def test_an_abort_that_purged_possibly_written_messages_bumps_the_epoch(requeued: str) -> None:
    """REQUEST_TIMED_OUT leaves open whether 1..3 (seqs 0..2 under epoch 0) were written:
    skipping them, the next transaction sent its first batch under epoch 0 from seq 0
    (DUPLICATE_SEQUENCE_NUMBER reported as delivered, or a fatal OUT_OF_ORDER)."""
    s = Setup()
    s.produce(1, 6)
    batch = s.send(3)
    if requeued == "before-the-abort":
        s.answer(batch, ErrorCode.REQUEST_TIMED_OUT)  # queued again for a retry
        s.abort_purge()
    else:
        s.abort_purge()
        s.answer(batch, ErrorCode.REQUEST_TIMED_OUT)
        s.server.serve(1.0)
    assert set(s.reports()) == {b"1", b"2", b"3", b"4", b"5", b"6"}
    assert s.txn.requires_epoch_bump
    s.txn._op_abort()  # nothing registered on the coordinator: ends locally, then bumps
    assert s.txn.state is TxnState.BEGIN_ABORT
    # Drained (nothing in flight), so the bump is asked for: no batch goes out meanwhile.
    assert s.eos.state is IdempState.REQ_PID and s.eos.send_pid is None


def test_an_abort_that_purged_unwritten_messages_keeps_the_epoch() -> None:
    """NOT_ENOUGH_REPLICAS: not written, so the sequence skips them and the next
    transaction carries on under the same epoch."""
    s = Setup()
    s.produce(1, 6)
    batch = s.send(3)
    s.abort_purge()
    s.answer(batch, ErrorCode.NOT_ENOUGH_REPLICAS)
    s.server.serve(1.0)
    assert len(s.reports()) == 6 and not s.txn.requires_epoch_bump
    s.txn._op_abort()
    s.txn._op_ack()
    assert s.txn.state is TxnState.READY
    s.begin()
    s.produce(7, 3)
    nxt = s.send(3)
    assert (nxt.pid, nxt.base_seq) == (PID, 0)
