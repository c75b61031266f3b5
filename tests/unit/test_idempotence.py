"""The idempotent producer's decisions, driven by hand: msgids in queue order, the send gate,
sequence numbers, the answers to Produce errors (librdkafka's
rd_kafka_handle_idempotent_Produce_error), drains and epoch bumps, and fatal errors as the
application sees them. No thread of the client is started except where a test says so."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import pytest

from rdpy import KafkaError, KafkaException, Producer
from rdpy.client.broker.broker import Broker
from rdpy.client.handle import Handle
from rdpy.client.msg import ProducerMessage
from rdpy.client.main_thread import _serve_leaderless
from rdpy.client.ops import DeliveryReports, ErrorEvent
from rdpy.client.produce.idempotence import (
    MAX_INFLIGHT_BATCHES,
    IdempState,
    Idempotence,
    Pid,
    ProduceErr,
)
from rdpy.client.produce.server import ProduceServer, SentBatch
from rdpy.client.toppar import Toppar
from rdpy.config import Conf
from rdpy.errors import ErrAction, ErrorCode, RequestKind, err_action
from rdpy.protocol.messages.init_producer_id import InitProducerIdResponse
from rdpy.client.request import Request


def _message(i: int = 0, deadline: float = 1e12) -> ProducerMessage:
    return ProducerMessage("t", 0, None, str(i).encode(), None, 0, None, 0.0, deadline, 1)


def _handle(**conf: Any) -> Handle:
    settings = Conf.from_dict({"bootstrap.servers": "127.0.0.1:1", "enable.idempotence": True,
                               **conf}, "producer").finalize("producer")
    return Handle(settings, "producer")


def _assigned(handle: Handle, pid: Pid = Pid(7, 0)) -> tuple[Idempotence, Broker]:
    """An Idempotence that was given `pid` by broker 1 (whose thread is not started)."""
    eos = Idempotence(handle)
    broker = Broker(handle, 1, "127.0.0.1", 1)
    handle.brokers[1] = broker
    eos.state = IdempState.WAIT_PID
    eos._on_init_producer_id(broker, 0, InitProducerIdResponse(
        producer_id=pid.id, producer_epoch=pid.epoch), _request())
    assert eos.state is IdempState.ASSIGNED and eos.send_pid == pid
    return eos, broker


def _request() -> Request[InitProducerIdResponse]:
    return Request(InitProducerIdResponse, lambda v: None,  # type: ignore[arg-type,return-value]
                   lambda *a: None, 1.0)


def _fill(tp: Toppar, n: int) -> list[ProducerMessage]:
    msgs = [_message(i) for i in range(n)]
    for m in msgs:
        tp.enqueue(m)
    tp.move_msgq_to_xmitq()
    return msgs


# --- msgids ---------------------------------------------------------------------------------------


def test_msgids_follow_queue_order_whatever_thread_produced() -> None:
    tp = Toppar("t", 0)
    threads = [threading.Thread(target=lambda: [tp.enqueue(_message()) for _ in range(2000)])
               for _ in range(4)]
    for t in threads:
        t.start()
    moved: list[ProducerMessage] = []
    while any(t.is_alive() for t in threads) or tp.msgq:
        tp.move_msgq_to_xmitq()
        moved += tp.xmitq
        tp.xmitq.clear()
    assert [m.msgid for m in moved] == list(range(1, 8001))
    assert tp.produced_msgs == 8000


def test_messages_handed_back_keep_their_msgids_and_merge_in_order() -> None:
    tp = Toppar("t", 0)
    first = _fill(tp, 4)  # msgids 1..4 in the transmit queue
    tp.xmitq.clear()
    later = _fill(tp, 3)  # msgids 5..7 in the transmit queue
    assert [m.msgid for m in later] == [5, 6, 7]
    # A former leader retries 1..4: back at msgq's head, ahead of a message not moved yet.
    tp.enqueue(_message(99))
    tp.requeue_front(first)
    assert [m.msgid for m in tp.msgq] == [1, 2, 3, 4, 0]
    tp.move_msgq_to_xmitq()
    assert [m.msgid for m in tp.xmitq] == [1, 2, 3, 4, 5, 6, 7, 8]


# --- the gate and sequence numbers -----------------------------------------------------------------


def test_nothing_is_sent_without_a_producer_id() -> None:
    handle = _handle()
    eos = Idempotence(handle)
    tp = Toppar("t", 0)
    _fill(tp, 3)
    assert eos.state is IdempState.REQ_PID
    assert eos.sendable_batches(tp) == 0


def test_a_partition_starts_its_sequence_at_the_head_of_its_queue() -> None:
    handle = _handle()
    eos, _ = _assigned(handle)
    tp = Toppar("t", 0)
    msgs = _fill(tp, 10)
    tp.xmitq = deque(msgs[4:])  # 1..4 went elsewhere (say, timed out) before the id came
    assert eos.sendable_batches(tp) == MAX_INFLIGHT_BATCHES
    assert tp.eos_pid == Pid(7, 0) and tp.epoch_base_msgid == 5
    identity = eos.batch_identity(tp, msgs[6])
    assert (identity.producer_id, identity.producer_epoch, identity.base_sequence) == (7, 0, 2)


def test_sequence_numbers_wrap_at_two_to_the_31() -> None:
    handle = _handle()
    eos, _ = _assigned(handle)
    tp = Toppar("t", 0)
    _fill(tp, 1)
    eos.sendable_batches(tp)
    tp.epoch_base_msgid = 10
    m = tp.xmitq[0]
    assert eos.batch_identity(tp, _with_msgid(m, 10 + (1 << 31) - 1)).base_sequence == (1 << 31) - 1
    assert eos.batch_identity(tp, _with_msgid(m, 10 + (1 << 31))).base_sequence == 0
    assert eos.batch_identity(tp, _with_msgid(m, 15 + (1 << 31))).base_sequence == 5


def _with_msgid(m: ProducerMessage, msgid: int) -> ProducerMessage:
    m.msgid = msgid
    return m


def test_at_most_five_batches_in_flight_per_partition() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    _fill(tp, 10)
    for sent in range(MAX_INFLIGHT_BATCHES):
        assert eos.sendable_batches(tp) == MAX_INFLIGHT_BATCHES - sent
        eos.batch_sent(tp)
    assert eos.sendable_batches(tp) == 0
    assert eos.inflight_toppars == 1
    eos.batch_settled(tp, broker)
    assert eos.sendable_batches(tp) == 1


def test_a_new_leader_waits_for_the_former_leaders_batches() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    _fill(tp, 3)
    assert tp.claim_xmitq(broker)
    eos.sendable_batches(tp)
    eos.batch_sent(tp)
    tp.release_xmitq(broker)
    new_leader = Broker(handle, 2, "127.0.0.1", 1)
    assert tp.claim_xmitq(new_leader)
    tp.move_msgq_to_xmitq()
    assert tp.wait_drain
    assert eos.sendable_batches(tp) == 0
    eos.batch_settled(tp, broker)
    assert eos.sendable_batches(tp) == MAX_INFLIGHT_BATCHES
    assert not tp.wait_drain


# --- Produce errors ----------------------------------------------------------------------------------


def _perr(err: int) -> ProduceErr:
    return ProduceErr(err, err_action(err, RequestKind.PRODUCE))


def _in_flight(eos: Idempotence, tp: Toppar, batches: int) -> None:
    eos.sendable_batches(tp)
    for _ in range(batches):
        eos.batch_sent(tp)


def test_out_of_order_sequence_on_the_first_batch_in_flight_is_fatal() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    msgs = _fill(tp, 4)
    _in_flight(eos, tp, 1)
    perr = _perr(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    eos.produce_error(broker, tp, perr, Pid(7, 0), 0, msgs, 4)
    assert perr.actions == ErrAction.PERMANENT
    assert eos.state is IdempState.FATAL_ERROR and eos.send_pid is None
    fatal = handle.fatal_error
    assert fatal is not None and fatal.fatal()
    assert fatal.code() == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert "sequence desynchronization" in fatal.str()
    events = [op for op in handle.reply_q.pop_all() if isinstance(op, ErrorEvent)]
    assert [e.error.code() for e in events] == [ErrorCode._FATAL]


def test_out_of_order_sequence_behind_a_failed_batch_is_retried_after_an_epoch_bump() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    msgs = _fill(tp, 8)
    _in_flight(eos, tp, 2)
    perr = _perr(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    eos.produce_error(broker, tp, perr, Pid(7, 0), 4, msgs[4:], 4)
    assert perr.actions == ErrAction.RETRY and not perr.incr_retry
    assert eos.state is IdempState.DRAIN_BUMP and eos.send_pid is None
    assert handle.fatal_error is None
    eos.batch_settled(tp, broker)
    assert eos.state is IdempState.DRAIN_BUMP  # one batch still in flight
    eos.batch_settled(tp, broker)
    assert eos.state is IdempState.ASSIGNED and eos.send_pid == Pid(7, 1)
    # The partition starts over under the new epoch from the head of its queue.
    tp.xmitq = deque(msgs)
    assert eos.sendable_batches(tp) == MAX_INFLIGHT_BATCHES
    assert (tp.eos_pid, tp.epoch_base_msgid, tp.next_ack_seq) == (Pid(7, 1), 1, 0)


def test_duplicate_sequence_is_a_delivery() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    msgs = _fill(tp, 2)
    _in_flight(eos, tp, 1)
    perr = _perr(ErrorCode.DUPLICATE_SEQUENCE_NUMBER)
    eos.produce_error(broker, tp, perr, Pid(7, 0), 0, msgs, 2)
    assert perr.err == 0 and perr.actions == ErrAction(0)
    assert perr.update_next_ack and perr.update_next_err
    assert eos.state is IdempState.ASSIGNED and handle.fatal_error is None


def test_unknown_producer_id_on_a_first_send_bumps_the_epoch() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    msgs = _fill(tp, 2)
    _in_flight(eos, tp, 1)
    perr = _perr(ErrorCode.UNKNOWN_PRODUCER_ID)
    eos.produce_error(broker, tp, perr, Pid(7, 0), 0, msgs, 2)
    assert perr.actions == ErrAction.RETRY and not perr.incr_retry
    assert eos.state is IdempState.DRAIN_BUMP
    eos.batch_settled(tp, broker)
    assert eos.send_pid == Pid(7, 1)


def test_unknown_producer_id_on_a_retried_batch_is_fatal() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    msgs = _fill(tp, 2)
    msgs[0].retries = 1
    _in_flight(eos, tp, 1)
    perr = _perr(ErrorCode.UNKNOWN_PRODUCER_ID)
    eos.produce_error(broker, tp, perr, Pid(7, 0), 0, msgs, 2)
    assert perr.actions == ErrAction.PERMANENT
    fatal = handle.fatal_error
    assert fatal is not None and fatal.code() == ErrorCode.UNKNOWN_PRODUCER_ID


def test_a_later_batch_written_acknowledges_an_earlier_one_queued_for_retry() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    _fill(tp, 8)
    _in_flight(eos, tp, 2)
    # Batch 1..4 failed with an uncertain outcome (queued again); 5..8 was written.
    assert eos.produce_success(broker, tp, 4, 8, 5, 8) == 8
    assert tp.acked_msgid == 8 and tp.next_ack_seq == 8


def test_success_where_a_failure_was_expected_is_inconsistent() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    _fill(tp, 8)
    _in_flight(eos, tp, 2)
    tp.acked_msgid = 4
    tp.next_ack_seq = 0
    tp.next_err_seq = 4
    eos.produce_success(broker, tp, 4, 8, 5, 8)
    fatal = handle.fatal_error
    assert fatal is not None and fatal.code() == ErrorCode._INCONSISTENT


def test_a_permanent_error_with_gapless_guarantee_is_fatal() -> None:
    handle = _handle(**{"enable.gapless.guarantee": True})
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    _fill(tp, 2)
    perr = _perr(ErrorCode.INVALID_RECORD)
    eos.failed_permanently(tp, perr, broker, Pid(7, 0), 0, 2)
    fatal = handle.fatal_error
    assert fatal is not None and fatal.code() == ErrorCode._GAPLESS_GUARANTEE


def test_a_permanent_error_without_gapless_guarantee_bumps_the_epoch() -> None:
    handle = _handle()
    eos, broker = _assigned(handle)
    tp = Toppar("t", 0)
    _fill(tp, 2)
    eos.failed_permanently(tp, _perr(ErrorCode.INVALID_RECORD), broker, Pid(7, 0), 0, 2)
    assert eos.send_pid == Pid(7, 1) and handle.fatal_error is None


# --- InitProducerId --------------------------------------------------------------------------------


@pytest.mark.parametrize("err, fatal_code", [
    (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, None),
    (ErrorCode._TRANSPORT, None),
    (ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
    (ErrorCode.PRODUCER_FENCED, ErrorCode._FENCED),
])
def test_init_producer_id_errors(err: int, fatal_code: int | None) -> None:
    handle = _handle()
    eos = Idempotence(handle)
    broker = Broker(handle, 1, "127.0.0.1", 1)
    eos.state = IdempState.WAIT_PID
    eos._on_init_producer_id(broker, 0, InitProducerIdResponse(error_code=err), _request())
    fatal = handle.fatal_error
    if fatal_code is None:
        assert fatal is None
        assert eos.state is IdempState.REQ_PID
        assert eos._next_pid_request == pytest.approx(handle.clock() + 0.5, abs=0.2)
    else:
        assert fatal is not None and fatal.code() == fatal_code
        assert eos.state is IdempState.FATAL_ERROR


def test_an_invalid_producer_id_is_not_used() -> None:
    handle = _handle()
    eos = Idempotence(handle)
    broker = Broker(handle, 1, "127.0.0.1", 1)
    eos.state = IdempState.WAIT_PID
    eos._on_init_producer_id(broker, 0, InitProducerIdResponse(producer_id=-1,
                                                               producer_epoch=0), _request())
    assert eos.state is IdempState.REQ_PID and eos.send_pid is None


# --- fatal errors as the application sees them -------------------------------------------------------


def test_a_fatal_error_is_raised_from_poll_and_refuses_produce() -> None:
    reports: list[Any] = []
    errors: list[Any] = []
    p = Producer({"bootstrap.servers": "127.0.0.1:1", "enable.idempotence": True,
                  "error_cb": errors.append, "log_level": 0})
    try:
        p.produce("t", b"queued", on_delivery=lambda err, msg: reports.append(err))
        p._handle.set_fatal_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "a reason")
        with pytest.raises(KafkaException) as excinfo:
            for _ in range(50):  # connection errors may be served first
                p.poll(0.1)
        err = excinfo.value.args[0]
        assert (err.code(), err.str(), err.fatal()) == (
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "a reason", True)
        assert not [e for e in errors if e.fatal() or e.code() == KafkaError._FATAL]
        with pytest.raises(KafkaException) as excinfo:
            p.produce("t", b"after")
        refused = excinfo.value.args[0]
        assert refused.code() == KafkaError._FATAL
        assert refused.str() == "Unable to produce message: Local: Fatal error"
        # What was queued fails as purged.
        for _ in range(20):
            p.poll(0.1)
            if reports:
                break
        assert [r.code() for r in reports] == [KafkaError._PURGE_QUEUE]
        # Only the first fatal error is kept.
        assert not p._handle.set_fatal_error(ErrorCode._FAIL, "second")
        assert p._handle.fatal_cnt == 2
    finally:
        p.close()


def _reports(handle: Handle) -> dict[bytes | None, int]:
    """Each reported message's value and error code, from the handle's reply queue."""
    return {m.value: m.err for op in handle.reply_q.pop_all() if isinstance(op, DeliveryReports)
            for m in op.msgs}


def test_messages_put_back_after_the_fatal_purge_fail_as_purged() -> None:
    """A fatal error's purge empties the queues once; a request in flight answered afterwards
    with a retriable error put its messages back, and with nothing sent any more they waited
    until message.timeout.ms (CI: 4 of 20 unreported after the head batch's
    OUT_OF_ORDER_SEQUENCE_NUMBER, when the purge ran before the four answers behind it). The
    partition's leader fails whatever it finds queued once the producer is stopped."""
    handle = _handle()
    eos, broker = _assigned(handle)
    server = ProduceServer(broker, eos)
    tp = Toppar("t", 0)
    broker.toppars.append(tp)
    assert tp.claim_xmitq(broker)
    msgs = _fill(tp, 3)
    _in_flight(eos, tp, 3)
    tp.set_xmitq(deque())  # all three in flight, one batch each
    eos.produce_error(broker, tp, _perr(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), Pid(7, 0), 0,
                      msgs[:1], 1)
    assert handle.fatal_error is not None
    handle.reply_q.pop_all()
    # The second batch's answer, a retriable error, comes after the purge.
    server._partition_error(SentBatch(tp, msgs[1:2], Pid(7, 0), 1), msgs[1:2],
                            ErrorCode.NOT_ENOUGH_REPLICAS, 0.0)
    # The third's is handed back to msgq by a former leader (as release_xmitq does).
    tp.requeue_front(msgs[2:])
    server.serve(0.0)
    assert not tp.xmitq and not tp.msgq
    assert _reports(handle) == {b"1": ErrorCode._PURGE_QUEUE, b"2": ErrorCode._PURGE_QUEUE}


def test_a_leaderless_partitions_queue_is_purged_once_the_producer_is_stopped() -> None:
    """The same on the main thread for a partition without a leader to serve it."""
    handle = _handle()
    _assigned(handle)
    with handle.lock:
        topic = handle.refresher._new_topic("t")
    tp = Toppar("t", 0)
    topic.partitions = [tp]
    tp.requeue_front([_with_msgid(_message(1), 1)])
    assert _serve_leaderless(topic, 0.0, stopped=False) == (True, [])
    query, failed = _serve_leaderless(topic, 0.0, stopped=True)
    assert query and [(m.value, m.err) for m in failed] == [(b"1", ErrorCode._PURGE_QUEUE)]
    assert not tp.msgq


def test_close_destroys_the_client_even_when_flush_raises() -> None:
    p = Producer({"bootstrap.servers": "127.0.0.1:1", "enable.idempotence": True,
                  "log_level": 0})
    p._handle.set_fatal_error(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "a reason")
    with pytest.raises(KafkaException) as excinfo:
        p.close()  # the fatal error is raised from close()'s flush, as confluent-kafka does
    assert excinfo.value.args[0].fatal()
    assert p._handle.terminating and not p._handle.main_thread.thread.is_alive()
    assert p.close() is True
