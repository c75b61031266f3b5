"""The consumer's side of a broker thread: background prefetch with one FetchRequest per broker.

A broker thread fetches every partition it leads that is assigned, not paused, has a known fetch
position and whose prefetched messages are below `queued.min.messages` / the consumer queue's
byte limit. Here the response's batches are checked (CRCs with check.crcs) and filtered (control
batches, aborted transactions for read_committed), and what the application may have goes to
the consumer queue as one `FetchedData` per partition (decoded later on the application's
thread: rdpy/client/consume/fetched.py). Errors are decided by rdpy.errors.err_action(): a
partition's by RequestKind.FETCH, a failed request's by RequestKind.FETCH_REQUEST.

Each FetchServer is the consumer's BrokerRole on one broker: the ConsumerEngine creates it
through the Handle's role factory with a `FetchTarget` (the consumer queue, the EOF setting and
the offset-reset entry point), never with the Consumer facade. Broker thread only, except
refetch_from() (the application's thread).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdpy.client.consume.cqueue import ConsumerQueue
from rdpy.client.consume.fetched import FetchedData
from rdpy.client.ops import Purge
from rdpy.client.request import Request
from rdpy.errors import ErrAction, ErrorCode, KafkaError, RequestKind, err2str, err_action
from rdpy.protocol.messages import fetch as fetch_msgs
from rdpy.protocol.primitives import Buffer
from rdpy.records import Batch, RecordBatch, RecordError, crc32c, read_batches
from rdpy.records.transactions import committed_batches

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.toppar import Toppar
    from rdpy.protocol.messages.fetch import (
        AbortedTransaction,
        FetchPartition,
        FetchResponse,
        PartitionData,
    )

#: Fetch v4 brings isolation levels and aborted transactions; above v12 topics go by id only.
FETCH_MIN_VERSION = 4
FETCH_MAX_VERSION = 12
#: librdkafka backs a partition off longer after TOPIC_AUTHORIZATION_FAILED, which needs
#: someone to grant access: max(1 s, 10 x fetch.error.backoff.ms) (rd_kafka_toppar_fetch_backoff).
_AUTH_BACKOFF_MIN = 1.0
_AUTH_BACKOFF_FACTOR = 10

#: What the fetch of (toppar, offset asked, version asked) was, by (topic, partition).
Asked = dict[tuple[str, int], tuple["Toppar", int, int]]


@dataclass(frozen=True, slots=True)
class FetchTarget:
    """Where a consumer's FetchServers deliver: what the ConsumerEngine gives each of them."""

    #: The consumer queue poll()/consume() read.
    queue: ConsumerQueue
    #: enable.partition.eof: an event when a partition's fetch reaches its end.
    partition_eof: bool
    #: Broker thread. OFFSET_OUT_OF_RANGE for the fetch of (toppar, offset, version) from
    #: broker (node id): apply auto.offset.reset (OffsetResolver.out_of_range).
    out_of_range: Callable[[Toppar, int, int, int], None]


