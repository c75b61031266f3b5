"""Invariants every produce/consume run must keep, checked on every run (issue 12).

librdkafka's contract (INTRODUCTION.md), which rdpy mirrors and confluent-kafka (the reference)
keeps:

* every message produce() accepted gets exactly one delivery report, and no report arrives
  for a message that was never produced (``Ledger.check_reports``);
* delivery callbacks run only on the application's threads (inside poll()/flush()/close()),
  never on a client's background thread;
* nothing acknowledged (a report without error) is lost: it is in the log, at the partition
  and offset its report named (``Ledger.check_log``);
* per partition, the log and the reports keep produce() order whenever nothing was retried
  (with retries, duplicates may appear, but first occurrences keep order);
* a consumer hands out every record of the range it reads exactly once, per partition in
  strictly increasing offsets, with no gaps where the log has none (``check_consumed``);
* a closed client gives back its threads and file descriptors (``ResourceBaseline``).
  confluent-kafka's own threads are native and invisible to ``threading.enumerate()``; file
  descriptors count for both clients.

Everything here works with any module exposing confluent-kafka's API: it only calls
``producer.produce(...)`` and reads ``Message`` accessors (``topic()``, ``partition()``,
``offset()``, ``key()``, ``value()``, ``headers()``, ``error()``), so the same checks hold the
reference and the client under test to one standard.

Messages are told apart by a mark at the start of their value, ``seq:NNNNNNNN:L<ledger>:``
(``tests.integration.producer._util.seq_of`` reads the sequence number back). A test that must
send values unchanged passes ``mark=False``; such a message is recognised in the log by the
(topic, partition, offset) its delivery report named, so it must be acknowledged with an offset
(acks != 0) and cannot be told apart from a duplicate of itself.
"""

from __future__ import annotations

import gc
import os
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = [
    "normalize_headers",
    "to_bytes",
    "DeliveryReport",
    "InvariantViolation",
    "Ledger",
    "LogSummary",
    "ReportSummary",
    "ResourceBaseline",
    "Resources",
    "SentMessage",
    "check_consumed",
    "check_consumed_from",
    "no_leaks",
    "record_call_report",
    "resources_back_after",
]

MAX_LISTED = 20  # violations named in one failure message


class InvariantViolation(AssertionError):
    """One or more invariants failed; the message lists each violation."""


def _fail_if(violations: list[str], what: str) -> None:
    """Raise InvariantViolation naming (up to MAX_LISTED of) `violations`, if any."""
    if not violations:
        return
    more = f"\n  ... and {len(violations) - MAX_LISTED} more" if len(violations) > MAX_LISTED else ""
    listed = "\n  ".join(violations[:MAX_LISTED])
    raise InvariantViolation(f"{what}: {len(violations)} violation(s)\n  {listed}{more}")


def to_bytes(x: Any) -> bytes | None:
    """A key or value as a consumer hands it back: str is UTF-8 encoded, None stays None."""
    if x is None:
        return None
    if isinstance(x, str):
        return x.encode()
    return bytes(x)


def normalize_headers(headers: Any) -> list[tuple[str, bytes | None]] | None:
    """Headers as confluent's Consumer returns them: a list of (str, bytes | None), or None."""
    if headers is None:
        return None
    items: Iterable[tuple[str, Any]] = headers.items() if isinstance(headers, dict) else headers
    out = [(k, to_bytes(v)) for k, v in items]
    return out or None


