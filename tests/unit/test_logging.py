"""Log lines as confluent-kafka hands them to a logger, debug contexts, log.connection.close."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from rdpy.client.broker.broker import DOWN, UP
from rdpy.client.ops import LogLine
from rdpy.client.log import python_level
from rdpy.errors import ErrorCode
from tests.unit.test_broker_state_machine import make_broker


class _Conn:
    def close(self) -> None:
        pass


def _log_ops(handle: Any) -> list[tuple[int, str, str]]:
    return [(op.level, op.facility, op.text) for op in handle.reply_q.pop_all()
            if isinstance(op, LogLine)]


@pytest.mark.parametrize("close_logged", [True, False])
def test_idle_disconnect_is_logged_only_with_log_connection_close(close_logged: bool) -> None:
    handle, broker, clock = make_broker(**{"logger": logging.getLogger("t"),
                                           "log.connection.close": close_logged})
    broker.state = UP
    broker.conn = _Conn()  # type: ignore[assignment]
    broker._fail(ErrorCode._TRANSPORT, "Disconnected", clock.now)
    lines = [line for line in _log_ops(handle) if line[1] == "FAIL"]
    if close_logged:
        (line,) = lines
        assert line[0] == 6 and "Disconnected" in line[2]
    else:
        assert lines == []
    assert broker.state is DOWN


def test_debug_contexts_select_what_is_logged_and_raise_the_level() -> None:
    handle, broker, clock = make_broker(**{"logger": logging.getLogger("t"),
                                           "debug": "broker", "log_level": 3})
    assert handle.log_level == 7  # any debug context raises log_level to debug, as librdkafka
    _log_ops(handle)
    broker._set_state("TRY_CONNECT", clock.now)
    handle.dbg("protocol", "SEND", "not selected")
    (line,) = _log_ops(handle)
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
