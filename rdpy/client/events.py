"""The events every client serves from poll(): error_cb, stats_cb, throttle_cb and log lines.

Background threads queue them on the handle's reply queue; the application's poll() hands each
to its callback here, so Producer and Consumer serve them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rdpy.client.log import emit as emit_log

__all__ = ["ClientEvents", "ThrottleEvent"]


class ThrottleEvent:
    """A broker throttled this client: `broker_name`, `broker_id`, `throttle_time` (seconds)."""

    def __init__(self, broker_name: str, broker_id: int, throttle_time: float) -> None:
        self.broker_name = broker_name
        self.broker_id = broker_id
        self.throttle_time = throttle_time

    def __str__(self) -> str:
        return (f"{self.broker_name}/{self.broker_id} throttled for "
                f"{int(self.throttle_time * 1000)} ms")


class ClientEvents:
    """The application's event callbacks, called on its own thread from poll()."""

    def __init__(self, callbacks: Mapping[str, Any], client_name: str) -> None:
        self.client_name = client_name
        self.error_cb: Any = callbacks.get("error_cb")
        self.stats_cb: Any = callbacks.get("stats_cb")
        self.throttle_cb: Any = callbacks.get("throttle_cb")
        self.logger: Any = callbacks.get("logger")

    def serve(self, kind: str, payload: Any) -> int:
        """Serve one queued event; 1 if an application callback ran (poll()'s count), else 0.
        Kinds that are not common events are ignored (0)."""
        if kind == "stats":
            return _call(self.stats_cb, payload)
        if kind == "error":
            return _call(self.error_cb, payload)
        if kind == "throttle":
            host, node_id, ms = payload
            if self.throttle_cb is None:
                return 0
            return _call(self.throttle_cb, ThrottleEvent(host, node_id, ms / 1000.0))
        if kind == "log":
            emit_log(self.logger, self.client_name, payload)
        return 0


def _call(callback: Any, argument: Any) -> int:
    if callback is None:
        return 0
    callback(argument)
    return 1