# --- producer side: the ledger ---------------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    """One message produce() accepted, as the ledger sent it."""

    seq: int
    topic: str
    partition: int | None  # the explicit partition asked for, None for the partitioner
    key: bytes | None
    value: bytes | None  # the bytes sent, mark included
    headers: list[tuple[str, bytes | None]] | None
    thread: int  # threading.get_ident() of the thread that called produce()
    marked: bool


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery report, read inside the callback."""

    seq: int  # the message the callback belonged to
    code: int | None  # KafkaError.code(), None when delivered
    error: str | None
    topic: str | None
    partition: int | None
    offset: int | None  # None (or negative) when unknown: acks=0, purged, failed
    key: bytes | None
    value: bytes | None
    timestamp: tuple[int, int]
    thread: int  # threading.get_ident() inside the callback
    serving: bool | None  # inside Ledger.poll/flush/close on this thread; None if not tracked
    arrival: int  # position among all reports this ledger received

    @property
    def delivered(self) -> bool:
        return self.code is None

    @property
    def known_offset(self) -> int | None:
        """The offset the report names, or None when it names none."""
        return self.offset if self.offset is not None and self.offset >= 0 else None


@dataclass(frozen=True)
class ReportSummary:
    """What check_reports found: the one report of each message, split by outcome."""

    delivered: dict[int, DeliveryReport]
    failed: dict[int, DeliveryReport]

    def codes(self) -> dict[int, int | None]:
        """seq -> error code (None when delivered)."""
        return {seq: r.code for seq, r in {**self.delivered, **self.failed}.items()}


@dataclass(frozen=True)
class LogSummary:
    """What check_log found: where each produced message was read back."""

    # seq -> every (partition, offset) it was read at, in offset order
    found: dict[int, list[tuple[int, int]]]
    # failed reports whose message is in the log anyway (allowed: e.g. a timeout after send)
    failed_but_written: set[int]
    duplicates: dict[int, int]  # seq -> times read, for those read more than once


_MARK = re.compile(rb"^seq:(\d{8}):L([0-9a-f]{8}):")


@dataclass(eq=False)
class Ledger:
    """Records every produce() a test makes and every delivery report, and checks them.

    ``ledger.produce(producer, topic, value, key=..., partition=..., headers=..., **kw)``
    calls ``producer.produce`` with an on_delivery callback of its own (a caller's
    ``on_delivery``/``callback`` is still called after it) and returns the message's sequence
    number. Sequence numbers increase in produce() order.

    Delivery reports are expected on the threads that called ``ledger.produce`` (or were added
    with ``allow_thread``). With ``serve_via_ledger=True`` the test promises to serve reports
    only through ``ledger.poll``/``flush``/``close`` and every report must arrive inside one
    of them, on the calling thread.
    """

    serve_via_ledger: bool = False
    ident: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    sent: dict[int, SentMessage] = field(default_factory=dict)
    reports: list[DeliveryReport] = field(default_factory=list)
    refused: dict[int, BaseException] = field(default_factory=dict)  # produce() raised
    _next_seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _app_threads: set[int] = field(default_factory=set)
    _serving: threading.local = field(default_factory=threading.local)

    # -- producing -------------------------------------------------------------------------

    def mark(self, seq: int) -> bytes:
        """The prefix that identifies message `seq` of this ledger in a value."""
        return b"seq:%08d:L%s:" % (seq, self.ident.encode())

    def produce(
        self,
        producer: Any,
        topic: str,
        value: Any = None,
        key: Any = None,
        *,
        partition: int | None = None,
        headers: Any = None,
        mark: bool = True,
        **kw: Any,
    ) -> int:
        """producer.produce(...) with a recording on_delivery; returns the sequence number.

        With `mark` the value sent is ``self.mark(seq) + value`` (value None counts as b"").
        If produce() raises, the message is recorded in `refused` (no report may come for it)
        and the exception propagates.
        """
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
        sent_value = self.mark(seq) + (to_bytes(value) or b"") if mark else value
        user_cb = kw.pop("on_delivery", None) or kw.pop("callback", None)
        args: dict[str, Any] = {"value": sent_value, "key": key, "on_delivery": self._callback(seq, user_cb), **kw}
        if partition is not None:
            args["partition"] = partition
        if headers is not None:
            args["headers"] = headers
        thread = threading.get_ident()
        record = SentMessage(
            seq=seq,
            topic=topic,
            partition=partition if partition is not None and partition >= 0 else None,
            key=to_bytes(key),
            value=to_bytes(sent_value),
            headers=normalize_headers(headers),
            thread=thread,
            marked=mark,
        )
        self._app_threads.add(thread)
        self.sent[seq] = record  # before produce(): a report may come during a later call
        try:
            producer.produce(topic, **args)
        except BaseException as e:
            del self.sent[seq]
            self.refused[seq] = e
            raise
        return seq

    def allow_thread(self, ident: int | None = None) -> None:
        """Accept delivery reports on thread `ident` (default: the calling thread)."""
        self._app_threads.add(threading.get_ident() if ident is None else ident)

    def _callback(self, seq: int, user_cb: Callable[[Any, Any], None] | None) -> Callable[[Any, Any], None]:
        def on_delivery(err: Any, msg: Any) -> None:
            self._record(seq, err, msg)
            if user_cb is not None:
                user_cb(err, msg)

        return on_delivery

    def _record(self, seq: int, err: Any, msg: Any) -> None:
        serving = getattr(self._serving, "depth", 0) > 0 if self.serve_via_ledger else None
        with self._lock:
            self.reports.append(
                DeliveryReport(
                    seq=seq,
                    code=None if err is None else err.code(),
                    error=None if err is None else str(err),
                    topic=msg.topic(),
                    partition=msg.partition(),
                    offset=msg.offset(),
                    key=msg.key(),
                    value=msg.value(),
                    timestamp=msg.timestamp(),
                    thread=threading.get_ident(),
                    serving=serving,
                    arrival=len(self.reports),
                )
            )

    # -- serving reports (optional wrappers, for serve_via_ledger) -------------------------

    @contextmanager
    def _serve(self) -> Iterator[None]:
        self._serving.depth = getattr(self._serving, "depth", 0) + 1
        try:
            yield
        finally:
            self._serving.depth -= 1

    def poll(self, producer: Any, timeout: float = 0) -> int:
        """producer.poll(timeout), noting that reports may be served now on this thread."""
        self.allow_thread()
        with self._serve():
            return int(producer.poll(timeout))

    def flush(self, producer: Any, timeout: float | None = None) -> int:
        """producer.flush(timeout), noting that reports may be served now on this thread."""
        self.allow_thread()
        with self._serve():
            return int(producer.flush() if timeout is None else producer.flush(timeout))

    def close(self, producer: Any) -> Any:
        """producer.close(), noting that reports may be served now on this thread."""
        self.allow_thread()
        with self._serve():
            return producer.close()

    # -- queries ----------------------------------------------------------------------------

    def subset(self, seqs: Iterable[int]) -> Ledger:
        """A Ledger holding only messages `seqs` and their reports (same mark, same allowed
        threads), so the checks can run on part of a run: e.g. what only a restarted broker
        that lost its log can have acknowledged."""
        keep = set(seqs)
        sub = Ledger(serve_via_ledger=self.serve_via_ledger, ident=self.ident)
        sub.sent = {s: m for s, m in self.sent.items() if s in keep}
        sub.reports = [r for r in self.reports if r.seq in keep]
        sub.refused = {s: e for s, e in self.refused.items() if s in keep}
        sub._app_threads = set(self._app_threads)
        return sub

    def seqs(self, topic: str | None = None) -> list[int]:
        """Sequence numbers of accepted messages (of `topic`), in produce() order."""
        return [s for s, m in sorted(self.sent.items()) if topic is None or m.topic == topic]

    def values(self, seqs: Iterable[int] | None = None) -> list[bytes | None]:
        """The values sent for `seqs` (default: all, in produce() order)."""
        return [self.sent[s].value for s in (self.seqs() if seqs is None else seqs)]

    def all_reported(self) -> bool:
        """Whether every accepted message has a report (a poll_until condition)."""
        return len({r.seq for r in self.reports}) >= len(self.sent)

    def seq_of(self, value: bytes | None) -> int | None:
        """The sequence number marked in `value` if it is this ledger's mark, else None."""
        if value is None:
            return None
        m = _MARK.match(value)
        if m is None or m.group(2).decode() != self.ident:
            return None
        return int(m.group(1))

    # -- checks -----------------------------------------------------------------------------

    def check_reports(self, *, ordered: bool = True, expect_delivered: bool = False) -> ReportSummary:
        """Exactly one report per accepted message, each on an application thread, naming
        that message (topic, key, value, asked-for partition); none for refused messages.

        `ordered`: per (partition, producing thread), delivered reports arrive in produce()
        order and their offsets increase with it (librdkafka, when nothing is retried).
        `expect_delivered`: every report must be a delivery without error.
        Always: no two delivered messages at the same (topic, partition, offset).
        """
        violations: list[str] = []
        one: dict[int, DeliveryReport] = {}
        for r in self.reports:
            violations += self._report_violations(r, one)
        missing = sorted(set(self.sent) - set(one))
        if missing:
            violations.append(f"{len(missing)} message(s) got no delivery report: seqs {missing[:20]}")
        delivered = {s: r for s, r in one.items() if r.delivered}
        failed = {s: r for s, r in one.items() if not r.delivered}
        if expect_delivered:
            violations += [f"seq {s}: delivery failed: {r.error}" for s, r in sorted(failed.items())]
        violations += _same_offset_violations(delivered)
        if ordered:
            violations += self._report_order_violations(delivered)
        _fail_if(violations, "delivery report invariants")
        return ReportSummary(delivered=delivered, failed=failed)

    def _report_violations(self, r: DeliveryReport, seen: dict[int, DeliveryReport]) -> list[str]:
        """What is wrong with report `r` alone (recording it in `seen`)."""
        if r.seq in self.refused:
            return [f"seq {r.seq}: report ({r.error}) for a message produce() refused ({self.refused[r.seq]!r})"]
        sent = self.sent.get(r.seq)
        if sent is None:
            return [f"seq {r.seq}: report for a message never produced"]
        if r.seq in seen:
            return [f"seq {r.seq}: second delivery report ({r.error or 'delivered'} at "
                    f"{r.partition}/{r.offset}; first: {seen[r.seq].error or 'delivered'})"]
        seen[r.seq] = r
        out: list[str] = []
        if r.thread not in self._app_threads:
            out.append(f"seq {r.seq}: delivery callback ran on thread {r.thread}, not an application thread")
        if r.serving is False:
            out.append(f"seq {r.seq}: delivery callback ran outside poll()/flush()/close()")
        if r.topic != sent.topic:
            out.append(f"seq {r.seq}: report names topic {r.topic!r}, produced to {sent.topic!r}")
        if (r.key, r.value) != (sent.key, sent.value):
            out.append(f"seq {r.seq}: report carries key/value {r.key!r}/{_short(r.value)}, "
                       f"produced {sent.key!r}/{_short(sent.value)}")
        if r.delivered and sent.partition is not None and r.partition != sent.partition:
            out.append(f"seq {r.seq}: delivered to partition {r.partition}, asked for {sent.partition}")
        return out

    def _report_order_violations(self, delivered: dict[int, DeliveryReport]) -> list[str]:
        """Per (partition, producing thread): arrival order and offsets follow produce order."""
        out: list[str] = []
        groups: dict[tuple[Any, int], list[DeliveryReport]] = defaultdict(list)
        for r in sorted(delivered.values(), key=lambda r: r.arrival):
            groups[(r.topic, r.partition), self.sent[r.seq].thread].append(r)
        for (tp, _thread), rs in groups.items():
            seqs = [r.seq for r in rs]
            if seqs != sorted(seqs):
                out.append(f"{tp}: delivery reports out of produce order: {_first_disorder(seqs)}")
            offsets = [r.known_offset for r in sorted(rs, key=lambda r: r.seq) if r.known_offset is not None]
            if offsets != sorted(offsets):
                out.append(f"{tp}: offsets do not follow produce order: {_first_disorder(offsets)}")
        return out

    def check_log(
        self,
        consumed: Iterable[Any],
        *,
        ordered: bool = True,
        allow_duplicates: bool = False,
        check_headers: bool = True,
    ) -> LogSummary:
        """Check what was read back (Message objects, any client) against the ledger.

        Nothing acknowledged is lost (every delivered message is read, at the partition and
        offset its report named); nothing is read that was never produced; keys, values and
        (with `check_headers`) headers are as sent; an explicit partition was respected;
        duplicates only with `allow_duplicates`; with `ordered`, per (partition, producing
        thread) first occurrences in offset order follow produce() order. Reports must have
        arrived (check_reports is called first and its violations fail this check too).
        """
        reports = self.check_reports(ordered=False)
        violations: list[str] = []
        by_position = {
            (self.sent[s].topic, r.partition, r.known_offset): s
            for s, r in reports.delivered.items()
            if not self.sent[s].marked and r.known_offset is not None
        }
        found: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for m in consumed:
            seq, problem = self._identify(m, by_position)
            if problem is not None:
                violations.append(problem)
                continue
            assert seq is not None
            violations += self._record_violations(seq, m, check_headers)
            found[seq].append((m.partition(), m.offset()))
        for positions in found.values():
            positions.sort()
        violations += _lost_violations(reports.delivered, found)
        duplicates = {s: len(p) for s, p in found.items() if len(p) > 1}
        if duplicates and not allow_duplicates:
            violations += [f"seq {s}: read {n} times at {found[s]}" for s, n in sorted(duplicates.items())]
        if ordered:
            violations += self._log_order_violations(found)
        _fail_if(violations, "read-back invariants")
        failed_written = {s for s in reports.failed if s in found}
        return LogSummary(found=dict(found), failed_but_written=failed_written, duplicates=duplicates)

    def _identify(self, m: Any, by_position: Mapping[tuple[Any, Any, Any], int]) -> tuple[int | None, str | None]:
        """(seq, None) for a record of this ledger, or (None, what is wrong with it)."""
        where = f"{m.topic()}/{m.partition()}@{m.offset()}"
        if m.error() is not None:
            return None, f"{where}: read an error, not a record: {m.error()}"
        seq = self.seq_of(m.value())
        if seq is None:
            seq = by_position.get((m.topic(), m.partition(), m.offset()))
        if seq is None or seq not in self.sent:
            return None, f"{where}: record never produced (value {_short(m.value())})"
        return seq, None

    def _record_violations(self, seq: int, m: Any, check_headers: bool) -> list[str]:
        """What differs between record `m` and message `seq` as sent."""
        sent = self.sent[seq]
        where = f"seq {seq} at {m.topic()}/{m.partition()}@{m.offset()}"
        out: list[str] = []
        if m.topic() != sent.topic:
            out.append(f"{where}: produced to topic {sent.topic!r}")
        if sent.partition is not None and m.partition() != sent.partition:
            out.append(f"{where}: produced to partition {sent.partition}")
        if m.key() != sent.key:
            out.append(f"{where}: key {m.key()!r}, produced {sent.key!r}")
        if m.value() != sent.value:
            out.append(f"{where}: value {_short(m.value())}, produced {_short(sent.value)}")
        if check_headers and m.headers() != sent.headers:
            out.append(f"{where}: headers {m.headers()!r}, produced {sent.headers!r}")
        return out

    def _log_order_violations(self, found: Mapping[int, list[tuple[int, int]]]) -> list[str]:
        """Per (topic, partition, producing thread): first occurrences follow produce order."""
        out: list[str] = []
        groups: dict[tuple[str, int, int], list[tuple[int, int]]] = defaultdict(list)
        for seq, positions in found.items():
            partition, offset = positions[0]
            groups[(self.sent[seq].topic, partition, self.sent[seq].thread)].append((offset, seq))
        for (topic, partition, _thread), items in groups.items():
            seqs = [s for _, s in sorted(items)]
            if seqs != sorted(seqs):
                out.append(f"{topic}/{partition}: log out of produce order: {_first_disorder(seqs)}")
        return out


