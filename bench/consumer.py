"""Consumer throughput: rdpy vs confluent-kafka, kafka-python and aiokafka, end to end.

One run starts a local Tansu broker (or uses --bootstrap), creates a 1-partition and a
6-partition topic, pre-fills each with the same number of keyless 100-byte messages (with
confluent-kafka's Producer, spread evenly over the partitions), and then, for each topic, runs
each client in a fresh subprocess that assigns every partition from the beginning and reads
until it has every record, touching each record's value (summing len(value)). Reported per
client: msgs/s and value MB/s (assign to last record), client CPU microseconds per message
(user+sys of the client process over the same interval, all its threads), peak RSS of the
process, and msgs/s ratios against kafka-python, aiokafka and confluent-kafka.

    python bench/consumer.py [--quick] [--messages N] [--bootstrap host:port]
                             [--clients rdpy,confluent-kafka,...] [--repeat R]

Exits non-zero if any client fails, hangs, or does not read exactly the records produced (count,
value bytes and final position of every partition); the performance targets are printed, not
enforced.

    python bench/consumer.py --group [--quick] [--bootstrap host:port] [--broker kafka|tansu]
                             [--group-cases first,rebalance,throughput] [--group-messages N]
                             [--group-partitions P] [--heartbeat-ms MS] [--repeat R]

runs the consumer-group section instead (subscribe(), one process per group member, against a
local Apache Kafka by default): subscribe() to the first record, the rebalance when a third
member joins two consuming ones, and the read throughput of a group of three; see
bench/README.md. A client whose subscribe() raises reads "n/a (error)".
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (  # noqa: E402
    RESULT_PREFIX,
    ROOT,
    client_versions,
    cpu_seconds,
    create_topics,
    emit_result,
    fmt_ratio,
    format_table,
    git_revision,
    load_average,
    machine_notes,
    open_broker,
    peak_rss_kb,
    run_worker,
)

# "-consume": the same client reading with consume(CONSUME_BATCH, timeout) instead of poll().
# "rdpy-crc": rdpy with check.crcs=true (librdkafka's and rdpy's default is false), verifying
# every batch's CRC-32C as kafka-python and aiokafka do by default.
# "kafka-python-nocrc": kafka-python with check_crcs=False. kafka-python checks CRCs by default
# and, unless the optional `crc32c` package is installed (`pip install kafka-python[crc32c]`,
# not a default dependency), does so in pure Python, which dominates its reading cost; this row
# shows its speed without that cost (the same as with the C CRC, which costs next to nothing).
CLIENTS = ["rdpy", "rdpy-consume", "rdpy-crc", "confluent-kafka", "confluent-kafka-consume",
           "kafka-python", "kafka-python-nocrc", "aiokafka"]
DEFAULT_CLIENTS = CLIENTS
REFERENCES = [("kafka-python", "kafka-python"), ("kafka-python-nocrc", "kafka-python-nocrc"),
              ("aiokafka", "aiokafka"), ("confluent-kafka", "confluent")]
PARTITIONS = (1, 6)
SIZE = 100
DEFAULT_MESSAGES = 500_000
QUICK_MESSAGES = 50_000
CONSUME_BATCH = 1000
# kafka-python: poll(max_records=...). Its default max_poll_records is 500; larger batches were
# measured a little faster (fewer poll() rounds), so it gets the same 1000 as consume().
KAFKA_PYTHON_MAX_RECORDS = 1000
GROUP_ID = "rdpy-bench-consumer"  # rdpy and confluent-kafka require one; nothing is committed
# Targets from issue 5 (informational): rdpy at 100-byte values.
TARGET_VS_KAFKA_PYTHON = 3.0
TARGET_VS_AIOKAFKA = 0.3


def topic_name(prefix: str, partitions: int) -> str:
    return f"{prefix}-p{partitions}"


def value_of(size: int) -> bytes:
    seed = bytes(range(256)) * (size // 256 + 1)
    return seed[:size]


# --- workers (one client, one topic, one fresh process) ----------------------------------------


class Tally:
    """What a worker read: records and value bytes, errors, and a note if it stopped early."""

    __slots__ = ("n", "nbytes", "errors", "first_error", "note")

    def __init__(self) -> None:
        self.n = 0
        self.nbytes = 0
        self.errors = 0
        self.first_error: Optional[str] = None
        self.note = ""

    def error(self, e: Any) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = repr(e)


def _result(a: argparse.Namespace, t: Tally, elapsed: float, cpu: float, positions: list[int]) -> dict[str, Any]:
    return {
        "client": a.worker,
        "messages": a.messages,
        "read": t.n,
        "bytes": t.nbytes,
        "errors": t.errors,
        "first_error": t.first_error,
        "positions": positions,
        "elapsed": elapsed,
        "cpu": cpu,
        "cpu_process": cpu_seconds(),
        "maxrss_kb": peak_rss_kb(),
        "note": t.note,
    }


def worker_librdkafka_api(a: argparse.Namespace) -> Callable[[], None]:
    """rdpy and confluent-kafka: the same code. assign() every partition at OFFSET_BEGINNING,
    then poll(1.0) per message, or consume(CONSUME_BATCH, 1.0) for the "-consume" rows."""
    if a.worker.startswith("rdpy"):
        import rdpy as mod
    else:
        import confluent_kafka as mod  # type: ignore[no-redef]

    conf: dict[str, Any] = {
        "bootstrap.servers": a.bootstrap,
        "group.id": GROUP_ID,
        # Nothing to commit: the partitions are assigned, read from the beginning.
        "enable.auto.commit": False,
    }
    if a.fetch_queue_backoff_ms is not None:
        conf["fetch.queue.backoff.ms"] = a.fetch_queue_backoff_ms
    if a.worker.endswith("-crc"):
        conf["check.crcs"] = True
    c = mod.Consumer(conf)
    # Warm-up outside the timing: bootstrap connection and metadata.
    md = c.list_topics(a.topic, timeout=30)
    if len(md.topics[a.topic].partitions) != a.partitions:
        raise RuntimeError(f"{a.topic}: expected {a.partitions} partitions, metadata has {md.topics[a.topic]}")
    tps = [mod.TopicPartition(a.topic, p, mod.OFFSET_BEGINNING) for p in range(a.partitions)]
    t = Tally()
    n_total, stall = a.messages, a.timeout
    n = nbytes = 0
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    last, seen = t0, 0
    c.assign(tps)
    if a.worker.endswith("-consume"):
        consume = c.consume
        while n < n_total:
            msgs = consume(CONSUME_BATCH, 1.0)
            if not msgs:
                if time.perf_counter() - last > stall:
                    t.note = f"no message for {stall:g}s after {n} records"
                    break
                continue
            for m in msgs:
                if m.error() is not None:
                    t.error(m.error())
                    continue
                nbytes += len(m.value())
                n += 1
            last = time.perf_counter()
    else:
        poll = c.poll
        while n < n_total:
            m = poll(1.0)
            if m is None:
                # Stall check only when poll() came back empty: no clock read per record.
                now = time.perf_counter()
                if n != seen:
                    seen, last = n, now
                elif now - last > stall:
                    t.note = f"no message for {stall:g}s after {n} records"
                    break
                continue
            if m.error() is not None:
                t.error(m.error())
                continue
            nbytes += len(m.value())
            n += 1
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    t.n, t.nbytes = n, nbytes
    positions = [tp.offset for tp in c.position([mod.TopicPartition(a.topic, p) for p in range(a.partitions)])]
    emit_result(_result(a, t, elapsed, cpu, positions))
    return c.close


def worker_kafka_python(a: argparse.Namespace) -> Callable[[], None]:
    """kafka-python: KafkaConsumer without a group, assign() + seek_to_beginning(), then
    poll(timeout_ms=1000, max_records=KAFKA_PYTHON_MAX_RECORDS) batches (faster than iterating
    the consumer, which is a per-record generator)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=a.bootstrap, group_id=None, enable_auto_commit=False,
                      check_crcs=not a.worker.endswith("-nocrc"))
    parts = c.partitions_for_topic(a.topic)  # warm-up: connection and metadata
    if parts is None or len(parts) != a.partitions:
        raise RuntimeError(f"{a.topic}: expected {a.partitions} partitions, metadata has {parts}")
    tps = [TopicPartition(a.topic, p) for p in range(a.partitions)]
    t = Tally()
    n_total, stall = a.messages, a.timeout
    n = nbytes = 0
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    last = t0
    c.assign(tps)
    c.seek_to_beginning(*tps)
    poll = c.poll
    while n < n_total:
        batches = poll(timeout_ms=1000, max_records=KAFKA_PYTHON_MAX_RECORDS)
        if not batches:
            if time.perf_counter() - last > stall:
                t.note = f"no message for {stall:g}s after {n} records"
                break
            continue
        for records in batches.values():
            for r in records:
                nbytes += len(r.value)
            n += len(records)
        last = time.perf_counter()
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    t.n, t.nbytes = n, nbytes
    positions = [c.position(tp) for tp in tps]
    emit_result(_result(a, t, elapsed, cpu, positions))
    return lambda: c.close(autocommit=False)


