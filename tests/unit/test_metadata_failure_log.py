"""A Metadata request that fails is logged as librdkafka's rd_kafka_handle_Metadata() logs it:
a warning for a permanent error, nothing for _DESTROY (the client is closing: the requests
still queued fail with it) nor for anything once the client terminates."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from rdpy.client.handle import Handle
from rdpy.client.metadata import MetadataAsk
from rdpy.config import Conf
from rdpy.errors import ErrorCode


def _handle_and_warnings() -> tuple[Handle, list[str]]:
    settings = Conf.from_dict({"bootstrap.servers": "127.0.0.1:1"}, "producer").finalize("producer")
    handle = Handle(settings, "producer")
    warnings: list[str] = []

    def log(level: int, facility: str, text: str) -> None:
        if level <= 4:
            warnings.append(f"{facility} {text}")

    handle.log = log  # type: ignore[method-assign]
    return handle, warnings


def _fail(handle: Handle, err: int) -> None:
    broker: Any = SimpleNamespace(name="127.0.0.1:1/bootstrap")
    request: Any = SimpleNamespace(version=-1, sent_at=0.0)
    handle.refresher._on_metadata(MetadataAsk([], True, "test"), broker, err, None, request)


@pytest.mark.parametrize("err", [ErrorCode._DESTROY, ErrorCode.TOPIC_AUTHORIZATION_FAILED])
def test_a_failure_while_terminating_logs_nothing(err: ErrorCode) -> None:
    handle, warnings = _handle_and_warnings()
    handle.terminating = True
    _fail(handle, err)
    assert warnings == []


def test_destroy_logs_nothing() -> None:
    handle, warnings = _handle_and_warnings()
    _fail(handle, ErrorCode._DESTROY)
    assert warnings == []


def test_a_permanent_error_is_a_warning() -> None:
    handle, warnings = _handle_and_warnings()
    _fail(handle, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    assert len(warnings) == 1
    assert warnings[0].startswith("METADATA 127.0.0.1:1/bootstrap: Metadata request failed: test:")