def _same_offset_violations(delivered: Mapping[int, DeliveryReport]) -> list[str]:
    """Two delivered messages never share a (topic, partition, offset)."""
    at: dict[tuple[Any, Any, int], int] = {}
    out: list[str] = []
    for seq, r in sorted(delivered.items()):
        if r.known_offset is None:
            continue
        pos = (r.topic, r.partition, r.known_offset)
        if pos in at:
            out.append(f"seqs {at[pos]} and {seq} both acknowledged at {pos}")
        at[pos] = seq
    return out


def _lost_violations(delivered: Mapping[int, DeliveryReport], found: Mapping[int, list[tuple[int, int]]]) -> list[str]:
    """Every acknowledged message was read, at the position its report named."""
    out: list[str] = []
    lost = sorted(s for s in delivered if s not in found)
    if lost:
        out.append(f"{len(lost)} acknowledged message(s) not in the log: seqs {lost[:20]}")
    for seq, r in sorted(delivered.items()):
        if seq not in found:
            continue
        partitions = {p for p, _ in found[seq]}
        if r.partition not in partitions:
            out.append(f"seq {seq}: acknowledged on partition {r.partition}, read at {found[seq]}")
        elif r.known_offset is not None and (r.partition, r.known_offset) not in found[seq]:
            out.append(f"seq {seq}: acknowledged at offset {r.known_offset}, read at {found[seq]}")
    return out


