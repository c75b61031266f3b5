"""The consumer queue: prefetched data and events waiting for poll()/consume().

Broker threads append one `FetchedData` per partition and fetch, and events, under the
condition lock (to wake a waiting poll()); the application takes entries from the head without
the lock (deque.popleft is atomic in CPython) and takes the lock only to wait. Counters have a
single writer each, so no update is lost: broker threads count what they enqueue, the
application what it takes out.

The application decodes the FetchedData at the head a chunk at a time and hands messages out of
the current chunk (`cur[cur_i:cur_n]` of partition `cur_tp`): the consumer's poll()/consume()
fast paths read and advance those fields directly, without a method call per message. A
FetchedData counts as dequeued (for the memory bound and queued.min.messages) as soon as it
becomes current; what is left of it is counted by over_limit() and queued_msgs() separately.

Each entry carries its partition's `version` at fetch time: after a seek or (re)assignment the
partition's version moves on and older entries are dropped when they reach the head, so the
application never sees data from before its seek. A seek/pause/unassign of the current
partition drops the current chunk and FetchedData at once (purge(), on the application's
thread).

Threads: broker threads and the threads answering offset lookups append; the application's
thread takes out, decodes and purges; the main thread reads sizes for the statistics. Each
method says which.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sized

from rdpy.client.consume.fetched import FetchedData, consumer_error, error_event
from rdpy.client.queue import MAX_BLOCK_SLICE
from rdpy.client.toppar import Toppar
from rdpy.errors import KafkaError
from rdpy.message import Message
from rdpy.records import RecordError

#: (payload, toppar, version, offset). The payload is a partition's FetchedData, an event
#: Message, or None for a position marker (offset: where the partition's position moves to).
Entry = tuple[object, "Toppar | None", int, int]

#: The current chunk's partition while there is none (never fetched from).
_NO_TOPPAR = Toppar("", -1)


def _resume_fetching(tp: Toppar) -> None:
    """App thread. `tp`'s fetcher waits for prefetched data to be taken out: wake it to look
    again (rather than after fetch.queue.backoff.ms, which stalls a fast reader: librdkafka's
    default of 1 s stops its own consumer for most of each second when it keeps up)."""
    tp.fetch_queue_full = False
    leader = tp.leader
    if leader is not None:
        leader.wake()


class ConsumerQueue:
    """Fetched data and events in fetch order, one entry per partition and fetch."""

    def __init__(self, max_bytes: int, queued_min: int) -> None:
        self._items: deque[Entry] = deque()
        self._cond = threading.Condition(threading.Lock())
        #: queued.max.messages.kbytes (in bytes) and queued.min.messages.
        self.max_bytes = max_bytes
        self.queued_min = queued_min
        self.enq_bytes = 0  # written by broker threads only (under the lock)
        self.deq_bytes = 0  # written by the application thread only
        # The current chunk and what it was decoded from (application thread only; see the
        # module docstring).
        self.cur: list[Message] = []
        self.cur_i = 0
        self.cur_n = 0
        self.cur_tp: Toppar = _NO_TOPPAR
        self._data: FetchedData | None = None
        self._data_version = 0
        #: What else poll() serves (the handle's reply queue, set by the engine): wait()
        #: does not sleep while it holds something.
        self.events: Sized = ()

    def __len__(self) -> int:
        data = self._data
        return len(self._items) + self.cur_n - self.cur_i + (data.left if data else 0)

    def over_limit(self) -> bool:
        """Broker threads: stop prefetching while the queue (the current FetchedData
        included) holds queued.max.messages.kbytes of fetched data. The current one is read
        without the lock: a stale value only delays or advances the next fetch a little."""
        data = self._data
        held = data.size if data is not None else 0
        return self.enq_bytes - self.deq_bytes + held >= self.max_bytes

    def queued_msgs(self, tp: Toppar) -> int:
        """Broker threads: `tp`'s prefetched messages not yet handed out (queued.min.messages),
        counting what is left of the current chunk and FetchedData (read as above)."""
        left = 0
        if self.cur_tp is tp:
            data = self._data
            left = max(0, self.cur_n - self.cur_i) + (data.left if data is not None else 0)
        return tp.queued_msgs + left

    def put_data(self, tp: Toppar, version: int, data: FetchedData) -> None:
        """Broker thread. Appends one partition's fetched batches as one entry."""
        with self._cond:
            self._items.append((data, tp, version, 0))
            tp.enq_msgs += data.count
            self.enq_bytes += data.size
            self._cond.notify()

    def put_event(self, tp: Toppar | None, version: int, event: Message) -> None:
        """Any thread. An error or EOF event, delivered in order with the messages."""
        with self._cond:
            self._items.append((event, tp, version, 0))
            self._cond.notify()

    def put_error(self, tp: Toppar, version: int, err: KafkaError, offset: int) -> None:
        """Any thread. An error or EOF event about `tp` (dropped, like its data, once `tp`
        moved past `version`); `offset`: where it happened (negative: unknown)."""
        self.put_event(tp, version, error_event(err, tp.topic, tp.partition, offset))

    def put_consumer_error(self, err: KafkaError) -> None:
        """Any thread. An error event about no partition in particular (never dropped)."""
        self.put_event(None, 0, consumer_error(err))

    def put_position(self, tp: Toppar, version: int, offset: int) -> None:
        """Broker thread. Move the partition's position to `offset` when reached (see above)."""
        with self._cond:
            self._items.append((None, tp, version, offset))

    def wait(self, timeout: float) -> None:
        """App thread. Wait up to `timeout` s (at most MAX_BLOCK_SLICE, so that signals are
        handled) for something to be queued, here or in `events` (the handle's reply queue,
        whose pushes call wake())."""
        with self._cond:
            if not self._items and not self.events:
                self._cond.wait(min(timeout, MAX_BLOCK_SLICE))

    def pop_nowait(self) -> tuple[Message, Toppar | None] | None:
        """App thread, no lock. The next message or event, or None. Decodes the next chunk
        of the current FetchedData, or takes the next entry, when the chunk is used up."""
        while True:
            i = self.cur_i
            if i < self.cur_n:
                self.cur_i = i + 1
                return self.cur[i], self.cur_tp
            if self.cur_n:
                # Used up: its messages may go before the next chunk is made.
                self.cur = []
                self.cur_i = self.cur_n = 0
            data = self._data
            if data is not None:
                owner = self.cur_tp
                if owner.version == self._data_version:
                    try:
                        chunk = data.next_chunk(owner)
                    except RecordError as exc:
                        self._data = None
                        return data.corrupt(owner, exc), owner
                    if owner.fetch_queue_full and self.queued_msgs(owner) < self.queued_min:
                        _resume_fetching(owner)
                    if chunk:
                        self.cur = chunk
                        self.cur_n = len(chunk)
                        continue
                else:
                    owner.rx_ver_drops += data.left
                self._data = None
            try:
                payload, tp, version, offset = self._items.popleft()
            except IndexError:
                return None
            if type(payload) is FetchedData:
                assert tp is not None
                tp.deq_msgs += payload.count
                self.deq_bytes += payload.size
                if tp.version != version:
                    tp.rx_ver_drops += payload.count
                    continue
                self._data = payload
                self._data_version = version
                self.cur_tp = tp
                continue
            if payload is None:
                if tp is not None and tp.version == version and offset > tp.app_pos:
                    tp.app_pos = offset
                continue
            assert isinstance(payload, Message)
            if tp is None or tp.version == version:
                return payload, tp

    def drop_current(self) -> None:
        """App thread. Forget what is left of the current chunk and FetchedData (counted as
        taken out when it became current)."""
        left = self.cur_n - self.cur_i
        data = self._data
        if data is not None:
            left += data.left
        if left > 0:
            self.cur_tp.rx_ver_drops += left
        self.cur = []
        self.cur_i = self.cur_n = 0
        self._data = None
        self.cur_tp = _NO_TOPPAR

    def purge(self, tp: Toppar) -> None:
        """App thread. Forget a partition's data prefetched before its version last changed
        (unassign, seek, pause). What a broker thread queued since, at the new version, stays:
        it was fetched from the new position, which has already moved past it."""
        version = tp.version
        if self.cur_tp is tp and self._data_version != version:
            self.drop_current()
        with self._cond:
            keep: deque[Entry] = deque()
            for item in self._items:
                payload = item[0]
                if item[1] is tp and item[2] != version:
                    if type(payload) is FetchedData:
                        tp.deq_msgs += payload.count
                        self.deq_bytes += payload.size
                else:
                    keep.append(item)
            self._items = keep

    def prefetched_bytes(self, tp: Toppar) -> int:
        """Main thread (statistics). Fetched bytes of `tp` still queued (the current FetchedData
        included). list() of a deque copies it in one C call, safe against broker threads
        appending meanwhile."""
        total = 0
        for payload, owner, _, _ in list(self._items):
            if owner is tp and type(payload) is FetchedData:
                total += payload.size
        data = self._data
        if data is not None and self.cur_tp is tp:
            total += data.size
        return total

    def wake(self) -> None:
        """Any thread. Wake a waiting poll()/consume()."""
        with self._cond:
            self._cond.notify_all()
