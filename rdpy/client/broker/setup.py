"""A broker connection's states, as librdkafka names them (statistics report these names).

Owned by the broker's thread, which alone changes `Broker.state`; other threads only read it.
"""

from __future__ import annotations

from enum import Enum


class BrokerState(Enum):
    """rd_kafka_broker_state_t, by name."""

    INIT = "INIT"
    DOWN = "DOWN"
    TRY_CONNECT = "TRY_CONNECT"
    CONNECT = "CONNECT"
    SSL_HANDSHAKE = "SSL_HANDSHAKE"
    APIVERSION_QUERY = "APIVERSION_QUERY"
    AUTH_HANDSHAKE = "AUTH_HANDSHAKE"
    AUTH_REQ = "AUTH_REQ"
    UP = "UP"

    def __str__(self) -> str:
        return self.value


__all__ = ["BrokerState"]