def _first_disorder(xs: Sequence[Any]) -> str:
    """Where `xs` first goes down, with a little context."""
    for i in range(1, len(xs)):
        if xs[i] < xs[i - 1]:
            return f"... {list(xs[max(0, i - 3):i + 3])} (at index {i} of {len(xs)})"
    return "(in order)"


def _short(v: bytes | None, n: int = 40) -> str:
    if v is None:
        return "None"
    return repr(v[:n]) + ("..." if len(v) > n else "")


# --- consumer side -----------------------------------------------------------------------------


def check_consumed(
    messages: Iterable[Any],
    expected: Mapping[Any, Sequence[int]],
    *,
    values: Mapping[Any, Sequence[bytes | None]] | None = None,
) -> dict[Any, list[Any]]:
    """What a consumer handed out matches the log, record for record.

    `expected` maps a partition (an int, or a (topic, partition) tuple) to the offsets of the
    records the log holds in the range read, ascending; `values`, if given, to their values.
    Per partition, in the order handed out: offsets strictly increasing, each expected record
    exactly once, no record the log does not hold there (so no gaps where the log has none),
    nothing from partitions not expected, no error events. Returns the messages per partition.
    """
    by_key = _group_consumed(messages, expected)
    violations: list[str] = by_key.pop(_ERRORS, [])
    for key, offsets in expected.items():
        msgs = by_key.get(key, [])
        violations += _partition_violations(key, msgs, offsets, None if values is None else values.get(key))
    for key in sorted(set(by_key) - set(expected), key=repr):
        violations.append(f"{key}: {len(by_key[key])} record(s) read from a partition not expected")
    _fail_if(violations, "consumed-record invariants")
    return by_key


