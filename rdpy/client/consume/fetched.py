"""Fetched data on the application's thread: `FetchedData` decodes a partition's fetched
batches into Message objects a chunk at a time, just before poll()/consume() hand them out; and
the error and EOF events poll() returns among the messages (`error_event`, `consumer_error`).

Broker threads build FetchedData (rdpy/client/consume/fetch.py) and queue it (cqueue.py); from
then on only the application's thread touches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdpy.constants import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME
from rdpy.errors import ErrorCode, KafkaError
from rdpy.message import FetchedMessage, Message, _new_event, _new_message
from rdpy.records import Batch, RecordBatch, RecordError, RecordReader

if TYPE_CHECKING:
    from rdpy.client.consume.fetch import FetchServer
    from rdpy.client.toppar import Toppar

_TS_TYPE = {0: TIMESTAMP_CREATE_TIME, 1: TIMESTAMP_LOG_APPEND_TIME}


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
        """App thread. Decode the next chunk into `out`; returns its value bytes."""
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
    """An error or EOF event about a partition (offset: where it happened, if known)."""
    return _with_error_text(_new_event(err, topic, partition, offset if offset >= 0 else None))


def consumer_error(err: KafkaError) -> Message:
    """An error event about no partition in particular (librdkafka's consumer errors without a
    toppar, e.g. a failed coordinator lookup): no topic or offset, and partition 0, since
    rd_kafka_consumer_err() leaves the message's partition zeroed (confluent-kafka shows 0)."""
    return _with_error_text(_new_event(err, None, 0, None))


def _with_error_text(event: Message) -> Message:
    """As librdkafka's error events: the value is the error text, the timestamp
    (TIMESTAMP_NOT_AVAILABLE, -1)."""
    err = event._error
    assert err is not None
    event._value = err.str().encode("utf-8")
    event._timestamp = (0, -1)
    return event


__all__ = ["CHUNK", "FetchedData", "consumer_error", "error_event"]
