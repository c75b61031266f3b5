"""Log lines as confluent-kafka hands them to a logger, debug contexts, log.connection.close."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from rdpy.client.broker.setup import BrokerState
from rdpy.client.log import python_level
from rdpy.client.ops import ErrorEvent, LogLine
from rdpy.errors import ErrorCode
from rdpy.protocol.messages.metadata import MetadataResponse
from tests.unit.test_broker_state_machine import (Peer, make_broker, metadata_request,
                                                  step_until)


def _log_ops(handle: Any) -> list[tuple[int, str, str]]:
    return [(op.level, op.facility, op.text) for op in handle.reply_q.pop_all()
            if isinstance(op, LogLine)]


@pytest.mark.parametrize("close_logged", [True, False])
def test_idle_disconnect_is_logged_only_with_log_connection_close(close_logged: bool) -> None:
    peer = Peer()
    try:
        handle, broker, clock = make_broker(peer.port, **{
            "logger": logging.getLogger("t"), "log.connection.close": close_logged})
        broker.enqueue_request(metadata_request())
        step_until(broker, clock, lambda: broker.inflight_count() == 1, "ApiVersions sent")
        _, version, corr = peer.read_request()
        peer.answer_api_versions(corr, version)
        step_until(broker, clock, lambda: broker.state is BrokerState.UP and not broker.outq,
                   "Metadata sent")
        _, version, corr = peer.read_request()
        peer.answer(corr, MetadataResponse(), version)
        step_until(broker, clock, lambda: broker.inflight_count() == 0, "Metadata answered")
    finally:
        peer.close()  # an idle connection, closed by the broker
    step_until(broker, clock, lambda: broker.state is BrokerState.DOWN, "DOWN")
    ops = handle.reply_q.pop_all()
    # Not worth an error event (only the _ALL_BROKERS_DOWN it leads to, for a single broker).
    assert [op.error.code() for op in ops if isinstance(op, ErrorEvent)] == [
        ErrorCode._ALL_BROKERS_DOWN]
    lines = [(op.level, op.facility, op.text) for op in ops
             if isinstance(op, LogLine) and op.facility == "FAIL"]
    if close_logged:
        (line,) = lines
        assert line[0] == 6 and "Disconnected" in line[2]
    else:
        assert lines == []


def test_debug_contexts_select_what_is_logged_and_raise_the_level() -> None:
    handle, broker, clock = make_broker(**{"logger": logging.getLogger("t"),
                                           "debug": "broker", "log_level": 3})
    assert handle.log_level == 7  # any debug context raises log_level to debug, as librdkafka
    _log_ops(handle)
    broker.enqueue_request(metadata_request())
    broker.serve_once(clock.now)
    handle.dbg("protocol", "SEND", "not selected")
    line = next(line for line in _log_ops(handle) if line[1] == "STATE")
    assert line[:2] == (7, "STATE")
    assert line[2] == ("[thrd:app]: 127.0.0.1:%d/bootstrap: Broker changed state INIT -> "
                       "TRY_CONNECT" % broker.port)


def test_all_selects_every_context_and_no_debug_logs_nothing() -> None:
    handle, _, _ = make_broker(**{"logger": logging.getLogger("t"), "debug": "all"})
    assert {"broker", "protocol", "fetch", "cgrp", "conf", "msg"} <= handle.debug
    assert "all" not in handle.debug
    quiet, _, _ = make_broker(**{"logger": logging.getLogger("t")})
    _log_ops(quiet)
    quiet.dbg("broker", "STATE", "x")
    assert _log_ops(quiet) == [] and quiet.log_level == 6


def test_syslog_levels_map_as_confluent_kafka_maps_them() -> None:
    assert [python_level(n) for n in range(8)] == [50, 50, 50, 40, 30, 20, 20, 10]