def check_consumed_from(messages: Iterable[Any], starts: Mapping[Any, int]) -> dict[Any, list[Any]]:
    """check_consumed for a read that may have stopped anywhere, over a log without gaps
    (no control records, nothing compacted): per partition the records handed out are exactly
    starts[p], starts[p] + 1, ... -- as many as were read, each once, in order. Keys of
    `starts` are partitions as in check_consumed."""
    msgs = list(messages)
    counts: dict[Any, int] = defaultdict(int)
    tuple_keys = any(isinstance(k, tuple) for k in starts)
    for m in msgs:
        if m.error() is None:
            counts[(m.topic(), m.partition()) if tuple_keys else m.partition()] += 1
    expected = {key: range(start, start + counts.get(key, 0)) for key, start in starts.items()}
    return check_consumed(msgs, expected)


_ERRORS = object()  # key under which _group_consumed files error events


def _group_consumed(messages: Iterable[Any], expected: Mapping[Any, Sequence[int]]) -> dict[Any, list[Any]]:
    """Messages per partition key (the form `expected` uses); error events under _ERRORS."""
    tuple_keys = any(isinstance(k, tuple) for k in expected)
    out: dict[Any, list[Any]] = defaultdict(list)
    for m in messages:
        if m.error() is not None:
            out[_ERRORS].append(f"{m.topic()}/{m.partition()}: error event among records: {m.error()}")
            continue
        out[(m.topic(), m.partition()) if tuple_keys else m.partition()].append(m)
    return dict(out)


