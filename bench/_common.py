"""Helpers shared by the benchmark scripts: machine notes, a broker to run against, topics,
per-client worker subprocesses and plain-text tables.

The scripts are run from the repository root (``python bench/producer.py``); importing this
module puts the root on ``sys.path`` so ``tests.support`` is importable.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULT_PREFIX = "BENCH-RESULT "


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_notes() -> str:
    """One line: Python, OS, CPU model and count, memory."""
    mem = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages * size / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()} {platform.machine()}, "
        f"{cpu_model()} x {os.cpu_count()}{mem}"
    )


@dataclass
class Broker:
    """The cluster a benchmark talks to: a local Tansu or Kafka it started, or an external one."""

    bootstrap: str
    description: str
    _endpoint: Any = None

    def stop(self) -> None:
        if self._endpoint is not None:
            self._endpoint.stop()
            self._endpoint = None


def open_broker(bootstrap: Optional[str], kind: str = "tansu") -> Broker:
    """`bootstrap` if given (nothing started), else a local broker of `kind`: "tansu" (an
    in-memory Tansu, rdpy.testing) or "kafka" (Apache Kafka in KRaft mode, one node, from
    tests.support.kafka: jars cached in ~/.cache/rdpy-kafka, java needed; its data lives in a
    temporary directory removed by stop())."""
    if bootstrap:
        return Broker(bootstrap, f"external cluster {bootstrap}")
    if kind == "kafka":
        return _open_kafka()
    if kind != "tansu":
        raise ValueError(f"unknown broker kind {kind!r} (tansu or kafka)")
    from rdpy.testing.tansu import start_tansu, tansu_binary

    version = "tansu"
    try:
        out = subprocess.run([tansu_binary(), "--version"], capture_output=True, text=True, timeout=10)
        version = out.stdout.strip() or version
    except (OSError, subprocess.SubprocessError):
        pass
    endpoint = start_tansu()
    return Broker(
        endpoint.bootstrap_servers,
        f"local {version} (memory storage, single broker) at {endpoint.bootstrap_servers}",
        endpoint,
    )


class _KafkaEndpoint:
    """Stops a tests.support.kafka broker and deletes its temporary directory."""

    def __init__(self, broker: Any, directory: str) -> None:
        self.broker, self.directory = broker, directory

    def stop(self) -> None:
        import shutil

        try:
            self.broker.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _open_kafka() -> Broker:
    """Apache Kafka (tests.support.kafka.start_kafka_broker): one KRaft node on this machine,
    group.initial.rebalance.delay.ms=0, coordinators loaded before it returns."""
    import tempfile

    from tests.support.kafka.server import start_kafka_broker

    directory = tempfile.mkdtemp(prefix="rdpy-bench-kafka-")
    t0 = time.perf_counter()
    try:
        kb = start_kafka_broker(Path(directory))
    except BaseException:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Broker(
        kb.bootstrap_servers,
        f"local Apache Kafka {kb.version} (KRaft, one node, group.initial.rebalance.delay.ms=0, "
        f"started in {time.perf_counter() - t0:.0f} s) at {kb.bootstrap_servers}",
        _KafkaEndpoint(kb, directory),
    )


def create_topics(bootstrap: str, topics: dict[str, int], timeout: float = 30.0) -> None:
    """Create each topic with its partition count (replication 1) and wait until a client sees
    every partition. An already existing topic must have the requested partition count."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
    for name, fut in futures.items():
        try:
            fut.result(timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(timeout=timeout)
        have = {t: len(md.topics[t].partitions) for t in topics if t in md.topics and md.topics[t].error is None}
        if have == topics:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"topics not ready: wanted {topics}, broker reports {have}")
        time.sleep(0.1)


@dataclass
class WorkerOutcome:
    result: Optional[dict[str, Any]]  # the JSON the worker printed, None if it printed none
    returncode: Optional[int]  # None: killed after the timeout
    stderr: str
    wall: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_worker(argv: Sequence[str], timeout: float) -> WorkerOutcome:
    """Run `python argv...` in a fresh process; it reports by printing one line
    RESULT_PREFIX + json on stdout. Killed (returncode None) after `timeout` seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT)
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        rc: Optional[int] = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        rc = None
    result = None
    for line in out.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
    return WorkerOutcome(result, rc, err, time.perf_counter() - t0)


def emit_result(result: dict[str, Any]) -> None:
    """The worker side of run_worker()."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table (also readable as plain text): the first `left` columns left-aligned,
    the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            out.append(c.ljust(widths[i]) if i < left else c.rjust(widths[i]))
        return "| " + " | ".join(out) + " |"

    sep = "|" + "|".join(("-" * (w + 2)) if i < left else ("-" * (w + 1) + ":") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def cpu_seconds() -> float:
    """User+sys CPU seconds of this process, all threads (getrusage: microsecond resolution,
    where os.times() ticks at 10 ms)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def peak_rss_kb() -> int:
    """Peak resident set size of this process so far, in KiB (Linux ru_maxrss)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def fmt_ratio(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.2f}x"


def client_versions() -> str:
    """rdpy, confluent-kafka (and its librdkafka), kafka-python and aiokafka versions."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    # rdpy's distribution is rdpy-kafka (PyPI's "rdpy" is an unrelated package).
    for dist in ("rdpy-kafka", "confluent-kafka", "kafka-python", "aiokafka"):
        try:
            v = version(dist)
        except PackageNotFoundError:
            v = "not installed"
        if dist == "confluent-kafka" and v != "not installed":
            import confluent_kafka

            v += f" (librdkafka {confluent_kafka.libversion()[0]})"
        parts.append(f"{dist} {v}")
    return ", ".join(parts)


def git_revision() -> str:
    """Short commit of the repository, with "+dirty" if tracked files outside bench/ changed."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=str(ROOT), timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"], capture_output=True,
                               text=True, cwd=str(ROOT), timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev or "unknown") + ("+dirty" if dirty else "")
