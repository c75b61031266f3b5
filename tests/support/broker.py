"""The broker the integration tests use: Tansu (see rdpy.testing), or RDPY_TEST_BOOTSTRAP.

The suite starts one Tansu process per test session on a free loopback port with in-memory
storage, and stops it at the end. Its log goes to a file that is kept (and its path printed)
when a test failed. `RDPY_TEST_BOOTSTRAP=host:port` points the suite at an external cluster
instead, in which case nothing is started.
"""

from __future__ import annotations

import os

from rdpy.testing.tansu import BrokerEndpoint, free_loopback_port, start_tansu, wait_for_port

__all__ = ["BrokerEndpoint", "broker_from_environment", "free_loopback_port", "start_tansu",
           "wait_for_port"]


def broker_from_environment() -> BrokerEndpoint | None:
    """The external cluster named by RDPY_TEST_BOOTSTRAP, if any."""
    bootstrap = os.environ.get("RDPY_TEST_BOOTSTRAP", "").strip()
    if not bootstrap:
        return None
    return BrokerEndpoint(bootstrap, external=True)