def _partition_violations(
    key: Any, msgs: Sequence[Any], offsets: Sequence[int], values: Sequence[bytes | None] | None
) -> list[str]:
    """One partition's records against the offsets (and values) the log holds."""
    out: list[str] = []
    got = [m.offset() for m in msgs]
    if any(b <= a for a, b in zip(got, got[1:])):
        out.append(f"{key}: offsets not strictly increasing: {_first_disorder_or_repeat(got)}")
    if got != list(offsets):
        missing = sorted(set(offsets) - set(got))
        extra = sorted(set(got) - set(offsets))
        out.append(f"{key}: read {len(got)} record(s), log holds {len(offsets)}; "
                   f"missing offsets {missing[:20]}, unexpected {extra[:20]}")
    if values is not None:
        want = dict(zip(offsets, values))
        for m in msgs:
            if m.offset() in want and m.value() != want[m.offset()]:
                out.append(f"{key}@{m.offset()}: value {_short(m.value())}, log holds {_short(want[m.offset()])}")
    return out


def _first_disorder_or_repeat(xs: Sequence[int]) -> str:
    for i in range(1, len(xs)):
        if xs[i] <= xs[i - 1]:
            return f"... {list(xs[max(0, i - 3):i + 3])} (at index {i} of {len(xs)})"
    return "(increasing)"


