"""The invariant checker itself (tests/support/invariants.py), against a fake producer and
hand-made logs: every violation it promises to find is found, and correct runs pass.

The integration suites can only show that the checker accepts correct clients; these show
that it rejects incorrect ones, so a passing suite means something.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.invariants import (
    InvariantViolation,
    Ledger,
    ResourceBaseline,
    check_consumed,
    check_consumed_from,
)


@dataclass
class FakeError:
    """Just enough of KafkaError for the ledger."""

    _code: int

    def code(self) -> int:
        return self._code

    def __str__(self) -> str:
        return f"error {self._code}"


@dataclass
class FakeMessage:
    """Just enough of confluent-kafka's Message."""

    _topic: str
    _partition: int | None
    _offset: int | None
    _key: bytes | None
    _value: bytes | None
    _headers: Any = None
    _error: Any = None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int | None:
        return self._partition

    def offset(self) -> int | None:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> Any:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (1, 0)

    def error(self) -> Any:
        return self._error


@dataclass
class FakeProducer:
    """Queues produce() calls; poll() 'delivers' each to partition key-length % partitions
    (or the asked one) at the next offset and calls its callback, as a well-behaved client."""

    partitions: int = 2
    queued: list[tuple[FakeMessage, Callable[[Any, Any], None]]] = field(default_factory=list)
    log: list[FakeMessage] = field(default_factory=list)
    next_offset: dict[int, int] = field(default_factory=dict)

    def produce(self, topic: str, value: Any = None, key: Any = None, partition: int = -1,
                on_delivery: Callable[[Any, Any], None] | None = None, headers: Any = None, **_: Any) -> None:
        assert on_delivery is not None
        if partition < 0:
            partition = len(key or b"") % self.partitions
        self.queued.append((FakeMessage(topic, partition, None, key, value, headers), on_delivery))

    def poll(self, timeout: float = 0) -> int:
        served = 0
        while self.queued:
            msg, cb = self.queued.pop(0)
            msg._offset = self.next_offset.get(msg._partition or 0, 0)
            self.next_offset[msg._partition or 0] = msg._offset + 1
            self.log.append(msg)
            cb(None, msg)
            served += 1
        return served

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0


def _run(n: int = 6) -> tuple[Ledger, FakeProducer]:
    ledger = Ledger()
    producer = FakeProducer()
    for i in range(n):
        ledger.produce(producer, "t", b"v%d" % i, key=b"k" * (i % 3))
    producer.flush()
    return ledger, producer


def test_a_correct_run_passes() -> None:
    ledger, producer = _run()
    summary = ledger.check_reports(expect_delivered=True)
    assert sorted(summary.delivered) == list(range(6)) and not summary.failed
    log = ledger.check_log(producer.log)
    assert not log.duplicates and sorted(log.found) == list(range(6))


def test_a_missing_report_is_found() -> None:
    ledger = Ledger()
    producer = FakeProducer()
    ledger.produce(producer, "t", b"a")
    ledger.produce(producer, "t", b"b")
    producer.queued.pop()  # the client forgets a message
    producer.flush()
    with pytest.raises(InvariantViolation, match="got no delivery report: seqs \\[1\\]"):
        ledger.check_reports()


def test_a_second_report_is_found() -> None:
    ledger = Ledger()
    producer = FakeProducer()
    ledger.produce(producer, "t", b"a")
    msg, cb = producer.queued[0]
    producer.flush()
    cb(None, msg)
    with pytest.raises(InvariantViolation, match="second delivery report"):
        ledger.check_reports()


def test_a_report_for_a_refused_message_is_found() -> None:
    class Refusing(FakeProducer):
        def produce(self, *args: Any, **kw: Any) -> None:
            super().produce(*args, **kw)
            raise BufferError("queue full")

    ledger = Ledger()
    producer = Refusing()
    with pytest.raises(BufferError):
        ledger.produce(producer, "t", b"a")
    producer.flush()
    with pytest.raises(InvariantViolation, match="for a message produce\\(\\) refused"):
        ledger.check_reports()


def test_a_report_on_another_thread_is_found() -> None:
    ledger = Ledger()
    producer = FakeProducer()
    ledger.produce(producer, "t", b"a")
    t = threading.Thread(target=producer.flush)
    t.start()
    t.join()
    with pytest.raises(InvariantViolation, match="not an application thread"):
        ledger.check_reports()


def test_a_report_outside_poll_is_found_when_serving_is_tracked() -> None:
    ledger = Ledger(serve_via_ledger=True)
    producer = FakeProducer()
    ledger.produce(producer, "t", b"a")
    ledger.produce(producer, "t", b"b")
    msg, cb = producer.queued.pop()
    ledger.flush(producer)
    msg._offset = 1
    cb(None, msg)  # the second one 'served' from outside poll/flush/close
    with pytest.raises(InvariantViolation, match="outside poll\\(\\)/flush\\(\\)/close\\(\\)"):
        ledger.check_reports()


def test_a_report_naming_another_message_is_found() -> None:
    ledger = Ledger()
    producer = FakeProducer()
    ledger.produce(producer, "t", b"a")
    ledger.produce(producer, "t", b"b")
    (m0, cb0), (m1, cb1) = producer.queued
    producer.queued = [(m1, cb0), (m0, cb1)]  # reports swapped between messages
    producer.flush()
    with pytest.raises(InvariantViolation, match="report carries key/value"):
        ledger.check_reports()


