"""The INIT debug line librdkafka's rd_kafka_new() logs under any `debug` context (it is
rd_kafka_dbg(rk, ALL, "INIT", ...)), handed to the application's logger: on confluent_kafka
and on rdpy."""

from __future__ import annotations

import logging
from io import StringIO
from types import ModuleType

import pytest

from tests.support.clients import client  # noqa: F401  (the fixture)


@pytest.mark.parametrize("kind", ["Producer", "Consumer"])
def test_init_line_at_debug_msg(client: ModuleType, kind: str) -> None:
    buffer = StringIO()
    logger = logging.getLogger(f"surface-log-{client.__name__}-{kind}")
    logger.setLevel(logging.DEBUG)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s | %(message)s"))
    logger.addHandler(handler)
    try:
        conf = {"bootstrap.servers": "localhost:1", "logger": logger, "debug": "msg"}
        if kind == "Consumer":
            conf["group.id"] = "g"
        c = getattr(client, kind)(conf)
        c.poll(0)
        c.close()
    finally:
        logger.removeHandler(handler)
    assert f"{logger.name} | INIT " in buffer.getvalue()
