"""error_cb, stats_cb, throttle_cb and log lines, served by poll() on the application's thread,
the same way by Producer and Consumer (rdpy.client.events)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

import rdpy
from rdpy import KafkaError
from rdpy.client.events import ClientEvents
from rdpy.throttle_event import ThrottleEvent
from rdpy.client.ops import DeliveryReports, ErrorEvent, LogLine, StatsReady, Throttled


def _client(kind: str, **conf: Any) -> Any:
    base = {"bootstrap.servers": "127.0.0.1:1", **conf}
    if kind == "producer":
        return rdpy.Producer(base)
    return rdpy.Consumer({**base, "group.id": "g"})


def _close(client: Any) -> None:
    if isinstance(client, rdpy.Consumer):
        client.close()
    else:
        client.flush(0)


@pytest.mark.parametrize("kind", ["producer", "consumer"])
def test_queued_events_reach_their_callbacks_on_the_polling_thread(kind: str) -> None:
    seen: list[tuple[str, Any, threading.Thread]] = []

    def record(name: str) -> Any:
        return lambda arg: seen.append((name, arg, threading.current_thread()))

    client = _client(kind, throttle_cb=record("throttle"), stats_cb=record("stats"),
                     error_cb=record("error"))
    try:
        handle = client._handle
        broker = handle.bootstrap[0]
        handle.reply_q.pop_all()  # whatever the client queued by itself so far
        handle.throttled(broker, 250)
        handle.reply_q.push(StatsReady('{"x": 1}'))
        handle.report_error(KafkaError._TRANSPORT, "boom")
        served = client.poll(0)
        if kind == "producer":
            assert served == 3  # poll() counts the events whose callback ran
        names = [name for name, _, _ in seen]
        assert names == ["throttle", "stats", "error"]
        assert all(t is threading.current_thread() for _, _, t in seen)
        event = seen[0][1]
        assert isinstance(event, ThrottleEvent) and isinstance(event, rdpy.ThrottleEvent)
        assert (event.broker_name, event.broker_id, event.throttle_time) == ("127.0.0.1", -1, 0.25)
        assert str(event) == "127.0.0.1/-1 throttled for 250 ms"
        assert seen[1][1] == '{"x": 1}'
        assert seen[2][1].code() == KafkaError._TRANSPORT and seen[2][1].str() == "boom"
    finally:
        _close(client)


def test_events_without_a_callback_are_dropped_and_not_counted() -> None:
    events = ClientEvents({}, "rdkafka#producer-1")
    assert events.serve(Throttled("h", 1, 10)) == 0
    assert events.serve(StatsReady("{}")) == 0
    assert events.serve(ErrorEvent(KafkaError(KafkaError._FAIL))) == 0


def test_an_op_the_events_do_not_know_is_a_bug_not_dropped() -> None:
    events = ClientEvents({}, "rdkafka#producer-1")
    with pytest.raises(TypeError, match="unknown op"):
        events.serve(DeliveryReports([]))


def test_log_lines_go_to_the_logger_in_confluent_kafkas_shape() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("rdpy-test-client-events")
    logger.addHandler(Keep())
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    events = ClientEvents({"logger": logger}, "rdkafka#consumer-3")
    assert events.serve(LogLine(4, "CONFWARN", "[thrd:app]: careful")) == 0
    (r,) = records
    assert (r.levelno, r.msg, r.args) == (logging.WARNING, "%s [%s] %s",
                                          ("CONFWARN", "rdkafka#consumer-3", "[thrd:app]: careful"))