# --- resources: threads and file descriptors ---------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """Python threads alive and file descriptors open in this process at one moment."""

    threads: frozenset[threading.Thread]
    fds: frozenset[tuple[int, str]]  # (fd, what it points to)

    @staticmethod
    def now() -> Resources:
        return Resources(threads=frozenset(t for t in threading.enumerate() if t.is_alive()), fds=_open_fds())


def _open_fds() -> frozenset[tuple[int, str]]:
    """(fd, readlink target) of every open descriptor; the listing's own fd drops out."""
    out: set[tuple[int, str]] = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            out.add((int(name), os.readlink(f"/proc/self/fd/{name}")))
        except OSError:
            pass  # closed meanwhile (e.g. the directory fd listdir used)
    return frozenset(out)


@dataclass
class ResourceBaseline:
    """A snapshot of threads and fds; assert_back() waits until the process is back to it.

    Take the snapshot before a test creates clients and call assert_back() after it closed
    them: whatever thread or descriptor is still there and was not before has leaked.
    """

    before: Resources = field(default_factory=Resources.now)

    def leaks(self) -> tuple[list[threading.Thread], list[tuple[int, str]]]:
        """Threads and fds present now that were not in the baseline."""
        now = Resources.now()
        threads = sorted(now.threads - self.before.threads, key=lambda t: t.name)
        fds = sorted(now.fds - self.before.fds)
        return threads, fds

    def assert_back(self, timeout: float = 5.0, what: str = "") -> None:
        """Wait up to `timeout` s (collecting garbage) for threads and fds to return to the
        baseline; fail naming each leaked thread and descriptor."""
        deadline = time.monotonic() + timeout
        while True:
            gc.collect()
            threads, fds = self.leaks()
            if not threads and not fds:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        listed = [f"thread {t.name!r} (daemon={t.daemon}, ident={t.ident})" for t in threads]
        listed += [f"fd {fd} -> {target}" for fd, target in fds]
        _fail_if(listed, f"resources not back to baseline {timeout}s after close(){what}")


@contextmanager
def no_leaks(timeout: float = 5.0) -> Iterator[ResourceBaseline]:
    """``with no_leaks(): ...`` -- the block must give back every thread and fd it took."""
    baseline = ResourceBaseline()
    yield baseline
    baseline.assert_back(timeout)


# --- pytest glue: a per-test leak check ------------------------------------------------------

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


def record_call_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """Keep the call phase's report on the item, for resources_back_after (call this from a
    conftest's pytest_runtest_makereport hook wrapper)."""
    if report.when == "call":
        item.stash[_CALL_REPORT] = report


def resources_back_after(request: pytest.FixtureRequest, timeout: float = 5.0) -> Iterator[None]:
    """Body of an autouse fixture: snapshot threads and fds before the test; after it (and
    after every fixture it used was torn down, when the fixture is set up first) require them
    back at the baseline. Skipped when the test itself did not pass: its traceback keeps its
    clients alive, and the failure is already reported."""
    baseline = ResourceBaseline()
    yield
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is None or not report.passed:
        return
    baseline.assert_back(timeout, what=f" in {request.node.nodeid}")
