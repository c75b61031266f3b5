"""Pytest fixtures built on tests.support helpers; import them into a conftest or test module.

    from tests.support.fixtures import librdkafka_mock  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.rdkafka_mock import LibrdkafkaMockCluster

__all__ = ["librdkafka_mock"]


@pytest.fixture
def librdkafka_mock() -> Iterator[LibrdkafkaMockCluster]:
    """A fresh 3-broker librdkafka mock cluster (broker ids 1, 2, 3), destroyed afterwards."""
    with LibrdkafkaMockCluster(broker_cnt=3) as cluster:
        yield cluster
