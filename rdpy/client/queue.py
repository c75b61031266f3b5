"""Thread-safe op queues between background threads and the application.

Background threads never run user code: they append typed ops to a queue, and the
application's poll()/flush()/consume() pops and serves them on its own thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

#: A blocked poll()/flush() wakes at least this often so that signals (Ctrl-C) are handled.
MAX_BLOCK_SLICE = 0.2


class OpQueue(Generic[T]):
    """A FIFO of ops with a condition for waiting (any thread pushes, any thread pops)."""

    __slots__ = ("_items", "pending", "_cond", "on_push")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        #: The same deque, for lock-free "anything queued?" checks on hot paths (truthiness
        #: of a deque is atomic in CPython).
        self.pending = self._items
        self._cond = threading.Condition(threading.Lock())
        #: Called after each push: wakes whoever waits elsewhere for these ops too (a
        #: consumer's poll() waits on its consumer queue; librdkafka forwards both to one).
        self.on_push: Callable[[], None] | None = None

    def __len__(self) -> int:
        # No lock: len() of a deque is atomic, and callers only use it as a hint.
        return len(self._items)

    def push(self, op: T) -> None:
        """Any thread. Appends and wakes one waiter."""
        with self._cond:
            self._items.append(op)
            self._cond.notify()
        if self.on_push is not None:
            self.on_push()

    def push_front(self, ops: list[T]) -> None:
        """Any thread. Puts `ops` back ahead of everything queued, in their order."""
        with self._cond:
            self._items.extendleft(reversed(ops))
            self._cond.notify()

    def snapshot(self) -> list[T]:
        """Any thread. A copy of what is queued, oldest first."""
        with self._cond:
            return list(self._items)

    def serve_in_order(self, ops: list[T], serve: Callable[[T], object]) -> int:
        """Application thread. Call `serve` on each of `ops` (taken from this queue) in order;
        returns how many were served. If a callback raises, the ops not yet served are put
        back at the head for the next poll() and the exception propagates."""
        for i, op in enumerate(ops):
            try:
                serve(op)
            except BaseException:
                rest = ops[i + 1:]
                if rest:
                    self.push_front(rest)
                raise
        return len(ops)

    def pop_all(self) -> list[T]:
        """Any thread. Takes every queued op without waiting."""
        with self._cond:
            items = list(self._items)
            self._items.clear()
        return items

    def pop(self) -> T | None:
        """Any thread. The oldest op, or None without waiting."""
        with self._cond:
            return self._items.popleft() if self._items else None

    def wait(self, timeout: float) -> bool:
        """Any thread. Waits up to `timeout` s (capped at MAX_BLOCK_SLICE) for an op; True if any."""
        with self._cond:
            if self._items:
                return True
            if timeout <= 0:
                return False
            self._cond.wait(min(timeout, MAX_BLOCK_SLICE))
            return bool(self._items)

    def wake(self) -> None:
        """Any thread. Wakes waiters without an op (e.g. state changed, flush may be done)."""
        with self._cond:
            self._cond.notify_all()
