"""confluent-kafka-python's Producer surface, each test run on confluent_kafka and on rdpy.

Constructor arguments, the context manager, truthiness, a subclass that skips __init__,
produce()'s argument order and produce_batch(). No broker: an unreachable bootstrap server,
or the client's own mock cluster (test.mock.num.brokers) where partitions must exist.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.support.clients import client  # noqa: F401  (the fixture)

#: A producer without bootstrap servers: it connects nowhere (so no error events count in
#: len()) and gives up on its messages at once.
NOWHERE = {"socket.timeout.ms": 10, "message.timeout.ms": 10}


def _error(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(Exception) as excinfo:
        call()
    return type(excinfo.value).__name__, str(excinfo.value)


def _serve(producer: Any, until: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        producer.poll(0.05)


# --- constructor arguments ------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), (None,), ([],), ("bootstrap.servers",),
                                  (types.MappingProxyType({}),)])
def test_a_missing_or_non_dict_config_is_a_type_error(client: ModuleType, args: tuple[Any, ...]) -> None:
    assert _error(lambda: client.Producer(*args)) == ("TypeError", "expected configuration dict")


def test_none_with_keyword_arguments_is_still_refused(client: ModuleType) -> None:
    assert _error(lambda: client.Producer(None, **{"bootstrap.servers": "localhost:1"})) == (
        "TypeError", "expected configuration dict")


def test_two_positional_dicts_are_refused(client: ModuleType) -> None:
    assert _error(lambda: client.Producer({}, {})) == (
        "TypeError", "expected tuple containing single dict")


def test_keyword_only_configuration(client: ModuleType) -> None:
    p = client.Producer(**{"bootstrap.servers": "localhost:1"})
    assert p.close()


def test_keyword_arguments_override_the_dict_which_stays_untouched(client: ModuleType) -> None:
    conf = {"bootstrap.servers": "localhost:1", "acks": "bogus"}
    p = client.Producer(conf, acks="all")
    assert p.close()
    assert conf == {"bootstrap.servers": "localhost:1", "acks": "bogus"}
    with pytest.raises(client.KafkaException):
        client.Producer({"bootstrap.servers": "localhost:1", "acks": "all"}, acks="bogus")


def test_a_dict_subclass_is_a_dict(client: ModuleType) -> None:
    class Conf(dict):  # type: ignore[type-arg]
        pass

    assert client.Producer(Conf({"bootstrap.servers": "localhost:1"})).close()


# --- life cycle -----------------------------------------------------------------------------


def test_an_idle_producer_is_true_with_length_zero(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    assert len(p) == 0 and bool(p) is True
    assert p.close()
    assert len(p) == 0 and bool(p) is True


def test_with_block_flushes_then_closes(client: ModuleType) -> None:
    reports: list[Any] = []
    with client.Producer(NOWHERE) as p:
        p.produce("t", b"v", on_delivery=lambda err, msg: reports.append(err.code()))
    assert reports == [client.KafkaError._MSG_TIMED_OUT]  # served by the flush on exit
    assert _error(lambda: p.produce("t", b"v")) == ("RuntimeError", "Producer has been closed")
    for call in (p.flush, lambda: p.poll(0), p.purge, lambda: p.produce_batch("t", [{}])):
        assert _error(call) == ("RuntimeError", "Producer has been closed")
    assert len(p) == 0


def test_enter_returns_the_producer_and_exit_returns_none(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    assert p.__enter__() is p
    assert p.__exit__(ValueError, ValueError("x"), None) is None
    # Again, on a closed producer: nothing happens.
    assert p.__enter__() is p
    assert p.__exit__(None, None, None) is None
    assert p.close() is True


def test_an_exception_in_the_block_propagates_and_the_producer_is_closed(client: ModuleType) -> None:
    with pytest.raises(ValueError, match="boom"):
        with client.Producer(NOWHERE) as p:
            p.produce("t", b"v")
            raise ValueError("boom")
    assert _error(lambda: p.poll(0)) == ("RuntimeError", "Producer has been closed")


def test_a_subclass_that_skips_init_is_closed_not_broken(client: ModuleType) -> None:
    class Uninitialized(client.Producer):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            pass

    p = Uninitialized()
    closed = ("RuntimeError", "Producer has been closed")
    for call in (lambda: p.produce("t", b"v"), p.poll, p.flush, p.purge,
                 lambda: p.produce_batch("t", [{"value": b"v"}]), p.init_transactions,
                 p.begin_transaction, p.commit_transaction, p.abort_transaction):
        assert _error(call) == closed
    assert _error(lambda: p.send_offsets_to_transaction(
        [client.TopicPartition("t", 0)], _group_metadata(client))) == closed
    assert len(p) == 0 and bool(p)
    assert p.close() is True


def _group_metadata(client: ModuleType) -> Any:
    c = client.Consumer({"group.id": "g", "bootstrap.servers": "localhost:1"})
    try:
        return c.consumer_group_metadata()
    finally:
        c.close()


# --- produce() ------------------------------------------------------------------------------


def test_produce_positional_order_has_callback_then_on_delivery(client: ModuleType) -> None:
    # produce(topic, value, key, partition, callback, on_delivery, timestamp, headers): the
    # sixth is a callback and the seventh the timestamp; `callback` wins over its alias.
    p = client.Producer(NOWHERE)
    reports: list[str] = []
    p.produce("t", b"v", None, -1, lambda err, msg: reports.append("callback"),
              lambda err, msg: reports.append("on_delivery"), 1234567, [("h", b"1")])
    p.produce("t", b"v", None, -1, None, None, 0, None)
    p.produce("t", b"v", on_delivery=lambda err, msg: reports.append("alias"))
    p.flush()
    assert sorted(reports) == ["alias", "callback"]
    assert p.close()


def test_produce_checks_arguments_before_the_closed_state(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    p.close()
    assert _error(lambda: p.produce("t", 123))[0] == "TypeError"  # type: ignore[arg-type]
    assert _error(lambda: p.produce("t", b"v")) == ("RuntimeError", "Producer has been closed")


# --- produce_batch() ------------------------------------------------------------------------


def test_produce_batch_queues_all_and_returns_the_count(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    messages = [{"value": b"a", "key": b"k"}, {"value": "b", "key": "k"}, {"value": None}, {}]
    assert p.produce_batch("t", messages) == 4
    assert all("_error" not in m for m in messages)
    assert len(p) == 4
    assert p.produce_batch("t", []) == 0
    p.flush()
    assert p.close()


@pytest.mark.parametrize("messages, expected", [
    ("nope", ("TypeError", "messages must be a list")),
    (({"value": b"a"},), ("TypeError", "messages must be a list")),
    ([{"value": b"a"}, "x"], ("TypeError", "Message at index 1 must be a dict")),
    ([{"value": 1}], ("TypeError", "Message value at index 0 must be bytes or str")),
    ([{"value": bytearray(b"a")}], ("TypeError", "Message value at index 0 must be bytes or str")),
    ([{}, {"key": ["k"]}], ("TypeError", "Message key at index 1 must be bytes or str")),
    ([{"partition": "0"}], ("TypeError", "Message partition at index 0 must be int")),
    ([{"value": b"a"}, {"timestamp": 1}],
     ("NotImplementedError", "Message timestamps are not currently supported in batch mode")),
    ([{"headers": "h"}], ("ValueError", "Invalid headers at index 0")),
    ([{"headers": [("h", 1)]}], ("ValueError", "Invalid headers at index 0")),
])
def test_produce_batch_refuses_a_bad_message_before_queueing_any(
        client: ModuleType, messages: Any, expected: tuple[str, str]) -> None:
    p = client.Producer(NOWHERE)
    assert _error(lambda: p.produce_batch("t", messages)) == expected
    assert len(p) == 0
    if isinstance(messages, list):
        assert all("_error" not in m for m in messages if isinstance(m, dict))
    assert p.close()


def test_produce_batch_argument_checks(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    assert _error(lambda: p.produce_batch(b"t", [{}])) == (  # type: ignore[arg-type]
        "TypeError", "argument 1 must be str, not bytes")
    assert _error(lambda: p.produce_batch("t", [{}], partition=None)) == (  # type: ignore[arg-type]
        "TypeError", "'NoneType' object cannot be interpreted as an integer")
    assert _error(lambda: p.produce_batch("t", [{}], partition=1 << 31)) == (
        "OverflowError", "signed integer is greater than maximum")
    assert len(p) == 0
    assert p.close()


def test_produce_batch_of_nothing_is_zero_even_when_closed(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    p.close()
    assert p.produce_batch("t", []) == 0
    assert _error(lambda: p.produce_batch("t", [{}])) == ("RuntimeError", "Producer has been closed")


def test_produce_batch_reports_failures_in_the_dicts(client: ModuleType) -> None:
    p = client.Producer({**NOWHERE, "queue.buffering.max.messages": 2, "message.max.bytes": 1000})
    messages: list[dict[str, Any]] = [
        {"value": b"small"}, {"value": b"x" * 2000}, {"value": b"fits"}, {"value": b"full"},
        {"value": b"y"}]
    assert p.produce_batch("t", messages) == 2
    errors = [m.get("_error") for m in messages]
    assert errors[0] is None and errors[2] is None
    too_large, full, after_full = errors[1], errors[3], errors[4]
    assert (too_large.code(), too_large.str()) == (
        client.KafkaError.MSG_SIZE_TOO_LARGE, "Message failed: Broker: Message size too large")
    # As rd_kafka_produce_batch(): once the queue is full, the rest fail the same way.
    for err in (full, after_full):
        assert (err.code(), err.str()) == (client.KafkaError._QUEUE_FULL,
                                           "Message failed: Local: Queue full")
    assert len(p) == 2
    p.flush()
    assert p.close()


def test_produce_batch_callbacks_per_message_and_default(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    seen: list[tuple[str, bytes]] = []

    def own(err: Any, msg: Any) -> None:
        seen.append(("own", msg.value()))

    def default(err: Any, msg: Any) -> None:
        assert err.code() == client.KafkaError._MSG_TIMED_OUT
        seen.append(("default", msg.value()))

    batch = [{"value": b"1", "callback": own}, {"value": b"2"}, {"value": b"3", "callback": None}]
    assert p.produce_batch("t", batch, on_delivery=default) == 3
    assert p.produce_batch("t", [{"value": b"4"}], callback=default) == 1
    p.flush()
    assert sorted(seen) == [("default", b"2"), ("default", b"3"), ("default", b"4"),
                            ("own", b"1")]
    assert p.close()


def test_produce_batch_sends_to_the_batch_partition(client: ModuleType) -> None:
    """confluent-kafka 2.16 calls rd_kafka_produce_batch() without RD_KAFKA_MSG_F_PARTITION:
    a message's own 'partition' is checked but not used; the batch's partition is."""
    p = client.Producer({"test.mock.num.brokers": 1, "linger.ms": 0})
    delivered: list[tuple[bytes, int]] = []
    p.produce("t", b"warm-up")
    assert p.flush(10) == 0
    batch = [{"value": b"a", "partition": 0}, {"value": b"b", "partition": 3}, {"value": b"c"}]
    assert p.produce_batch("t", batch, partition=1,
                           on_delivery=lambda err, msg: delivered.append((msg.value(), msg.partition()))) == 3
    assert p.flush(10) == 0
    assert sorted(delivered) == [(b"a", 1), (b"b", 1), (b"c", 1)]
    # A batch partition the topic does not have fails every message.
    missing = [{"value": b"x"}, {"value": b"y"}]
    assert p.produce_batch("t", missing, partition=99) == 0
    for m in missing:
        assert (m["_error"].code(), m["_error"].str()) == (
            client.KafkaError._UNKNOWN_PARTITION, "Message failed: Local: Unknown partition")
    assert p.close()
