"""The mock cluster's injected request faults and its record of the requests it was sent: what
a request must fail with (and how late its response leaves), per API key cluster-wide and per
broker, and the tracked requests tests read back (librdkafka's mock request tracking). No
sockets or threads: pure bookkeeping, unit-testable on its own.

It lives in the cluster state (`ClusterState.faults`) under the state's lock: the server thread
takes a fault and records each request while serving it, the test's thread pushes faults and
reads the record through MockCluster.

Precedence is librdkafka's (rd_kafka_mock_next_request_error): a broker's own stack for the API
first, then the cluster-wide stack. An entry is (error code, extra delay): code 0 serves the
request normally, only late; `TRANSPORT` (librdkafka's -195) makes the broker close the
connection instead of answering.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

__all__ = ["NO_FAULT", "TRANSPORT", "Fault", "RequestFaults", "TrackedRequest"]

#: librdkafka's RD_KAFKA_RESP_ERR__TRANSPORT: as an injected code, close the connection.
TRANSPORT = -195


class Fault(NamedTuple):
    """What to do to one request: answer with `code` (0: serve it) after `delay_s` more."""

    code: int
    delay_s: float


NO_FAULT = Fault(0, 0.0)


class TrackedRequest(NamedTuple):
    """One request a broker was sent while tracking was on (librdkafka's rd_kafka_mock_request_t:
    broker id, API key, and when it arrived, in microseconds of a monotonic clock)."""

    broker_id: int
    api_key: int
    timestamp_us: int


class RequestFaults:
    """Error stacks and the request record. Callers hold the cluster state's lock."""

    def __init__(self) -> None:
        self._cluster: dict[int, deque[Fault]] = {}
        self._brokers: dict[tuple[int, int], deque[Fault]] = {}
        #: API key -> requests served (answered or not), for tests to see what clients did.
        self.counts: dict[int, int] = {}
        #: (broker id, API key) -> requests that broker was sent.
        self.broker_counts: dict[tuple[int, int], int] = {}
        self._tracking = False
        self._tracked: list[TrackedRequest] = []

    # --- pushing (test's thread, through MockCluster) -----------------------------------------

    def push(self, api_key: int, codes: tuple[int, ...]) -> None:
        """The next len(codes) requests of `api_key`, to any broker, fail with these codes."""
        self._cluster.setdefault(api_key, deque()).extend(Fault(c, 0.0) for c in codes)

    def push_broker(self, broker_id: int, api_key: int, faults: tuple[Fault, ...]) -> None:
        """The next len(faults) requests of `api_key` to `broker_id` get these faults; they
        come before anything pushed cluster-wide."""
        self._brokers.setdefault((broker_id, api_key), deque()).extend(faults)

    def broker_stack_count(self, broker_id: int, api_key: int) -> int:
        """Entries still waiting on `broker_id`'s stack for `api_key`."""
        return len(self._brokers.get((broker_id, api_key), ()))

    def clear(self, api_key: int) -> None:
        """Drop the cluster-wide stack for `api_key` (brokers' own stacks stay, as in
        librdkafka's rd_kafka_mock_clear_request_errors)."""
        self._cluster.pop(api_key, None)

    # --- serving (server thread) --------------------------------------------------------------

    def take(self, broker_id: int, api_key: int) -> Fault:
        """The fault the request now being served must get (NO_FAULT when none is pushed)."""
        stack = self._brokers.get((broker_id, api_key))
        if not stack:
            stack = self._cluster.get(api_key)
        return stack.popleft() if stack else NO_FAULT

    def record(self, broker_id: int, api_key: int, now_us: int) -> None:
        """Count a request `broker_id` was sent, and track it if tracking is on."""
        self.counts[api_key] = self.counts.get(api_key, 0) + 1
        key = (broker_id, api_key)
        self.broker_counts[key] = self.broker_counts.get(key, 0) + 1
        if self._tracking:
            self._tracked.append(TrackedRequest(broker_id, api_key, now_us))

    # --- request tracking ---------------------------------------------------------------------

    def start_tracking(self) -> None:
        self._tracking = True

    def stop_tracking(self) -> None:
        self._tracking = False

    def clear_tracked(self) -> None:
        self._tracked.clear()

    def tracked(self) -> list[TrackedRequest]:
        """Requests tracked so far, in the order the brokers were sent them (a copy)."""
        return list(self._tracked)
