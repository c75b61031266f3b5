"""Review of the confluent-kafka surface (produce(), produce_batch(), send_offsets_to_transaction(),
SerializingProducer.produce_batch(), delivery reports): each test runs on confluent_kafka and on
rdpy, except those marked rdpy-only, which check rdpy's own guarantee (a refused call queues
nothing) where confluent-kafka raises after queueing.

No broker: a producer without bootstrap servers connects nowhere (so no error event counts in
len()) and gives up on its messages at once.
"""

from __future__ import annotations

import importlib
import time
from collections import OrderedDict
from collections.abc import Callable
from types import MappingProxyType, ModuleType
from typing import Any

import pytest

from tests.support.clients import client  # noqa: F401  (the fixture)

NOWHERE = {"socket.timeout.ms": 10, "message.timeout.ms": 10}


def _error(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(Exception) as excinfo:
        call()
    return type(excinfo.value).__name__, str(excinfo.value)


# --- produce(): headers as confluent-kafka's py_headers_to_c() takes them ---------------------

_NOT_DICT_OR_LIST = "expected headers to be dict or list of (key, value) tuples, not {}"
_NOT_TUPLES = "Headers are expected to be a list of (key, value) tuples"


@pytest.mark.parametrize(("headers", "text"), [
    ((("k", b"v"),), _NOT_DICT_OR_LIST.format("tuple")),
    ((), _NOT_DICT_OR_LIST.format("tuple")),
    ("", _NOT_DICT_OR_LIST.format("str")),
    ("kv", _NOT_DICT_OR_LIST.format("str")),
    (0, _NOT_DICT_OR_LIST.format("int")),
    (b"", _NOT_DICT_OR_LIST.format("bytes")),
    (MappingProxyType({"k": b"v"}), _NOT_DICT_OR_LIST.format("mappingproxy")),
    ([["k", b"v"]], _NOT_TUPLES),
    (["kv"], _NOT_TUPLES),
    ([("k", b"v", b"w")], _NOT_TUPLES),
])
def test_headers_other_than_a_dict_or_a_list_of_pairs_are_refused(
        client: ModuleType, headers: object, text: str) -> None:
    p = client.Producer(NOWHERE)
    try:
        assert _error(lambda: p.produce("t", b"v", headers=headers)) == ("TypeError", text)
        assert len(p) == 0  # nothing counted or queued
    finally:
        p.close()


@pytest.mark.parametrize("headers", [
    {}, [], {"k": b"v"}, OrderedDict(k=b"v"), [("k", b"v"), ("k", None), ("j", "s")],
])
def test_dicts_and_lists_of_pairs_are_taken(client: ModuleType, headers: object) -> None:
    p = client.Producer(NOWHERE)
    try:
        p.produce("t", b"v", headers=headers)
        assert len(p) == 1
        p.purge()
        assert p.flush(5) == 0
    finally:
        p.close()


# --- the topic argument ------------------------------------------------------------------------


def test_a_none_topic_is_named_none_as_cpythons_parser_does(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    try:
        expected = ("TypeError", "argument 1 must be str, not None")
        assert _error(lambda: p.produce(None)) == expected  # type: ignore[arg-type]
        assert _error(lambda: p.produce_batch(None, [{}])) == expected  # type: ignore[arg-type]
        assert _error(lambda: p.produce(b"t")) == (  # type: ignore[arg-type]
            "TypeError", "argument 1 must be str, not bytes")
    finally:
        p.close()


# --- produce_batch() -----------------------------------------------------------------------------


def test_produce_batch_message_partition_beyond_a_c_long_is_an_overflow(
        client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    try:
        assert _error(lambda: p.produce_batch("t", [{"value": b"v", "partition": 1 << 70}])) == (
            "OverflowError", "Python int too large to convert to C long")
    finally:
        p.purge()
        p.close()


def test_rdpy_only_produce_batch_overflow_queues_nothing() -> None:
    """confluent-kafka queues the batch and raises afterwards (a message the application was
    told failed gets delivered); rdpy refuses it before anything is queued."""
    import rdpy
    p = rdpy.Producer(NOWHERE)
    try:
        batch: list[dict[str, Any]] = [{"value": b"a"}, {"value": b"b", "partition": -(1 << 64)}]
        with pytest.raises(OverflowError):
            p.produce_batch("t", batch)
        assert len(p) == 0
        assert not any("_error" in m for m in batch)
    finally:
        p.close()


def test_produce_batch_queue_full_midway_reports_each_queued_message_once(
        client: ModuleType) -> None:
    p = client.Producer(dict(NOWHERE, **{"queue.buffering.max.messages": 50,
                                         "message.timeout.ms": 60000}))
    reports: dict[bytes, list[str]] = {}

    def own(err: Any, msg: Any) -> None:
        reports.setdefault(msg.value(), []).append("own")

    def default(err: Any, msg: Any) -> None:
        reports.setdefault(msg.value(), []).append("default")

    batch: list[dict[str, Any]] = [
        {"value": b"%d" % i, **({"callback": own} if i % 2 else {})} for i in range(120)]
    batch[3]["value"] = b"x" * 2_000_000  # too large: its own error, the rest go on
    try:
        assert p.produce_batch("t", batch, on_delivery=default) == 50
        assert len(p) == 50
        failed = [m for m in batch if "_error" in m]
        assert len(failed) == 70
        assert failed[0]["_error"].code() == client.KafkaError.MSG_SIZE_TOO_LARGE
        assert {m["_error"].code() for m in failed[1:]} == {client.KafkaError._QUEUE_FULL}
        with pytest.raises(BufferError):
            p.produce("t", b"one more")
        p.purge()
        assert p.flush(5) == 0
        assert len(p) == 0
        queued = [m["value"] for m in batch if "_error" not in m]
        assert sorted(reports) == sorted(queued)
        assert all(len(who) == 1 for who in reports.values())
        assert all(reports[m["value"]] == (["own"] if "callback" in m else ["default"])
                   for m in batch if "_error" not in m)
    finally:
        p.close()


def test_serializing_producer_produce_batch_sends_bytes_as_given(client: ModuleType) -> None:
    """produce_batch() is the plain Producer's: the serializers are not called (nor is
    SerializingProducer.produce(), whose key comes before the value)."""
    def refuse(obj: object, ctx: object) -> bytes:
        raise AssertionError("serializer called")

    p = client.SerializingProducer(dict(NOWHERE, **{"key.serializer": refuse,
                                                    "value.serializer": refuse}))
    got: list[tuple[Any, Any]] = []
    try:
        assert p.produce_batch("t", [{"key": b"k", "value": b"v"}],
                               on_delivery=lambda err, msg: got.append((msg.key(), msg.value()))
                               ) == 1
        p.purge()
        assert p.flush(5) == 0
        assert got == [(b"k", b"v")]
    finally:
        p.close()


# --- send_offsets_to_transaction(): confluent-kafka's order of checks --------------------------


def test_send_offsets_to_a_closed_producer_is_refused_first(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    p.close()
    assert _error(lambda: p.send_offsets_to_transaction("x", b"not metadata")) == (
        "RuntimeError", "Producer has been closed")


def test_send_offsets_checks_the_positions_before_the_group_metadata(
        client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    try:
        for positions in ("x", (client.TopicPartition("t", 0, 1),)):
            assert _error(lambda: p.send_offsets_to_transaction(positions, b"bad")) == (
                "TypeError", "requires list of TopicPartition")
        with pytest.raises(TypeError):
            p.send_offsets_to_transaction([1], b"bad")
        # Good positions: the metadata is read next, before transactions are looked at.
        name, _ = _error(lambda: p.send_offsets_to_transaction(
            [client.TopicPartition("t", 0, 1)], b"bad"))
        assert name == "KafkaException"
        assert _error(lambda: p.send_offsets_to_transaction(
            [client.TopicPartition("t", 0, 1)], None)) == (
            "TypeError", "expected bytes, NoneType found")
    finally:
        p.close()


# --- delivery reports --------------------------------------------------------------------------


def test_delivery_report_latency_is_whole_microseconds(client: ModuleType) -> None:
    p = client.Producer(NOWHERE)
    got: list[Any] = []
    try:
        for _ in range(5):
            p.produce("t", b"v", on_delivery=lambda err, msg: got.append(msg))
        time.sleep(0.02)
        assert p.flush(5) == 0
        assert len(got) == 5
        for m in got:
            micros = m.latency() * 1_000_000
            assert abs(micros - round(micros)) < 1e-3, m.latency()
    finally:
        p.close()


def test_modules_import() -> None:
    """Both modules of the parametrized tests are importable here (guards a silent skip)."""
    for name in ("confluent_kafka", "rdpy"):
        importlib.import_module(name)


def test_rdpy_only_a_raising_partitioner_in_a_batch_marks_what_was_not_queued() -> None:
    """rdpy's callable partitioner (confluent-kafka has none) raising in the middle of a
    produce_batch(): the exception propagates, the messages before it stay queued (one report
    each) and every dict from the failing one on carries an '_error', so the application can
    tell which were queued although the count is lost."""
    import rdpy

    def partitioner(key: bytes | None, count: int) -> int:
        if key == b"bad":
            raise ValueError("partitioner failed")
        return 0

    p = rdpy.Producer({"test.mock.num.brokers": 1, "partitioner": partitioner})
    got: list[Any] = []
    try:
        p.produce("t", b"first", b"ok")  # metadata known from here on: partitioned at once
        assert p.flush(10) == 0
        batch: list[dict[str, Any]] = [
            {"value": b"a", "key": b"ok"}, {"value": b"b", "key": b"bad"},
            {"value": b"c", "key": b"ok"}]
        with pytest.raises(ValueError, match="partitioner failed"):
            p.produce_batch("t", batch, on_delivery=lambda err, msg: got.append((err, msg.value())))
        assert "_error" not in batch[0]
        assert [m["_error"].code() for m in batch[1:]] == [rdpy.KafkaError._FAIL] * 2
        assert p.flush(10) == 0
        assert got == [(None, b"a")]
    finally:
        p.close()


# --- timeouts and counts as confluent-kafka's C parser takes them ------------------------------


@pytest.mark.parametrize("timeout", ["1", b"1", [], object()])
def test_a_timeout_that_is_not_a_number_is_a_type_error(client: ModuleType,
                                                        timeout: object) -> None:
    text = ("TypeError", f"must be real number, not {type(timeout).__name__}")
    p = client.Producer(NOWHERE)
    c = client.Consumer(dict(NOWHERE, **{"group.id": "g"}))
    try:
        assert _error(lambda: p.poll(timeout)) == text
        assert _error(lambda: p.flush(timeout)) == text
        assert _error(lambda: c.poll(timeout)) == text
        assert _error(lambda: c.consume(1, timeout)) == text
    finally:
        c.close()
        p.close()


@pytest.mark.parametrize("timeout", [0, 0.0, False])
def test_numbers_are_timeouts(client: ModuleType, timeout: object) -> None:
    p = client.Producer(NOWHERE)
    c = client.Consumer(dict(NOWHERE, **{"group.id": "g"}))
    try:
        assert p.poll(timeout) == 0
        assert p.flush(timeout) == 0
        assert c.poll(timeout) is None
        assert c.consume(1, timeout) == []
    finally:
        c.close()
        p.close()


@pytest.mark.parametrize(("num", "text"), [
    (1.5, "'float' object cannot be interpreted as an integer"),
    ("1", "'str' object cannot be interpreted as an integer"),
])
def test_consume_count_must_be_an_integer(client: ModuleType, num: object, text: str) -> None:
    c = client.Consumer(dict(NOWHERE, **{"group.id": "g"}))
    try:
        assert _error(lambda: c.consume(num, 0)) == ("TypeError", text)
        assert c.consume(True, 0) == []
    finally:
        c.close()
