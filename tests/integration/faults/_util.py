"""Helpers for the fault-injection suite: a steady producer, a chaos schedule, bounded close,
checks that survive a broker restart with memory storage, and memory measurements.

The invariants themselves come from tests.support.invariants (Ledger, ResourceBaseline);
what is here only adapts them to faults: a Tansu restart (memory storage) wipes the log, so
offsets start again at 0 and whatever the old broker acknowledged is gone with it. Checks
across a restart therefore look at the messages produced after the broker was killed (which
only the new broker can have acknowledged) for loss, and at every message for reports and
duplicates.
"""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from confluent_kafka.admin import AdminClient

from tests.integration.producer._util import consume_all, create_topic
from tests.support.invariants import DeliveryReport, Ledger, ReportSummary

__all__ = [
    "QUIET", "Chaos", "MemoryWatch", "Proxied", "SteadyProducer", "bounded_close", "consume_all",
    "create_topic", "epoch_ledger", "failed_codes", "first_ack_after", "log_duplicates",
    "one_report_each", "partition_count", "seconds", "seed",
]

if TYPE_CHECKING:
    from tests.support.faultproxy import FaultProxy
    from tests.support.tansuproc import TansuProcess

QUIET = {"log_level": 0}  # librdkafka's connection-refused chatter stays out of test output


@dataclass
class Proxied:
    """A Tansu broker behind a FaultProxy; clients bootstrap at the proxy."""

    tansu: TansuProcess
    proxy: FaultProxy

    @property
    def bootstrap(self) -> str:
        return self.proxy.address


def seed() -> int:
    """The suite's seed: RDPY_FAULTS_SEED, else 12 (the fixed CI slice)."""
    return int(os.environ.get("RDPY_FAULTS_SEED", "12"))


def seconds(default: float) -> float:
    """How long a random scenario runs per client: RDPY_FAULTS_SECONDS, else `default`."""
    return float(os.environ.get("RDPY_FAULTS_SECONDS", default))


@dataclass
class SteadyProducer:
    """Produces marked messages through a Ledger at a fixed rate, serving reports between them.

    Every message's produce() time is kept (`produced_at`), and every report's arrival time
    (`reported_at`, time.monotonic() inside the callback), so tests can split messages by
    what the broker was doing when they were produced and time the first ack after an outage.
    """

    producer: Any
    ledger: Ledger
    topic: str
    rate: float = 300.0  # messages per second
    keys: int = 13  # keys cycle over this many values (spreads messages over partitions)
    produced_at: dict[int, float] = field(default_factory=dict)
    reported_at: dict[int, float] = field(default_factory=dict)
    buffer_full: int = 0

    def _on_delivery(self, err: Any, msg: Any) -> None:
        s = self.ledger.seq_of(msg.value())
        if s is not None:
            self.reported_at.setdefault(s, time.monotonic())

    def run(self, duration: float, stop: Callable[[], bool] | None = None) -> None:
        """Produce for `duration` seconds (or until stop()), polling between messages."""
        t0 = time.monotonic()
        n = 0
        while True:
            now = time.monotonic()
            if now - t0 >= duration or (stop is not None and stop()):
                return
            i = len(self.produced_at)
            try:
                seq = self.ledger.produce(self.producer, self.topic, b"x" * 20, key=b"k%d" % (i % self.keys),
                                          on_delivery=self._on_delivery)
            except BufferError:
                self.buffer_full += 1
                self.ledger.poll(self.producer, 0.05)
                continue
            self.produced_at[seq] = time.monotonic()
            n += 1
            next_at = t0 + n / self.rate
            while True:
                wait = next_at - time.monotonic()
                if wait <= 0:
                    break
                self.ledger.poll(self.producer, wait)


class Chaos:
    """Runs `(at_seconds, name, action)` steps on a background thread, recording when each
    step finished (time.monotonic()) in `done[name]`. The application thread keeps producing
    and polling meanwhile (a broker restart takes a moment)."""

    def __init__(self, steps: Iterable[tuple[float, str, Callable[[], Any]]]) -> None:
        self.steps = sorted(steps, key=lambda s: s[0])
        self.done: dict[str, float] = {}
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fault-chaos", daemon=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        try:
            for at, name, action in self.steps:
                delay = t0 + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                result = action()
                self.done[name] = result if isinstance(result, float) else time.monotonic()
        except BaseException as e:  # reported by join()
            self.error = e

    def start(self) -> Chaos:
        self._thread.start()
        return self

    def join(self, timeout: float = 60.0) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("chaos steps did not finish")
        if self.error is not None:
            raise self.error


