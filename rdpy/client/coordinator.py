"""The group coordinator: the broker that keeps a consumer group's committed offsets.

Found with FindCoordinator (key type GROUP) through any usable broker and cached until a
request to it fails. Background threads use the asynchronous lookup() and look again on a later
tick; the application's blocking calls (commit(asynchronous=False), committed()) wait for it.
"""

from __future__ import annotations

import time
from typing import Any

from rdpy.client.broker import Broker, Request
from rdpy.client.handle import Handle
from rdpy.protocol.messages.find_coordinator import FindCoordinatorRequest

_FIND_COORDINATOR = 10
#: FindCoordinator v4 batches keys (coordinator_keys); we ask for one key at a time.
FIND_COORDINATOR_MAX = 3


class GroupCoordinator:
    """Where a group's coordinator is. Any thread; `node_id` and `_looking` are plain
    attribute writes (atomic), the broker table is read and changed under the handle lock."""

    def __init__(self, handle: Handle, group_id: str) -> None:
        self.handle = handle
        self.group_id = group_id
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
            broker = handle._any_broker()
        if broker is None:
            return  # no broker to ask yet: the next tick asks again
        self._looking = True
        group = self.group_id
        broker.enqueue_request(Request(
            _FIND_COORDINATOR, lambda v: FindCoordinatorRequest(key=group, key_type=0),
            self._on_found, handle.request_timeout, max_version=FIND_COORDINATOR_MAX))

    def _on_found(self, _broker: Broker, err: int, response: Any, _request: Request) -> None:
        """Broker thread. Remember the coordinator (starting a thread for a new broker)."""
        self._looking = False
        handle = self.handle
        if err or response.error_code:
            handle.dbg("consumer", "CGRPQUERY", f"Group \"{self.group_id}\": coordinator "
                       f"query failed: error {err or response.error_code}")
            return
        with handle.lock:
            if handle.terminating:
                return
            if handle.brokers.get(response.node_id) is None:
                b = Broker(handle, response.node_id, response.host, response.port)
                handle.brokers[response.node_id] = b
                b.start()
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


__all__ = ["GroupCoordinator", "FIND_COORDINATOR_MAX"]
