"""The seams between the shared engine (Handle, main thread, statistics) and what one kind of
client adds to it: the consumer's offsets and commits now; a group member, a transaction
manager and an admin client next.

A client registers its components on its Handle. The main thread calls `main_tick()` once per
tick (no user code: anything for the application goes on the reply queue); the statistics
collector reads `ConsumerStatsSource` on the main thread. Components never refer back to the
facade (Producer/Consumer), so a client dropped without close() is still freed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rdpy.client.toppar import Toppar


class MainThreadWork(Protocol):
    """Work a client component does on the main thread's tick."""

    def main_tick(self, now: float) -> None:
        """Main thread. Send what is due (lookups, commits, heartbeats); never wait."""
        ...


class ConsumerStatsSource(Protocol):
    """What the statistics read of a consumer, on the main thread."""

    def prefetched_bytes(self, tp: Toppar) -> int:
        """Bytes fetched for `tp` and not yet handed to the application."""
        ...

    def cgrp_stats(self, now: float) -> dict[str, object]:
        """The statistics' "cgrp" object."""
        ...


class EosStatsSource(Protocol):
    """What the statistics read of an idempotent or transactional producer."""

    def eos_stats(self, now: float) -> dict[str, object]:
        """Any thread. The statistics' "eos" object."""
        ...


__all__ = ["ConsumerStatsSource", "EosStatsSource", "MainThreadWork"]
