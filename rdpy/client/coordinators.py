"""Coordinators: the broker that keeps a consumer group (key type GROUP) or a transactional
producer's state (key type TRANSACTION), keyed by key type and key.

Each one is found with FindCoordinator through any usable broker and cached until a request to
it fails. Background threads use the asynchronous lookup() and look again on a later tick; the
application's blocking calls (commit(asynchronous=False), committed(), and the transactional
calls to come) wait for it with broker(deadline). Requests to the coordinator tell it how they
failed (request_failed), and FindCoordinator's own errors are decided by err_action() with the
key type's RequestKind. Any thread; `node_id` and `_looking` are plain attribute writes
(atomic), the broker table is read and changed under the handle lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING

from rdpy.client.broker.broker import Broker
from rdpy.client.request import Request
from rdpy.errors import ErrAction, ErrorCode, KafkaError, RequestKind, err2str, err_action
from rdpy.protocol.messages import find_coordinator as find_coordinator_msgs

if TYPE_CHECKING:
    from rdpy.client.handle import Handle
    from rdpy.protocol.messages.find_coordinator import FindCoordinatorResponse

#: FindCoordinator v4 batches keys (coordinator_keys); we ask for one key at a time.
FIND_COORDINATOR_MAX = 3

#: Local errors that mean the request's connection went down (a timed-out request tears its
#: connection down too). librdkafka looks the coordinator up again when the coordinator's
#: connection goes down (rd_kafka_cgrp_coord_update on the broker's state change); rdpy's
#: Coordinator does not watch broker states, so the request that saw it forgets the coordinator.
_CONNECTION_LOST = frozenset({ErrorCode._TRANSPORT, ErrorCode._TIMED_OUT})


class CoordinatorType(IntEnum):
    """FindCoordinator's key_type."""

    GROUP = 0
    TRANSACTION = 1


#: The err_action() table for each key type's FindCoordinator.
_LOOKUP_KIND = {CoordinatorType.GROUP: RequestKind.FIND_COORDINATOR,
                CoordinatorType.TRANSACTION: RequestKind.TXN_FIND_COORDINATOR}


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
        #: Told of a lookup's permanent error, once per distinct error in a row, as
        #: (error code, the broker asked, the broker's error message or ""): a consumer reports
        #: it as a consumer error, a transactional producer stops on it (as librdkafka does).
        #: Set once by the component that owns the key, before lookups start.
        self.error_listener: Callable[[int, str, str], None] | None = None
        self._last_error = 0
        #: After a failed lookup, none before this (monotonic): retry.backoff.ms apart, so
        #: callers that ask on every tick or poll do not flood the cluster.
        self._next_ask_at = 0.0
        self._ask_interval = handle.settings.get_int("retry.backoff.ms") / 1000.0
        #: A logical broker (Handle.add_logical_broker) its owner talks to the coordinator
        #: through, so that commits and offset fetches too avoid the shared connection's
        #: long-polling Fetch (a consumer group member's; librdkafka's rkcg_coord).
        self.dedicated: Broker | None = None

    def current(self) -> Broker | None:
        """Any thread. The coordinator's broker if it is known, without asking anyone: the
        owner's dedicated connection to it when there is one (see `dedicated`)."""
        node_id = self.node_id
        if node_id < 0:
            return None
        dedicated = self.dedicated
        if dedicated is not None and dedicated.node_id == node_id:
            return dedicated
        with self.handle.lock:
            return self.handle.brokers.get(node_id)

    def lookup(self) -> None:
        """Any thread. Ask for the coordinator in the background, unless it is known or a
        question is already out; the answer wakes the main thread."""
        if self.node_id < 0:
            self._ask()

    def requery(self) -> None:
        """Any thread. Ask again in the background, keeping the one known until the answer
        (librdkafka's rd_kafka_cgrp_coord_query, as opposed to marking it dead)."""
        self._ask()

    def request_failed(self, err: int, actions: ErrAction) -> None:
        """Any thread. A request to the coordinator failed with `err`, which its kind's
        table decided as `actions`: REFRESH with SPECIAL ("mark the coordinator dead"), or a
        lost connection, forgets it; REFRESH alone asks again, keeping it meanwhile."""
        if err in _CONNECTION_LOST or actions & ErrAction.REFRESH and actions & ErrAction.SPECIAL:
            self.reset()
        elif actions & ErrAction.REFRESH:
            self.requery()

    def _ask(self) -> None:
        """Any thread. Send a FindCoordinator unless one is out already or the last one
        failed less than retry.backoff.ms ago."""
        if self._looking or self.handle.clock() < self._next_ask_at:
            return
        handle = self.handle
        with handle.lock:
            broker = handle.any_broker()
        if broker is None:
            return  # no broker to ask yet: the next tick asks again
        self._looking = True
        key, key_type = self.key, int(self.key_type)
        broker.enqueue_request(Request(
            find_coordinator_msgs.FindCoordinatorResponse,
            lambda v: find_coordinator_msgs.FindCoordinatorRequest(key=key, key_type=key_type),
            self._on_found, handle.request_timeout, max_version=FIND_COORDINATOR_MAX))

    def _on_found(self, broker: Broker, err: int, response: FindCoordinatorResponse | None,
                  _request: Request[FindCoordinatorResponse]) -> None:
        """Broker thread. Remember the coordinator (starting a thread for a new broker)."""
        self._looking = False
        handle = self.handle
        if response is None or response.error_code:
            self._next_ask_at = handle.clock() + self._ask_interval
            code = response.error_code if response is not None else err or ErrorCode._TRANSPORT
            message = (response.error_message if response is not None else None) or ""
            self._lookup_failed(code, broker.name, message)
            return
        with handle.lock:
            if handle.terminating:
                return
            handle.add_broker(response.node_id, response.host, response.port)
        self._last_error = 0
        self.node_id = response.node_id
        self.state_since = handle.clock()
        handle.wake_main()

    def _lookup_failed(self, code: int, asked: str, message: str) -> None:
        """Broker thread. FindCoordinator failed (as librdkafka's
        rd_kafka_cgrp_handle_FindCoordinator): REFRESH forgets the coordinator; RETRY waits
        for the next lookup; anything else is also told to the error listener, once per
        distinct error in a row. Whoever needs the coordinator asks again on a later tick."""
        self.handle.dbg("consumer", "CGRPQUERY", f"{self.key_type.name.capitalize()} "
                        f"\"{self.key}\": coordinator query failed: "
                        f"{message or err2str(code)}")
        actions = err_action(code, _LOOKUP_KIND[self.key_type])
        if actions & ErrAction.REFRESH:
            self.reset()
        elif not actions & ErrAction.RETRY and code != self._last_error:
            self._last_error = code
            listener = self.error_listener
            if listener is not None:
                listener(code, asked, message)

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
        """Any thread. The coordinator failed us (marked dead): look it up again next time."""
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
