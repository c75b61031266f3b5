"""The broker connection state machine, stepped by hand with a fake clock.

No threads are started: the test calls serve_once(now) itself, so every transition and every
reconnect delay is observed exactly. The Broker is made with an I/O wait that polls its
sockets and never sleeps (it records how long the broker asked to wait), so fake time passes
only when a test moves the clock. The peer is either a closed loopback port (connection
refused) or `Peer`: a listening loopback socket through which the test plays the broker, one
request and one answer at a time.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import pytest

from rdpy.client.broker.broker import Broker
from rdpy.client.broker.role import IDLE_WAKEUP
from rdpy.client.broker.setup import BrokerState, SecurityProtocol, SetupPlan
from rdpy.client.handle import Handle
from rdpy.client.msg import ProducerMessage
from rdpy.client.ops import ErrorEvent, LogLine, ReplyOp, TopparLeave
from rdpy.client.produce.server import ProduceServer
from rdpy.client.request import Request
from rdpy.client.toppar import Toppar
from rdpy.config import Conf
from rdpy.errors import ErrorCode, KafkaError
from rdpy.protocol import Message, ResponseHeader
from rdpy.protocol.headers import response_header_version
from rdpy.protocol.messages import ApiVersionsRequest, MetadataRequest
from rdpy.protocol.messages.api_versions import ApiVersion, ApiVersionsResponse
from rdpy.protocol.messages.metadata import MetadataResponse
from tests.support.broker import free_loopback_port

S = BrokerState


class FakeClock:
    """Fake time for a Broker: the clock it reads, and the I/O wait it is made with, which
    polls the sockets (select() with a zero timeout) instead of sleeping and records in
    `asked` the timeouts the broker computed from this clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.asked: list[float] = []
        #: While set, no socket is ready (a slow network: a connect still in progress).
        self.stalled = False

    def __call__(self) -> float:
        return self.now

    def wait(self, rlist: list[socket.socket], wlist: list[socket.socket],
             xlist: list[socket.socket], timeout: float, /
             ) -> tuple[list[socket.socket], list[socket.socket], list[socket.socket]]:
        self.asked.append(timeout)
        if self.stalled:
            return [], [], []
        return select.select(rlist, wlist, xlist, 0)


def make_broker(port: int | None = None, /, **conf: Any) -> tuple[Handle, Broker, FakeClock]:
    clock = FakeClock()
    port = free_loopback_port() if port is None else port
    settings = Conf.from_dict({"bootstrap.servers": f"127.0.0.1:{port}", **conf},
                              "producer").finalize("producer")
    handle = Handle(settings, "producer", clock=clock)
    broker = Broker(handle, -1, "127.0.0.1", port, io_wait=clock.wait)
    handle.bootstrap.append(broker)  # as Handle.start() does, minus the threads
    return handle, broker, clock


def step_until(broker: Broker, clock: FakeClock, done: Callable[[], bool], what: str) -> None:
    """Step at the current fake time (at least once) until `done()`: the kernel's loopback
    needs a few polls at most; the wall-clock bound only keeps a broken test from spinning
    forever."""
    give_up = time.monotonic() + 5.0
    broker.serve_once(clock.now)
    while not done():
        if time.monotonic() > give_up:
            raise AssertionError(f"{what}: broker stayed in {broker.state}")
        broker.serve_once(clock.now)


def state_of(broker: Broker) -> BrokerState:
    """The broker's state, re-read (for mypy, which keeps an asserted state narrowed)."""
    return broker.state


def step_until_down(broker: Broker, clock: FakeClock) -> None:
    step_until(broker, clock, lambda: broker.state is S.DOWN, "DOWN")


def metadata_request(on_done: Callable[..., None] = lambda *a: None) -> Request[MetadataResponse]:
    return Request(MetadataResponse, lambda v: MetadataRequest(topics=[]), on_done, 5.0)


def events(handle: Handle) -> list[ReplyOp]:
    """What the broker reported to the application's thread so far (taken off the queue)."""
    return handle.reply_q.pop_all()


def states(ops: list[ReplyOp]) -> list[str]:
    """The state changes logged (debug=broker, with a logger)."""
    return [op.text.split("Broker changed state ")[1] for op in ops
            if isinstance(op, LogLine) and op.facility == "STATE"]


