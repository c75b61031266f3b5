"""The consumer queue: prefetched messages and events waiting for poll()/consume().

Broker threads append whole fetched batches; the application pops one message at a time.
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


class ConsumerQueue:
    """Messages and events in fetch order. Any thread; one condition lock."""

    def __init__(self, max_bytes: int) -> None:
        #: (message or event or None, toppar, version, size). A None message is a position
        #: marker: `size` is then the offset the partition's position moves to.
        self._items: deque[tuple[Message | None, Toppar | None, int, int]] = deque()
        self._cond = threading.Condition(threading.Lock())
        self.max_bytes = max_bytes
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def over_limit(self) -> bool:
        """Broker threads: stop prefetching while the queue holds queued.max.messages.kbytes."""
        return self.bytes >= self.max_bytes

    def put_messages(self, tp: Toppar, version: int, msgs: list[Message], size: int) -> None:
        """Broker thread. Appends one partition's fetched messages."""
        per_msg = size // len(msgs) if msgs else 0
        with self._cond:
            extend = self._items.extend
            extend((m, tp, version, per_msg) for m in msgs)
            tp.queued_msgs += len(msgs)
            tp.queued_bytes += per_msg * len(msgs)
            self.bytes += per_msg * len(msgs)
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
        """App thread. The next current message or event, waiting up to `timeout` s
        (in slices of at most MAX_BLOCK_SLICE, so that signals are handled)."""
        with self._cond:
            while True:
                item = self._pop_current()
                if item is not None:
                    return item
                if timeout <= 0:
                    return None
                self._cond.wait(min(timeout, MAX_BLOCK_SLICE))
                return self._pop_current()

    def _pop_current(self) -> tuple[Message, Toppar | None] | None:
        items = self._items
        while items:
            msg, tp, version, size = items.popleft()
            if msg is None:
                if tp is not None and tp.version == version and size > tp.app_pos:
                    tp.app_pos = size
                continue
            if tp is not None and size:
                tp.queued_msgs -= 1
                tp.queued_bytes -= size
                self.bytes -= size
            elif tp is not None and msg._error is None:
                tp.queued_msgs -= 1
            if tp is None or tp.version == version:
                return msg, tp
        return None

    def purge(self, tp: Toppar) -> None:
        """App thread. Forget a partition's prefetched data (unassign)."""
        with self._cond:
            keep: deque[tuple[Message | None, Toppar | None, int, int]] = deque()
            for item in self._items:
                if item[1] is tp:
                    if item[0] is not None:
                        self.bytes -= item[3]
                else:
                    keep.append(item)
            self._items = keep
            tp.queued_msgs = 0
            tp.queued_bytes = 0

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
