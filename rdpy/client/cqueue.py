"""The consumer queue: prefetched messages and events waiting for poll()/consume().

Broker threads append whole fetched batches (under the condition lock, to wake a waiting
poll()); the application pops from the head without the lock (deque.popleft is atomic in
CPython) and takes the lock only to wait. Counters have a single writer each, so no update is
lost: broker threads count what they enqueue, the application what it takes out.

Each entry carries its partition's `version` at fetch time: after a seek or (re)assignment the
partition's version moves on and older entries are dropped when they reach the head, so the
application never sees data from before its seek.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

from rdpy.client.queue import MAX_BLOCK_SLICE
from rdpy.message import Message

if TYPE_CHECKING:
    from rdpy.client.toppar import Toppar

#: (payload, toppar, version, size). The payload is a list of fetched messages (size: value bytes
#: per message), an event Message, or None for a position marker (size: the offset the
#: partition's position moves to).
Entry = tuple[object, "Toppar | None", int, int]


class ConsumerQueue:
    """Messages and events in fetch order, one entry per fetched batch of a partition."""

    def __init__(self, max_bytes: int) -> None:
        self._items: deque[Entry] = deque()
        self._cond = threading.Condition(threading.Lock())
        self.max_bytes = max_bytes
        self.enq_bytes = 0  # written by broker threads only (under the lock)
        self.deq_bytes = 0  # written by the application thread only
        # The batch being handed out (application thread only).
        self._cur: list[Message] | None = None
        self._cur_i = 0
        self._cur_tp: Toppar | None = None
        self._cur_version = 0
        self._cur_size = 0

    def __len__(self) -> int:
        return len(self._items) + (len(self._cur) - self._cur_i if self._cur else 0)

    def over_limit(self) -> bool:
        """Broker threads: stop prefetching while the queue holds queued.max.messages.kbytes."""
        return self.enq_bytes - self.deq_bytes >= self.max_bytes

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

    def pop(self, timeout: float) -> tuple[Message, Toppar | None] | None:
        """App thread. The next current message or event, waiting up to `timeout` s (at most
        MAX_BLOCK_SLICE, so that signals are handled; callers loop to their deadline)."""
        item = self.pop_nowait()
        if item is not None or timeout <= 0:
            return item
        with self._cond:
            if not self._items:
                self._cond.wait(min(timeout, MAX_BLOCK_SLICE))
        return self.pop_nowait()

    def pop_nowait(self) -> tuple[Message, Toppar | None] | None:
        """App thread, no lock. The next current message or event, or None."""
        while True:
            cur = self._cur
            if cur is not None:
                i = self._cur_i
                tp = self._cur_tp
                assert tp is not None
                if i < len(cur) and tp.version == self._cur_version:
                    self._cur_i = i + 1
                    tp.deq_msgs += 1
                    self.deq_bytes += self._cur_size
                    return cur[i], tp
                self._drop_current()
            try:
                payload, tp, version, size = self._items.popleft()
            except IndexError:
                return None
            if type(payload) is list:
                self._cur = payload
                self._cur_i = 0
                self._cur_tp = tp
                self._cur_version = version
                self._cur_size = size
                continue
            if payload is None:
                if tp is not None and tp.version == version and size > tp.app_pos:
                    tp.app_pos = size
                continue
            assert isinstance(payload, Message)
            if tp is None or tp.version == version:
                return payload, tp

    def _drop_current(self) -> None:
        """App thread. Count what is left of the current batch as taken out, and forget it."""
        cur = self._cur
        tp = self._cur_tp
        if cur is not None and tp is not None:
            left = len(cur) - self._cur_i
            tp.deq_msgs += left
            tp.rx_ver_drops += left  # only outdated batches are dropped with messages left
            self.deq_bytes += left * self._cur_size
        self._cur = None
        self._cur_tp = None

    def purge(self, tp: Toppar) -> None:
        """App thread. Forget a partition's prefetched data (unassign, seek, pause)."""
        if self._cur_tp is tp:
            self._drop_current()
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
        cur = self._cur
        if cur is not None and self._cur_tp is tp:
            total += (len(cur) - self._cur_i) * self._cur_size
        return total

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
