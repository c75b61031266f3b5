"""The producer's side of a broker thread (its BrokerRole): batching, ProduceRequests,
responses, retries, timeouts.

Everything here runs on the owning broker's thread and touches only that broker's toppars'
transmit queues; application threads reach it through each toppar's locked `msgq`. The
producer id, epoch and sequence numbers a batch carries come from one ProducerIdentity
(identity.py; see produce/__init__.py for where idempotence and transactions plug in).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Optional

from rdpy.client.broker.role import IDLE_WAKEUP
from rdpy.client.msg import ProducerMessage
from rdpy.client.ops import Purge
from rdpy.client.produce.identity import PLAIN_PRODUCER, BatchIdentity, ProducerIdentity
from rdpy.client.produce.idempotence import Idempotence, Pid, ProduceErr
from rdpy.client.request import Request, RequestCallback
from rdpy.constants import OFFSET_INVALID, TIMESTAMP_LOG_APPEND_TIME
from rdpy.errors import ErrAction, ErrorCode, RequestKind, err_action
from rdpy.protocol.messages import produce as produce_msgs
from rdpy.records import RecordBatchBuilder, codec_id

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.toppar import Toppar
    from rdpy.protocol.messages.produce import PartitionProduceData, ProduceRequest, ProduceResponse

#: Produce v3 is the first to carry RecordBatch v2 (headers, create timestamps).
_MIN_PRODUCE_VERSION = 3


class SentBatch:
    """One partition's batch in a ProduceRequest: the toppar, its messages in batch order (an
    entry becomes None once that message was reported timed out while in flight), and for an
    idempotent producer the id and epoch it was sent under and its base sequence."""

    __slots__ = ("tp", "msgs", "pid", "base_seq", "first_msgid", "last_msgid")

    def __init__(self, tp: Toppar, msgs: list[ProducerMessage], pid: Pid | None,
                 base_seq: int) -> None:
        self.tp = tp
        self.msgs: list[Optional[ProducerMessage]] = list(msgs)
        self.pid = pid
        self.base_seq = base_seq
        self.first_msgid = msgs[0].msgid
        self.last_msgid = msgs[-1].msgid


class InFlight:
    """What a ProduceRequest carries: one batch per partition, and the earliest
    message.timeout.ms deadline among its messages not yet reported."""

    __slots__ = ("batches", "first_deadline", "expired_some")

    def __init__(self, batches: dict[tuple[str, int], SentBatch]) -> None:
        self.batches = batches
        self.first_deadline = min((m.deadline for b in batches.values() for m in b.msgs
                                   if m is not None), default=float("inf"))
        self.expired_some = False

    def expire(self, now: float) -> list[ProducerMessage]:
        """Broker thread. Take out the messages whose message.timeout.ms passed, as
        _MSG_TIMED_OUT; the rest wait for the response."""
        expired: list[ProducerMessage] = []
        first = float("inf")
        for batch in self.batches.values():
            msgs = batch.msgs
            for i, m in enumerate(msgs):
                if m is None:
                    continue
                if m.deadline <= now:
                    m.err = ErrorCode._MSG_TIMED_OUT
                    expired.append(m)
                    msgs[i] = None
                    batch.tp.inflight -= 1
                elif m.deadline < first:
                    first = m.deadline
        self.first_deadline = first
        self.expired_some = self.expired_some or bool(expired)
        return expired

    def live(self, msgs: list[Optional[ProducerMessage]]) -> list[ProducerMessage]:
        """The messages of one batch not reported yet."""
        if not self.expired_some:
            return msgs  # type: ignore[return-value]  # no None in it
        return [m for m in msgs if m is not None]


class ProduceCall(Request["ProduceResponse"]):  # a string: the module loads on first use
    """A ProduceRequest in the broker's queues, with what it carries (scanned for message
    timeouts while it is in flight, and by purge())."""

    __slots__ = ("inflight",)

    def __init__(self, inflight: InFlight, request_obj: ProduceRequest,
                 on_done: RequestCallback[ProduceResponse], timeout: float,
                 expect_response: bool) -> None:
        super().__init__(produce_msgs.ProduceResponse, lambda v: request_obj, on_done, timeout,
                         expect_response=expect_response)
        self.inflight = inflight


class ProduceServer:
    """Per-broker producer logic (the producer's BrokerRole). Broker thread only; made by
    the producer's role factory, with the client's `identity` (a plain producer by default,
    or the idempotent producer's, whose gate and recoveries it then follows)."""

    #: After a reconnect, no Produce until the refreshed metadata says where partitions are.
    holds_for_metadata = True

    def __init__(self, broker: Broker, identity: ProducerIdentity = PLAIN_PRODUCER) -> None:
        self.broker = broker
        self.identity = identity
        #: The idempotent producer's state (None: a plain producer).
        self.eos: Idempotence | None = identity if isinstance(identity, Idempotence) else None
        handle = broker.handle
        self.handle = handle
        s = handle.settings
        t = s.topic
        self.linger = s.get_float("linger.ms") / 1000.0
        self.batch_num = s.get_int("batch.num.messages")
        self.batch_size = s.get_int("batch.size")
        self.message_max_bytes = s.get_int("message.max.bytes")
        self.retries = s.get_int("retries")
        self.backoff = s.get_int("retry.backoff.ms") / 1000.0
        self.backoff_max = s.get_int("retry.backoff.max.ms") / 1000.0
        self.acks = t.get_int("acks")
        self.request_timeout = t.get_int("request.timeout.ms") / 1000.0
        self.socket_timeout = s.get_int("socket.timeout.ms") / 1000.0
        codec = t.get_enum("compression.codec")
        if codec == "inherit":
            codec = s.get_enum("compression.codec")
        self.codec = codec_id(codec)
        level = t.get_int("compression.level")
        self.compression_level: int | None = None if level < 0 else level

    # --- serving ------------------------------------------------------------------------------

    def serve(self, now: float) -> float:
        """Broker thread, UP. Move queued messages to transmit queues, expire old ones, send
        ready batches. Returns the monotonic time at which this broker should look again
        (linger, backoff)."""
        wakeup = now + IDLE_WAKEUP
        broker = self.broker
        flushing = self.handle.flushing
        eos = self.eos
        ready: list[Toppar] = []
        #: Partitions the idempotent producer's gate holds: an event wakes us for them (a
        #: producer id, a drain done, a partition added to the transaction), not a timer.
        held: set[Toppar] = set()
        owned = [tp for tp in broker.toppars if tp.claim_xmitq(broker)]
        discard, in_abort = self._discarding()
        for tp in owned:
            if tp.msgq:
                tp.move_msgq_to_xmitq()
            xmitq = tp.xmitq
            if not xmitq:
                continue
            if discard:
                self._purge_xmitq(tp, in_abort)
                continue
            if xmitq[0].deadline <= now:
                self._expire(tp, now)
                xmitq = tp.xmitq
                if not xmitq:
                    continue
            wakeup = min(wakeup, xmitq[0].deadline)
            if tp.backoff_until > now:
                wakeup = min(wakeup, tp.backoff_until)
                continue
            if eos is not None and eos.sendable_batches(tp) <= 0:
                held.add(tp)
                continue
            if self._ready(tp, now, flushing):
                ready.append(tp)
            else:
                wakeup = min(wakeup, xmitq[0].enq_time + self.linger)
        while ready and broker.can_send():
            ready = self._send_produce_request(ready, now, flushing)
        if ready:
            # In-flight limit reached: a response (socket readable) wakes us.
            return wakeup
        for tp in owned:
            if tp.xmitq and tp.backoff_until <= now and tp not in held:
                # What a full batch left behind waits for its own linger time.
                wakeup = min(wakeup, tp.xmitq[0].enq_time + self.linger)
        return wakeup

    def _ready(self, tp: Toppar, now: float, flushing: bool) -> bool:
        """Broker thread. A batch should be sent now: flush, linger elapsed, or a full batch
        is waiting (or an idempotent producer's retry, which must go out as it was)."""
        xmitq = tp.xmitq
        return bool(xmitq) and (flushing or xmitq[0].enq_time + self.linger <= now
                                or len(xmitq) >= self.batch_num
                                or tp.xmit_bytes >= self.batch_size
                                or xmitq[0].last_msgid != 0)

    def serve_unsendable(self, now: float) -> float:
        """Broker thread, not UP (or held). Expire messages whose message.timeout.ms passed."""
        wakeup = now + IDLE_WAKEUP
        discard, in_abort = self._discarding()
        for tp in self.broker.toppars:
            if not tp.claim_xmitq(self.broker):
                continue
            if tp.msgq:
                tp.move_msgq_to_xmitq()
            if tp.xmitq and discard:
                self._purge_xmitq(tp, in_abort)
            if tp.xmitq:
                self._expire(tp, now)
                if tp.xmitq:
                    wakeup = min(wakeup, min(m.deadline for m in tp.xmitq))
        return wakeup

    def _expire(self, tp: Toppar, now: float) -> None:
        """Broker thread. Fail every transmit-queue message whose message.timeout.ms has passed.

        Retried messages can sit ahead of newer ones with later deadlines, so the whole queue
        is checked; callers only come here when the oldest message has expired. An idempotent
        producer's sequence then has a gap: its epoch is bumped (KIP-360).
        """
        expired = [m for m in tp.xmitq if m.deadline <= now]
        if not expired:
            return
        for m in expired:
            m.err = ErrorCode._MSG_TIMED_OUT
        tp.set_xmitq(deque(m for m in tp.xmitq if m.deadline > now))
        self.handle.deliver(expired)
        if self.eos is not None:
            self.eos.messages_dropped(tp, len(expired), "timed out")

    def _send_produce_request(self, ready: list[Toppar], now: float,
                              flushing: bool) -> list[Toppar]:
        """Broker thread, UP. Build and send one ProduceRequest with one batch per ready
        partition; returns the partitions left for the next request."""
        broker = self.broker
        eos = self.eos
        version = broker.version_for(produce_msgs.ProduceRequest.API_KEY)
        if version is None or version < _MIN_PRODUCE_VERSION:
            for tp in ready:
                msgs = list(tp.xmitq)
                tp.xmitq.clear()
                for m in msgs:
                    m.err = ErrorCode._UNSUPPORTED_FEATURE
                self.handle.deliver(msgs)
            return []
        by_topic: dict[str, list[PartitionProduceData]] = {}
        batches: dict[tuple[str, int], SentBatch] = {}
        request_size = 0
        leftover: list[Toppar] = []
        for tp in ready:
            if request_size >= self.message_max_bytes:
                leftover.append(tp)
                continue
            built = self._build_batch(tp)
            if built is None:
                continue
            msgs, records, producer = built
            request_size += len(records)
            self._measure_batch(tp, msgs, len(records), now)
            if "msg" in self.handle.debug:
                self.handle.dbg("msg", "PRODUCE", f"{broker.name}: {tp.topic} [{tp.partition}]: "
                                f"Produce MessageSet with {len(msgs)} message(s) "
                                f"({len(records)} bytes, ApiVersion {version}, MsgVersion 2, "
                                f"MsgId {msgs[0].msgid}, BaseSeq {producer.base_sequence}, "
                                f"{_pid_str(producer.producer_id, producer.producer_epoch)})")
            by_topic.setdefault(tp.topic, []).append(
                produce_msgs.PartitionProduceData(index=tp.partition, records=records))
            pid = (Pid(producer.producer_id, producer.producer_epoch)
                   if producer.producer_id >= 0 else None)
            batches[(tp.topic, tp.partition)] = SentBatch(tp, msgs, pid,
                                                          producer.base_sequence)
            tp.inflight += len(msgs)
            # Statistics, as librdkafka counts them: messages written into a request
            # (resends included), not messages acknowledged.
            tp.txmsgs += len(msgs)
            tp.txbytes += sum(m.size for m in msgs)
            if eos is not None:
                eos.batch_sent(tp)
                if eos.sendable_batches(tp) <= 0:
                    continue
            if self._ready(tp, now, flushing):
                leftover.append(tp)
        if not batches:
            return leftover
        acks = self.acks
        request_obj = produce_msgs.ProduceRequest(
            transactional_id=self.identity.transactional_id,
            acks=acks,
            timeout_ms=int(self.request_timeout * 1000),
            topic_data=[produce_msgs.TopicProduceData(name=name, partition_data=parts)
                        for name, parts in by_topic.items()],
        )
        # The request itself times out (tearing the connection down) only after
        # socket.timeout.ms; a message whose message.timeout.ms passes while it is in flight
        # is reported timed out by scan_inflight() and the connection is kept, so the other
        # requests in flight on it are not failed and retried into duplicates.
        # request.timeout.ms is only the ack timeout the broker is given.
        inflight = InFlight(batches)
        request = ProduceCall(inflight, request_obj, self._on_response, self.socket_timeout,
                              expect_response=acks != 0)
        request.msg_count = sum(len(b.msgs) for b in batches.values())
        try:
            broker.send_request(request, version, now)
        except Exception as exc:
            # A bug (arguments are checked in produce()): these messages were taken off their
            # queues, so they fail rather than vanish.
            self.handle.log(3, "BUG", f"{broker.name}: cannot send ProduceRequest: {exc!r}")
            for batch in batches.values():
                live = inflight.live(batch.msgs)
                batch.tp.inflight -= len(live)
                self._fail(live, ErrorCode._FAIL)
                if eos is not None:
                    eos.messages_dropped(batch.tp, len(live), "failed")
                    eos.batch_settled(batch.tp, broker)
            return leftover
        if acks == 0:
            # No response will come: the messages are done once written to the socket buffer.
            for batch in batches.values():
                live = inflight.live(batch.msgs)
                batch.tp.inflight -= len(live)
                self.handle.deliver(live)
        return leftover

    def scan_inflight(self, now: float) -> float:
        """Broker thread. Report in-flight messages whose message.timeout.ms passed (their
        requests stay in flight; late answers only settle the others). Returns when to look
        again."""
        wakeup = float("inf")
        for request in self.broker.waitresp.values():
            if not isinstance(request, ProduceCall) or request.purged:
                continue
            inflight = request.inflight
            if inflight.first_deadline <= now:
                self.handle.deliver(inflight.expire(now))
            wakeup = min(wakeup, inflight.first_deadline)
        return wakeup

    def _measure_batch(self, tp: Toppar, msgs: list[ProducerMessage], nbytes: int,
                       now: float) -> None:
        """Broker thread. Statistics (windows are fed only while statistics are on): the
        topic's batch size and count, and each message's wait from produce() to its batch
        (int_latency)."""
        topic = self.handle.topics.get(tp.topic)
        if topic is not None:
            topic.counters.batch(nbytes, len(msgs))
        stats = self.broker.stats
        if stats.enabled:
            add = stats.int_latency.add
            for m in msgs:
                add(int((now - m.enq_time) * 1_000_000))

    def _build_batch(self, tp: Toppar
                     ) -> tuple[list[ProducerMessage], bytes, BatchIdentity] | None:
        """Broker thread. Take up to batch.num.messages / batch.size from the head of `tp`'s
        transmit queue into one RecordBatch; returns the messages, the bytes and the header's
        producer fields (None: nothing to send).

        A batch an idempotent producer sends again (its first message has `last_msgid`) is
        rebuilt with exactly the messages it had, whatever the limits, so that its sequence
        numbers mean the same messages to the broker.
        """
        xmitq = tp.xmitq
        if not xmitq:
            return None
        producer = self.identity.batch_identity(tp, xmitq[0])
        last_msgid = xmitq[0].last_msgid
        builder = RecordBatchBuilder(
            compression=self.codec,
            compression_level=self.compression_level,
            producer_id=producer.producer_id,
            producer_epoch=producer.producer_epoch,
            base_sequence=producer.base_sequence,
            transactional=producer.transactional,
            max_bytes=self.batch_size if not last_msgid else 1 << 62,
            compression_fallback=True,
        )
        append = builder.append
        msgs: list[ProducerMessage] = []
        take = msgs.append
        popleft = xmitq.popleft
        size = 0
        refused: list[ProducerMessage] = []
        limit = len(xmitq) if last_msgid else min(len(xmitq), self.batch_num)
        for _ in range(limit):
            m = xmitq[0]
            if last_msgid and m.msgid > last_msgid:
                break
            try:
                if not append(m.timestamp, m.key, m.value, m.headers):
                    break
            except Exception as exc:
                # A message the batch builder cannot take (produce() checks every argument, so
                # this is a bug): it fails alone instead of blocking the queue or vanishing.
                self.handle.log(3, "BUG", f"{tp.topic} [{tp.partition}]: message cannot be "
                                f"encoded: {exc!r}")
                popleft()
                tp.xmit_bytes -= m.size
                m.err = ErrorCode._INVALID_ARG
                refused.append(m)
                continue
            popleft()
            size += m.size
            take(m)
        tp.xmit_bytes -= size
        self.handle.deliver(refused)
        if refused and self.eos is not None:
            self.eos.messages_dropped(tp, len(refused), "refused")
        if not msgs:
            return None
        return msgs, builder.build(), producer

    # --- responses ----------------------------------------------------------------------------

    def _on_response(self, broker: Broker, err: int, response: ProduceResponse | None,
                     request: Request[ProduceResponse]) -> None:
        """Broker thread (the one that sent it, perhaps no longer the leader). The
        ProduceRequest was answered (or failed with `err`): settle each partition's batch."""
        now = broker.clock()
        assert isinstance(request, ProduceCall)
        inflight = request.inflight
        batches = inflight.batches
        if response is None:
            for batch in batches.values():
                self._settle(batch, inflight, err, -1, -1, now)
            return
        seen: set[tuple[str, int]] = set()
        for topic_response in response.responses:
            for pr in topic_response.partition_responses:
                key = (topic_response.name, pr.index)
                entry = batches.get(key)
                if entry is None or key in seen:
                    continue
                seen.add(key)
                self._settle(entry, inflight, pr.error_code, pr.base_offset,
                             pr.log_append_time_ms, now)
        for key, batch in batches.items():
            if key not in seen:
                self._settle(batch, inflight, ErrorCode._BAD_MSG, -1, -1, now)
        if response.throttle_time_ms:
            self.handle.throttled(broker, response.throttle_time_ms)

    def _settle(self, batch: SentBatch, inflight: InFlight, err: int, base_offset: int,
                log_append_time: int, now: float) -> None:
        """Broker thread. One partition's batch was answered: delivered, retried or failed
        (rd_kafka_msgbatch_handle_Produce_result)."""
        tp = batch.tp
        live = inflight.live(batch.msgs)
        tp.inflight -= len(live)
        eos = self.eos
        if not err:
            tp.retry_backoff = 0.0
            if eos is not None and batch.pid is not None:
                self._idempotent_success(batch)
            self._delivered(batch.msgs, base_offset, log_append_time)
        else:
            self._partition_error(batch, live, err, now)
        if eos is not None and batch.pid is not None:
            eos.batch_settled(tp, self.broker)

    def _idempotent_success(self, batch: SentBatch) -> None:
        """Broker thread. Move the partition's expected sequences past a written batch, and
        report what an earlier batch (still queued for a retry) is known to have written."""
        assert self.eos is not None
        tp = batch.tp
        count = len(batch.msgs)
        implicit = self.eos.produce_success(
            self.broker, tp, batch.base_seq, (batch.base_seq + count) & _SEQ_MASK,
            batch.first_msgid, batch.last_msgid)
        if implicit:
            self._implicit_ack(tp, implicit)

    def _implicit_ack(self, tp: Toppar, last_msgid: int) -> None:
        """Broker thread. Messages still queued up to `last_msgid` were written (a later batch
        of theirs was acknowledged): delivered, without an offset (rd_kafka_dr_implicit_ack)."""
        acked: list[ProducerMessage] = []
        if tp.xmit_owner is self.broker:
            xmitq = tp.xmitq
            while xmitq and xmitq[0].msgid and xmitq[0].msgid <= last_msgid:
                m = xmitq.popleft()
                tp.xmit_bytes -= m.size
                acked.append(m)
        with tp.lock:
            msgq = tp.msgq
            while msgq and msgq[0].msgid and msgq[0].msgid <= last_msgid:
                acked.append(msgq.popleft())
        if not acked:
            return
        acked.sort(key=_msgid)
        unwritten = [m for m in acked if not m.possibly_persisted]
        if unwritten and self.eos is not None:
            # The broker accepted a later batch although these were refused unwritten (a
            # producer it did not know yet accepts any sequence): acknowledging them would
            # report lost messages as delivered, and sending them now would reorder them.
            self._requeue(tp, unwritten, self.broker.clock())
            acked = [m for m in acked if m.possibly_persisted]
            self.eos.set_fatal_error(
                ErrorCode._INCONSISTENT, f"ProduceRequest for {tp.topic} [{tp.partition}] "
                f"succeeded after {len(unwritten)} earlier message(s) (msgids "
                f"{unwritten[0].msgid}..{unwritten[-1].msgid}) were refused unwritten: "
                "unable to deliver them in order")
            if not acked:
                return
        self.handle.dbg("eos", "IMPLICITACK", f"{tp.topic} [{tp.partition}] {len(acked)} "
                        f"message(s) implicitly acked by subsequent batch success (msgids "
                        f"{acked[0].msgid}..{acked[-1].msgid}, last acked {last_msgid})")
        self.handle.deliver(acked)

    def _delivered(self, msgs: list[Optional[ProducerMessage]], base_offset: int,
                   log_append_time: int) -> None:
        """Broker thread. The batch was written at base_offset: each message's offset is its
        place in the batch (entries already reported timed out keep their place)."""
        offset = base_offset
        done: list[ProducerMessage] = []
        for m in msgs:
            if m is not None:
                m.offset = offset if base_offset >= 0 else OFFSET_INVALID
                if log_append_time >= 0:
                    m.timestamp = log_append_time
                    m.ts_type = TIMESTAMP_LOG_APPEND_TIME
                done.append(m)
            offset += 1
        self.handle.deliver(done)

    def _partition_error(self, batch: SentBatch, msgs: list[ProducerMessage], err: int,
                         now: float) -> None:
        """Broker thread. Retry or fail one partition's batch (`msgs`: those not reported
        yet), as rd_kafka_handle_Produce_error does, with the idempotent producer's own
        handling first."""
        tp = batch.tp
        eos = self.eos if batch.pid is not None else None
        perr = ProduceErr(err, err_action(err, RequestKind.PRODUCE))
        if eos is not None:
            assert batch.pid is not None
            if msgs and not msgs[0].last_msgid:
                # A retry must carry exactly these messages again (see _build_batch).
                msgs[0].last_msgid = msgs[-1].msgid
            eos.produce_error(self.broker, tp, perr, batch.pid, batch.base_seq, msgs,
                              len(batch.msgs))
        if not perr.err:
            # DUPLICATE_SEQUENCE_NUMBER: written by an earlier send of the same batch.
            tp.retry_backoff = 0.0
            self._delivered(list(msgs), -1, -1)
            self._update_sequences(tp, batch, perr)
            return
        actions = perr.actions
        if err == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
            # librdkafka marks the topic: later produce() calls fail at once.
            self.handle.set_topic_error(tp.topic, err)
        if actions & ErrAction.REFRESH:
            self.handle.refresh_topic_metadata(tp.topic, f"produce error {ErrorCode(err).name}"
                                               if err in ErrorCode._value2member_map_ else "")
            # Stale leadership: the request was refused, so its retry risks no duplicate
            # (a lost connection may have written it, so that one counts).
            if err not in (ErrorCode._TRANSPORT, ErrorCode.KAFKA_STORAGE_ERROR):
                perr.incr_retry = False
        failed: list[ProducerMessage] = msgs
        #: Messages of the batch that will never be sent again (sequence numbers lost).
        dropped = len(batch.msgs) - len(msgs)  # reported timed out while in flight
        if actions & (ErrAction.RETRY | ErrAction.REFRESH) and not actions & ErrAction.PERMANENT:
            if eos is not None:
                eos.retrying(tp, perr)
            failed, timed_out = self._retry(tp, msgs, perr, now)
            dropped += timed_out
        if eos is not None:
            assert batch.pid is not None
            if failed and actions & ErrAction.PERMANENT:
                eos.failed_permanently(tp, perr, self.broker, batch.pid, batch.base_seq,
                                       len(batch.msgs))
            elif failed or dropped:
                eos.messages_dropped(tp, len(failed) + dropped, "not sent again")
        self._update_sequences(tp, batch, perr)
        if failed:
            code = perr.err
            if code in (ErrorCode._TIMED_OUT, ErrorCode._TIMED_OUT_QUEUE):
                code = ErrorCode._MSG_TIMED_OUT
            self._fail(failed, code)

    def _update_sequences(self, tp: Toppar, batch: SentBatch, perr: ProduceErr) -> None:
        """The expected sequences after a failed batch (idempotent producer)."""
        if self.eos is None or batch.pid is None:
            return
        next_seq = (batch.base_seq + len(batch.msgs)) & _SEQ_MASK
        with tp.lock:
            if perr.update_next_ack:
                tp.next_ack_seq = next_seq
            if perr.update_next_err:
                tp.next_err_seq = next_seq

    def _retry(self, tp: Toppar, msgs: list[ProducerMessage], perr: ProduceErr,
               now: float) -> tuple[list[ProducerMessage], int]:
        """Broker thread. Put back the messages that may be retried. Returns those out of
        retries (to fail with the batch's error) and how many were reported timed out
        (message.timeout.ms passed)."""
        retry: list[ProducerMessage] = []
        failed: list[ProducerMessage] = []
        timed_out: list[ProducerMessage] = []
        incr = 1 if perr.incr_retry else 0
        possibly_persisted = bool(perr.actions & ErrAction.MSG_POSSIBLY_PERSISTED)
        for m in msgs:
            if m.deadline <= now:
                m.err = ErrorCode._MSG_TIMED_OUT
                timed_out.append(m)
            elif m.retries + incr > self.retries:
                failed.append(m)
            else:
                m.retries += incr
                if possibly_persisted:
                    m.possibly_persisted = True
                retry.append(m)
        if retry:
            if retry[0] is not msgs[0]:
                # Its head is gone, so the batch cannot be sent again as it was (an
                # idempotent producer's epoch is bumped for the gap).
                retry[0].last_msgid = 0
            self._requeue(tp, retry, now)
        self.handle.deliver(timed_out)
        return failed, len(timed_out)

    def _requeue(self, tp: Toppar, msgs: list[ProducerMessage], now: float) -> None:
        """Broker thread (the request's, which may no longer lead `tp`). Put retried messages
        back in msgid order with exponential backoff. (Not a request retry: librdkafka's
        txretries counts requests sent again, and it never sends a ProduceRequest again.)"""
        tp.retry_backoff = min(max(tp.retry_backoff * 2, self.backoff), self.backoff_max)
        tp.backoff_until = now + tp.retry_backoff
        if tp.xmit_owner is self.broker:
            tp.set_xmitq(deque(sorted(msgs + list(tp.xmitq), key=_msgid)))
        else:
            tp.requeue_front(msgs)
            leader = tp.leader
            if leader is not None:
                leader.wake()

    def _fail(self, msgs: list[ProducerMessage], err: int) -> None:
        """Broker thread. Report `msgs` failed with `err`."""
        for m in msgs:
            m.err = err
        self.handle.deliver(msgs)

    # --- ops from other threads ----------------------------------------------------------------

    def disconnected(self) -> None:
        """Broker thread. Nothing to do: ProduceRequests in flight fail through their
        callbacks."""

    def toppar_left(self, tp: Toppar) -> None:
        """Broker thread. The partition moved to another leader: hand its transmit queue back
        to msgq, then let the new leader claim it."""
        tp.release_xmitq(self.broker)
        leader = tp.leader
        if leader is not None:
            leader.wake()

    def toppar_removed(self, tp: Toppar) -> None:
        """Broker thread. The partition is gone from the cluster's metadata: its queued
        messages fail with _UNKNOWN_PARTITION (in-flight ones keep waiting for their answer)."""
        tp.release_xmitq(self.broker)
        self._fail(tp.take_all(), ErrorCode._UNKNOWN_PARTITION)

    def _discarding(self) -> tuple[bool, bool]:
        """Broker thread. Whether what is queued fails (_PURGE_QUEUE) instead of being sent,
        and whether as part of an aborted transaction: after a fatal error nothing is sent
        again, and a transaction that failed or is being aborted never sends what it
        queued. One purge empties the queues when either begins, but messages still come
        back afterwards (a request in flight answered with a retriable error, a former
        leader handing its queue back); left there, they would wait until
        message.timeout.ms, and flush() or abort_transaction() with them."""
        if self.handle.fatal_error is not None:
            return True, False
        txn = self.eos.txn if self.eos is not None else None
        if txn is not None and txn.discards_queued():
            return True, True
        return False, False

    def _purge_xmitq(self, tp: Toppar, abort_txn: bool = False) -> None:
        """Broker thread, owner of `tp`'s transmit queue. Fail everything in it with
        _PURGE_QUEUE (purge(), or serve() while _discarding())."""
        msgs = list(tp.xmitq)
        tp.set_xmitq(deque())
        self._fail(msgs, ErrorCode._PURGE_QUEUE)
        if self.eos is not None:
            self.eos.purged(tp, msgs, abort_txn)

    def purge(self, op: Purge, now: float) -> None:
        """Broker thread. Purge this broker's transmit queues and/or in-flight requests
        (rd_kafka_purge)."""
        eos = self.eos
        if op.in_queue:
            for tp in self.broker.toppars:
                if tp.xmit_owner is self.broker and tp.xmitq:
                    self._purge_xmitq(tp, op.abort_txn)
        if op.in_flight:
            for request in list(self.broker.waitresp.values()):
                if isinstance(request, ProduceCall) and not request.purged:
                    request.purged = True
                    inflight = request.inflight
                    for batch in inflight.batches.values():
                        live = inflight.live(batch.msgs)
                        batch.tp.inflight -= len(live)
                        self._fail(live, ErrorCode._PURGE_INFLIGHT)
                        if eos is not None and batch.pid is not None:
                            eos.purged(batch.tp, live, op.abort_txn)
                            eos.batch_settled(batch.tp, self.broker)
        if op.done is not None:
            op.done.set()


_SEQ_MASK = 0x7FFFFFFF


def _msgid(m: ProducerMessage) -> int:
    return m.msgid


def _pid_str(producer_id: int, epoch: int) -> str:
    return f"PID{{Id:{producer_id},Epoch:{epoch}}}" if producer_id >= 0 else "PID{Invalid}"
