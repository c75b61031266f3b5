"""What a client does on each broker connection: its role (the producer's batching, the
consumer's prefetch, and later an admin client's nothing-in-particular).

A client creates its Handle with a role factory; every Broker asks it for its role once, so the
broker's state machine never asks which kind of client it serves (and imports neither). All
methods run on the broker's own thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.ops import Purge
    from rdpy.client.toppar import Toppar


#: The longest a broker thread sleeps when nothing is due (a wake-up ends any sleep early).
IDLE_WAKEUP = 1.0


class BrokerRole(Protocol):
    """A client's work on one broker. Each method returns, where it says so, the monotonic
    time at which the broker thread should look again."""

    #: A reconnected broker holds this role's requests until the metadata refresh that the
    #: connection triggered is answered (the producer: a restarted broker may acknowledge
    #: writes to partitions it no longer has).
    holds_for_metadata: bool

    def serve(self, now: float) -> float:
        """Connection UP: send what is due."""
        ...

    def serve_unsendable(self, now: float) -> float:
        """Connection not UP, or held (see holds_for_metadata): upkeep such as timeouts."""
        ...

    def scan_inflight(self, now: float) -> float:
        """Requests in flight: their own deadlines (message timeouts)."""
        ...

    def disconnected(self) -> None:
        """The connection went down: nothing of ours is in flight any more."""
        ...

    def toppar_left(self, tp: Toppar) -> None:
        """`tp` moved to another leader."""
        ...

    def toppar_removed(self, tp: Toppar) -> None:
        """`tp` no longer exists in the cluster's metadata."""
        ...

    def purge(self, op: Purge, now: float) -> None:
        """Producer.purge() reached this broker; set `op.done` when finished."""
        ...


class NoRole:
    """A broker used only for requests (an admin client, a coordinator-only connection)."""

    holds_for_metadata = False

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def serve(self, now: float) -> float:
        return now + IDLE_WAKEUP

    def serve_unsendable(self, now: float) -> float:
        return now + IDLE_WAKEUP

    def scan_inflight(self, now: float) -> float:
        return float("inf")

    def disconnected(self) -> None:
        pass

    def toppar_left(self, tp: Toppar) -> None:
        pass

    def toppar_removed(self, tp: Toppar) -> None:
        pass

    def purge(self, op: Purge, now: float) -> None:
        if op.done is not None:
            op.done.set()


__all__ = ["IDLE_WAKEUP", "BrokerRole", "NoRole"]
