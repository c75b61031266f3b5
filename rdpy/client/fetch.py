"""The consumer's side of a broker thread: background prefetch with one FetchRequest per broker.

A broker thread fetches every partition it leads that is assigned, not paused, has a known fetch
position and whose prefetched messages are below `queued.min.messages` / the consumer queue's
byte limit. Records are decoded here (off the application thread) into `Message` objects and
appended to the consumer queue; aborted transactions are filtered for read_committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rdpy.constants import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME
from rdpy.errors import ErrorCode, KafkaError
from rdpy.message import FetchedMessage, Message, _new_event, _new_message
from rdpy.protocol.messages.fetch import FetchPartition, FetchRequest, FetchTopic
from rdpy.records import RecordBatch, RecordError, crc32c, read_batches
from rdpy.records.transactions import committed_batches

if TYPE_CHECKING:
    from rdpy.client.broker import Broker, Request
    from rdpy.client.toppar import Toppar

_FETCH = 1
#: Fetch v4 brings isolation levels and aborted transactions; above v12 topics go by id only.
FETCH_MIN_VERSION = 4
FETCH_MAX_VERSION = 12
_TS_TYPE = {0: TIMESTAMP_CREATE_TIME, 1: TIMESTAMP_LOG_APPEND_TIME}

#: Errors after which the partition's leader is looked up again.
_REFRESH_ERRORS = {
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.UNKNOWN_TOPIC_OR_PART,
    ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.UNKNOWN_LEADER_EPOCH,
    ErrorCode.KAFKA_STORAGE_ERROR,
    ErrorCode.REPLICA_NOT_AVAILABLE,
    ErrorCode.OFFSET_NOT_AVAILABLE,
}


class FetchServer:
    """Per-broker fetcher. Broker thread only."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        handle = broker.handle
        self.handle = handle
        s = handle.settings
        self.wait_max = s.get_int("fetch.wait.max.ms")
        self.min_bytes = s.get_int("fetch.min.bytes")
        self.max_bytes = s.get_int("fetch.max.bytes")
        self.partition_max_bytes = s.get_int("max.partition.fetch.bytes")
        self.error_backoff = s.get_int("fetch.error.backoff.ms") / 1000.0
        self.queued_min_messages = s.get_int("queued.min.messages")
        self.check_crcs = s.get_bool("check.crcs")
        self.read_committed = handle.read_committed
        self.timeout = s.get_int("socket.timeout.ms") / 1000.0
        self.inflight = False

    def serve(self, now: float) -> float:
        """Send a FetchRequest for the fetchable partitions unless one is already in flight."""
        wakeup = now + 1.0
        if self.inflight:
            return wakeup
        consumer = self.handle.consumer_queue
        if consumer is None or consumer.over_limit():
            return now + 0.05  # the application is behind: look again soon
        fetchable: list[Toppar] = []
        for tp in self.broker.toppars:
            if not tp.fetchable():
                continue
            if tp.fetch_backoff_until > now:
                wakeup = min(wakeup, tp.fetch_backoff_until)
                continue
            if consumer.queued_msgs(tp) >= self.queued_min_messages:
                continue
            fetchable.append(tp)
        if not fetchable:
            return wakeup
        version = self.broker.version_for(_FETCH)
        if version is None or version < FETCH_MIN_VERSION:
            for tp in fetchable:
                self._error_event(tp, ErrorCode._UNSUPPORTED_FEATURE,
                                  "Fetch v4 or later is required")
                tp.fetch_backoff_until = now + 10.0
            return wakeup
        version = min(version, FETCH_MAX_VERSION)
        self._send(fetchable, version, now)
        return wakeup

    def _send(self, toppars: list[Toppar], version: int, now: float) -> None:
        by_topic: dict[str, list[FetchPartition]] = {}
        fetched: dict[tuple[str, int], tuple[Toppar, int, int]] = {}
        for tp in toppars:
            by_topic.setdefault(tp.topic, []).append(FetchPartition(
                partition=tp.partition,
                current_leader_epoch=-1,
                fetch_offset=tp.fetch_pos,
                log_start_offset=-1,
                partition_max_bytes=self.partition_max_bytes,
            ))
            fetched[(tp.topic, tp.partition)] = (tp, tp.fetch_pos, tp.version)
        if "fetch" in self.handle.debug:
            for tp in toppars:
                self.handle.dbg("fetch", "FETCH", f"{self.broker.name}: Fetch topic {tp.topic} "
                                f"[{tp.partition}] at offset {tp.fetch_pos} (v{tp.version})")
        request_obj = FetchRequest(
            replica_id=-1,
            max_wait_ms=self.wait_max,
            min_bytes=self.min_bytes,
            max_bytes=self.max_bytes,
            isolation_level=1 if self.read_committed else 0,
            session_id=0,
            session_epoch=-1,
            topics=[FetchTopic(topic=name, partitions=parts) for name, parts in by_topic.items()],
        )
        from rdpy.client.broker import Request

        # The broker may hold the request for fetch.wait.max.ms before answering.
        timeout = self.timeout + self.wait_max / 1000.0
        request = Request(_FETCH, lambda v: request_obj, self._on_response, timeout,
                          context=fetched)
        self.inflight = True
        self.broker.send_request(request, version, now)

    def reset(self) -> None:
        """The connection went down: nothing is in flight any more."""
        self.inflight = False

    # --- responses ----------------------------------------------------------------------------

    def _on_response(self, broker: Broker, err: int, response: Any, request: Request) -> None:
        self.inflight = False
        now = broker.clock()
        fetched: dict[tuple[str, int], tuple[Toppar, int, int]] = request.context
        if err:
            for tp, _, _ in fetched.values():
                tp.fetch_backoff_until = now + self.error_backoff
            return
        if response.error_code:
            for tp, _, _ in fetched.values():
                tp.fetch_backoff_until = now + self.error_backoff
            return
        for topic in response.responses:
            for pd in topic.partitions:
                entry = fetched.get((topic.topic, pd.partition_index))
                if entry is None:
                    continue
                tp, offset, version = entry
                if tp.version != version or tp.fetch_pos != offset:
                    continue  # seek/assign happened meanwhile: this data is stale
                self._partition(tp, pd, offset, version, now)
        if response.throttle_time_ms:
            self.handle.throttled(broker, response.throttle_time_ms)

    def _partition(self, tp: Toppar, pd: Any, offset: int, version: int, now: float) -> None:
        err = pd.error_code
        if err:
            self._partition_error(tp, err, offset, now)
            return
        tp.hi_offset = pd.high_watermark
        if pd.last_stable_offset >= 0:
            tp.ls_offset = pd.last_stable_offset
        if pd.log_start_offset >= 0:
            tp.lo_offset = pd.log_start_offset
        records = pd.records
        msgs: list[Message] = []
        size = 0
        next_offset = offset
        bad: BadBatch | None = None
        if records:
            try:
                next_offset, size, bad = self._decode(tp, records, offset,
                                                      pd.aborted_transactions, msgs)
            except RecordError as exc:
                # The framing itself is broken: no batch boundary to skip to.
                self._error_event(tp, ErrorCode._BAD_MSG, f"Corrupt records at offset "
                                  f"{next_offset}: {exc}")
                tp.fetch_backoff_until = now + self.error_backoff
                return
        if next_offset > offset:
            tp.fetch_pos = next_offset
        queue = self.handle.consumer_queue
        assert queue is not None
        if msgs:
            tp.rxmsgs += len(msgs)
            tp.rxbytes += size
            queue.put_messages(tp, version, msgs, size)
        if bad is not None:
            # After the messages before the bad batch; the fetch of it is retried later.
            queue.put_event(tp, version, error_event(bad[0], tp.topic, tp.partition, bad[1]))
            tp.fetch_backoff_until = now + self.error_backoff
        last = msgs[-1]._offset if msgs else None
        if next_offset > offset and (last is None or next_offset > last + 1):
            # Records skipped at the end (control records, aborted transactions) still move
            # the application's position once it has consumed what came before them.
            queue.put_position(tp, version, next_offset)
        end = tp.ls_offset if self.read_committed and tp.ls_offset >= 0 else tp.hi_offset
        if (self.handle.partition_eof and tp.fetch_pos >= end and tp.eof_offset != tp.fetch_pos):
            tp.eof_offset = tp.fetch_pos
            queue.put_event(tp, version, error_event(
                KafkaError(ErrorCode._PARTITION_EOF,
                           f"Fetch from broker {self.broker.node_id} reached end of partition "
                           f"at offset {tp.fetch_pos} (HighwaterMark {tp.hi_offset})"),
                tp.topic, tp.partition, tp.fetch_pos))

    def _decode(self, tp: Toppar, records: Any, offset: int, aborted: Any,
                out: list[Message]) -> tuple[int, int, BadBatch | None]:
        """Decode a partition's records from `offset` into `out`; returns (next fetch offset,
        value bytes, error). A batch that fails its CRC check (check.crcs) or cannot be decoded
        ends the decoding with an error for the application, and the partition stays at that
        batch: like librdkafka and the Java client, the consumer does not skip data on its own
        (the application may seek past it). Unlike librdkafka, which fetches the bad batch
        again at once and repeats the error at that rate, the fetch is retried after
        fetch.error.backoff.ms, in case the damage happened on the way."""
        topic = tp.topic
        partition = tp.partition
        next_offset = offset
        size = 0
        check_crcs = self.check_crcs
        batches = read_batches(records)
        aborted_list = ([(a.producer_id, a.first_offset) for a in aborted]
                        if self.read_committed and aborted else [])
        topic_obj = self.handle.topics.get(topic)
        # Statistics' batch windows, looked up once per partition and skipped when off.
        measure = (topic_obj.counters.batch
                   if topic_obj is not None and topic_obj.counters.enabled else None)
        for batch, deliver in committed_batches(batches, aborted_list):
            if batch.last_offset < offset:
                next_offset = max(next_offset, batch.next_offset)
                continue
            if check_crcs and not batch.validate_crc():
                return max(next_offset, batch.base_offset), size, _crc_error(batch)
            if not deliver:
                # A control record, or an aborted transaction's.
                next_offset = max(next_offset, batch.next_offset)
                continue
            epoch = batch.partition_leader_epoch
            leader_epoch = epoch if epoch >= 0 else None
            if measure is not None:
                measure(getattr(batch, "batch_length", -12) + 12, batch.record_count)
            start = len(out)
            try:
                if type(batch) is RecordBatch:
                    # The hot path: the decoder builds the messages itself.
                    size += batch.decode_into(out, FetchedMessage, topic, partition,
                                              leader_epoch, offset)
                else:
                    size += _legacy_messages(batch, topic, partition, leader_epoch, offset, out)
            except RecordError as exc:
                del out[start:]
                return (max(next_offset, batch.base_offset), size,
                        (KafkaError(ErrorCode._BAD_MSG, str(exc)), batch.base_offset))
            next_offset = max(next_offset, batch.next_offset)
        return next_offset, size, None

    def _partition_error(self, tp: Toppar, err: int, offset: int, now: float) -> None:
        if err == ErrorCode.OFFSET_OUT_OF_RANGE:
            self.handle.consumer_offset_reset(tp, offset, err, "fetch failed due to requested "
                                              "offset not available on the broker")
            return
        tp.fetch_backoff_until = now + self.error_backoff
        if err in _REFRESH_ERRORS:
            self.handle.request_metadata(reason=f"fetch error {err}")
            return
        if err in (ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.UNKNOWN_TOPIC_ID):
            self._error_event(tp, err, "")

    def _error_event(self, tp: Toppar, err: int, reason: str) -> None:
        queue = self.handle.consumer_queue
        if queue is not None:
            queue.put_event(tp, tp.version, error_event(KafkaError(err, reason or None),
                                                        tp.topic, tp.partition, tp.fetch_pos))


