"""The per-test leak check, for a suite's conftest to import (both names are needed):

    from tests.support.leakcheck import pytest_runtest_makereport, resources_back_to_baseline  # noqa: F401

After every test whose body passed, the threads and file descriptors the test took must be back
(tests.support.invariants.ResourceBaseline), for both clients: checked once the test and all its
other fixtures are torn down, so clients must be closed -- or at least dropped -- by then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.support.invariants import record_call_report, resources_back_after

__all__ = ["closing_consumers", "pytest_runtest_makereport", "resources_back_to_baseline"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether the test body passed (the leak check runs only after a pass)."""
    outcome = yield
    record_call_report(item, outcome.get_result())  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def resources_back_to_baseline(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test gives back the threads and file descriptors it took."""
    yield from resources_back_after(request)


def closing_consumers(module: ModuleType) -> Iterator[Callable[[dict[str, Any]], Any]]:
    """For a fixture: yields make(conf) -> module.Consumer(conf), and closes every consumer
    made afterwards (one the test closed itself is left alone)."""
    made: list[Any] = []

    def make(conf: dict[str, Any]) -> Any:
        consumer = module.Consumer(conf)
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        try:
            consumer.close()
        except RuntimeError:
            pass  # already closed by the test
