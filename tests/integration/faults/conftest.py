"""Fixtures for the fault-injection suite (issue 12).

Every test takes the ``client`` fixture (confluent_kafka first -- the reference -- then rdpy)
and a broker of its own, so a fault in one test cannot leak into the next:

* ``tansu``: a Tansu process on a free loopback port that the test may kill and restart;
* ``proxied``: a Tansu process behind a FaultProxy, advertising the proxy's port, so every
  connection a client makes (bootstrap and broker 111) goes through the proxy.

Knobs: RDPY_FAULTS_SEED (default 12) seeds the proxy and the random scenarios;
RDPY_FAULTS_SECONDS (default per test) lengthens the random ones; RDPY_FAULTS_LONG=1 also runs
the tests marked ``faults_long`` (bench/soak.py is the longer run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.faults._util import Proxied, seed
from tests.support.broker import free_loopback_port
from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)
from tests.support.faultproxy import FaultProxy
from tests.support.leakcheck import pytest_runtest_makereport, resources_back_to_baseline  # noqa: F401
from tests.support.tansuproc import TansuProcess


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults_long: a long fault scenario, run with RDPY_FAULTS_LONG=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("RDPY_FAULTS_LONG") == "1":
        return
    skip = pytest.mark.skip(reason="long fault scenario: set RDPY_FAULTS_LONG=1 (or run bench/soak.py)")
    for item in items:
        if "faults_long" in item.keywords:
            item.add_marker(skip)




@pytest.fixture
def tansu(tmp_path: Path) -> Iterator[TansuProcess]:
    broker = TansuProcess(log_dir=tmp_path).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Proxied]:
    tansu_port = free_loopback_port()
    proxy = FaultProxy(upstream_port=tansu_port, seed=seed(), lifetime=600, log_path=tmp_path / "proxy.log").start()
    broker = TansuProcess(port=tansu_port, advertised_port=proxy.port, log_dir=tmp_path)
    try:
        broker.start()
        yield Proxied(broker, proxy)
    finally:
        proxy.stop()
        broker.stop()
