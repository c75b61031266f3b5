"""Pytest fixtures built on tests.support helpers; import them into a conftest or test module.

    from tests.support.fixtures import librdkafka_mock, rdpy_mock  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rdpy.mock import MockCluster
from tests.support.rdkafka_mock import LibrdkafkaMockCluster

__all__ = ["librdkafka_mock", "rdpy_mock"]


@pytest.fixture
def librdkafka_mock() -> Iterator[LibrdkafkaMockCluster]:
    """A fresh 3-broker librdkafka mock cluster (broker ids 1, 2, 3), destroyed afterwards."""
    with LibrdkafkaMockCluster(broker_cnt=3) as cluster:
        yield cluster


@pytest.fixture
def rdpy_mock() -> Iterator[MockCluster]:
    """A fresh 3-broker rdpy mock cluster (broker ids 1, 2, 3, topics auto-created with 4
    partitions), closed afterwards. A crash in one of its request handlers fails the test even
    when the client coped with the dropped connection."""
    with MockCluster(num_brokers=3) as cluster:
        yield cluster
        assert cluster.internal_errors == [], cluster.internal_errors