def errors(ops: list[ReplyOp]) -> list[KafkaError]:
    return [op.error for op in ops if isinstance(op, ErrorEvent)]


# What the test's broker says it supports.
BROKER_APIS = [ApiVersion(api_key=ApiVersionsRequest.API_KEY, min_version=0, max_version=3),
               ApiVersion(api_key=MetadataRequest.API_KEY, min_version=0, max_version=12)]


class Peer:
    """The broker, played by the test: a listening loopback socket. The Broker connects to it
    (the kernel completes the handshake before accept()), the test reads each request the
    Broker sent and writes the answer it chooses."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None

    def read_request(self) -> tuple[int, int, int]:
        """(api_key, api_version, correlation id) of the next request."""
        if self.conn is None:
            self.conn, _ = self.listener.accept()
            self.conn.settimeout(5.0)
        size = struct.unpack(">i", self._read(4))[0]
        api_key, version, corr = struct.unpack_from(">hhi", self._read(size))
        return api_key, version, corr

    def answer(self, corr: int, response: Message, version: int) -> None:
        out = bytearray()
        ResponseHeader(correlation_id=corr).encode_into(
            out, response_header_version(response.API_KEY, version))
        response.encode_into(out, version)
        self.answer_raw(bytes(out))

    def answer_raw(self, body: bytes) -> None:
        """`body` (correlation id included) as one frame."""
        assert self.conn is not None
        self.conn.sendall(struct.pack(">i", len(body)) + body)

    def answer_api_versions(self, corr: int, version: int, error_code: int = 0) -> None:
        self.answer(corr, ApiVersionsResponse(error_code=error_code, api_keys=BROKER_APIS),
                    version)

    def close(self) -> None:
        for s in (self.conn, self.listener):
            if s is not None:
                s.close()

    def _read(self, n: int) -> bytes:
        assert self.conn is not None
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            assert chunk, "the client closed the connection"
            data += chunk
        return data


@pytest.fixture
def peer() -> Any:
    p = Peer()
    yield p
    p.close()


def connect_to(peer: Peer, **conf: Any) -> tuple[Handle, Broker, FakeClock]:
    """A broker (debug=broker, logger) with a request queued, stepped until it asked for
    ApiVersions."""
    handle, broker, clock = make_broker(peer.port, logger=logging.getLogger("t"), debug="broker", **conf)
    broker.enqueue_request(metadata_request())
    step_until(broker, clock, lambda: broker.state is not S.INIT
               and broker.state is not S.CONNECT, "past CONNECT")
    return handle, broker, clock


# --- without a peer ------------------------------------------------------------------------


def test_idle_broker_does_not_connect_and_waits_the_idle_interval() -> None:
    _, broker, clock = make_broker()
    broker.serve_once(clock.now)
    assert broker.state is S.INIT and broker.connects == 0
    assert clock.asked == [IDLE_WAKEUP]  # asked for, not slept: the wait does not block


def test_refused_connection_backs_off_with_doubling_jittered_delay() -> None:
    handle, broker, clock = make_broker(**{"reconnect.backoff.ms": 100,
                                           "reconnect.backoff.max.ms": 1000})
    failures: list[int] = []
    broker.enqueue_request(metadata_request(lambda b, err, resp, req: failures.append(err)))
    step_until_down(broker, clock)
    assert broker.connects == 1
    assert failures == [ErrorCode._TRANSPORT]  # the queued request fails
    delays = []
    for _ in range(5):
        delays.append(broker.next_connect_at - clock.now)
        broker.enqueue_request(metadata_request())
        # Before the delay has passed nothing happens, and the broker waits for the rest ...
        clock.now = broker.next_connect_at - 0.001
        broker.serve_once(clock.now)
        assert broker.state is S.DOWN
        assert clock.asked[-1] == pytest.approx(0.001)
        # ... after it, the broker connects again and fails again.
        connects = broker.connects
        clock.now = broker.next_connect_at
        step_until_down(broker, clock)
        assert broker.connects == connects + 1
    # librdkafka's rule (rd_kafka_broker_update_reconnect_backoff): the backoff doubles at
    # every update, up to reconnect.backoff.max.ms, and is updated twice per failed attempt
    # (when the attempt starts and when every address failed); the delay is the backoff with
    # -25%/+50% jitter, capped at the maximum -- never above it.
    for delay, base in zip(delays, [0.2, 0.8, 1.0, 1.0, 1.0]):
        assert 0.75 * base <= delay <= min(1.5 * base, 1.0), (delays, base)
    errs = errors(events(handle))
    # Every failed attempt is reported (as librdkafka does), the first one before the single
    # _ALL_BROKERS_DOWN it causes.
    transport = [e for e in errs if e.code() == ErrorCode._TRANSPORT]
    assert len(transport) == broker.connects == 6
    assert all("Connect to" in e.str() and "in state CONNECT)" in e.str() for e in transport)
    assert [e.code() for e in errs[:2]] == [ErrorCode._TRANSPORT, ErrorCode._ALL_BROKERS_DOWN]
    assert [e.str() for e in errs if e.code() == ErrorCode._ALL_BROKERS_DOWN] == [
        "1/1 brokers are down"]


def test_reconnect_backoff_starts_over_after_a_quiet_period() -> None:
    """librdkafka resets the backoff to reconnect.backoff.ms when the last scheduled attempt
    lies more than reconnect.backoff.max.ms in the past."""
    _, broker, clock = make_broker(**{"reconnect.backoff.ms": 100,
                                      "reconnect.backoff.max.ms": 1000})
    for _ in range(4):
        broker.enqueue_request(metadata_request())
        clock.now = max(clock.now, broker.next_connect_at)
        step_until_down(broker, clock)
    assert broker.next_connect_at - clock.now >= 0.75  # backed off to the maximum
    clock.now = broker.next_connect_at + 1.5  # quiet for longer than the maximum
    broker.enqueue_request(metadata_request())
    step_until_down(broker, clock)
    assert 0.15 <= broker.next_connect_at - clock.now <= 0.3


@pytest.mark.parametrize("protocol, expected", [
    ("plaintext", [S.CONNECT, S.APIVERSION_QUERY]),
    ("ssl", [S.CONNECT, S.SSL_HANDSHAKE, S.APIVERSION_QUERY]),
    ("sasl_plaintext", [S.CONNECT, S.APIVERSION_QUERY, S.AUTH_HANDSHAKE, S.AUTH_REQ]),
    ("sasl_ssl", [S.CONNECT, S.SSL_HANDSHAKE, S.APIVERSION_QUERY, S.AUTH_HANDSHAKE,
                  S.AUTH_REQ]),
])
def test_setup_steps_are_those_the_security_protocol_needs(protocol: str,
                                                            expected: list[BrokerState]) -> None:
    conf = {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": protocol}
    if protocol.startswith("sasl"):
        conf["sasl.mechanism"] = "PLAIN"
    plan = SetupPlan(Conf.from_dict(conf, "producer").finalize("producer"))
    assert [step.state for step in plan.steps] == expected


def test_a_mock_cluster_ignores_security_protocol_as_librdkafka_does() -> None:
    settings = Conf.from_dict({"security.protocol": "ssl", "test.mock.num.brokers": 1},
                              "producer").finalize("producer")
    assert SetupPlan(settings).security is SecurityProtocol.PLAINTEXT


# --- against the test's peer -----------------------------------------------------------------


def test_plaintext_setup_asks_api_versions_v3_and_is_up_on_the_answer(peer: Peer) -> None:
    handle, broker, clock = connect_to(peer)
    assert broker.state is S.APIVERSION_QUERY
    api_key, version, corr = peer.read_request()
    assert (api_key, version) == (ApiVersionsRequest.API_KEY, 3)
    peer.answer_api_versions(corr, 3)
    step_until(broker, clock, lambda: broker.state is S.UP, "UP")
    assert states(events(handle)) == ["INIT -> TRY_CONNECT", "TRY_CONNECT -> CONNECT",
                                      "CONNECT -> APIVERSION_QUERY", "APIVERSION_QUERY -> UP"]
    assert broker.version_for(MetadataRequest.API_KEY) is not None
    # The request that made it connect goes out once UP.
    step_until(broker, clock, lambda: broker.inflight_count() == 1, "Metadata sent")
    assert peer.read_request()[0] == MetadataRequest.API_KEY


def test_unsupported_api_versions_version_is_asked_again_with_the_brokers_maximum(
        peer: Peer) -> None:
    _, broker, clock = connect_to(peer)
    _, version, corr = peer.read_request()
    # A broker that does not know v3 answers with a v0 body listing its own range (max 2 here:
    # the client asks again with min(broker's max, 3 - 1)).
    apis = [ApiVersion(api_key=ApiVersionsRequest.API_KEY, min_version=0, max_version=1)]
    peer.answer(corr, ApiVersionsResponse(error_code=ErrorCode.UNSUPPORTED_VERSION,
                                          api_keys=apis), 0)
    step_until(broker, clock, lambda: broker.inflight_count() == 1
               and next(iter(broker.waitresp.values())).version == 1, "asked again")
    _, version, corr = peer.read_request()
    assert version == 1
    peer.answer_api_versions(corr, 1)
    step_until(broker, clock, lambda: broker.state is S.UP, "UP")


def test_unparsable_api_versions_answer_is_asked_again_with_v0(peer: Peer) -> None:
    _, broker, clock = connect_to(peer)
    _, _, corr = peer.read_request()
    peer.answer_raw(struct.pack(">i", corr) + b"\x00")  # ends in the middle of a field
    step_until(broker, clock, lambda: broker.inflight_count() == 1
               and next(iter(broker.waitresp.values())).version == 0, "asked with v0")
    _, version, corr = peer.read_request()
    assert version == 0
    peer.answer_api_versions(corr, 0)
    step_until(broker, clock, lambda: broker.state is S.UP, "UP")


def test_api_versions_error_fails_the_connection(peer: Peer) -> None:
    handle, broker, clock = connect_to(peer)
    _, _, corr = peer.read_request()
    peer.answer_api_versions(corr, 3, error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    step_until_down(broker, clock)
    (err,) = [e for e in errors(events(handle)) if e.code() == ErrorCode._TRANSPORT]
    assert "ApiVersionRequest failed: broker error 31" in err.str()


def test_setup_timeout_counts_from_connect_across_setup_states(peer: Peer) -> None:
    """socket.connection.setup.timeout.ms covers the whole setup (librdkafka's rkb_ts_connect),
    not each state: 3 s in CONNECT leave 2 s of a 5 s budget to APIVERSION_QUERY."""
    handle, broker, clock = make_broker(peer.port, **{
        "socket.connection.setup.timeout.ms": 5000, "api.version.request.timeout.ms": 60_000})
    broker.enqueue_request(metadata_request())
    start = clock.now
    clock.stalled = True
    broker.serve_once(clock.now)
    assert broker.state is S.CONNECT
    clock.now = start + 3.0
    clock.stalled = False
    step_until(broker, clock, lambda: broker.state is S.APIVERSION_QUERY, "APIVERSION_QUERY")
    clock.now = start + 4.999
    broker.serve_once(clock.now)
    assert state_of(broker) is S.APIVERSION_QUERY
    assert clock.asked[-1] == pytest.approx(0.001)  # it wakes up exactly at the deadline
    clock.now = start + 5.0
    broker.serve_once(clock.now)
    assert state_of(broker) is S.DOWN
    (err,) = [e for e in errors(events(handle)) if e.code() == ErrorCode._TRANSPORT]
    assert err.str().endswith("Connection setup timed out in state APIVERSION_QUERY "
                              "(after 2000ms in state APIVERSION_QUERY)")


def test_tls_step_fails_the_connection_as_not_implemented(peer: Peer) -> None:
    """Producer() refuses security.protocol=ssl; a broker that gets there anyway fails the
    connection with _NOT_IMPLEMENTED, and so does what waited for it."""
    handle, broker, clock = make_broker(peer.port, logger=logging.getLogger("t"), debug="broker",
                                        **{"security.protocol": "ssl"})
    failures: list[int] = []
    broker.enqueue_request(metadata_request(lambda b, err, resp, req: failures.append(err)))
    step_until_down(broker, clock)
    ops = events(handle)
    assert states(ops) == ["INIT -> TRY_CONNECT", "TRY_CONNECT -> CONNECT",
                           "CONNECT -> SSL_HANDSHAKE", "SSL_HANDSHAKE -> DOWN"]
    assert failures == [ErrorCode._NOT_IMPLEMENTED]
    first = errors(ops)[0]
    assert first.code() == ErrorCode._NOT_IMPLEMENTED
    assert "TLS is not implemented (after 0ms in state SSL_HANDSHAKE)" in first.str()


def test_sasl_steps_follow_api_versions_and_fail_as_not_implemented(peer: Peer) -> None:
    handle, broker, clock = connect_to(peer, **{"security.protocol": "sasl_plaintext",
                                                "sasl.mechanism": "PLAIN"})
    _, _, corr = peer.read_request()
    peer.answer_api_versions(corr, 3)
    step_until_down(broker, clock)
    ops = events(handle)
    assert states(ops) == ["INIT -> TRY_CONNECT", "TRY_CONNECT -> CONNECT",
                           "CONNECT -> APIVERSION_QUERY", "APIVERSION_QUERY -> AUTH_HANDSHAKE",
                           "AUTH_HANDSHAKE -> DOWN"]
    assert errors(ops)[0].code() == ErrorCode._NOT_IMPLEMENTED


# --- the handle, with the same fake clock ------------------------------------------------------


def test_cached_topic_metadata_expires_after_metadata_max_age() -> None:
    from rdpy.protocol.messages.metadata import (
        MetadataResponse,
        MetadataResponsePartition,
        MetadataResponseTopic,
    )

    handle, _, clock = make_broker(**{"metadata.max.age.ms": 60_000,
                                      "topic.metadata.refresh.interval.ms": 10_000})
    response = MetadataResponse(topics=[MetadataResponseTopic(
        name="t", partitions=[MetadataResponsePartition(partition_index=0, leader_id=-1)])])
    handle.apply_metadata(response, ["t"])
    assert "t" in handle.metadata.topics
    clock.now += 59.9
    handle.serve_main(clock.now)
    assert "t" in handle.metadata.topics
    clock.now += 0.2
    handle.serve_main(clock.now)
    assert "t" not in handle.metadata.topics


def test_a_request_posted_after_the_thread_ended_fails_on_the_main_thread() -> None:
    """A decommissioned broker's thread ends while the client runs on: a component that picked
    the broker just before it left the table may post a request after that. It fails with the
    error the thread failed its own requests with, at the main thread's next tick (not on the
    poster's thread, which may hold locks), instead of waiting forever."""
    handle, broker, clock = make_broker()
    before: list[int] = []
    broker.enqueue_request(metadata_request(lambda b, err, resp, req: before.append(err)))
    broker._fail_outstanding(ErrorCode._DESTROY_BROKER)  # what the ending thread does
    assert before == [ErrorCode._DESTROY_BROKER]

    after: list[tuple[Broker, int]] = []
    broker.enqueue_request(metadata_request(lambda b, err, resp, req: after.append((b, err))))
    assert after == []  # not on this (the poster's) thread
    handle.serve_main(clock.now)
    assert after == [(broker, ErrorCode._DESTROY_BROKER)]
    handle.serve_main(clock.now)
    assert len(after) == 1


@pytest.mark.parametrize("leave_posted", [True, False], ids=["leave-posted-late", "still-led"])
def test_an_ending_thread_hands_its_transmit_queues_back(leave_posted: bool) -> None:
    """A decommissioned broker's partitions are moved off it by TopparLeave ops, which can come
    just after its thread's last look at its ops; the thread then ended still owning their
    transmit queues, which no other broker could claim and nothing expired: every message of
    the partition stayed unreported (seen on Kafka and rdpy's mock with leaders moving). An
    ending thread serves what was posted, and hands back whatever it still leads."""
    handle, broker, clock = make_broker()
    broker.role = ProduceServer(broker)  # as a Producer's handle makes its brokers' roles
    tp = Toppar("t", 0)
    msgs = [ProducerMessage("t", 0, None, b"v", None, 0, None, 0.0, clock.now + 60, 1) for _ in range(3)]
    broker.toppars.append(tp)
    for m in msgs[:2]:
        tp.enqueue(m)
    assert tp.claim_xmitq(broker)
    tp.move_msgq_to_xmitq()  # two in the transmit queue, given msgids 1 and 2
    tp.enqueue(msgs[2])  # one not taken in yet
    if leave_posted:
        broker.post(TopparLeave(tp))  # as undelegate() does when the broker is decommissioned
    broker._fail_outstanding(ErrorCode._DESTROY_BROKER)  # what the ending thread does
    assert tp.xmit_owner is None and not tp.xmitq and broker.toppars == []
    assert list(tp.msgq) == msgs  # in order: the transmit queue's ahead of the newer one
    other = Broker(handle, 2, "127.0.0.1", 1, io_wait=clock.wait)
    assert tp.claim_xmitq(other)
