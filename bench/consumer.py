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
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (  # noqa: E402
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
    # Worker mode (internal): one client, one topic, in this process.
    ap.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        a.partitions = int(a.partitions)
        return worker_main(a)

    a.clients = [c.strip() for c in a.clients.split(",") if c.strip()]
    unknown = set(a.clients) - set(CLIENTS)
    if unknown:
        ap.error(f"unknown clients {sorted(unknown)}; choose from {CLIENTS}")
    part_list = [int(s) for s in a.partitions.split(",")]
    n = a.messages or (QUICK_MESSAGES if a.quick else DEFAULT_MESSAGES)
    if a.repeat is None:
        a.repeat = 1 if a.quick else 3
    if a.topic_prefix is None:
        a.topic_prefix = f"rdpy-bench-consumer-{int(time.time())}"

    print(machine_notes())
    print(f"load average before the run: {load_average()} (the clients and the broker share the machine)")
    print(client_versions())
    print(f"rdpy working tree: {git_revision()}")
    print(f"kafka-python's CRC-32C: {kafka_python_crc()}")
    broker = open_broker(a.bootstrap)
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
