"""What a `logger` receives, from confluent-kafka and from rdpy, with the same debug settings."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import confluent_kafka
import pytest

import rdpy

CLIENTS = {"confluent_kafka": confluent_kafka, "rdpy": rdpy}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _produce_one(mod: Any, bootstrap: str, **conf: Any) -> tuple[list[logging.LogRecord], str]:
    handler = _Records()
    logger = logging.getLogger(f"rdpy-test-{uuid.uuid4().hex}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    p = mod.Producer({"bootstrap.servers": bootstrap, "logger": logger, **conf})
    p.produce(f"rdpy-log-{uuid.uuid4().hex[:8]}", b"x")
    assert p.flush(30) == 0
    for _ in range(5):
        p.poll(0.05)
    name = p._handle.name if mod is rdpy else _name_from(handler.records)
    return handler.records, name


def _name_from(records: list[logging.LogRecord]) -> str:
    return str(records[0].args[1]) if records else ""  # type: ignore[index]


def _facilities(records: list[logging.LogRecord]) -> set[str]:
    return {str(r.args[0]) for r in records if r.levelno == logging.DEBUG}  # type: ignore[index]


@pytest.mark.parametrize("client", list(CLIENTS))
def test_debug_lines_have_confluents_record_shape(broker: Any, client: str) -> None:
    records, name = _produce_one(CLIENTS[client], broker.bootstrap_servers,
                                 debug="broker,protocol")
    debug = [r for r in records if r.levelno == logging.DEBUG]
    assert debug
    for r in debug:
        assert r.msg == "%s [%s] %s"
        facility, client_name, text = r.args  # type: ignore[misc]
        assert facility.isupper() and client_name == name and text.startswith("[thrd:")
    assert {"STATE", "CONNECT", "SEND", "RECV"} <= _facilities(records)
    assert name.startswith("rdkafka#producer-")


@pytest.mark.parametrize("client", list(CLIENTS))
def test_one_context_logs_only_its_subsystem(broker: Any, client: str) -> None:
    records, _ = _produce_one(CLIENTS[client], broker.bootstrap_servers, debug="metadata")
    facilities = _facilities(records)
    assert "METADATA" in facilities
    assert not facilities & {"SEND", "RECV", "STATE", "PRODUCE"}


@pytest.mark.parametrize("client", list(CLIENTS))
def test_without_debug_nothing_is_logged_at_debug_level(broker: Any, client: str) -> None:
    records, _ = _produce_one(CLIENTS[client], broker.bootstrap_servers)
    assert not [r for r in records if r.levelno == logging.DEBUG]
