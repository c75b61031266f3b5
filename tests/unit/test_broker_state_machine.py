"""The broker connection state machine, stepped by hand with a fake clock.

No threads are started: the test calls serve_once(now) itself, so every transition and every
reconnect delay is observed exactly. The peer is a closed loopback port (connection refused).
"""

from __future__ import annotations

from typing import Any

from rdpy.client.broker.broker import DOWN, INIT, Broker
from rdpy.client.handle import Handle
from rdpy.client.ops import ErrorEvent
from rdpy.client.request import Request
from rdpy.config import Conf
from rdpy.protocol.messages import MetadataRequest
from rdpy.protocol.messages.metadata import MetadataResponse
from tests.support.broker import free_loopback_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_broker(**conf: Any) -> tuple[Handle, Broker, FakeClock]:
    clock = FakeClock()
    port = free_loopback_port()
    settings = Conf.from_dict({"bootstrap.servers": f"127.0.0.1:{port}", **conf},
                              "producer").finalize("producer")
    handle = Handle(settings, "producer", clock=clock)
    broker = Broker(handle, -1, "127.0.0.1", port)
    handle.bootstrap.append(broker)  # as Handle.start() does, minus the threads
    return handle, broker, clock


def step_until_down(broker: Broker, clock: FakeClock, limit: int = 50) -> None:
    for _ in range(limit):
        broker.serve_once(clock.now)
        if broker.state == DOWN:
            return
    raise AssertionError(f"broker stayed in {broker.state}")


def test_idle_broker_does_not_connect() -> None:
    _, broker, clock = make_broker()
    broker.serve_once(clock.now)
    assert broker.state == INIT and broker.connects == 0


def test_refused_connection_backs_off_with_doubling_jittered_delay() -> None:
    handle, broker, clock = make_broker(**{"reconnect.backoff.ms": 100,
                                           "reconnect.backoff.max.ms": 1000})
    failures: list[int] = []
    broker.enqueue_request(Request(MetadataResponse, lambda v: MetadataRequest(topics=[]),
                                   lambda b, err, resp, req: failures.append(err), 5.0))
    step_until_down(broker, clock)
    assert broker.connects == 1
    assert failures == [-195]  # the queued request fails with _TRANSPORT
    delays = []
    for _ in range(5):
        delays.append(broker.next_connect_at - clock.now)
        broker.enqueue_request(Request(MetadataResponse, lambda v: MetadataRequest(topics=[]),
                                       lambda b, err, resp, req: None, 5.0))
        # Before the delay has passed nothing happens ...
        clock.now = broker.next_connect_at - 0.001
        broker.serve_once(clock.now)
        assert broker.state == DOWN
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
    errors = [op.error for op in handle.reply_q.pop_all() if isinstance(op, ErrorEvent)]
    # Every failed attempt is reported (as librdkafka does), the first one before the single
    # _ALL_BROKERS_DOWN it causes.
    transport = [e for e in errors if e.code() == -195]
    assert len(transport) == broker.connects == 6
    assert all("Connect to" in e.str() and "in state CONNECT)" in e.str() for e in transport)
    assert [e.code() for e in errors[:2]] == [-195, -187]
    assert [e.str() for e in errors if e.code() == -187] == ["1/1 brokers are down"]


def test_reconnect_backoff_starts_over_after_a_quiet_period() -> None:
    """librdkafka resets the backoff to reconnect.backoff.ms when the last scheduled attempt
    lies more than reconnect.backoff.max.ms in the past."""
    _, broker, clock = make_broker(**{"reconnect.backoff.ms": 100,
                                      "reconnect.backoff.max.ms": 1000})
    for _ in range(4):
        broker.enqueue_request(Request(MetadataResponse, lambda v: MetadataRequest(topics=[]),
                                       lambda b, err, resp, req: None, 5.0))
        clock.now = max(clock.now, broker.next_connect_at)
        step_until_down(broker, clock)
    assert broker.next_connect_at - clock.now >= 0.75  # backed off to the maximum
    clock.now = broker.next_connect_at + 1.5  # quiet for longer than the maximum
    broker.enqueue_request(Request(MetadataResponse, lambda v: MetadataRequest(topics=[]),
                                   lambda b, err, resp, req: None, 5.0))
    step_until_down(broker, clock)
    assert 0.15 <= broker.next_connect_at - clock.now <= 0.3


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