class FetchServer:
    """Per-broker fetcher (the consumer's BrokerRole). Broker thread only."""

    holds_for_metadata = False

    def __init__(self, broker: Broker, target: FetchTarget) -> None:
        self.broker = broker
        self.target = target
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
        """Broker thread, connection UP. Send a FetchRequest for the fetchable partitions unless one is already in flight."""
        wakeup = now + 1.0
        if self.inflight:
            return wakeup
        consumer = self.target.queue
        if consumer.over_limit():
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
        version = self.broker.version_for(fetch_msgs.FetchRequest.API_KEY)
        if version is None or version < FETCH_MIN_VERSION:
            for tp in fetchable:
                self.target.queue.put_error(tp, tp.version, KafkaError(
                    ErrorCode._UNSUPPORTED_FEATURE, "Fetch v4 or later is required"), tp.fetch_pos)
                tp.fetch_backoff_until = now + 10.0
            return wakeup
        version = min(version, FETCH_MAX_VERSION)
        self._send(fetchable, version, now)
        return wakeup

    def _send(self, toppars: list[Toppar], version: int, now: float) -> None:
        """Broker thread, connection UP. One FetchRequest for `toppars`. Each partition's
        position and version are read together under the handle lock: the answer is checked
        against the very offset asked for (a seek may be happening meanwhile)."""
        with self.handle.lock:
            asked = [(tp, tp.fetch_pos, tp.version) for tp in toppars if tp.fetchable()]
        if not asked:
            return
        by_topic: dict[str, list[FetchPartition]] = {}
        fetched: Asked = {}
        for tp, offset, tp_version in asked:
            by_topic.setdefault(tp.topic, []).append(fetch_msgs.FetchPartition(
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
        request_obj = fetch_msgs.FetchRequest(
            replica_id=-1,
            max_wait_ms=self.wait_max,
            min_bytes=self.min_bytes,
            max_bytes=self.max_bytes,
            isolation_level=1 if self.read_committed else 0,
            session_id=0,
            session_epoch=-1,
            topics=[fetch_msgs.FetchTopic(topic=name, partitions=parts)
                    for name, parts in by_topic.items()],
        )
        # The broker may hold the request for fetch.wait.max.ms before answering.
        timeout = self.timeout + self.wait_max / 1000.0
        request = Request(
            fetch_msgs.FetchResponse, lambda v: request_obj,
            lambda b, err, response, _r: self._on_response(fetched, b, err, response), timeout)
        self.inflight = True
        self.broker.send_request(request, version, now)

    def disconnected(self) -> None:
        """Broker thread. The connection went down: nothing is in flight any more."""
        self.inflight = False

    def serve_unsendable(self, now: float) -> float:
        """Broker thread. Nothing to do while the connection is not up."""
        return now + 1.0

    def scan_inflight(self, now: float) -> float:
        """Broker thread. Nothing: a Fetch times out with its request."""
        return float("inf")

    def toppar_left(self, tp: Toppar) -> None:
        """Broker thread. Nothing: the fetch state lives in the toppar, and the new leader
        fetches from its position."""

    def toppar_removed(self, tp: Toppar) -> None:
        """Broker thread. Nothing to fail: a consumer holds no messages for `tp`."""

    def purge(self, op: Purge, now: float) -> None:
        """Broker thread. A consumer has nothing to purge."""
        if op.done is not None:
            op.done.set()

    # --- responses ----------------------------------------------------------------------------

    def _on_response(self, fetched: Asked, broker: Broker, err: int,
                     response: FetchResponse | None) -> None:
        """Broker thread. The Fetch answer (or its failure): each partition's data or error."""
        self.inflight = False
        now = broker.clock()
        top_error = response.error_code if response is not None else err
        if response is None or (top_error and not response.responses):
            self._request_failed(fetched, top_error, now)
            return
        for topic in response.responses:
            for pd in topic.partitions:
                entry = fetched.get((topic.topic, pd.partition_index))
                if entry is None:
                    continue
                tp, offset, version = entry
                if tp.version != version or tp.fetch_pos != offset:
                    continue  # seek/assign happened meanwhile: this data is stale
                # As librdkafka: the request's error (Fetch v7+) is each partition's.
                self._partition(tp, pd, top_error or pd.error_code, offset, version, now)
        if response.throttle_time_ms:
            self.handle.throttled(broker, response.throttle_time_ms)

    def _request_failed(self, fetched: Asked, err: int, now: float) -> None:
        """Broker thread. The FetchRequest failed as a whole (RequestKind.FETCH_REQUEST):
        back its partitions off (not those the application moved meanwhile) and refresh the
        metadata where the table says; nothing is reported to the application."""
        actions = err_action(err, RequestKind.FETCH_REQUEST)
        if actions & ErrAction.IGNORE:
            return
        if actions & ErrAction.RETRY:
            with self.handle.lock:
                for tp, offset, version in fetched.values():
                    if tp.version == version and tp.fetch_pos == offset:
                        tp.fetch_backoff_until = now + self.error_backoff
        if actions & ErrAction.REFRESH:
            self.handle.request_metadata(reason=f"fetch request error {err}")

    def _partition(self, tp: Toppar, pd: PartitionData, err: int, offset: int, version: int,
                   now: float) -> None:
        """Broker thread. One partition's part of the answer: its error, or its records
        checked outside the lock and taken under it if the partition did not move."""
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
        """Broker thread, handle lock, `version` current. Queue what a partition's fetch
        brought and move its fetch position."""
        tp.last_fetch_error = (0, 0)  # fetched without error: report the next one again
        tp.hi_offset = pd.high_watermark
        if pd.last_stable_offset >= 0:
            tp.ls_offset = pd.last_stable_offset
        if pd.log_start_offset >= 0:
            tp.lo_offset = pd.log_start_offset
        queue = self.target.queue
        if broken is not None:
            queue.put_error(tp, version, KafkaError(
                ErrorCode._BAD_MSG, f"Corrupt records at offset {offset}: {broken}"), offset)
            tp.fetch_backoff_until = now + self.error_backoff
            return
        if next_offset > offset:
            tp.fetch_pos = next_offset
        last = None
        if data is not None:
            queue.put_data(tp, version, data)
            last = data.batches[-1].last_offset
        if bad is not None:
            # After the records before the bad batch; the fetch of it is retried later.
            queue.put_error(tp, version, bad[0], bad[1])
            tp.fetch_backoff_until = now + self.error_backoff
        if next_offset > offset and (last is None or next_offset > last + 1):
            # Records skipped at the end (control records, aborted transactions) still move
            # the application's position once it has consumed what came before them.
            queue.put_position(tp, version, next_offset)
        self._maybe_eof(tp, version)

    def _maybe_eof(self, tp: Toppar, version: int) -> None:
        """Broker thread, handle lock. With enable.partition.eof, an event the first time the
        fetch position reaches the partition's end (the last stable offset for
        read_committed)."""
        end = tp.ls_offset if self.read_committed and tp.ls_offset >= 0 else tp.hi_offset
        if not self.target.partition_eof or tp.fetch_pos < end or tp.eof_offset == tp.fetch_pos:
            return
        tp.eof_offset = tp.fetch_pos
        self.target.queue.put_error(tp, version, KafkaError(
            ErrorCode._PARTITION_EOF,
            f"Fetch from broker {self.broker.node_id} reached end of partition at offset "
            f"{tp.fetch_pos} (HighwaterMark {tp.hi_offset})"), tp.fetch_pos)

    def _collect(self, tp: Toppar, records: Buffer, offset: int,
                 aborted: list[AbortedTransaction] | None
                 ) -> tuple[FetchedData | None, int, BadBatch | None]:
        """Broker thread, no lock. The batches of a partition's records the application may
        have from `offset`, as one FetchedData (None: none); the next fetch offset; and an
        error for a batch that fails its CRC check (check.crcs). After such a batch nothing
        more is taken and the partition stays at it: like librdkafka and the Java client, the
        consumer does not skip data on its own (the application may seek past it). Unlike
        librdkafka, which fetches the bad batch again at once and repeats the error at that
        rate, the fetch is retried after fetch.error.backoff.ms, in case the damage happened
        on the way."""
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
        """Broker thread. A partition's fetch failed with `err` (RequestKind.FETCH): reset an
        offset out of range (SPECIAL), look the leader up again (REFRESH), tell the
        application (INFORM), back off (RETRY). Nothing happens if the fetch is stale."""
        actions = err_action(err, RequestKind.FETCH)
        if actions & ErrAction.SPECIAL:  # OFFSET_OUT_OF_RANGE: the reset replaces the fetch
            self.target.out_of_range(tp, offset, version, self.broker.node_id)
            return
        with self.handle.lock:
            if tp.version != version or tp.fetch_pos != offset:
                return
            if actions & ErrAction.RETRY:
                tp.fetch_backoff_until = now + self._backoff_after(err)
            if actions & ErrAction.INFORM and tp.last_fetch_error != (err, version):
                self.target.queue.put_error(tp, version, KafkaError(
                    err, self._error_text(err, offset)), offset)
            if err == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
                # librdkafka reports it once until the partition fetches again or moves.
                tp.last_fetch_error = (err, version)
        if actions & ErrAction.REFRESH:
            self.handle.request_metadata(reason=f"fetch error {err}")

    def _backoff_after(self, err: int) -> float:
        """Broker thread. How long a partition waits after the fetch error `err`."""
        if err == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
            return max(_AUTH_BACKOFF_MIN, self.error_backoff * _AUTH_BACKOFF_FACTOR)
        return self.error_backoff

    def _error_text(self, err: int, offset: int) -> str:
        """Broker thread. A fetch error event's text, as librdkafka words it."""
        node = self.broker.node_id
        if err == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
            return f"Fetch from broker {node} failed: {err2str(err)}"
        return f"Fetch from broker {node} failed at offset {offset} (leader epoch -1): " \
               f"{err2str(err)}"


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


__all__ = ["FETCH_MAX_VERSION", "FETCH_MIN_VERSION", "FetchServer", "FetchTarget"]
