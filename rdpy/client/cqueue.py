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

#: (message or event or None, toppar, version, size). A None message is a position marker:
#: `size` is then the offset the partition's position moves to.
Entry = tuple["Message | None", "Toppar | None", int, int]


class ConsumerQueue:
    """Messages and events in fetch order."""

    def __init__(self, max_bytes: int) -> None:
        self._items: deque[Entry] = deque()
        self._cond = threading.Condition(threading.Lock())
        self.max_bytes = max_bytes
        self.enq_bytes = 0  # written by broker threads only (under the lock)
        self.deq_bytes = 0  # written by the application thread only

    def __len__(self) -> int:
        return len(self._items)

    def over_limit(self) -> bool:
        """Broker threads: stop prefetching while the queue holds queued.max.messages.kbytes."""
        return self.enq_bytes - self.deq_bytes >= self.max_bytes

    def put_messages(self, tp: Toppar, version: int, msgs: list[Message], size: int) -> None:
        """Broker thread. Appends one partition's fetched messages."""
        per_msg = size // len(msgs) if msgs else 0
        with self._cond:
            self._items.extend((m, tp, version, per_msg) for m in msgs)
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
        items = self._items
        while True:
            try:
                msg, tp, version, size = items.popleft()
            except IndexError:
                return None
            if msg is None:
                if tp is not None and tp.version == version and size > tp.app_pos:
                    tp.app_pos = size
                continue
            if tp is None:
                return msg, tp
            if msg._error is None:
                tp.deq_msgs += 1
                self.deq_bytes += size
            if tp.version == version:
                return msg, tp

    def purge(self, tp: Toppar) -> None:
        """App thread. Forget a partition's prefetched data (unassign, seek, pause)."""
        with self._cond:
            keep: deque[Entry] = deque()
            for item in self._items:
                msg = item[0]
                if item[1] is tp:
                    if msg is not None and msg._error is None:
                        tp.deq_msgs += 1
                        self.deq_bytes += item[3]
                else:
                    keep.append(item)
            self._items = keep

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
