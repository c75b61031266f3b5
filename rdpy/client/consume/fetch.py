"""The consumer's side of a broker thread: background prefetch with one FetchRequest per broker.

A broker thread fetches every partition it leads that is assigned, not paused, has a known fetch
position and whose prefetched messages are below `queued.min.messages` / the consumer queue's
byte limit. Here the response's batches are checked (CRCs with check.crcs) and filtered (control
batches, aborted transactions for read_committed), and what the application may have goes to
the consumer queue as one `FetchedData` per partition. Its records are decoded into Message
objects on the application's thread, a chunk at a time, just before poll()/consume() hand them
out (see FetchedData).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdpy.client.ops import Purge
from rdpy.client.request import Request
from rdpy.constants import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME
from rdpy.errors import ErrorCode, KafkaError, err2str
from rdpy.message import FetchedMessage, Message, _new_event, _new_message
from rdpy.protocol.messages.fetch import (
    AbortedTransaction,
    FetchPartition,
    FetchRequest,
    FetchResponse,
    FetchTopic,
    PartitionData,
)
from rdpy.protocol.primitives import Buffer
from rdpy.records import Batch, RecordBatch, RecordError, RecordReader, crc32c, read_batches
from rdpy.records.transactions import committed_batches

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.toppar import Toppar

_FETCH = FetchRequest.API_KEY
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
    """Per-broker fetcher (the consumer's BrokerRole). Broker thread only."""

    holds_for_metadata = False

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
        self.queue_backoff = s.get_int("fetch.queue.backoff.ms") / 1000.0
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
                # Enough prefetched. The application wakes us when it takes some out
                # (ConsumerQueue.pop_nowait); fetch.queue.backoff.ms bounds the wait otherwise.
                # (Not a fetch_backoff_until: that is the error backoff, ours alone to set.)
                tp.fetch_queue_full = True
                wakeup = min(wakeup, now + self.queue_backoff)
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
        # Each partition's position and version, read together under the lock: the answer is
        # checked against the very offset asked for (a seek may be happening meanwhile).
        with self.handle.lock:
            asked = [(tp, tp.fetch_pos, tp.version) for tp in toppars if tp.fetchable()]
        if not asked:
            return
        by_topic: dict[str, list[FetchPartition]] = {}
        fetched: dict[tuple[str, int], tuple[Toppar, int, int]] = {}
        for tp, offset, tp_version in asked:
            by_topic.setdefault(tp.topic, []).append(FetchPartition(
                partition=tp.partition,
                current_leader_epoch=-1,
                fetch_offset=offset,
                log_start_offset=-1,
                partition_max_bytes=self.partition_max_bytes,
            ))
            fetched[(tp.topic, tp.partition)] = (tp, offset, tp_version)
        if "fetch" in self.handle.debug:
            for tp, offset, tp_version in asked:
                self.handle.dbg("fetch", "FETCH", f"{self.broker.name}: Fetch topic {tp.topic} "
                                f"[{tp.partition}] at offset {offset} (v{tp_version})")
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
        # The broker may hold the request for fetch.wait.max.ms before answering.
        timeout = self.timeout + self.wait_max / 1000.0
        request = Request(
            FetchResponse, lambda v: request_obj,
            lambda b, err, response, _r: self._on_response(fetched, b, err, response), timeout)
        self.inflight = True
        self.broker.send_request(request, version, now)

    def disconnected(self) -> None:
        """The connection went down: nothing is in flight any more."""
        self.inflight = False

    def serve_unsendable(self, now: float) -> float:
        return now + 1.0

    def scan_inflight(self, now: float) -> float:
        return float("inf")  # a Fetch times out with its request

    def toppar_left(self, tp: Toppar) -> None:
        pass  # fetch state lives in the toppar; the new leader fetches from its position

    def toppar_removed(self, tp: Toppar) -> None:
        pass

    def purge(self, op: Purge, now: float) -> None:
        if op.done is not None:  # a consumer has nothing to purge
            op.done.set()

    # --- responses ----------------------------------------------------------------------------

    def _on_response(self, fetched: dict[tuple[str, int], tuple[Toppar, int, int]],
                     broker: Broker, err: int, response: FetchResponse | None) -> None:
        self.inflight = False
        now = broker.clock()
        top_error = response.error_code if response is not None else 0
        if response is None or (top_error and not response.responses):
            with self.handle.lock:  # not for partitions the application moved meanwhile
                for tp, offset, version in fetched.values():
                    if tp.version == version and tp.fetch_pos == offset:
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
                if top_error:  # as librdkafka: the request's error is each partition's
                    pd.error_code = top_error
                self._partition(tp, pd, offset, version, now)  # checks again, locked
        if response.throttle_time_ms:
            self.handle.throttled(broker, response.throttle_time_ms)

    def _partition(self, tp: Toppar, pd: PartitionData, offset: int, version: int,
                   now: float) -> None:
        err = pd.error_code
        if err:
            self._partition_error(tp, err, offset, version, now)
            return
        records = pd.records
        data: FetchedData | None = None
        next_offset = offset
        bad: BadBatch | None = None
        broken: RecordError | None = None
        if records:
            try:
                data, next_offset, bad = self._collect(tp, records, offset,
                                                       pd.aborted_transactions)
            except RecordError as exc:
                broken = exc  # the framing itself is broken: no batch boundary to skip to
        with self.handle.lock:
            # The application may have sought, paused or unassigned while the records were
            # being checked: then this answer must change nothing (its queue entries would
            # be dropped, but the fetch position would undo the seek).
            if tp.version != version or tp.fetch_pos != offset:
                return
            self._take(tp, pd, offset, version, now, data, next_offset, bad, broken)

    def _take(self, tp: Toppar, pd: PartitionData, offset: int, version: int, now: float,
              data: FetchedData | None, next_offset: int, bad: BadBatch | None,
              broken: RecordError | None) -> None:
        """Handle lock, `version` current. Queue what a partition's fetch brought and move
        its fetch position."""
        tp.hi_offset = pd.high_watermark
        if pd.last_stable_offset >= 0:
            tp.ls_offset = pd.last_stable_offset
        if pd.log_start_offset >= 0:
            tp.lo_offset = pd.log_start_offset
        if broken is not None:
            self._error_event(tp, ErrorCode._BAD_MSG, f"Corrupt records at offset "
                              f"{offset}: {broken}")
            tp.fetch_backoff_until = now + self.error_backoff
            return
        if next_offset > offset:
            tp.fetch_pos = next_offset
        queue = self.handle.consumer_queue
        assert queue is not None
        last = None
        if data is not None:
            queue.put_data(tp, version, data)
            last = data.batches[-1].last_offset
        if bad is not None:
            # After the records before the bad batch; the fetch of it is retried later.
            queue.put_event(tp, version, error_event(bad[0], tp.topic, tp.partition, bad[1]))
            tp.fetch_backoff_until = now + self.error_backoff
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

    def _collect(self, tp: Toppar, records: Buffer, offset: int,
                 aborted: list[AbortedTransaction] | None
                 ) -> tuple[FetchedData | None, int, BadBatch | None]:
        """The batches of a partition's records the application may have from `offset`, as
        one FetchedData (None: none); the next fetch offset; and an error for a batch that
        fails its CRC check (check.crcs). After such a batch nothing more is taken and the
        partition stays at it: like librdkafka and the Java client, the consumer does not
        skip data on its own (the application may seek past it). Unlike librdkafka, which
        fetches the bad batch again at once and repeats the error at that rate, the fetch is
        retried after fetch.error.backoff.ms, in case the damage happened on the way."""
        next_offset = offset
        check_crcs = self.check_crcs
        aborted_list = ([(a.producer_id, a.first_offset) for a in aborted]
                        if self.read_committed and aborted else [])
        topic_obj = self.handle.topics.get(tp.topic)
        # Statistics' batch windows, looked up once per partition and skipped when off.
        measure = (topic_obj.counters.batch
                   if topic_obj is not None and topic_obj.counters.enabled else None)
        taken: list[Batch] = []
        count = size = 0
        bad: BadBatch | None = None
        for batch, deliver in committed_batches(read_batches(records), aborted_list):
            if batch.last_offset < offset:
                next_offset = max(next_offset, batch.next_offset)
                continue
            if check_crcs and not batch.validate_crc():
                next_offset = max(next_offset, batch.base_offset)
                bad = _crc_error(batch)
                break
            next_offset = max(next_offset, batch.next_offset)
            if not deliver:
                continue  # a control record, or an aborted transaction's
            if measure is not None:
                measure(batch.size_in_bytes, batch.record_count)
            taken.append(batch)
            count += batch.record_count - max(0, offset - batch.base_offset)
            size += batch.size_in_bytes
        if not taken:
            return None, next_offset, bad
        return FetchedData(self, taken, offset, count, size), next_offset, bad

    def refetch_from(self, tp: Toppar, offset: int) -> None:
        """App thread. A fetched batch turned out undecodable: drop what was fetched after it
        and fetch `offset` again after fetch.error.backoff.ms (see _collect)."""
        handle = self.handle
        with handle.lock:
            tp.version += 1
            tp.fetch_pos = offset
            tp.fetch_backoff_until = handle.clock() + self.error_backoff
        self.broker.wake()

    def _partition_error(self, tp: Toppar, err: int, offset: int, version: int,
                         now: float) -> None:
        """A partition's fetch failed with `err`: as librdkafka, reset an offset out of
        range, look the leader up again after leadership errors, and report anything else
        to the application; then back off. Nothing happens if the fetch is stale."""
        if err == ErrorCode.OFFSET_OUT_OF_RANGE:
            self.handle.consumer_offset_reset(tp, offset, version, err,
                                              "fetch failed due to requested offset not "
                                              "available on the broker")
            return
        with self.handle.lock:
            if tp.version != version or tp.fetch_pos != offset:
                return
            tp.fetch_backoff_until = now + self.error_backoff
            if err in _REFRESH_ERRORS:
                refresh = True
            else:
                refresh = False
                reason = ("" if err in (ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                                        ErrorCode.UNKNOWN_TOPIC_ID)
                          else f"Fetch from broker {self.broker.node_id} failed at offset "
                               f"{offset} (leader epoch -1): {err2str(err)}")
                self._error_event(tp, err, reason)
        if refresh:
            self.handle.request_metadata(reason=f"fetch error {err}")

    def _error_event(self, tp: Toppar, err: int, reason: str) -> None:
        queue = self.handle.consumer_queue
        if queue is not None:
            queue.put_event(tp, tp.version, error_event(KafkaError(err, reason or None),
                                                        tp.topic, tp.partition, tp.fetch_pos))


#: An error for the application about one batch, and the offset it is reported at.
BadBatch = tuple[KafkaError, int]


def _crc_error(batch: Batch) -> BadBatch:
    """librdkafka's words for a batch whose checksum does not match its contents."""
    if type(batch) is RecordBatch:
        raw = batch.raw
        return KafkaError(ErrorCode._BAD_MSG,
                          f"MessageSet at offset {batch.base_offset} ({len(raw) - 12} bytes) "
                          f"failed CRC32C check (original {batch.crc:#x} != calculated "
                          f"{crc32c(raw[21:]):#x})"), batch.base_offset
    return KafkaError(ErrorCode._BAD_MSG,
                      f"Message at offset {batch.base_offset} failed CRC32 check"), batch.base_offset


#: Records decoded at a time on the application's thread (see FetchedData): small enough that
#: a chunk's messages are usually released before the next chunk is made -- below the cyclic
#: GC's first generation threshold (700), so they are not scanned and promoted en masse.
CHUNK = 256


class FetchedData:
    """One partition's fetched batches in the consumer queue, decoded on the application's
    thread a chunk at a time when poll()/consume() reach them.

    Decoding there, just before the messages are handed out, costs the same CPU as on the
    broker thread (one GIL), but the messages then die young instead of waiting in the queue
    by the hundred thousand, where Python's cyclic GC scanned and promoted them (measured:
    10-15% of a consumer's CPU). The queue also holds fetched bytes instead of decoded
    objects, two to three times smaller for small records.
    """

    __slots__ = ("server", "batches", "min_offset", "count", "size", "left", "_next", "_reader",
                 "_resume_at", "_failed")

    def __init__(self, server: FetchServer, batches: list[Batch], min_offset: int, count: int,
                 size: int) -> None:
        self.server = server
        self.batches = batches
        self.min_offset = min_offset
        #: Messages to expect (record counts less those before min_offset) and fetched bytes.
        self.count = count
        self.size = size
        #: Of `count`, not decoded yet (an estimate: batches of compacted topics have gaps).
        self.left = count
        self._next = 0
        self._reader: RecordReader | None = None
        #: The offset after the last message handed out, and a decoding error held back
        #: until the messages decoded before it have been handed out.
        self._resume_at = min_offset
        self._failed: RecordError | None = None

    def next_chunk(self, tp: Toppar) -> list[Message]:
        """App thread. The next messages (empty when none are left). Raises RecordError for
        an undecodable record, once the records before it have been handed out (see
        corrupt())."""
        if self._failed is not None:
            raise self._failed
        out: list[Message] = []
        try:
            size = self._decode(tp, out)
        except RecordError as exc:
            if not out:
                raise
            self._failed = exc
            size = sum(len(m._value) for m in out if m._value is not None)
        if out:
            self._resume_at = out[-1]._offset + 1  # type: ignore[operator]
        self.left = max(0, self.left - len(out))
        tp.rxmsgs += len(out)
        tp.rxbytes += size
        return out

    def _decode(self, tp: Toppar, out: list[Message]) -> int:
        size = 0
        while not out:
            reader = self._reader
            if reader is None or reader.remaining == 0:
                if self._next >= len(self.batches):
                    break
                batch = self.batches[self._next]
                self._next += 1
                self._reader = None
                if type(batch) is not RecordBatch:
                    size += _legacy_messages(batch, tp.topic, tp.partition, None,
                                             self.min_offset, out)
                    continue
                self._reader = reader = batch.reader()
            epoch = reader.batch.partition_leader_epoch
            size += reader.read_into(out, CHUNK, FetchedMessage, tp.topic, tp.partition,
                                     epoch if epoch >= 0 else None, self.min_offset)
        return size

    def corrupt(self, tp: Toppar, exc: RecordError) -> Message:
        """App thread. next_chunk() raised: fetch again from the offset after the last message
        handed out (the consumer does not skip data on its own, see FetchServer._collect) and
        return the error event for the application, _BAD_MSG at that offset."""
        batch = self.batches[max(0, self._next - 1)]
        offset = max(self._resume_at, batch.base_offset)
        self.server.refetch_from(tp, offset)
        return error_event(KafkaError(ErrorCode._BAD_MSG, str(exc)), tp.topic, tp.partition,
                           offset)


def _legacy_messages(batch: Batch, topic: str, partition: int, leader_epoch: int | None,
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


__all__ = ["FetchServer", "FetchedData", "FETCH_MIN_VERSION", "FETCH_MAX_VERSION", "error_event"]