def bounded_close(ledger: Ledger, producer: Any, timeout: float = 30.0) -> None:
    """close() the producer (through the ledger, on a helper thread that counts as the
    application's), failing if it does not return within `timeout` seconds."""
    result: list[Any] = []

    def close() -> None:
        try:
            result.append(ledger.close(producer))
        except BaseException as e:
            result.append(e)

    t = threading.Thread(target=close, name="fault-close", daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"close() did not return within {timeout}s"
    if isinstance(result[0], BaseException):
        raise result[0]


def one_report_each(ledger: Ledger, seqs: Iterable[int] | None = None) -> dict[int, DeliveryReport]:
    """Exactly one report per message (of `seqs`, default all), none for others, each on an
    application thread. Unlike Ledger.check_reports it does not compare offsets, so it holds
    across a broker restart that wiped the log (offsets start again at 0)."""
    want = set(ledger.sent if seqs is None else seqs)
    counts = Counter(r.seq for r in ledger.reports)
    problems = [f"seq {s}: {n} reports" for s, n in sorted(counts.items()) if s in want and n > 1]
    missing = sorted(want - set(counts))
    if missing:
        problems.append(f"{len(missing)} message(s) without a report: {missing[:20]}")
    strangers = sorted(set(counts) - set(ledger.sent))
    if strangers:
        problems.append(f"reports for messages never produced: {strangers[:20]}")
    threads = {r.thread for r in ledger.reports} - ledger._app_threads  # noqa: SLF001 (read only)
    if threads:
        problems.append(f"delivery callbacks ran on non-application threads {threads}")
    assert not problems, "delivery report invariants:\n  " + "\n  ".join(problems[:20])
    return {r.seq: r for r in ledger.reports if r.seq in want}


def epoch_ledger(ledger: Ledger, seqs: Iterable[int]) -> Ledger:
    """Messages `seqs` of `ledger` and their reports, so the shared checks (check_reports,
    check_log) can run on one broker epoch."""
    return ledger.subset(seqs)


def log_duplicates(ledger: Ledger, consumed: Iterable[Any]) -> dict[int, int]:
    """seq -> times read, for this ledger's messages read more than once."""
    counts = Counter(ledger.seq_of(m.value()) for m in consumed)
    return {s: n for s, n in counts.items() if s is not None and n > 1}


def first_ack_after(stream: SteadyProducer, t: float) -> float | None:
    """Seconds from `t` to the first successful delivery report served after it."""
    delivered = {r.seq for r in stream.ledger.reports if r.code is None}
    times = [at for s, at in stream.reported_at.items() if at > t and s in delivered]
    return min(times) - t if times else None


def partition_count(bootstrap: str, topic: str, timeout: float = 10.0) -> int:
    """How many partitions the broker reports for `topic` now (confluent's AdminClient)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    md = admin.list_topics(topic, timeout=timeout)
    t = md.topics.get(topic)
    return 0 if t is None or t.error is not None else len(t.partitions)


def _proc_status_kib(field: str) -> int:
    """A kB figure of /proc/self/status, e.g. "VmRSS" (resident now) or "VmHWM" (its peak);
    0 if the kernel does not report it."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


class MemoryWatch:
    """Peak memory growth over a block: Python allocations (tracemalloc, sees rdpy's buffers
    even before they are touched) and resident set size (the kernel's high-water mark, reset
    through /proc/self/clear_refs; sees librdkafka's buffers once touched)."""

    def __init__(self) -> None:
        self.python_peak = 0
        self.rss_peak = 0
        self._rss0 = 0
        self._py0 = 0
        self._started_tracemalloc = False

    def __enter__(self) -> MemoryWatch:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_tracemalloc = True
        tracemalloc.reset_peak()
        self._py0 = tracemalloc.get_traced_memory()[0]
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset VmHWM to the current RSS
        except OSError:
            pass
        self._rss0 = _proc_status_kib("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.python_peak = tracemalloc.get_traced_memory()[1] - self._py0
        self.rss_peak = (_proc_status_kib("VmHWM") - self._rss0) * 1024
        if self._started_tracemalloc:
            tracemalloc.stop()


def failed_codes(summary: ReportSummary) -> Counter[int | None]:
    """How many failed reports of each error code."""
    return Counter(r.code for r in summary.failed.values())

