"""ThrottleEvent: what throttle_cb receives (confluent-kafka's value type, same attributes).

A plain value: built on the application's thread when poll() serves a throttle op.
"""

from __future__ import annotations

__all__ = ["ThrottleEvent"]


class ThrottleEvent:
    """A broker throttled this client: `broker_name`, `broker_id`, `throttle_time` (seconds)."""

    def __init__(self, broker_name: str, broker_id: int, throttle_time: float) -> None:
        self.broker_name = broker_name
        self.broker_id = broker_id
        self.throttle_time = throttle_time

    def __str__(self) -> str:
        return (f"{self.broker_name}/{self.broker_id} throttled for "
                f"{int(self.throttle_time * 1000)} ms")
