"""confluent-kafka-python's Consumer surface, each test run on confluent_kafka and on rdpy.

Constructor arguments, the context manager, a subclass that skips __init__, store_offsets()
and commit() argument errors, seek() before fetching started, and events served past a
callback that raised. No broker: no bootstrap servers, or an unreachable one.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.support.clients import client  # noqa: F401  (the fixture)

CONF = {"group.id": "g", "socket.timeout.ms": 10, "session.timeout.ms": 1000}


def _error(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(Exception) as excinfo:
        call()
    return type(excinfo.value).__name__, str(excinfo.value)


# --- constructor arguments ------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), (None,), ([],), (types.MappingProxyType({"group.id": "g"}),)])
def test_a_missing_or_non_dict_config_is_a_type_error(client: ModuleType, args: tuple[Any, ...]) -> None:
    assert _error(lambda: client.Consumer(*args)) == ("TypeError", "expected configuration dict")


def test_two_positional_dicts_are_refused(client: ModuleType) -> None:
    assert _error(lambda: client.Consumer({"group.id": "g"}, {})) == (
        "TypeError", "expected tuple containing single dict")


def test_group_id_is_checked_before_any_property(client: ModuleType) -> None:
    assert _error(lambda: client.Consumer({"no.such.property": 1})) == (
        "ValueError", "Failed to create consumer: group.id must be set")


def test_keyword_arguments_complete_or_replace_the_dict(client: ModuleType) -> None:
    client.Consumer(**{"group.id": "g"}).close()
    client.Consumer({"socket.timeout.ms": 10}, **{"group.id": "g"}).close()
    with pytest.raises(client.KafkaException):
        client.Consumer({"group.id": "g"}, **{"session.timeout.ms": "bogus"})


# --- life cycle -----------------------------------------------------------------------------


def test_with_block_closes(client: ModuleType) -> None:
    with client.Consumer(CONF) as c:
        c.subscribe(["t"])
    assert _error(lambda: c.subscribe(["t"])) == ("RuntimeError", "Consumer closed")
    assert _error(lambda: c.poll(0)) == ("RuntimeError", "Consumer closed")
    c.close()  # again: nothing happens
    assert c.__enter__() is c
    assert c.__exit__(None, None, None) is None


def test_an_exception_in_the_block_propagates_and_the_consumer_is_closed(client: ModuleType) -> None:
    with pytest.raises(ValueError, match="boom"):
        with client.Consumer(CONF) as c:
            raise ValueError("boom")
    assert _error(c.assignment) == ("RuntimeError", "Consumer closed")
    c2 = client.Consumer(CONF)
    assert c2.__exit__(ValueError, ValueError("x"), None) is None
    assert _error(c2.assignment) == ("RuntimeError", "Consumer closed")


def test_a_subclass_that_skips_init_is_closed_not_broken(client: ModuleType) -> None:
    class Uninitialized(client.Consumer):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            pass

    c = Uninitialized()
    tp = client.TopicPartition("t", 0, 1)
    closed = ("RuntimeError", "Consumer closed")
    for call in (lambda: c.subscribe(["t"]), c.unsubscribe, c.poll, c.consume,
                 lambda: c.assign([tp]), c.unassign, c.assignment, c.commit,
                 lambda: c.committed([tp]), lambda: c.position([tp]), lambda: c.seek(tp),
                 lambda: c.get_watermark_offsets(tp), lambda: c.store_offsets(offsets=[tp]),
                 lambda: c.offsets_for_times([tp]), lambda: c.pause([tp]),
                 lambda: c.resume([tp]), c.consumer_group_metadata, c.memberid,
                 lambda: c.incremental_assign([tp]), lambda: c.incremental_unassign([tp])):
        assert _error(call) == closed
    assert _error(c.list_topics) == ("RuntimeError", "Handle has been closed")
    c.close()
    with c:
        pass


# --- store_offsets() and commit() -----------------------------------------------------------


def test_store_offsets_argument_errors(client: ModuleType) -> None:
    c = client.Consumer({**CONF, "enable.auto.offset.store": False})
    tp = client.TopicPartition("t", 0, 1)
    msg = client.Message(topic="t", partition=0, offset=1)
    assert _error(lambda: c.store_offsets(message=msg, offsets=[tp])) == (
        "ValueError", "message and offsets are mutually exclusive")
    for call in (c.store_offsets, lambda: c.store_offsets(message=None, offsets=None)):
        assert _error(call) == ("ValueError", "expected either message or offsets")
    assert _error(lambda: c.store_offsets(message=tp)) == (
        "TypeError", f"expected {client.__name__}.cimpl.Message")
    failed = client.Message(topic="t", partition=0, offset=1,
                            error=client.KafkaError(client.KafkaError._PARTITION_EOF))
    with pytest.raises(client.KafkaException) as excinfo:
        c.store_offsets(message=failed)
    err = excinfo.value.args[0]
    assert err.code() == client.KafkaError._INVALID_ARG
    assert err.str() == "Cannot store offsets for message with error: " \
                        f"'{client.KafkaError(client.KafkaError._PARTITION_EOF).str()}'"
    c.close()
    # Closed: the closed state is checked before the arguments.
    assert _error(c.store_offsets) == ("RuntimeError", "Consumer closed")


def test_commit_argument_errors(client: ModuleType) -> None:
    c = client.Consumer({**CONF, "enable.auto.commit": False})
    msg = client.Message(topic="t", partition=0, offset=1)
    assert _error(lambda: c.commit(message=msg, offsets=[])) == (
        "ValueError", "message and offsets are mutually exclusive")
    assert _error(lambda: c.commit(message=client.TopicPartition("t", 0))) == (
        "TypeError", f"expected {client.__name__}.cimpl.Message")
    failed = client.Message(topic="t", error=client.KafkaError(client.KafkaError._TRANSPORT))
    with pytest.raises(client.KafkaException) as excinfo:
        c.commit(message=failed)
    assert excinfo.value.args[0].code() == client.KafkaError._INVALID_ARG
    assert excinfo.value.args[0].str().startswith("Cannot commit offsets for message with error: '")
    c.close()


# --- seek() and close() ---------------------------------------------------------------------


def test_seek_before_the_committed_offset_is_known_is_erroneous_state(client: ModuleType) -> None:
    """After assign() without an offset the committed one must be fetched first (there is no
    coordinator here): librdkafka has not started fetching, and a seek is _STATE."""
    c = client.Consumer(CONF)
    c.assign([client.TopicPartition("t", 0)])
    with pytest.raises(client.KafkaException) as excinfo:
        c.seek(client.TopicPartition("t", 0, 123))
    err = excinfo.value.args[0]
    assert (err.code(), err.str()) == (client.KafkaError._STATE,
                                       "Failed to seek to offset 123: Local: Erroneous state")
    c.close()


def _failing_consumer(client: ModuleType, seen: list[Any]) -> Any:
    def error_cb(err: Any) -> None:
        seen.append(err.code())
        raise RuntimeError("from error_cb")

    c = client.Consumer({**CONF, "bootstrap.servers": "nonexistent-broker:9092",
                         "error_cb": error_cb})
    c.subscribe(["t"])
    time.sleep(1.0)  # the name does not resolve: _RESOLVE, then _ALL_BROKERS_DOWN, queue up
    return c


def _close_anyway(c: Any) -> None:
    try:
        c.close()
    except RuntimeError:  # errors that came since are served by close(), as librdkafka does
        pass


def test_poll_stops_at_a_callback_that_raises(client: ModuleType) -> None:
    seen: list[int] = []
    c = _failing_consumer(client, seen)
    with pytest.raises(RuntimeError, match="from error_cb"):
        c.poll(0)
    assert seen == [client.KafkaError._RESOLVE]
    with pytest.raises(RuntimeError, match="from error_cb"):
        c.poll(0)
    assert seen == [client.KafkaError._RESOLVE, client.KafkaError._ALL_BROKERS_DOWN]
    _close_anyway(c)


def test_consume_serves_every_event_then_raises(client: ModuleType) -> None:
    """librdkafka's consume_batch ignores rd_kafka_yield() after a callback: every queued
    event is served, and confluent-kafka raises the exception when the call returns."""
    seen: list[int] = []
    c = _failing_consumer(client, seen)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="from error_cb"):
        c.consume(10, timeout=0.3)
    assert time.monotonic() - started >= 0.25  # the timeout ran out, as if nothing raised
    assert seen[:2] == [client.KafkaError._RESOLVE, client.KafkaError._ALL_BROKERS_DOWN]
    _close_anyway(c)
