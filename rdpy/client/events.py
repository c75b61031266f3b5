"""The events every client serves from poll(): error_cb, stats_cb, throttle_cb and log lines.

Background threads queue them on the handle's reply queue; the application's poll() hands each
to its callback here, so Producer and Consumer serve them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from rdpy.client.log import AppLogger
from rdpy.client.log import emit as emit_log
from rdpy.client.ops import ErrorEvent, LogLine, ReplyOp, StatsReady, Throttled, unknown_op
from rdpy.errors import KafkaError
from rdpy.throttle_event import ThrottleEvent

__all__ = ["ClientEvents", "ThrottleEvent"]

T = TypeVar("T")


class ClientEvents:
    """The application's event callbacks, called on its own thread from poll()."""

    def __init__(self, callbacks: Mapping[str, object], client_name: str) -> None:
        self.client_name = client_name
        self.error_cb: Callable[[KafkaError], object] | None = _callable(callbacks, "error_cb")
        self.stats_cb: Callable[[str], object] | None = _callable(callbacks, "stats_cb")
        self.throttle_cb: Callable[[ThrottleEvent], object] | None = _callable(callbacks,
                                                                               "throttle_cb")
        logger = callbacks.get("logger")
        self.logger: AppLogger | None = logger  # type: ignore[assignment]  # checked by conf

    def serve(self, op: ReplyOp) -> int:
        """Serve one of the events every client has; 1 if an application callback ran
        (poll()'s count), else 0. A client serves its own kinds (delivery reports, commits)
        before handing the rest here; anything else is a bug."""
        match op:
            case StatsReady(json):
                return _call(self.stats_cb, json)
            case ErrorEvent(error):
                return _call(self.error_cb, error)
            case Throttled(host, node_id, ms):
                if self.throttle_cb is None:
                    return 0
                return _call(self.throttle_cb, ThrottleEvent(host, node_id, ms / 1000.0))
            case LogLine(level, facility, text):
                emit_log(self.logger, self.client_name, level, facility, text)
                return 0
            case _:
                unknown_op(op)


def _callable(callbacks: Mapping[str, object], name: str) -> Callable[..., object] | None:
    cb = callbacks.get(name)
    return cb if callable(cb) else None


def _call(callback: Callable[[T], object] | None, argument: T) -> int:
    if callback is None:
        return 0
    callback(argument)
    return 1
