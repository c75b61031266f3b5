"""The consumer queue: prefetched messages and events waiting for poll()/consume().

Broker threads append whole fetched batches (under the condition lock, to wake a waiting
poll()); the application takes them from the head without the lock (deque.popleft is atomic in
CPython) and takes the lock only to wait. Counters have a single writer each, so no update is
lost: broker threads count what they enqueue, the application what it takes out.

The application hands messages out of one *current* batch at a time (`cur[cur_i:cur_n]` of
partition `cur_tp`): the consumer's poll()/consume() fast paths read and advance those fields
directly, without a method call per message. A batch counts as dequeued (for the memory bound
and queued.min.messages) as soon as it becomes current.

Each entry carries its partition's `version` at fetch time: after a seek or (re)assignment the
partition's version moves on and older entries are dropped when they reach the head, so the
application never sees data from before its seek. A seek/pause/unassign of the current batch's
partition drops the current batch at once (purge(), on the application's thread).
"""

from __future__ import annotations

import threading
from collections import deque

from rdpy.client.queue import MAX_BLOCK_SLICE
from rdpy.client.toppar import Toppar
from rdpy.message import Message

#: (payload, toppar, version, size). The payload is a list of fetched messages (size: value bytes
#: per message), an event Message, or None for a position marker (size: the offset the
#: partition's position moves to).
Entry = tuple[object, "Toppar | None", int, int]

#: The current batch's partition while there is none (never fetched from).
_NO_TOPPAR = Toppar("", -1)


class ConsumerQueue:
    """Messages and events in fetch order, one entry per fetched batch of a partition."""

    def __init__(self, max_bytes: int) -> None:
        self._items: deque[Entry] = deque()
        self._cond = threading.Condition(threading.Lock())
        self.max_bytes = max_bytes
        self.enq_bytes = 0  # written by broker threads only (under the lock)
        self.deq_bytes = 0  # written by the application thread only
        # The current batch (application thread only; see the module docstring).
        self.cur: list[Message] = []
        self.cur_i = 0
        self.cur_n = 0
        self.cur_tp: Toppar = _NO_TOPPAR
        self._cur_size = 0  # value bytes per message of the current batch (statistics)

    def __len__(self) -> int:
        return len(self._items) + self.cur_n - self.cur_i

    def over_limit(self) -> bool:
        """Broker threads: stop prefetching while the queue (and what is left of the current
        batch) holds queued.max.messages.kbytes. The current batch's fields are read without
        the lock: a stale value only delays or advances the next fetch a little."""
        left = (self.cur_n - self.cur_i) * self._cur_size
        return self.enq_bytes - self.deq_bytes + left >= self.max_bytes

    def queued_msgs(self, tp: Toppar) -> int:
        """Broker threads: `tp`'s prefetched messages not yet handed out (queued.min.messages),
        counting what is left of the current batch (read without the lock, as above)."""
        left = self.cur_n - self.cur_i if self.cur_tp is tp else 0
        return tp.queued_msgs + max(0, left)

    def put_messages(self, tp: Toppar, version: int, msgs: list[Message], size: int) -> None:
        """Broker thread. Appends one partition's fetched messages as one entry."""
        per_msg = size // len(msgs) if msgs else 0
        with self._cond:
            self._items.append((msgs, tp, version, per_msg))
            tp.enq_msgs += len(msgs)
            self.enq_bytes += per_msg * len(msgs)
            self._cond.notify()

    def put_event(self, tp: Toppar | None, version: int, event: Message) -> None:
        """Any thread. An error or EOF event, delivered in order with the messages."""
        with self._cond:
            self._items.append((event, tp, version, 0))
            self._cond.notify()

    def put_position(self, tp: Toppar, version: int, offset: int) -> None:
        """Broker thread. Move the partition's position to `offset` when reached (see above)."""
        with self._cond:
            self._items.append((None, tp, version, offset))

    def wait(self, timeout: float) -> None:
        """App thread. Wait up to `timeout` s (at most MAX_BLOCK_SLICE, so that signals are
        handled) for something to be queued."""
        with self._cond:
            if not self._items:
                self._cond.wait(min(timeout, MAX_BLOCK_SLICE))

    def pop_nowait(self) -> tuple[Message, Toppar | None] | None:
        """App thread, no lock. The next current message or event, or None. Makes the next
        queued batch current when the current one is used up."""
        while True:
            i = self.cur_i
            if i < self.cur_n:
                self.cur_i = i + 1
                return self.cur[i], self.cur_tp
            if self.cur_n:
                # Used up: let its messages go before the next batch arrives (the broker
                # thread may be decoding one right now; two at once would double the peak).
                self.cur = []
                self.cur_i = self.cur_n = 0
            try:
                payload, tp, version, size = self._items.popleft()
            except IndexError:
                return None
            if type(payload) is list:
                assert tp is not None
                n = len(payload)
                tp.deq_msgs += n
                self.deq_bytes += size * n
                if tp.version != version:
                    tp.rx_ver_drops += n
                    continue
                self.cur = payload
                self.cur_i = 0
                self.cur_n = n
                self.cur_tp = tp
                self._cur_size = size
                continue
            if payload is None:
                if tp is not None and tp.version == version and size > tp.app_pos:
                    tp.app_pos = size
                continue
            assert isinstance(payload, Message)
            if tp is None or tp.version == version:
                return payload, tp

    def drop_current(self) -> None:
        """App thread. Forget what is left of the current batch (it was counted as taken out
        when it became current)."""
        left = self.cur_n - self.cur_i
        if left > 0:
            self.cur_tp.rx_ver_drops += left
        self.cur = []
        self.cur_i = self.cur_n = 0
        self.cur_tp = _NO_TOPPAR

    def purge(self, tp: Toppar) -> None:
        """App thread. Forget a partition's prefetched data (unassign, seek, pause)."""
        if self.cur_tp is tp:
            self.drop_current()
        with self._cond:
            keep: deque[Entry] = deque()
            for item in self._items:
                payload = item[0]
                if item[1] is tp:
                    if type(payload) is list:
                        tp.deq_msgs += len(payload)
                        self.deq_bytes += item[3] * len(payload)
                else:
                    keep.append(item)
            self._items = keep

    def backlog_bytes(self, tp: Toppar) -> int:
        """Stats (main thread). Bytes of `tp`'s prefetched messages still queued. list() of a
        deque copies it in one C call, safe against broker threads appending meanwhile."""
        total = 0
        for payload, owner, _, size in list(self._items):
            if owner is tp and type(payload) is list:
                total += size * len(payload)
        if self.cur_tp is tp:
            total += max(0, self.cur_n - self.cur_i) * self._cur_size
        return total

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
