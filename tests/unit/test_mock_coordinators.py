"""rdpy's mock cluster: coordinators pinned with coordinator_set (librdkafka's
rd_kafka_mock_coordinator_set) and every broker's rtt set with broker_set_rtt(-1, ms)."""

from __future__ import annotations

import socket
import time

import pytest

from rdpy.errors import ErrorCode
from rdpy.mock import MockCluster
from rdpy.mock import handlers as h
from rdpy.mock.state import COORDINATOR_GROUP, COORDINATOR_TRANSACTION, ClusterState
from rdpy.protocol.messages import find_coordinator as m_fc
from rdpy.protocol.messages import init_producer_id as m_ipi

T0 = 1_700_000_000_000


def cluster(brokers: int = 3) -> ClusterState:
    state = ClusterState()
    for i in range(1, brokers + 1):
        state.add_broker(i, "127.0.0.1", 9000 + i)
    return state


def ctx(state: ClusterState, broker: int, version: int) -> h.RequestContext:
    return h.RequestContext(state, broker, version, 0, T0)


def find(state: ClusterState, key_type: int, key: str) -> int:
    response = h.handle_find_coordinator(ctx(state, 1, 3), m_fc.FindCoordinatorRequest(
        key=key, key_type=key_type))
    assert response.error_code == 0
    return int(response.node_id)


def init_pid(state: ClusterState, broker: int, txn_id: str) -> m_ipi.InitProducerIdResponse:
    return h.handle_init_producer_id(ctx(state, broker, 2), m_ipi.InitProducerIdRequest(
        transactional_id=txn_id, transaction_timeout_ms=60000))


def test_a_pinned_transaction_coordinator_moves_and_the_old_one_refuses() -> None:
    state = cluster()
    old = state.coordinator(COORDINATOR_TRANSACTION, "tx")
    assert find(state, COORDINATOR_TRANSACTION, "tx") == old
    first = init_pid(state, old, "tx")
    assert first.error_code == 0
    new = old % 3 + 1
    state.set_coordinator(COORDINATOR_TRANSACTION, "tx", new)
    assert find(state, COORDINATOR_TRANSACTION, "tx") == new
    assert init_pid(state, old, "tx").error_code == ErrorCode.NOT_COORDINATOR
    again = init_pid(state, new, "tx")  # the transaction's state moved with it
    assert (again.error_code, again.producer_id, again.producer_epoch) == (
        0, first.producer_id, first.producer_epoch + 1)
    # Groups are pinned separately, by their own key type.
    assert state.coordinator(COORDINATOR_GROUP, "tx") == cluster().coordinator(COORDINATOR_GROUP, "tx")


def test_a_pinned_coordinator_stays_while_its_broker_is_down() -> None:
    state = cluster()
    state.set_coordinator(COORDINATOR_GROUP, "g", 2)
    state.set_broker_up(2, False)
    assert state.coordinator(COORDINATOR_GROUP, "g") == 2


def test_pinning_an_unknown_broker_is_refused() -> None:
    state = cluster()
    with pytest.raises(KeyError, match="no broker 7"):
        state.set_coordinator(COORDINATOR_TRANSACTION, "tx", 7)


def test_mock_cluster_coordinator_set_and_broker_set_rtt() -> None:
    with MockCluster(3) as mc:
        for broker_id in (1, 2, 3):
            mc.coordinator_set("transaction", "tx", broker_id)
            assert mc.coordinator("transaction", "tx") == broker_id
        mc.coordinator_set("group", "g", 2)
        assert mc.coordinator("group", "g") == 2
        with pytest.raises(ValueError, match="key_type"):
            mc.coordinator_set("topic", "t", 1)
        mc.broker_set_rtt(-1, 300)
        # An ApiVersions v0 request to each broker is answered no sooner than 300 ms later.
        for address in mc.bootstrap_servers.split(","):
            host, port = address.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                t0 = time.monotonic()
                header = (18).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big") + \
                    (-1).to_bytes(2, "big", signed=True)
                sock.sendall(len(header).to_bytes(4, "big") + header)
                assert sock.recv(4)
                assert time.monotonic() - t0 >= 0.29
        mc.broker_set_rtt(-1, 0)
        assert mc.internal_errors == []