def test_reports_out_of_order_are_found_unless_order_is_not_promised() -> None:
    ledger = Ledger()
    producer = FakeProducer()
    for v in (b"a", b"b", b"c"):
        ledger.produce(producer, "t", v, partition=0)
    producer.queued.reverse()
    producer.flush()
    with pytest.raises(InvariantViolation, match="out of produce order"):
        ledger.check_reports()
    ledger.check_reports(ordered=False)


def test_expect_delivered_finds_failures() -> None:
    ledger = Ledger()
    producer = FakeProducer()
    ledger.produce(producer, "t", b"a")
    msg, cb = producer.queued.pop()
    cb(FakeError(7), msg)
    assert ledger.check_reports().failed.keys() == {0}
    with pytest.raises(InvariantViolation, match="delivery failed"):
        ledger.check_reports(expect_delivered=True)


def test_an_acknowledged_message_missing_from_the_log_is_found() -> None:
    ledger, producer = _run()
    with pytest.raises(InvariantViolation, match="acknowledged message\\(s\\) not in the log"):
        ledger.check_log(producer.log[1:])


def test_duplicates_are_found_unless_allowed() -> None:
    ledger, producer = _run()
    dup = FakeMessage(**{**producer.log[0].__dict__, "_offset": 99})
    with pytest.raises(InvariantViolation, match="read 2 times"):
        ledger.check_log(producer.log + [dup])
    assert ledger.check_log(producer.log + [dup], allow_duplicates=True).duplicates == {0: 2}


def test_a_record_never_produced_is_found() -> None:
    ledger, producer = _run()
    stranger = FakeMessage("t", 0, 50, None, b"who?")
    with pytest.raises(InvariantViolation, match="record never produced"):
        ledger.check_log(producer.log + [stranger])
    other = Ledger()
    foreign = FakeMessage("t", 0, 51, None, other.mark(0))
    with pytest.raises(InvariantViolation, match="record never produced"):
        ledger.check_log(producer.log + [foreign])


def test_log_order_and_report_offsets_are_checked() -> None:
    ledger, producer = _run()
    swapped = list(producer.log)
    a, b = [i for i, m in enumerate(swapped) if m.partition() == 0][:2]
    swapped[a], swapped[b] = (
        FakeMessage(**{**swapped[b].__dict__, "_offset": swapped[a].offset()}),
        FakeMessage(**{**swapped[a].__dict__, "_offset": swapped[b].offset()}),
    )
    with pytest.raises(InvariantViolation) as info:
        ledger.check_log(swapped)
    assert "log out of produce order" in str(info.value)
    assert "acknowledged at offset" in str(info.value)


def test_changed_content_is_found() -> None:
    ledger = Ledger()
    producer = FakeProducer()
    ledger.produce(producer, "t", b"exact", key=b"k", headers=[("h", b"1")], mark=False)
    producer.flush()
    ledger.check_log(producer.log)
    changed = FakeMessage(**{**producer.log[0].__dict__, "_headers": [("h", b"2")]})
    with pytest.raises(InvariantViolation, match="headers"):
        ledger.check_log([changed])
    ledger.check_log([changed], check_headers=False)


def test_check_consumed() -> None:
    msgs = [FakeMessage("t", p, o, None, b"%d-%d" % (p, o)) for p in (0, 1) for o in range(3)]
    expected = {0: [0, 1, 2], 1: [0, 1, 2]}
    values = {p: [b"%d-%d" % (p, o) for o in range(3)] for p in (0, 1)}
    assert check_consumed(msgs, expected, values=values).keys() == {0, 1}
    with pytest.raises(InvariantViolation, match="missing offsets \\[1\\]"):
        check_consumed([m for m in msgs if (m.partition(), m.offset()) != (0, 1)], expected)
    with pytest.raises(InvariantViolation, match="not strictly increasing"):
        check_consumed(msgs + [msgs[0]], expected)
    with pytest.raises(InvariantViolation, match="partition not expected"):
        check_consumed(msgs, {0: [0, 1, 2]})
    with pytest.raises(InvariantViolation, match="log holds"):
        check_consumed(msgs, expected, values={0: [b"x"] * 3, 1: values[1]})
    eof = FakeMessage("t", 0, 3, None, None, _error=FakeError(-191))
    with pytest.raises(InvariantViolation, match="error event"):
        check_consumed(msgs + [eof], expected)
    check_consumed(msgs, {("t", 0): [0, 1, 2], ("t", 1): [0, 1, 2]})


def test_check_consumed_from() -> None:
    msgs = [FakeMessage("t", 0, o, None, None) for o in (4, 5, 6)]
    check_consumed_from(msgs, {0: 4, 1: 0})
    with pytest.raises(InvariantViolation):
        check_consumed_from(msgs, {0: 3})
    with pytest.raises(InvariantViolation):
        check_consumed_from([msgs[0], msgs[2]], {0: 4})


def test_resource_baseline_names_leaked_threads_and_fds() -> None:
    baseline = ResourceBaseline()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, name="leak-probe")
    t.start()
    sock = socket.socket()
    try:
        with pytest.raises(InvariantViolation) as info:
            baseline.assert_back(timeout=0.2)
        assert "leak-probe" in str(info.value) and "socket:[" in str(info.value)
    finally:
        stop.set()
        t.join()
        sock.close()
    baseline.assert_back(timeout=2.0)
