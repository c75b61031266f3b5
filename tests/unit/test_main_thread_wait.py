"""The main thread's sleep between ticks: at most _TICK, shorter when something is due.

Statistics documents are due on statistics.interval.ms's own cadence (librdkafka's timer), not
at the next regular tick: a tick-aligned emission came up to 100 ms late, which put a document
meant for a consume() window into the close() after it.
"""

from __future__ import annotations

from typing import Any

import pytest

from rdpy.client.handle import Handle
from rdpy.client.main_thread import _TICK
from rdpy.config import Conf


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _handle(clock: FakeClock, **conf: Any) -> Handle:
    settings = Conf.from_dict({"bootstrap.servers": "127.0.0.1:1", **conf},
                              "producer").finalize("producer")
    return Handle(settings, "producer", clock=clock)


def test_without_statistics_the_sleep_is_a_tick() -> None:
    clock = FakeClock()
    main = _handle(clock).main_thread
    assert main.sleep_for(clock.now) == _TICK


@pytest.mark.parametrize("interval_ms", [30, 250])
def test_statistics_wake_the_thread_when_due(interval_ms: int) -> None:
    clock = FakeClock()
    main = _handle(clock, **{"statistics.interval.ms": interval_ms,
                             "stats_cb": lambda doc: None}).main_thread
    first_due = interval_ms / 1000
    assert main.sleep_for(clock.now) == pytest.approx(min(_TICK, first_due))
    clock.now += first_due - 0.005
    assert main.sleep_for(clock.now) == pytest.approx(min(_TICK, 0.005))
    clock.now += 0.005
    assert main.sleep_for(clock.now) == 0.0


def test_a_component_asking_for_a_sooner_tick_shortens_the_sleep() -> None:
    clock = FakeClock()
    main = _handle(clock).main_thread
    main.wake_at(clock.now + 0.02)
    assert main.sleep_for(clock.now) == pytest.approx(0.02)