def worker_aiokafka(a: argparse.Namespace) -> Callable[[], None]:
    """aiokafka: AIOKafkaConsumer without a group, assign() + seek_to_beginning(), then
    getmany(timeout_ms=1000) batches (everything prefetched per call)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> None:
        c = AIOKafkaConsumer(bootstrap_servers=a.bootstrap, group_id=None, enable_auto_commit=False)
        await c.start()  # bootstrap connection and metadata, outside the timing
        try:
            parts = c.partitions_for_topic(a.topic)
            if parts is None or len(parts) != a.partitions:
                raise RuntimeError(f"{a.topic}: expected {a.partitions} partitions, metadata has {parts}")
            tps = [TopicPartition(a.topic, p) for p in range(a.partitions)]
            t = Tally()
            n_total, stall = a.messages, a.timeout
            n = nbytes = 0
            t0, cpu0 = time.perf_counter(), cpu_seconds()
            last = t0
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            getmany = c.getmany
            while n < n_total:
                batches = await getmany(timeout_ms=1000)
                if not batches:
                    if time.perf_counter() - last > stall:
                        t.note = f"no message for {stall:g}s after {n} records"
                        break
                    continue
                for records in batches.values():
                    for r in records:
                        nbytes += len(r.value)
                    n += len(records)
                last = time.perf_counter()
            elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            t.n, t.nbytes = n, nbytes
            positions = [await c.position(tp) for tp in tps]
            emit_result(_result(a, t, elapsed, cpu, positions))
        finally:
            await c.stop()

    asyncio.run(run())
    return lambda: None


WORKERS = {
    "rdpy": worker_librdkafka_api,
    "rdpy-consume": worker_librdkafka_api,
    "confluent-kafka": worker_librdkafka_api,
    "confluent-kafka-consume": worker_librdkafka_api,
    "rdpy-crc": worker_librdkafka_api,
    "kafka-python": worker_kafka_python,
    "kafka-python-nocrc": worker_kafka_python,
    "aiokafka": worker_aiokafka,
}


def kafka_python_crc() -> str:
    """Which CRC-32C implementation kafka-python checks record batches with, here."""
    try:
        from kafka.record import util
    except ImportError:
        return "kafka-python not installed"
    if getattr(util, "crc32c_c", None) is not None:
        return "the optional C `crc32c` package"
    return "its pure-Python fallback (the optional `crc32c` package is not installed)"


def worker_main(a: argparse.Namespace) -> int:
    finish = WORKERS[a.worker](a)
    finish()
    return 0


# --- driver ------------------------------------------------------------------------------------


def prefill(bootstrap: str, topic: str, partitions: int, n: int, size: int, timeout: float) -> list[int]:
    """Produce n keyless messages round-robin over the partitions with confluent-kafka; returns
    the end offset (last offset + 1) of every partition. Raises on any delivery error."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "none", "acks": "all"})
    ends = [0] * partitions
    errors: list[Any] = []
    ok = [0]

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)
        else:
            ok[0] += 1
            part, off = msg.partition(), msg.offset()
            if off + 1 > ends[part]:
                ends[part] = off + 1

    value = value_of(size)
    produce, poll = p.produce, p.poll
    for i in range(n):
        while True:
            try:
                produce(topic, value, partition=i % partitions, on_delivery=on_delivery)
                break
            except BufferError:
                poll(0.05)
        poll(0)
    left = p.flush(timeout)
    if left or errors or ok[0] != n:
        raise RuntimeError(
            f"pre-fill of {topic}: {ok[0]}/{n} delivered, {left} still queued, "
            f"{len(errors)} errors{', first: ' + repr(errors[0]) if errors else ''}"
        )
    per_part = [(n - p_) // partitions + (1 if (n - p_) % partitions else 0) for p_ in range(partitions)]
    if ends != per_part:
        # A fresh topic starts at offset 0, so the end offsets are the per-partition counts.
        raise RuntimeError(f"pre-fill of {topic}: end offsets {ends}, expected {per_part} (topic not fresh?)")
    return ends


def run_case(
    a: argparse.Namespace, bootstrap: str, partitions: int, n: int, ends: list[int]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every client once per repeat on one topic; returns the best results and the failures."""
    best: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for rep in range(a.repeat):
        order = a.clients if rep % 2 == 0 else list(reversed(a.clients))
        for client in order:
            argv = [
                str(Path(__file__).resolve()), "--worker", client, "--bootstrap", bootstrap,
                "--topic", topic_name(a.topic_prefix, partitions), "--partitions", str(partitions),
                "--messages", str(n), "--timeout", str(a.timeout),
            ]  # fmt: skip
            if a.fetch_queue_backoff_ms is not None:
                argv += ["--fetch-queue-backoff-ms", str(a.fetch_queue_backoff_ms)]
            out = run_worker(argv, timeout=a.timeout * 3 + 60)
            r = out.result
            label = f"{client} [{partitions} partition(s), run {rep + 1}]"
            problems = []
            if r is None:
                problems.append("no result" + (" (killed: hung)" if out.timed_out else f" (exit {out.returncode})"))
            else:
                if r["errors"]:
                    problems.append(f"{r['errors']} error events, first: {r['first_error']}")
                if r["read"] != n:
                    problems.append(f"read {r['read']} of {n} records")
                elif r["bytes"] != n * SIZE:
                    problems.append(f"value bytes {r['bytes']}, expected {n * SIZE}")
                if r["positions"] != ends:
                    problems.append(f"final positions {r['positions']}, expected the end offsets {ends}")
                if r["note"]:
                    problems.append(r["note"])
                if out.timed_out:
                    problems.append("hung after reporting (close/exit), killed")
                elif out.returncode != 0:
                    problems.append(f"exit status {out.returncode} after reporting")
            if problems:
                tail = "\n    ".join(out.stderr.strip().splitlines()[-15:])
                failures.append(f"{label}: " + "; ".join(problems) + (f"\n    stderr:\n    {tail}" if tail else ""))
                print(f"  FAILED {label}: {'; '.join(problems)}", file=sys.stderr, flush=True)
            elif r is not None:
                r["rate"] = r["messages"] / r["elapsed"]
                runs = best[client]["runs"] if client in best else []
                runs.append(r["rate"])
                if client not in best or r["rate"] > best[client]["rate"]:
                    best[client] = r
                r["runs"] = runs
    return best, failures


def runs_line(results: dict[str, dict[str, Any]], clients: list[str]) -> str:
    """Every run's msgs/s per client, in run order (the table keeps the fastest)."""
    parts = []
    for client in clients:
        r = results.get(client)
        if r is not None and len(r["runs"]) > 1:
            parts.append(f"{client} " + "/".join(f"{x / 1000:,.0f}k" for x in r["runs"]))
    return ("all runs, msgs/s: " + "; ".join(parts)) if parts else ""


def case_table(results: dict[str, dict[str, Any]], clients: list[str]) -> str:
    rows = []
    for client in clients:
        r = results.get(client)
        if r is None:
            rows.append([client, "FAILED", "", "", "", *([""] * len(REFERENCES))])
            continue
        rate = r["rate"]
        ratios = []
        for ref, _ in REFERENCES:
            base = results.get(ref)
            ratios.append(fmt_ratio(rate / base["rate"] if base else None))
        rows.append(
            [
                client,
                f"{rate:,.0f}",
                f"{rate * SIZE / 1e6:,.1f}",
                f"{r['cpu'] / r['messages'] * 1e6:,.2f}",
                f"{r['maxrss_kb'] / 1024:,.0f}",
                *ratios,
            ]
        )
    headers = ["client", "msgs/s", "MB/s", "CPU µs/msg", "peak RSS MB", *[f"vs {lbl}" for _, lbl in REFERENCES]]
    return format_table(headers, rows)


# --- consumer groups (--group) -----------------------------------------------------------------
#
# Three measurements of subscribe(), each client in its own processes (one process per group
# member: the Python clients share one GIL per process, so members on threads of one process
# would slow each other down; librdkafka would not be). Processes report events as lines
# EVENT_PREFIX + json on stdout, stamped with time.monotonic() (CLOCK_MONOTONIC: one clock for
# every process of the machine), and take commands ("subscribe", "resume", "stop") on stdin.

GROUP_CLIENTS = ["rdpy", "confluent-kafka", "kafka-python", "aiokafka"]
GROUP_CASES = ("first", "rebalance", "throughput")
GROUP_PARTITIONS = 6
GROUP_MESSAGES = 1_000_000
GROUP_QUICK_MESSAGES = 50_000
GROUP_HEARTBEAT_MS = 500
TRICKLE_PER_PARTITION = 100  # msgs/s per partition produced while the rebalance case runs
EVENT_PREFIX = "BENCH-EVENT "

_event_lock = threading.Lock()


def emit_event(ev: str, **fields: Any) -> dict[str, Any]:
    fields["ev"] = ev
    fields.setdefault("t", time.monotonic())
    line = EVENT_PREFIX + json.dumps(fields) + "\n"
    with _event_lock:
        sys.stdout.write(line)
        sys.stdout.flush()
    return fields


def peak_rss_own_kb() -> int:
    """Peak RSS of this process's own memory (VmHWM), in KiB. getrusage's ru_maxrss survives
    exec(): a member started by a large driver would report the driver's size at fork time."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return peak_rss_kb()


class Commands:
    """The driver's commands, read from stdin by a thread: Events a member's loop checks.
    End of stdin (the driver is gone) means stop."""

    def __init__(self) -> None:
        self.subscribe, self.resume, self.stop = threading.Event(), threading.Event(), threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            ev = getattr(self, line.strip(), None)
            if isinstance(ev, threading.Event):
                ev.set()
        self.stop.set()

    def wait_subscribe(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.subscribe.is_set():
            if self.stop.is_set() or time.monotonic() > deadline:
                return False
            self.subscribe.wait(0.05)
        return True


class MemberState:
    """What a member knows of its assignment: the partitions, the total records it must read
    in the throughput case (sum of the end offsets: a fresh group reads from offset 0), the
    partitions it has had a record from since the assignment (rebalance case)."""

    def __init__(self, a: argparse.Namespace) -> None:
        self.ends = [int(x) for x in a.ends.split(",")] if a.ends else []
        self.parts: list[int] = []
        self.expected = 0
        self.seen: set[int] = set()
        self.pause_on_assign = a.mode == "throughput"
        self.resumed = False
        self.assigns_after_resume = 0
        self.events: list[dict[str, Any]] = []
        self.tally = Tally()

    def on_assign(self, t: float, parts: list[int]) -> None:
        self.parts = sorted(parts)
        self.expected = sum(self.ends[p] for p in self.parts) if self.ends else 0
        self.seen = set()
        if self.resumed:
            self.assigns_after_resume += 1
        self.events.append(emit_event("assign", t=t, parts=self.parts))

    def on_revoke(self, parts: list[int]) -> None:
        self.events.append(emit_event("revoke", parts=sorted(parts)))

    def first(self, p: int) -> None:
        self.seen.add(p)
        self.events.append(emit_event("first", p=p))


def group_member_librdkafka_api(a: argparse.Namespace) -> None:
    """rdpy and confluent-kafka, the same code: subscribe() with on_assign/on_revoke, poll()."""
    if a.member == "rdpy":
        import rdpy as mod
    else:
        import confluent_kafka as mod  # type: ignore[no-redef]

    conf: dict[str, Any] = {
        "bootstrap.servers": a.bootstrap,
        "group.id": a.group_id,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "roundrobin",
    }
    if a.heartbeat_ms:
        conf["heartbeat.interval.ms"] = a.heartbeat_ms
    cmds = Commands() if a.mode != "first" else None
    c = mod.Consumer(conf)
    md = c.list_topics(a.topic, timeout=30)  # warm-up: bootstrap connection and metadata
    if len(md.topics[a.topic].partitions) != a.partitions:
        raise RuntimeError(f"{a.topic}: expected {a.partitions} partitions, metadata has {md.topics[a.topic]}")
    st = MemberState(a)

    def on_assign(consumer: Any, tps: list[Any]) -> None:
        t = time.monotonic()
        if st.pause_on_assign and not st.resumed:
            consumer.assign(tps)
            consumer.pause(tps)
        st.on_assign(t, [tp.partition for tp in tps])

    def on_revoke(consumer: Any, tps: list[Any]) -> None:
        st.on_revoke([tp.partition for tp in tps])

    emit_event("ready")
    if cmds is not None and a.wait_subscribe and not cmds.wait_subscribe(a.timeout * 2):
        c.close()
        return
    st.events.append(emit_event("subscribe"))
    try:
        c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
    except Exception as e:  # rdpy before issue 16: NotImplementedError
        emit_event("error", where="subscribe", error=f"{type(e).__name__}: {e}")
        c.close()
        if a.mode == "first":
            emit_result({"events": st.events, "subscribe_error": f"{type(e).__name__}: {e}"})
        return
    t = st.tally
    if a.mode == "first":
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error() is not None:
                t.error(m.error())
                continue
            st.first(m.partition())
            break
        t_close = time.monotonic()
        c.close()
        emit_result({"events": st.events, "close": time.monotonic() - t_close, "errors": t.errors,
                     "first_error": t.first_error})
        return
    assert cmds is not None
    stop = cmds.stop
    n = nbytes = 0
    if a.mode == "rebalance":
        while not stop.is_set():
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error() is not None:
                t.error(m.error())
                continue
            p = m.partition()
            if p not in st.seen:
                st.first(p)
    else:  # throughput: paused until "resume", then read the assignment to its end
        resume = cmds.resume
        while not resume.is_set():
            if stop.is_set():
                break
            m = c.poll(0.01)
            if m is not None and m.error() is None:  # read before the pause took effect
                nbytes += len(m.value())
                n += 1
        if resume.is_set() and not stop.is_set():
            t0, cpu0 = time.monotonic(), cpu_seconds()
            st.resumed = True
            c.resume(c.assignment())
            emit_event("resumed", t=t0)
            poll, last, seen_n = c.poll, t0, n
            while n < st.expected:
                m = poll(1.0)
                if m is None:
                    now = time.monotonic()
                    if n != seen_n:
                        seen_n, last = n, now
                    elif now - last > a.timeout:
                        t.note = f"no message for {a.timeout:g}s after {n} records"
                        break
                    continue
                if m.error() is not None:
                    t.error(m.error())
                    continue
                nbytes += len(m.value())
                n += 1
            t1, cpu1 = time.monotonic(), cpu_seconds()
            positions = {tp.partition: tp.offset for tp in c.position(c.assignment())}
            emit_event("done", t=t1, n=n, bytes=nbytes, cpu=cpu1 - cpu0, note=t.note, positions=positions)
        while not stop.is_set():  # stay in the group (no rebalance) until every member is done
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                n += 1
    emit_event("stats", n=n, errors=t.errors, first_error=t.first_error,
               assigns_after_resume=st.assigns_after_resume, maxrss_kb=peak_rss_own_kb())
    c.close()


def group_member_kafka_python(a: argparse.Namespace) -> None:
    """kafka-python: KafkaConsumer(group_id=...).subscribe(listener=...), poll(max_records=1000)."""
    from kafka import ConsumerRebalanceListener, KafkaConsumer
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    kw: dict[str, Any] = dict(bootstrap_servers=a.bootstrap, group_id=a.group_id, auto_offset_reset="earliest",
                              partition_assignment_strategy=(RoundRobinPartitionAssignor,))
    if a.heartbeat_ms:
        kw["heartbeat_interval_ms"] = a.heartbeat_ms
    if os.environ.get("RDPY_BENCH_DEBUG"):
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(relativeCreated)d %(threadName)s %(name)s %(message)s")
    cmds = Commands() if a.mode != "first" else None
    c = KafkaConsumer(**kw)
    parts = c.partitions_for_topic(a.topic)  # warm-up: connection and metadata
    if parts is None or len(parts) != a.partitions:
        raise RuntimeError(f"{a.topic}: expected {a.partitions} partitions, metadata has {parts}")
    st = MemberState(a)

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked: Any) -> None:
            st.on_revoke([tp.partition for tp in revoked])

        def on_partitions_assigned(self, assigned: Any) -> None:
            t = time.monotonic()
            if st.pause_on_assign and not st.resumed and assigned:
                c.pause(*assigned)
            st.on_assign(t, [tp.partition for tp in assigned])

    emit_event("ready")
    if cmds is not None and a.wait_subscribe and not cmds.wait_subscribe(a.timeout * 2):
        c.close()
        return
    st.events.append(emit_event("subscribe"))
    c.subscribe([a.topic], listener=Listener())
    t = st.tally
    if a.mode == "first":
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            batches = c.poll(timeout_ms=1000, max_records=KAFKA_PYTHON_MAX_RECORDS)
            if batches:
                st.first(next(iter(batches)).partition)
                break
        t_close = time.monotonic()
        c.close()
        emit_result({"events": st.events, "close": time.monotonic() - t_close, "errors": 0, "first_error": None})
        return
    assert cmds is not None
    stop = cmds.stop
    n = nbytes = 0
    if a.mode == "rebalance":
        while not stop.is_set():
            for tp in c.poll(timeout_ms=200, max_records=KAFKA_PYTHON_MAX_RECORDS):
                if tp.partition not in st.seen:
                    st.first(tp.partition)
    else:
        resume = cmds.resume
        while not resume.is_set():
            if stop.is_set():
                break
            # 100 ms, not 10 like the others: kafka-python 3.0.12 drives its rebalance inside poll()
            # with poll's timeout, and with 10 ms its pre-rebalance commit timed out and the member
            # sometimes never completed its next join (seen here, 1 in 4 rounds).
            for records in c.poll(timeout_ms=100, max_records=KAFKA_PYTHON_MAX_RECORDS).values():
                for r in records:
                    nbytes += len(r.value)
                n += len(records)
        if resume.is_set() and not stop.is_set():
            t0, cpu0 = time.monotonic(), cpu_seconds()
            st.resumed = True
            c.resume(*c.assignment())
            emit_event("resumed", t=t0)
            poll, last = c.poll, t0
            while n < st.expected:
                batches = poll(timeout_ms=1000, max_records=KAFKA_PYTHON_MAX_RECORDS)
                if not batches:
                    if time.monotonic() - last > a.timeout:
                        t.note = f"no message for {a.timeout:g}s after {n} records"
                        break
                    continue
                for records in batches.values():
                    for r in records:
                        nbytes += len(r.value)
                    n += len(records)
                last = time.monotonic()
            t1, cpu1 = time.monotonic(), cpu_seconds()
            positions = {tp.partition: c.position(tp) for tp in c.assignment()}
            emit_event("done", t=t1, n=n, bytes=nbytes, cpu=cpu1 - cpu0, note=t.note, positions=positions)
        while not stop.is_set():
            for records in c.poll(timeout_ms=100).values():
                n += len(records)
    emit_event("stats", n=n, errors=0, first_error=None,
               assigns_after_resume=st.assigns_after_resume, maxrss_kb=peak_rss_own_kb())
    c.close()


def group_member_aiokafka(a: argparse.Namespace) -> None:
    """aiokafka: AIOKafkaConsumer(group_id=...).subscribe(listener=...), getmany()."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
    from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    cmds = Commands() if a.mode != "first" else None
    st = MemberState(a)

    async def run() -> None:
        kw: dict[str, Any] = dict(bootstrap_servers=a.bootstrap, group_id=a.group_id, auto_offset_reset="earliest",
                                  partition_assignment_strategy=(RoundRobinPartitionAssignor,))
        if a.heartbeat_ms:
            kw["heartbeat_interval_ms"] = a.heartbeat_ms
        c = AIOKafkaConsumer(**kw)
        await c.start()  # bootstrap connection
        try:
            # Metadata (with a group_id, start() asks for none; the topic's own lands in a copy).
            if a.topic not in await c.topics():
                raise RuntimeError(f"{a.topic}: not in the metadata")

            class Listener(ConsumerRebalanceListener):
                def on_partitions_revoked(self, revoked: Any) -> None:
                    st.on_revoke([tp.partition for tp in revoked])

                def on_partitions_assigned(self, assigned: Any) -> None:
                    t = time.monotonic()
                    if st.pause_on_assign and not st.resumed and assigned:
                        c.pause(*assigned)
                    st.on_assign(t, [tp.partition for tp in assigned])

            emit_event("ready")
            if cmds is not None and a.wait_subscribe:
                deadline = time.monotonic() + a.timeout * 2
                while not cmds.subscribe.is_set():
                    if cmds.stop.is_set() or time.monotonic() > deadline:
                        return
                    await asyncio.sleep(0.002)
            st.events.append(emit_event("subscribe"))
            c.subscribe([a.topic], listener=Listener())
            t = st.tally
            if a.mode == "first":
                deadline = time.monotonic() + a.timeout
                while time.monotonic() < deadline:
                    batches = await c.getmany(timeout_ms=1000)
                    if batches:
                        st.first(next(iter(batches)).partition)
                        break
                t_close = time.monotonic()
                await c.stop()
                emit_result({"events": st.events, "close": time.monotonic() - t_close, "errors": 0,
                             "first_error": None})
                return
            assert cmds is not None
            stop = cmds.stop
            n = nbytes = 0
            if a.mode == "rebalance":
                while not stop.is_set():
                    for tp in await c.getmany(timeout_ms=200):
                        if tp.partition not in st.seen:
                            st.first(tp.partition)
            else:
                resume = cmds.resume
                while not resume.is_set():
                    if stop.is_set():
                        break
                    for records in (await c.getmany(timeout_ms=10)).values():
                        for r in records:
                            nbytes += len(r.value)
                        n += len(records)
                if resume.is_set() and not stop.is_set():
                    t0, cpu0 = time.monotonic(), cpu_seconds()
                    st.resumed = True
                    c.resume(*c.assignment())
                    emit_event("resumed", t=t0)
                    getmany, last = c.getmany, t0
                    while n < st.expected:
                        batches = await getmany(timeout_ms=1000)
                        if not batches:
                            if time.monotonic() - last > a.timeout:
                                t.note = f"no message for {a.timeout:g}s after {n} records"
                                break
                            continue
                        for records in batches.values():
                            for r in records:
                                nbytes += len(r.value)
                            n += len(records)
                        last = time.monotonic()
                    t1, cpu1 = time.monotonic(), cpu_seconds()
                    positions = {tp.partition: await c.position(tp) for tp in c.assignment()}
                    emit_event("done", t=t1, n=n, bytes=nbytes, cpu=cpu1 - cpu0, note=t.note, positions=positions)
                while not stop.is_set():
                    for records in (await c.getmany(timeout_ms=100)).values():
                        n += len(records)
            emit_event("stats", n=n, errors=0, first_error=None,
                       assigns_after_resume=st.assigns_after_resume, maxrss_kb=peak_rss_own_kb())
        finally:
            await c.stop()

    asyncio.run(run())


GROUP_MEMBERS = {
    "rdpy": group_member_librdkafka_api,
    "confluent-kafka": group_member_librdkafka_api,
    "kafka-python": group_member_kafka_python,
    "aiokafka": group_member_aiokafka,
}


# --- the group driver --------------------------------------------------------------------------


class NotAvailable(Exception):
    """The client's subscribe() raised (rdpy before issue 16): its row reads n/a."""


class MemberProc:
    """One group member in its own process; its events go to the shared queue as they come."""

    def __init__(self, name: str, argv: list[str], events: "queue.Queue[dict[str, Any]]") -> None:
        self.name = name
        self.stderr = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([sys.executable, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1, cwd=str(ROOT))
        self._events = events
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(EVENT_PREFIX):
                ev = json.loads(line[len(EVENT_PREFIX):])
            elif line.startswith(RESULT_PREFIX):
                ev = {"ev": "result", **json.loads(line[len(RESULT_PREFIX):])}
            else:
                continue
            ev["member"] = self.name
            self._events.put(ev)
        self._events.put({"ev": "exit", "member": self.name, "t": time.monotonic()})

    def send(self, cmd: str) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def finish(self, timeout: float) -> Optional[int]:
        """Tell it to stop, wait for it to close and exit; kill it after `timeout` s (None)."""
        self.send("stop")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def stderr_tail(self, lines: int = 15) -> str:
        self.stderr.seek(0)
        return "\n    ".join(self.stderr.read().strip().splitlines()[-lines:])


class MemberView:
    def __init__(self) -> None:
        self.ready = False
        self.subscribe_t: Optional[float] = None
        self.parts: Optional[list[int]] = None
        self.assign_ts: list[float] = []
        self.revoke_ts: list[float] = []
        self.pending_revoke = False
        self.firsts: dict[int, float] = {}
        self.resumed_t: Optional[float] = None
        self.done: Optional[dict[str, Any]] = None
        self.stats: Optional[dict[str, Any]] = None
        self.exited = False


class GroupView:
    """The group as its members' events tell it."""

    def __init__(self, names: list[str], partitions: int) -> None:
        self.m = {n: MemberView() for n in names}
        self.partitions = partitions

    def apply(self, ev: dict[str, Any]) -> None:
        m, kind = self.m[ev["member"]], ev["ev"]
        if kind == "ready":
            m.ready = True
        elif kind == "subscribe":
            m.subscribe_t = ev["t"]
        elif kind == "assign":
            m.parts, m.firsts, m.pending_revoke = ev["parts"], {}, False
            m.assign_ts.append(ev["t"])
        elif kind == "revoke":
            m.pending_revoke = True
            m.revoke_ts.append(ev["t"])
        elif kind == "first":
            m.firsts.setdefault(ev["p"], ev["t"])
        elif kind == "resumed":
            m.resumed_t = ev["t"]
        elif kind == "done":
            m.done = ev
        elif kind == "stats":
            m.stats = ev
        elif kind == "exit":
            m.exited = True
        elif kind == "error":
            if ev.get("where") == "subscribe":
                raise NotAvailable(ev["error"])
            raise RuntimeError(f"{ev['member']}: {ev.get('error')}")

    def covers(self, names: list[str]) -> bool:
        """The latest assignments of `names` split every partition between them, none is
        waiting for a new one (revoked, not yet reassigned)."""
        got: list[int] = []
        for n in names:
            m = self.m[n]
            if m.parts is None or m.pending_revoke:
                return False
            if not m.parts and self.partitions >= len(names):
                return False  # kafka-python calls on_partitions_assigned(set()) before its first join
            got += m.parts
        return sorted(got) == list(range(self.partitions))

    def consuming(self, names: list[str]) -> bool:
        """covers(), and each member has had a record from each partition since it got it."""
        return self.covers(names) and all(p in self.m[n].firsts for n in names for p in self.m[n].parts or ())


def pump(events: "queue.Queue[dict[str, Any]]", view: GroupView, until: Callable[[], bool], timeout: float,
         what: str) -> None:
    """Apply events to `view` until `until()` holds; raises after `timeout` s or if a member exits."""
    deadline = time.monotonic() + timeout
    while not until():
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        try:
            ev = events.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue
        view.apply(ev)
        if ev["ev"] == "exit" and not until():
            raise RuntimeError(f"{ev['member']} exited while waiting for {what}")


class Trickle:
    """Keeps every partition of a topic receiving records (TRICKLE_PER_PARTITION msgs/s each,
    confluent-kafka Producer on a thread of the driver) so that a member that gets a partition
    has something to read from it."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        from confluent_kafka import Producer

        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
        self.topic, self.partitions = topic, partitions
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        value, tick = value_of(SIZE), 1.0 / TRICKLE_PER_PARTITION
        nxt = time.monotonic()
        while not self._stop.is_set():
            for p in range(self.partitions):
                try:
                    self.producer.produce(self.topic, value, partition=p)
                except BufferError:
                    pass
            self.producer.poll(0)
            nxt += tick
            delay = nxt - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                nxt = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()
        self.producer.flush(10)


def member_argv(a: argparse.Namespace, bootstrap: str, client: str, topic: str, group_id: str, mode: str,
                wait_subscribe: bool = False, ends: Optional[list[int]] = None) -> list[str]:
    argv = [str(Path(__file__).resolve()), "--member", client, "--bootstrap", bootstrap, "--topic", topic,
            "--partitions", str(a.group_partitions), "--group-id", group_id, "--mode", mode,
            "--timeout", str(a.timeout), "--heartbeat-ms", str(a.heartbeat_ms)]
    if wait_subscribe:
        argv.append("--wait-subscribe")
    if ends is not None:
        argv += ["--ends", ",".join(map(str, ends))]
    return argv


_group_seq = [0]


def fresh_group_id(a: argparse.Namespace, case: str, client: str) -> str:
    _group_seq[0] += 1
    return f"{a.topic_prefix}-{case}-{client}-{_group_seq[0]}-{uuid.uuid4().hex[:8]}"


def run_members(a: argparse.Namespace, bootstrap: str, client: str, topic: str, case: str,
                body: Callable[[list[MemberProc], GroupView, "queue.Queue[dict[str, Any]]"], dict[str, Any]],
                specs: list[tuple[str, bool, Optional[list[int]]]]) -> dict[str, Any]:
    """Start one process per spec (name, wait_subscribe, ends) in a fresh group, run `body`,
    then stop every member; returns body's result plus the members' exit problems."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    gid = fresh_group_id(a, case, client)
    mode = "throughput" if case == "throughput" else "rebalance"
    procs = [MemberProc(name, member_argv(a, bootstrap, client, topic, gid, mode, wait, ends), events)
             for name, wait, ends in specs]
    view = GroupView([p.name for p in procs], a.group_partitions)
    try:
        result = body(procs, view, events)
    except NotAvailable:
        for p in procs:
            p.finish(10)
        raise
    except Exception as e:
        for p in procs:
            p.finish(10)
        tails = "".join(f"\n    {p.name} stderr:\n    {p.stderr_tail()}" for p in procs if p.stderr_tail())
        raise RuntimeError(f"{e}{tails}") from None
    problems = []
    for p in procs:  # all at once: a member leaving first would make the others rebalance
        p.send("stop")
    for p in procs:
        rc = p.finish(30)
        if rc is None:
            problems.append(f"{p.name} hung in close/exit, killed")
        elif rc != 0:
            problems.append(f"{p.name} exit status {rc}:\n    {p.stderr_tail()}")
    while True:  # the stats events sent while stopping
        try:
            view.apply(events.get_nowait())
        except queue.Empty:
            break
        except RuntimeError as e:
            problems.append(str(e))
    result["problems"] = problems
    result["view"] = view
    return result


def group_first_round(a: argparse.Namespace, bootstrap: str, client: str, topic: str) -> dict[str, Any]:
    """One member, fresh group, fresh process: subscribe() -> on_assign, -> first record, close()."""
    argv = member_argv(a, bootstrap, client, topic, fresh_group_id(a, "first", client), "first")
    out = run_worker(argv, timeout=a.timeout * 2 + 60)
    r = out.result
    if r is not None and r.get("subscribe_error"):
        raise NotAvailable(r["subscribe_error"])
    problems = []
    if r is None:
        problems.append("no result" + (" (killed: hung)" if out.timed_out else f" (exit {out.returncode})"))
    elif out.timed_out:
        problems.append("hung after reporting (close/exit), killed")
    elif out.returncode != 0:
        problems.append(f"exit status {out.returncode} after reporting")
    res: dict[str, Any] = {}
    if r is not None:
        evs = r["events"]
        sub = next(e["t"] for e in evs if e["ev"] == "subscribe")
        assign = next((e["t"] for e in evs if e["ev"] == "assign" and e["parts"]), None)
        first = next((e["t"] for e in evs if e["ev"] == "first"), None)
        if r.get("errors"):
            problems.append(f"{r['errors']} error events, first: {r['first_error']}")
        if first is None or assign is None:
            problems.append(f"no record within {a.timeout:g}s of subscribe()")
        else:
            res = {"assign": assign - sub, "first": first - sub, "close": r["close"]}
    if problems:
        tail = "\n    ".join(out.stderr.strip().splitlines()[-15:])
        raise RuntimeError("; ".join(problems) + (f"\n    stderr:\n    {tail}" if tail else ""))
    return res


def group_rebalance_round(a: argparse.Namespace, bootstrap: str, client: str, topic: str) -> dict[str, Any]:
    """Two members consuming (every partition had a record since its assignment), then a third
    subscribes; the rebalance is over when the three members' new assignments split the
    partitions and every partition has given its new owner a record."""
    olds = ["old1", "old2"]

    def body(procs: list[MemberProc], view: GroupView, events: "queue.Queue[dict[str, Any]]") -> dict[str, Any]:
        pump(events, view, lambda: view.m["joiner"].ready and view.consuming(olds), a.timeout,
             "the two first members to consume every partition")
        time.sleep(0.3)  # steady consumption before the join
        while True:
            try:
                view.apply(events.get_nowait())
            except queue.Empty:
                break
        procs[-1].send("subscribe")
        pump(events, view, lambda: view.m["joiner"].subscribe_t is not None, a.timeout, "the joiner's subscribe()")
        t0 = view.m["joiner"].subscribe_t
        assert t0 is not None
        everyone = [*olds, "joiner"]

        def settled() -> bool:
            return (all(view.m[n].assign_ts and view.m[n].assign_ts[-1] > t0 for n in everyone)
                    and view.consuming(everyone))

        pump(events, view, settled, a.timeout, "the new assignment of all three members and a record from every partition")
        revs = [next((t for t in view.m[n].revoke_ts if t > t0), None) for n in olds]
        return {
            "revoked": max(revs) - t0 if all(r is not None for r in revs) else None,  # type: ignore[type-var]
            "joiner": next(t for t in view.m["joiner"].assign_ts if t > t0) - t0,
            "reassigned": max(next(t for t in view.m[n].assign_ts if t > t0) for n in olds) - t0,
            "resumed": max(t for n in everyone for t in view.m[n].firsts.values()) - t0,
        }

    res = run_members(a, bootstrap, client, topic, "rebalance", body,
                      [("old1", False, None), ("old2", False, None), ("joiner", True, None)])
    if res["problems"]:
        raise RuntimeError("; ".join(res["problems"]))
    return res


def group_throughput_round(a: argparse.Namespace, bootstrap: str, client: str, topic: str, ends: list[int]) -> dict[str, Any]:
    """Three members subscribe at once and pause what they are assigned; once the group is
    stable the driver says resume and each reads its partitions to their end offsets."""
    names = ["m1", "m2", "m3"]
    n_total = sum(ends)

    def body(procs: list[MemberProc], view: GroupView, events: "queue.Queue[dict[str, Any]]") -> dict[str, Any]:
        pump(events, view, lambda: all(view.m[n].ready for n in names), a.timeout, "the members' warm-up")
        for p in procs:
            p.send("subscribe")
        settle = max(1.0, 2 * (a.heartbeat_ms or 3000) / 1000)
        deadline = time.monotonic() + a.timeout * 2
        while True:  # stable: assigned, and no assign/revoke for `settle` s (some rebalance twice)
            pump(events, view, lambda: view.covers(names) and all(view.m[n].assign_ts for n in names),
                 deadline - time.monotonic(), "a stable group of three (every member assigned, every partition once)")
            quiet = time.monotonic() + settle
            moved = False
            while not moved and time.monotonic() < quiet:
                try:
                    ev = events.get(timeout=max(0.0, quiet - time.monotonic()))
                except queue.Empty:
                    break
                view.apply(ev)
                moved = ev["ev"] in ("assign", "revoke", "exit")
            if not moved:
                break
        sub0 = min(view.m[n].subscribe_t or 0.0 for n in names)
        stable = max(view.m[n].assign_ts[-1] for n in names)
        for p in procs:
            p.send("resume")
        pump(events, view, lambda: all(view.m[n].done is not None for n in names), a.timeout * 3,
             "every member to read its partitions to the end")
        return {"sub0": sub0, "stable": stable}

    res = run_members(a, bootstrap, client, topic, "throughput", body, [(n, True, ends) for n in names])
    view: GroupView = res["view"]
    problems = list(res["problems"])
    dones = [view.m[n].done or {} for n in names]
    t0 = min(view.m[n].resumed_t or 0.0 for n in names)
    t1 = max(d.get("t", 0.0) for d in dones)
    positions: dict[int, int] = {}
    n_read = 0
    for n in names:
        s = view.m[n].stats
        if s is None:
            problems.append(f"{n}: no stats")
            continue
        n_read += s["n"]
        positions.update({int(k): v for k, v in (view.m[n].done or {}).get("positions", {}).items()})
        if s["errors"]:
            problems.append(f"{n}: {s['errors']} error events, first: {s['first_error']}")
        if s["assigns_after_resume"]:
            problems.append(f"{n}: {s['assigns_after_resume']} rebalance(s) during the timed read")
    for d in dones:
        if d.get("note"):
            problems.append(d["note"])
    if n_read != n_total:
        problems.append(f"read {n_read} records, expected {n_total}")
    if [positions.get(p) for p in range(len(ends))] != ends:
        problems.append(f"final positions {positions}, expected the end offsets {ends}")
    if problems:
        raise RuntimeError("; ".join(problems))
    return {
        "rate": n_total / (t1 - t0),
        "elapsed": t1 - t0,
        "cpu": sum(d["cpu"] for d in dones),
        "formation": res["stable"] - res["sub0"],
        "skew": max(view.m[n].resumed_t or 0.0 for n in names) - t0,
        "maxrss_kb": max(view.m[n].stats["maxrss_kb"] for n in names),  # type: ignore[index]
        "split": [d["n"] for d in dones],
    }


def run_group_case(a: argparse.Namespace, case: str, rounds: int,
                   one_round: Callable[[str], dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str], list[str]]:
    """Every client once per round, the order reversed every other round; a client whose
    subscribe() raises is n/a for the rest of the case."""
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in a.clients}
    na: dict[str, str] = {}
    failures: list[str] = []
    for rnd in range(rounds):
        order = a.clients if rnd % 2 == 0 else list(reversed(a.clients))
        for client in order:
            if client in na:
                continue
            try:
                runs[client].append(one_round(client))
            except NotAvailable as e:
                na[client] = str(e)
                print(f"  {client}: n/a ({e})", file=sys.stderr, flush=True)
            except Exception as e:
                label = f"{client} [{case}, round {rnd + 1}]"
                failures.append(f"{label}: {e}")
                print(f"  FAILED {label}: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
    return runs, na, failures


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _ms(x: Optional[float]) -> str:
    return "-" if x is None else f"{x * 1000:,.0f}"


def latency_table(runs: dict[str, list[dict[str, Any]]], na: dict[str, str], clients: list[str],
                  columns: list[tuple[str, str]], key: str) -> str:
    """Median ms per column; min-max and the ratio to confluent-kafka's median for `key`."""
    ref = runs.get("confluent-kafka") or []
    ref_med = _median([r[key] for r in ref]) if ref else None
    rows = []
    for client in clients:
        rs = runs.get(client) or []
        if client in na:
            rows.append([client, f"n/a ({na[client]})", *[""] * (len(columns) + 1)])
            continue
        if not rs:
            rows.append([client, "FAILED", *[""] * (len(columns) + 1)])
            continue
        cells = []
        for col, _ in columns:
            vals = [r[col] for r in rs if r.get(col) is not None]
            cells.append(_ms(_median(vals)) if vals else "-")
        ks = [r[key] for r in rs]
        med = _median(ks)
        rows.append([client, *cells, f"{_ms(min(ks))}-{_ms(max(ks))}",
                     fmt_ratio(med / ref_med if ref_med else None)])
    headers = ["client", *[h for _, h in columns], f"{columns[[c for c, _ in columns].index(key)][1]}: min-max",
               "time vs confluent"]
    return format_table(headers, rows)


def throughput_table(runs: dict[str, list[dict[str, Any]]], na: dict[str, str], clients: list[str]) -> str:
    best = {c: max(rs, key=lambda r: r["rate"]) for c, rs in runs.items() if rs}
    ref = best.get("confluent-kafka")
    rows = []
    for client in clients:
        if client in na:
            rows.append([client, f"n/a ({na[client]})", *[""] * 6])
            continue
        r = best.get(client)
        if r is None:
            rows.append([client, "FAILED", *[""] * 6])
            continue
        n = r["rate"] * r["elapsed"]
        rows.append([client, f"{r['rate']:,.0f}", f"{r['rate'] * SIZE / 1e6:,.1f}", f"{r['cpu'] / n * 1e6:,.2f}",
                     f"{r['formation'] * 1000:,.0f}", f"{r['maxrss_kb'] / 1024:,.0f}",
                     "/".join(f"{x // 1000}k" for x in r["split"]),
                     fmt_ratio(r["rate"] / ref["rate"] if ref else None)])
    headers = ["client", "msgs/s", "MB/s", "CPU µs/msg", "group formed ms", "peak RSS MB", "split", "vs confluent"]
    return format_table(headers, rows)


def group_main(a: argparse.Namespace) -> int:
    cases = [c.strip() for c in a.group_cases.split(",") if c.strip()]
    bad = set(cases) - set(GROUP_CASES)
    if bad:
        raise SystemExit(f"unknown group cases {sorted(bad)}; choose from {','.join(GROUP_CASES)}")
    n = a.group_messages or (GROUP_QUICK_MESSAGES if a.quick else GROUP_MESSAGES)
    lat_rounds = a.repeat or (2 if a.quick else 5)
    tput_rounds = a.repeat or (1 if a.quick else 3)
    parts = a.group_partitions
    print(machine_notes())
    print(f"load average before the run: {load_average()} (the clients and the broker share the machine)")
    print(client_versions())
    print(f"rdpy working tree: {git_revision()}")
    broker = open_broker(a.bootstrap, a.broker)
    t_start = time.perf_counter()
    failures: list[str] = []
    try:
        print(f"broker: {broker.description}")
        filled, live = f"{a.topic_prefix}-group-p{parts}", f"{a.topic_prefix}-group-live-p{parts}"
        create_topics(broker.bootstrap, {filled: parts, live: parts})
        ends: list[int] = []
        if "first" in cases or "throughput" in cases:
            t0 = time.perf_counter()
            ends = prefill(broker.bootstrap, filled, parts, n, SIZE, 120)
            print(f"pre-filled {filled}: {n:,} x {SIZE} B in {time.perf_counter() - t0:.1f} s", flush=True)
        hb = f"heartbeat.interval.ms={a.heartbeat_ms}" if a.heartbeat_ms else "each client's default heartbeat interval"
        print(f"every member: its own process, a fresh group per round, auto.offset.reset=earliest, roundrobin"
              f" assignor (eager), {hb}, other settings each client's default (auto commit on); rdpy/"
              f"confluent-kafka poll(), kafka-python poll(max_records={KAFKA_PYTHON_MAX_RECORDS}), aiokafka getmany();"
              f" rounds alternate the client order; times in ms", flush=True)
        if "first" in cases:
            print(f"\n### subscribe() to the first record: one member, fresh group, {parts} partitions pre-filled"
                  f" ({lat_rounds} rounds, median)\n", flush=True)
            runs, na, fails = run_group_case(a, "first", lat_rounds,
                                             lambda c: group_first_round(a, broker.bootstrap, c, filled))
            failures += fails
            print(latency_table(runs, na, a.clients, [("assign", "assigned"), ("first", "first record"),
                                                       ("close", "close()")], "first"), flush=True)
        if "rebalance" in cases:
            print(f"\n### rebalance: a third member joins two consuming members ({parts} partitions, each receiving"
                  f" {TRICKLE_PER_PARTITION} msgs/s; {lat_rounds} rounds, median)\n", flush=True)
            trickle = Trickle(broker.bootstrap, live, parts)
            try:
                runs, na, fails = run_group_case(a, "rebalance", lat_rounds,
                                                 lambda c: group_rebalance_round(a, broker.bootstrap, c, live))
            finally:
                trickle.stop()
            failures += fails
            print(latency_table(runs, na, a.clients, [("revoked", "old revoked"), ("joiner", "joiner assigned"),
                                                       ("reassigned", "old reassigned"),
                                                       ("resumed", "all consuming")], "resumed"), flush=True)
            print("\nfrom the joiner's subscribe(): old revoked = the later of the two old members' on_revoke;"
                  " joiner assigned = its on_assign; old reassigned = the later old member's new on_assign;"
                  " all consuming = the moment the last partition delivered a record to its new owner"
                  " (the rebalance time)")
        if "throughput" in cases:
            print(f"\n### group throughput: 3 members (3 processes), {n:,} x {SIZE} B over {parts} partitions"
                  f" (best of {tput_rounds})\n", flush=True)
            runs, na, fails = run_group_case(
                a, "throughput", tput_rounds, lambda c: group_throughput_round(a, broker.bootstrap, c, filled, ends))
            failures += fails
            print(throughput_table(runs, na, a.clients), flush=True)
            spread = "; ".join(f"{c} " + "/".join(f"{r['rate'] / 1000:,.0f}k" for r in rs)
                               for c, rs in runs.items() if len(rs) > 1)
            if spread:
                print(f"\nall runs, msgs/s: {spread}")
            print("\nmsgs/s: records / (first member's resume -> last member's last record), the group formed and"
                  " paused before; CPU µs/msg: the three processes' CPU over their own read / records; group"
                  " formed: first subscribe() -> last on_assign of the stable group; split: records per member")
    finally:
        broker.stop()
    print(f"\ntotal time {time.perf_counter() - t_start:.0f} s, load average at the end {load_average()}")
    if failures:
        print(f"\n{len(failures)} FAILURE(S):", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bootstrap", help="use this cluster instead of starting a local Tansu")
    ap.add_argument("--messages", type=int, help=f"messages per topic (default {DEFAULT_MESSAGES:,})")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_MESSAGES:,} messages per topic, 1 run per client")
    ap.add_argument("--clients", default=",".join(DEFAULT_CLIENTS), help=f"comma-separated subset of {','.join(CLIENTS)}")
    ap.add_argument("--partitions", default=",".join(map(str, PARTITIONS)), help="topic partition counts")
    ap.add_argument("--repeat", type=int, help="runs per client and topic, the fastest is kept (default 3, 1 with --quick)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds without a record before a client gives up")
    ap.add_argument(
        "--fetch-queue-backoff-ms",
        type=int,
        help="set fetch.queue.backoff.ms for rdpy and confluent-kafka (librdkafka's default 1000 ms stalls a "
        "partition's fetching for up to 1 s once queued.min.messages are prefetched)",
    )
    ap.add_argument("--topic-prefix", help="topic names (default rdpy-bench-consumer-<unix time>: fresh topics)")
    ap.add_argument("--broker", choices=("tansu", "kafka"),
                    help="the local broker to start without --bootstrap: tansu (default) or kafka (Apache Kafka, "
                    "the default with --group)")
    grp = ap.add_argument_group("consumer groups (--group)")
    grp.add_argument("--group", action="store_true",
                     help="run the consumer-group section (subscribe) instead of the assign() throughput: "
                     f"{', '.join(GROUP_CASES)}; clients {','.join(GROUP_CLIENTS)}")
    grp.add_argument("--group-cases", default=",".join(GROUP_CASES), help="comma-separated subset of the group cases")
    grp.add_argument("--group-messages", type=int,
                     help=f"messages in the pre-filled topic (default {GROUP_MESSAGES:,}, {GROUP_QUICK_MESSAGES:,} with --quick)")
    grp.add_argument("--group-partitions", type=int, default=GROUP_PARTITIONS,
                     help=f"partitions of the group topics (default {GROUP_PARTITIONS})")
    grp.add_argument("--heartbeat-ms", type=int, default=GROUP_HEARTBEAT_MS,
                     help=f"heartbeat.interval.ms for every member (default {GROUP_HEARTBEAT_MS}; 0: each client's "
                     "default, 3000 for all four)")
    # Worker mode (internal): one client, one topic, in this process.
    ap.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    ap.add_argument("--member", choices=GROUP_CLIENTS, help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--group-id", help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=GROUP_CASES, help=argparse.SUPPRESS)
    ap.add_argument("--wait-subscribe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ends", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        a.partitions = int(a.partitions)
        return worker_main(a)
    if a.member:
        a.partitions = int(a.partitions)
        GROUP_MEMBERS[a.member](a)
        return 0

    if a.group:
        if a.clients == ",".join(DEFAULT_CLIENTS):
            a.clients = ",".join(GROUP_CLIENTS)
        allowed = GROUP_CLIENTS
    else:
        allowed = CLIENTS
    a.clients = [c.strip() for c in a.clients.split(",") if c.strip()]
    unknown = set(a.clients) - set(allowed)
    if unknown:
        ap.error(f"unknown clients {sorted(unknown)}; choose from {allowed}")
    if a.topic_prefix is None:
        a.topic_prefix = f"rdpy-bench-consumer-{int(time.time())}"
    if a.group:
        a.broker = a.broker or "kafka"
        return group_main(a)
    part_list = [int(s) for s in a.partitions.split(",")]
    n = a.messages or (QUICK_MESSAGES if a.quick else DEFAULT_MESSAGES)
    if a.repeat is None:
        a.repeat = 1 if a.quick else 3

    print(machine_notes())
    print(f"load average before the run: {load_average()} (the clients and the broker share the machine)")
    print(client_versions())
    print(f"rdpy working tree: {git_revision()}")
    print(f"kafka-python's CRC-32C: {kafka_python_crc()}")
    broker = open_broker(a.bootstrap, a.broker or "tansu")
    t_start = time.perf_counter()
    failures: list[str] = []
    summary: list[tuple[str, dict[str, dict[str, Any]]]] = []
    try:
        print(f"broker: {broker.description}")
        create_topics(broker.bootstrap, {topic_name(a.topic_prefix, p): p for p in part_list})
        ends_of: dict[int, list[int]] = {}
        for parts in part_list:
            t0 = time.perf_counter()
            ends_of[parts] = prefill(broker.bootstrap, topic_name(a.topic_prefix, parts), parts, n, SIZE, 120)
            print(f"pre-filled {topic_name(a.topic_prefix, parts)}: {n:,} x {SIZE} B in {time.perf_counter() - t0:.1f} s"
                  f" (confluent-kafka, linger 5 ms, acks=all, no compression)", flush=True)
        print(
            "every client: fresh process, all partitions assigned from the beginning, value of each record"
            " touched (sum of len(value)), each client's default fetch settings (librdkafka/rdpy/kafka-python/"
            f"aiokafka: fetch.max.bytes 50 MiB, 1 MiB per partition, wait 500 ms, min 1 byte); rdpy/confluent-kafka:"
            f" poll(1.0) per message, '-consume' rows consume({CONSUME_BATCH}, 1.0), 'rdpy-crc' check.crcs=true;"
            " kafka-python ('-nocrc': check_crcs=False):"
            f" poll(max_records={KAFKA_PYTHON_MAX_RECORDS}); aiokafka: getmany(); best of {a.repeat} run(s),"
            " timed from assign() to the last record"
            + (f"; rdpy/confluent-kafka fetch.queue.backoff.ms={a.fetch_queue_backoff_ms}"
               if a.fetch_queue_backoff_ms is not None else "")
        )
        for parts in part_list:
            title = f"{SIZE}-byte values, {parts} partition{'s' if parts > 1 else ''}, {n:,} messages"
            print(f"\n### {title}\n", flush=True)
            results, fails = run_case(a, broker.bootstrap, parts, n, ends_of[parts])
            failures += fails
            summary.append((f"{SIZE} B, {parts}p", results))
            print(case_table(results, a.clients), flush=True)
            spread = runs_line(results, a.clients)
            if spread:
                print(f"\n{spread}", flush=True)
    finally:
        broker.stop()

    print(f"\nTargets (issue 5, informational): rdpy at {SIZE}-byte values:"
          f" >= {TARGET_VS_KAFKA_PYTHON:g}x kafka-python msgs/s and >= {TARGET_VS_AIOKAFKA:g}x aiokafka msgs/s"
          " (kafka-python as installed; the kafka-python-nocrc line is the stricter comparison)")
    for label, results in summary:
        for row in ("rdpy", "rdpy-consume", "rdpy-crc"):
            r = results.get(row)
            if row not in a.clients:
                continue
            for ref_name, target in (("kafka-python", TARGET_VS_KAFKA_PYTHON),
                                     ("kafka-python-nocrc", TARGET_VS_KAFKA_PYTHON),
                                     ("aiokafka", TARGET_VS_AIOKAFKA)):
                ref = results.get(ref_name)
                if r is None or ref is None:
                    print(f"  {label}: {row} vs {ref_name}: not measured")
                    continue
                ratio = r["rate"] / ref["rate"]
                print(f"  {label}: {row} vs {ref_name} {ratio:.2f}x (target {target:g}x):"
                      f" {'met' if ratio >= target else 'NOT met'}")
    print(f"\ntotal time {time.perf_counter() - t_start:.0f} s, load average at the end {load_average()}")
    if failures:
        print(f"\n{len(failures)} FAILURE(S):", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
