"""rdpy/mock/faults.py (the mock's injected request faults and request record) and the mock
server's use of it: librdkafka's precedence (a broker's own stack before the cluster-wide one),
per-request response delays that keep responses in order, _TRANSPORT closing the connection,
request tracking and per-broker counts."""

from __future__ import annotations

import time

import pytest

from rdpy.errors import ErrorCode
from rdpy.mock import MockCluster
from rdpy.mock.faults import NO_FAULT, TRANSPORT, Fault, RequestFaults, TrackedRequest
from rdpy.protocol.messages import MetadataRequest
from tests.support.rawclient import RawConnection

METADATA = MetadataRequest.API_KEY


def test_broker_stack_comes_before_the_cluster_stack_and_both_drain_in_order() -> None:
    faults = RequestFaults()
    faults.push(0, (ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT))
    faults.push_broker(2, 0, (Fault(ErrorCode.NOT_LEADER_OR_FOLLOWER, 0.3), Fault(0, 0.1)))
    assert faults.broker_stack_count(2, 0) == 2
    # Broker 1 has no stack of its own: the cluster-wide one serves it.
    assert faults.take(1, 0) == Fault(ErrorCode.NOT_ENOUGH_REPLICAS, 0.0)
    assert faults.take(2, 0) == Fault(ErrorCode.NOT_LEADER_OR_FOLLOWER, 0.3)
    assert faults.take(2, 0) == Fault(0, 0.1)
    assert faults.broker_stack_count(2, 0) == 0
    assert faults.take(2, 0) == Fault(ErrorCode.REQUEST_TIMED_OUT, 0.0)
    assert faults.take(2, 0) == NO_FAULT
    assert faults.take(2, 1) == NO_FAULT  # other API keys are untouched


def test_clear_drops_only_the_cluster_stack() -> None:
    faults = RequestFaults()
    faults.push(0, (ErrorCode.NOT_ENOUGH_REPLICAS,))
    faults.push_broker(1, 0, (Fault(ErrorCode.NOT_LEADER_OR_FOLLOWER, 0.0),))
    faults.clear(0)
    assert faults.take(2, 0) == NO_FAULT
    assert faults.take(1, 0).code == ErrorCode.NOT_LEADER_OR_FOLLOWER


def test_requests_are_counted_always_and_tracked_only_while_tracking() -> None:
    faults = RequestFaults()
    faults.record(1, 0, 10)
    faults.start_tracking()
    faults.record(2, 0, 20)
    faults.record(2, 22, 30)
    faults.stop_tracking()
    faults.record(3, 0, 40)
    assert faults.counts == {0: 3, 22: 1}
    assert faults.broker_counts == {(1, 0): 1, (2, 0): 1, (2, 22): 1, (3, 0): 1}
    assert faults.tracked() == [TrackedRequest(2, 0, 20), TrackedRequest(2, 22, 30)]
    faults.clear_tracked()
    assert faults.tracked() == []


def _metadata(conn: RawConnection) -> tuple[float, int]:
    """(seconds the request took, how many brokers the answer lists)."""
    t0 = time.monotonic()
    response = conn.request(MetadataRequest(topics=[]), 1)
    return time.monotonic() - t0, len(response.brokers)


def test_mock_server_delays_errors_tracks_and_counts_per_broker() -> None:
    with MockCluster(num_brokers=2) as cluster:
        b1, b2 = cluster.bootstrap_servers.split(",")
        cluster.start_request_tracking()
        cluster.broker_push_request_error_rtts(2, METADATA, (0, 400), (0, 0))
        with RawConnection(b1) as c1, RawConnection(b2) as c2:
            elapsed, brokers = _metadata(c1)
            assert elapsed < 0.3 and brokers == 2  # broker 1 has no stack
            elapsed, brokers = _metadata(c2)
            assert elapsed >= 0.38 and brokers == 2  # served normally, 400 ms late
            assert cluster.broker_error_stack_cnt(2, METADATA) == 1
            elapsed, _ = _metadata(c2)
            assert elapsed < 0.3
        assert cluster.broker_error_stack_cnt(2, METADATA) == 0
        assert cluster.request_count(METADATA) == 3
        assert cluster.request_count(METADATA, broker_id=2) == 2
        tracked = cluster.get_requests()
        assert [(r.broker_id, r.api_key) for r in tracked] == [(1, METADATA), (2, METADATA), (2, METADATA)]
        assert [r.timestamp_us for r in tracked] == sorted(r.timestamp_us for r in tracked)
        assert cluster.internal_errors == []


def test_a_delayed_response_holds_back_the_ones_pipelined_behind_it() -> None:
    """As in librdkafka's mock: responses leave in request order, so one held 400 ms delays
    the next one on the same connection even though that one has no delay of its own."""
    with MockCluster(num_brokers=1) as cluster:
        cluster.broker_push_request_error_rtts(1, METADATA, (0, 400))
        with RawConnection(cluster.bootstrap_servers) as conn:
            t0 = time.monotonic()
            first_id, first = conn.session.send_request(MetadataRequest(topics=[]), 1)
            second_id, second = conn.session.send_request(MetadataRequest(topics=[]), 1)
            conn.sock.sendall(first + second)
            got: list[int] = []
            while len(got) < 2:
                for frame in conn.decoder.feed(conn.sock.recv(1 << 16)):
                    got.append(conn.session.receive(frame)[0])
            assert got == [first_id, second_id]
            assert time.monotonic() - t0 >= 0.38


def test_injected_transport_error_closes_the_connection() -> None:
    with MockCluster(num_brokers=1) as cluster:
        cluster.push_request_errors(METADATA, TRANSPORT)
        with RawConnection(cluster.bootstrap_servers) as conn:
            with pytest.raises(ConnectionError):
                _metadata(conn)
        with RawConnection(cluster.bootstrap_servers) as conn:
            assert _metadata(conn)[1] == 1  # the stack is used up: served again
        assert cluster.request_count(METADATA) == 2
        assert cluster.internal_errors == []


def test_negative_rtt_and_unknown_broker_are_refused() -> None:
    with MockCluster(num_brokers=1) as cluster:
        with pytest.raises(ValueError):
            cluster.broker_push_request_error_rtts(1, METADATA, (0, -1))
        with pytest.raises(KeyError):
            cluster.broker_push_request_error_rtts(7, METADATA, (0, 0))
        assert cluster.broker_error_stack_cnt(1, METADATA) == 0
