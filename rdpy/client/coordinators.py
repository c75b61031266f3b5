"""Coordinators: the broker that keeps a consumer group (key type GROUP) or a transactional
producer's state (key type TRANSACTION), keyed by key type and key.

Each one is found with FindCoordinator through any usable broker and cached until a request to
it fails. Background threads use the asynchronous lookup() and look again on a later tick; the
application's blocking calls (commit(asynchronous=False), committed(), and the transactional
calls to come) wait for it with broker(deadline). Any thread; `node_id` and `_looking` are plain
attribute writes (atomic), the broker table is read and changed under the handle lock.
"""

from __future__ import annotations

import threading
import time
from enum import IntEnum
from typing import TYPE_CHECKING

from rdpy.client.broker.broker import Broker
from rdpy.client.request import Request
from rdpy.protocol.messages.find_coordinator import (
    FindCoordinatorRequest,
    FindCoordinatorResponse,
)

if TYPE_CHECKING:
    from rdpy.client.handle import Handle

#: FindCoordinator v4 batches keys (coordinator_keys); we ask for one key at a time.
FIND_COORDINATOR_MAX = 3


class CoordinatorType(IntEnum):
    """FindCoordinator's key_type."""

    GROUP = 0
    TRANSACTION = 1


class Coordinator:
    """Where one group's or transactional id's coordinator is."""

    def __init__(self, handle: Handle, key_type: CoordinatorType, key: str) -> None:
        self.handle = handle
        self.key_type = key_type
        self.key = key
        self.node_id = -1
        #: Statistics: when the coordinator was last found or lost (monotonic seconds).
        self.state_since = handle.clock()
        self._looking = False

    def current(self) -> Broker | None:
        """Any thread. The coordinator's broker if it is known, without asking anyone."""
        node_id = self.node_id
        if node_id < 0:
            return None
        with self.handle.lock:
            return self.handle.brokers.get(node_id)

    def lookup(self) -> None:
        """Any thread. Ask for the coordinator in the background, unless it is known or a
        question is already out; the answer wakes the main thread."""
        if self.node_id >= 0 or self._looking:
            return
        handle = self.handle
        with handle.lock:
            broker = handle.any_broker()
        if broker is None:
            return  # no broker to ask yet: the next tick asks again
        self._looking = True
        key, key_type = self.key, int(self.key_type)
        broker.enqueue_request(Request(
            FindCoordinatorResponse,
            lambda v: FindCoordinatorRequest(key=key, key_type=key_type),
            self._on_found, handle.request_timeout, max_version=FIND_COORDINATOR_MAX))

    def _on_found(self, _broker: Broker, err: int, response: FindCoordinatorResponse | None,
                  _request: Request[FindCoordinatorResponse]) -> None:
        """Broker thread. Remember the coordinator (starting a thread for a new broker)."""
        self._looking = False
        handle = self.handle
        if response is None or response.error_code:
            code = err or (response.error_code if response is not None else 0)
            handle.dbg("consumer", "CGRPQUERY", f"{self.key_type.name.capitalize()} "
                       f"\"{self.key}\": coordinator query failed: error {code}")
            return
        with handle.lock:
            if handle.terminating:
                return
            handle.add_broker(response.node_id, response.host, response.port)
        self.node_id = response.node_id
        self.state_since = handle.clock()
        handle.wake_main()

    def broker(self, deadline: float) -> Broker | None:
        """App thread. The coordinator's broker, waiting for a lookup until `deadline`."""
        while True:
            b = self.current()
            if b is not None:
                return b
            self.lookup()
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    def reset(self) -> None:
        """Any thread. The coordinator failed us: look it up again next time."""
        if self.node_id >= 0:
            self.node_id = -1
            self.state_since = self.handle.clock()


class Coordinators:
    """The client's coordinators by (key type, key): a consumer's group and a transactional
    producer's id share one lookup mechanism, and each key one Coordinator."""

    def __init__(self, handle: Handle) -> None:
        self._handle = handle
        self._lock = threading.Lock()
        self._table: dict[tuple[CoordinatorType, str], Coordinator] = {}

    def get(self, key_type: CoordinatorType, key: str) -> Coordinator:
        """Any thread. The coordinator of `key` (created on first use, looked up lazily)."""
        with self._lock:
            found = self._table.get((key_type, key))
            if found is None:
                found = self._table[(key_type, key)] = Coordinator(self._handle, key_type, key)
            return found


__all__ = ["Coordinator", "CoordinatorType", "Coordinators", "FIND_COORDINATOR_MAX"]