#: An error for the application about one batch, and the offset it is reported at.
BadBatch = tuple[KafkaError, int]


def _crc_error(batch: Any) -> BadBatch:
    """librdkafka's words for a batch whose checksum does not match its contents."""
    if type(batch) is RecordBatch:
        raw = batch.raw
        return KafkaError(ErrorCode._BAD_MSG,
                          f"MessageSet at offset {batch.base_offset} ({len(raw) - 12} bytes) "
                          f"failed CRC32C check (original {batch.crc:#x} != calculated "
                          f"{crc32c(raw[21:]):#x})"), batch.base_offset
    return KafkaError(ErrorCode._BAD_MSG,
                      f"Message at offset {batch.base_offset} failed CRC32 check"), batch.base_offset


def _legacy_messages(batch: Any, topic: str, partition: int, leader_epoch: int | None,
                     min_offset: int, out: list[Message]) -> int:
    """Messages of a legacy (magic 0/1) batch from `min_offset` on; returns their value bytes."""
    size = 0
    for rec in batch.records():
        if rec.offset < min_offset:
            continue
        hdrs = rec.headers
        value = rec.value
        ts_type = _TS_TYPE.get(rec.timestamp_type, 0)
        # Magic 0 has no timestamp: librdkafka reports (TIMESTAMP_NOT_AVAILABLE, 0) for it.
        out.append(_new_message(topic, partition, rec.offset, rec.key, value,
                                list(hdrs) if hdrs else None,
                                (ts_type, rec.timestamp if ts_type else 0), leader_epoch))
        size += len(value) if value is not None else 0
    return size


def error_event(err: KafkaError, topic: str, partition: int, offset: int) -> Message:
    """An error or EOF event for poll(): like librdkafka, its value is the error text."""
    event = _new_event(err, topic, partition, offset if offset >= 0 else None)
    event._value = err.str().encode("utf-8")
    event._timestamp = (0, -1)  # TIMESTAMP_NOT_AVAILABLE, -1 as librdkafka reports it
    return event


__all__ = ["FetchServer", "FETCH_MIN_VERSION", "FETCH_MAX_VERSION", "error_event"]
