"""Producer throughput: rdpy vs confluent-kafka, kafka-python and aiokafka, end to end.

One run starts a local Tansu broker (or uses --bootstrap), creates a 1-partition and a
6-partition topic, and for every case -- values of 100 and 1000 bytes, acks=1 and acks=all,
1 and 6 partitions -- runs each client in a fresh subprocess that produces the same number of
keyless messages and waits for every delivery acknowledgement. Reported per client: msgs/s and
value MB/s (first send to last acknowledgement), client CPU microseconds per message (user+sys
of the client process over the same interval, all its threads), peak RSS of the process, and
msgs/s ratios against kafka-python, aiokafka and confluent-kafka.

With acks=all the idempotent producers run too, side by side in the same table:
rdpy-idempotent (enable.idempotence=true), confluent-kafka-idempotent, kafka-python-idempotent
and aiokafka-idempotent (enable_idempotence=True). Their ratio columns compare idempotent with
idempotent, and "vs non-idem." compares each with the same client not idempotent (issue 15's
target: rdpy's idempotent rate at least 90% of its own non-idempotent rate, printed, not
enforced). So do the transactional producers: rdpy-transactional, confluent-kafka-transactional,
kafka-python-transactional and aiokafka-transactional, the same messages in transactions of
--txn-messages each (begin, produce, commit_transaction in a loop; init_transactions and a
first transaction happen in the warm-up), with commits/s and a "vs idem." column (against the
same client idempotent). A last section, "small transactions", measures the commit rate:
transactions of --small-txn messages (default 10), --small-txns of them per client.

    python bench/producer.py [--quick] [--messages N] [--bootstrap host:port]
                             [--clients rdpy,confluent-kafka,...] [--batch matched|native]
                             [--txn-messages N] [--small-txn N] [--small-txns N]

Exits non-zero if any client fails, reports a delivery error, or loses an acknowledgement;
the performance targets are printed, not enforced.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (  # noqa: E402
    client_versions,
    create_topics,
    emit_result,
    format_table,
    machine_notes,
    open_broker,
    run_worker,
)

BASE_CLIENTS = ["rdpy", "confluent-kafka", "kafka-python", "aiokafka", "aiokafka-batch"]
IDEMPOTENT = "-idempotent"  # suffix of a client's idempotent variant (acks=all cases only)
TRANSACTIONAL = "-transactional"  # suffix of a client's transactional variant (acks=all cases only)
VARIANTS = (IDEMPOTENT, TRANSACTIONAL)
CLIENTS = BASE_CLIENTS + [c + v for v in VARIANTS for c in ("rdpy", "confluent-kafka", "kafka-python", "aiokafka")]
DEFAULT_CLIENTS = CLIENTS
# Left out by default on the local Tansu, with the reason (--clients still runs them).
NOT_ON_TANSU = {
    "aiokafka-idempotent": "Tansu 0.6 answers aiokafka's InitProducerId v0 with UNKNOWN_SERVER_ERROR"
    " (aiokafka 0.14 sends no other version; Apache Kafka 4.4 accepts it): run it with --bootstrap",
    "aiokafka-transactional": "the same InitProducerId v0 refusal by Tansu 0.6: run it with --bootstrap",
}
# Rows the ratios are taken against; "aiokafka" is the per-message send() API.
REFERENCES = [("kafka-python", "kafka-python"), ("aiokafka", "aiokafka"), ("confluent-kafka", "confluent")]
SIZES = (100, 1000)
ACKS = ("1", "all")
PARTITIONS = (1, 6)
DEFAULT_MESSAGES = {100: 200_000, 1000: 50_000}
QUICK_MESSAGES = {100: 20_000, 1000: 5_000}
LINGER_MS = 5  # librdkafka's default linger.ms; set explicitly for every client
BATCH_BYTES = 1_000_000  # librdkafka's default batch.size, given to the others with --batch matched
# Targets from issue 4 (informational): rdpy at 100-byte values, acks=1.
TARGET_VS_KAFKA_PYTHON = 4.0
TARGET_VS_AIOKAFKA = 1.0
# Target from issue 15 (informational): rdpy-idempotent msgs/s over rdpy's, acks=all cases.
TARGET_IDEMPOTENT_VS_PLAIN = 0.90
# Transactions: messages per transaction in the main tables, and the small-transactions section.
DEFAULT_TXN_MESSAGES = 1000
DEFAULT_SMALL_TXN = 10
DEFAULT_SMALL_TXNS = {False: 300, True: 50}  # transactions per client: full run, --quick


def split_client(name: str) -> tuple[str, str]:
    """("rdpy", "-idempotent") for "rdpy-idempotent", ("rdpy", "-transactional") for
    "rdpy-transactional"; (name, "") for a plain client."""
    for variant in VARIANTS:
        if name.endswith(variant):
            return name[: -len(variant)], variant
    return name, ""


def runs_in_case(client: str, acks: str) -> bool:
    """Idempotent and transactional producers need acks=all: their rows exist only in acks=all
    cases."""
    return not split_client(client)[1] or acks == "all"


def transactional_id(client: str) -> str:
    """A fresh transactional.id for each worker process (no state left by earlier runs)."""
    return f"rdpy-bench-{client}-{os.getpid()}-{time.time_ns()}"


def topic_name(prefix: str, partitions: int) -> str:
    return f"{prefix}-p{partitions}"


def value_of(size: int) -> bytes:
    """A fixed, incompressible-looking value (compression is off anyway); the same object is
    passed for every message, as a service re-sending a prepared payload would."""
    seed = bytes(range(256)) * (size // 256 + 1)
    return seed[:size]


# --- workers (one client, one case, one fresh process) -----------------------------------------


class Counter:
    __slots__ = ("ok", "err", "first_error", "commits")

    def __init__(self) -> None:
        self.ok = 0
        self.err = 0
        self.first_error: Optional[str] = None
        self.commits = 0  # transactions committed in the timing (transactional variants)

    def error(self, e: Any) -> None:
        self.err += 1
        if self.first_error is None:
            self.first_error = repr(e)


def _cpu() -> float:
    """User+sys CPU seconds of this process, all threads (getrusage: microsecond resolution,
    where os.times() ticks at 10 ms)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _result(a: argparse.Namespace, c: Counter, elapsed: float, cpu: float, note: str = "") -> dict[str, Any]:
    return {
        "client": a.worker,
        "messages": a.messages,
        "ok": c.ok,
        "errors": c.err,
        "first_error": c.first_error,
        "commits": c.commits,
        "txn_messages": a.txn_messages if split_client(a.worker)[1] == TRANSACTIONAL else 0,
        "elapsed": elapsed,
        "cpu": cpu,
        "cpu_process": _cpu(),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "note": note,
    }


def worker_librdkafka_api(a: argparse.Namespace) -> Callable[[], None]:
    """rdpy and confluent-kafka: the same code, the confluent-kafka idiom
    `produce(...); poll(0)` with a delivery callback, then flush(). The -idempotent variants
    add enable.idempotence=true (nothing else: librdkafka caps max.in.flight at 5 itself).
    The -transactional variants set transactional.id, call init_transactions() and send the
    warm-up message in a first transaction, then wrap every --txn-messages produce() calls in
    begin_transaction() ... commit_transaction() (which flushes)."""
    base, variant = split_client(a.worker)
    transactional = variant == TRANSACTIONAL
    if base == "rdpy":
        import rdpy as mod
    else:
        import confluent_kafka as mod  # type: ignore[no-redef]

    conf = {
        "bootstrap.servers": a.bootstrap,
        "acks": a.acks,
        "linger.ms": LINGER_MS,
        "compression.type": "none",
    }
    if a.batch == "matched":
        conf["batch.size"] = BATCH_BYTES  # the default, spelled out
    if variant == IDEMPOTENT:
        conf["enable.idempotence"] = True
    if transactional:
        conf["transactional.id"] = transactional_id(a.worker)
    p = mod.Producer(conf)
    c = Counter()

    def on_delivery(err: Any, msg: Any) -> None:
        if err is None:
            c.ok += 1
        else:
            c.error(err)

    # Warm-up outside the timing: metadata and the connection to the leader.
    # Transactional: the producer id and the transaction coordinator too.
    warm = Counter()
    if transactional:
        p.init_transactions(30)
        p.begin_transaction()
    p.produce(a.topic, b"warm-up", on_delivery=lambda e, m: warm.error(e) if e else None)
    if transactional:
        p.commit_transaction(30)
    if p.flush(30) != 0 or warm.err:
        raise RuntimeError(f"warm-up message not delivered: {warm.first_error or 'flush timed out'}")

    value = value_of(a.size)
    topic = a.topic
    produce, poll = p.produce, p.poll
    t0, cpu0 = time.perf_counter(), _cpu()
    if transactional:
        begin, commit, per_txn = p.begin_transaction, p.commit_transaction, a.txn_messages
        for first in range(0, a.messages, per_txn):
            begin()
            for _ in range(min(per_txn, a.messages - first)):
                while True:
                    try:
                        produce(topic, value, on_delivery=on_delivery)
                        break
                    except BufferError:
                        poll(0.05)
                poll(0)
            commit(a.timeout)
            c.commits += 1
    else:
        for _ in range(a.messages):
            while True:
                try:
                    produce(topic, value, on_delivery=on_delivery)
                    break
                except BufferError:
                    poll(0.05)
            poll(0)
    left = p.flush(a.timeout)
    elapsed, cpu = time.perf_counter() - t0, _cpu() - cpu0
    note = f"flush({a.timeout}) returned {left} still queued" if left else ""
    emit_result(_result(a, c, elapsed, cpu, note))

    def finish() -> None:
        if hasattr(p, "close"):
            p.close()

    return finish


def worker_kafka_python(a: argparse.Namespace) -> Callable[[], None]:
    """kafka-python: send() with callback/errback on each future, then flush().
    kafka-python-transactional: transactional_id, init_transactions() and a first transaction
    in the warm-up, then begin_transaction() / send() x --txn-messages / commit_transaction()
    (which flushes)."""
    from kafka import KafkaProducer

    _, variant = split_client(a.worker)
    idempotent = variant in (IDEMPOTENT, TRANSACTIONAL)
    transactional = variant == TRANSACTIONAL

    kw: dict[str, Any] = {}
    if a.batch == "matched":
        kw["batch_size"] = BATCH_BYTES
    if transactional:
        kw["transactional_id"] = transactional_id(a.worker)
    p = KafkaProducer(
        bootstrap_servers=a.bootstrap,
        acks=1 if a.acks == "1" else "all",
        linger_ms=LINGER_MS,
        compression_type=None,
        # kafka-python 3.x defaults to an idempotent producer (kept with acks=all); the others
        # are not idempotent by default, so only kafka-python-idempotent (and -transactional,
        # which needs it) keeps it.
        enable_idempotence=idempotent,
        **kw,
    )
    if transactional:
        p.init_transactions()
        p.begin_transaction()
    p.send(a.topic, b"warm-up").get(timeout=30)
    if transactional:
        p.commit_transaction()
    c = Counter()

    def ok(_md: Any) -> None:
        c.ok += 1

    value = value_of(a.size)
    topic, send, err = a.topic, p.send, c.error
    t0, cpu0 = time.perf_counter(), _cpu()
    if transactional:
        per_txn = a.txn_messages
        for first in range(0, a.messages, per_txn):
            p.begin_transaction()
            for _ in range(min(per_txn, a.messages - first)):
                send(topic, value).add_callback(ok).add_errback(err)
            p.commit_transaction()
            c.commits += 1
    else:
        for _ in range(a.messages):
            send(topic, value).add_callback(ok).add_errback(err)
    note = ""
    try:
        p.flush(timeout=a.timeout)
    except Exception as e:  # KafkaTimeoutError
        note = f"flush: {e!r}"
    # Callbacks run on the sender thread; give the last ones a moment after flush() returns.
    deadline = time.monotonic() + 5
    while c.ok + c.err < a.messages and time.monotonic() < deadline:
        time.sleep(0.001)
    elapsed, cpu = time.perf_counter() - t0, _cpu() - cpu0
    emit_result(_result(a, c, elapsed, cpu, note))
    return lambda: p.close(timeout=10)


def worker_aiokafka(a: argparse.Namespace) -> Callable[[], None]:
    """aiokafka: `await producer.send(...)` per message, a done-callback counting each result
    (measured faster than collecting the futures and gathering them), then wait for all.
    aiokafka-batch: the create_batch()/send_batch() API, partitions round-robin, a batch's
    acknowledgement counting for all its messages. aiokafka-idempotent: the send() idiom with
    enable_idempotence=True. aiokafka-transactional: transactional_id, a first transaction in
    the warm-up, then `await begin_transaction()`, the send() idiom x --txn-messages,
    `await commit_transaction()` (which waits for the transaction's batches)."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    base, variant = split_client(a.worker)
    transactional = variant == TRANSACTIONAL

    async def run() -> None:
        kw: dict[str, Any] = {}
        if variant == IDEMPOTENT:
            kw["enable_idempotence"] = True
        if transactional:
            kw["transactional_id"] = transactional_id(a.worker)
        if a.batch == "matched":
            kw["max_batch_size"] = BATCH_BYTES
        p = AIOKafkaProducer(
            bootstrap_servers=a.bootstrap,
            acks=1 if a.acks == "1" else "all",
            linger_ms=LINGER_MS,
            compression_type=None,
            **kw,
        )
        await p.start()
        try:
            if transactional:
                await p.begin_transaction()
            await p.send_and_wait(a.topic, b"warm-up")
            if transactional:
                await p.commit_transaction()
            c = Counter()
            value = value_of(a.size)
            topic, n = a.topic, a.messages
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            note = ""
            if base == "aiokafka":

                def on_done(f: asyncio.Future[Any]) -> None:
                    e = f.exception()
                    if e is None:
                        c.ok += 1
                    else:
                        c.error(e)
                    if c.ok + c.err == n and not done.done():
                        done.set_result(None)

                send = p.send
                t0, cpu0 = time.perf_counter(), _cpu()
                per_txn = a.txn_messages if transactional else n
                for first in range(0, n, per_txn):
                    if transactional:
                        await p.begin_transaction()
                    for _ in range(min(per_txn, n - first)):
                        try:
                            fut = await send(topic, value)
                        except Exception as e:
                            c.error(e)
                            continue
                        fut.add_done_callback(on_done)
                    if transactional:
                        await p.commit_transaction()
                        c.commits += 1
            else:
                parts = sorted(await p.partitions_for(topic))

                def batch_done(k: int) -> Callable[[asyncio.Future[Any]], None]:
                    def cb(f: asyncio.Future[Any]) -> None:
                        e = f.exception()
                        if e is None:
                            c.ok += k
                        else:
                            for _ in range(k):
                                c.error(e)
                        if c.ok + c.err == n and not done.done():
                            done.set_result(None)

                    return cb

                t0, cpu0 = time.perf_counter(), _cpu()
                i = nb = 0
                while i < n:
                    b = p.create_batch()
                    k = 0
                    while i < n and b.append(key=None, value=value, timestamp=None) is not None:
                        i += 1
                        k += 1
                    b.close()
                    fut = await p.send_batch(b, topic, partition=parts[nb % len(parts)])
                    nb += 1
                    fut.add_done_callback(batch_done(k))
            if c.ok + c.err < n:
                try:
                    await asyncio.wait_for(asyncio.shield(done), a.timeout)
                except asyncio.TimeoutError:
                    note = f"not all acknowledged after {a.timeout}s"
            elapsed, cpu = time.perf_counter() - t0, _cpu() - cpu0
            emit_result(_result(a, c, elapsed, cpu, note))
        finally:
            await p.stop()

    asyncio.run(run())
    return lambda: None


WORKERS = {
    "rdpy": worker_librdkafka_api,
    "confluent-kafka": worker_librdkafka_api,
    "kafka-python": worker_kafka_python,
    "aiokafka": worker_aiokafka,
    "aiokafka-batch": worker_aiokafka,
}


def worker_main(a: argparse.Namespace) -> int:
    finish = WORKERS[split_client(a.worker)[0]](a)
    finish()
    return 0


# --- driver ------------------------------------------------------------------------------------


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def fmt_ratio(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.2f}x"


def run_case(
    a: argparse.Namespace, bootstrap: str, size: int, acks: str, partitions: int, n: int,
    clients: Optional[list[str]] = None, txn_messages: Optional[int] = None,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every client once (or best of --repeat) on one case; returns results and failures.
    `clients` defaults to those of --clients that run in the case; `txn_messages` (messages
    per transaction of the transactional variants) to --txn-messages."""
    best: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    if clients is None:
        clients = [c for c in a.clients if runs_in_case(c, acks)]
    if txn_messages is None:
        txn_messages = a.txn_messages
    for rep in range(a.repeat):
        order = clients if rep % 2 == 0 else list(reversed(clients))
        for client in order:
            argv = [
                str(Path(__file__).resolve()), "--worker", client, "--bootstrap", bootstrap,
                "--topic", topic_name(a.topic_prefix, partitions), "--size", str(size), "--acks", acks,
                "--messages", str(n), "--batch", a.batch, "--timeout", str(a.timeout),
                "--txn-messages", str(txn_messages),
            ]  # fmt: skip
            out = run_worker(argv, timeout=a.timeout + 60)
            r = out.result
            label = f"{client} [{size} B, acks={acks}, {partitions} partition(s)]"
            problems = []
            if r is None:
                problems.append("no result" + (" (killed: hung)" if out.timed_out else f" (exit {out.returncode})"))
            else:
                if r["errors"]:
                    problems.append(f"{r['errors']} delivery errors, first: {r['first_error']}")
                missing = r["messages"] - r["ok"] - r["errors"]
                if missing:
                    problems.append(f"{missing} messages never acknowledged")
                if r["note"]:
                    problems.append(r["note"])
                if out.timed_out:
                    problems.append(f"hung after reporting (close/exit), killed after {a.timeout + 60}s")
                elif out.returncode != 0:
                    problems.append(f"exit status {out.returncode} after reporting")
                want_commits = -(-n // txn_messages) if split_client(client)[1] == TRANSACTIONAL else 0
                if r["commits"] != want_commits:
                    problems.append(f"{r['commits']} transactions committed, {want_commits} expected")
            if problems:
                tail = "\n    ".join(out.stderr.strip().splitlines()[-15:])
                failures.append(f"{label}: " + "; ".join(problems) + (f"\n    stderr:\n    {tail}" if tail else ""))
                print(f"  FAILED {label}: {'; '.join(problems)}", file=sys.stderr, flush=True)
            if r is not None and r["ok"] == r["messages"]:
                r["rate"] = r["messages"] / r["elapsed"]
                r["commit_rate"] = r["commits"] / r["elapsed"]
                if client not in best or r["rate"] > best[client]["rate"]:
                    best[client] = r
    return best, failures


def case_table(results: dict[str, dict[str, Any]], size: int, clients: list[str]) -> str:
    """One case's rows. An idempotent (transactional) row's ratio columns compare it with the
    idempotent (transactional) variant of the reference; "vs non-idem." with the same client
    neither idempotent nor transactional, "vs idem." (transactional rows) with the same client
    idempotent. commits/s: transactions committed per second (transactional rows)."""
    rows = []
    headers = ["client", "msgs/s", "commits/s", "MB/s", "CPU µs/msg", "peak RSS MB",
               *[f"vs {lbl}" for _, lbl in REFERENCES], "vs non-idem.", "vs idem."]
    for client in clients:
        r = results.get(client)
        if r is None:
            rows.append([client, "FAILED"] + [""] * (len(headers) - 2))
            continue
        rate = r["rate"]
        name, variant = split_client(client)
        ratios = []
        for ref, _ in REFERENCES:
            base = results.get(ref + variant)
            ratios.append(fmt_ratio(rate / base["rate"] if base else None))
        plain = results.get(name) if variant else None
        ratios.append(fmt_ratio(rate / plain["rate"] if plain else None))
        idem = results.get(name + IDEMPOTENT) if variant == TRANSACTIONAL else None
        ratios.append(fmt_ratio(rate / idem["rate"] if idem else None))
        rows.append(
            [
                client,
                f"{rate:,.0f}",
                f"{r['commit_rate']:,.1f}" if variant == TRANSACTIONAL else "-",
                f"{rate * size / 1e6:,.1f}",
                f"{r['cpu'] / r['messages'] * 1e6:,.1f}",
                f"{r['maxrss_kb'] / 1024:,.0f}",
                *ratios,
            ]
        )
    return format_table(headers, rows)


def small_txn_table(results: dict[str, dict[str, Any]], clients: list[str]) -> str:
    """The small-transactions rows: commit rate first, ratios of commits/s against the
    transactional variant of each reference."""
    rows = []
    headers = ["client", "commits/s", "msgs/s", "ms/commit", "CPU µs/commit", "peak RSS MB",
               *[f"vs {lbl}" for _, lbl in REFERENCES]]
    for client in clients:
        r = results.get(client)
        if r is None:
            rows.append([client, "FAILED"] + [""] * (len(headers) - 2))
            continue
        ratios = []
        for ref, _ in REFERENCES:
            base = results.get(ref + TRANSACTIONAL)
            ratios.append(fmt_ratio(r["commit_rate"] / base["commit_rate"] if base else None))
        rows.append([
            client,
            f"{r['commit_rate']:,.1f}",
            f"{r['rate']:,.0f}",
            f"{r['elapsed'] / r['commits'] * 1e3:,.2f}",
            f"{r['cpu'] / r['commits'] * 1e6:,.0f}",
            f"{r['maxrss_kb'] / 1024:,.0f}",
            *ratios,
        ])
    return format_table(headers, rows)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bootstrap", help="use this cluster instead of starting a local Tansu")
    ap.add_argument("--messages", type=int, help="messages per client per case (default 200k at 100 B, 50k at 1000 B)")
    ap.add_argument("--quick", action="store_true", help="10x fewer messages (20k / 5k)")
    ap.add_argument("--clients", help=f"comma-separated subset of {','.join(CLIENTS)} (default: all"
                    f" of them, except {', '.join(NOT_ON_TANSU)} on the local Tansu)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="value sizes in bytes")
    ap.add_argument("--acks", default=",".join(ACKS), help="acks settings: 1, all (0 works too)")
    ap.add_argument("--partitions", default=",".join(map(str, PARTITIONS)), help="topic partition counts")
    ap.add_argument(
        "--batch",
        choices=("matched", "native"),
        default="matched",
        help="matched: every client gets librdkafka's 1 MB batch size (kafka-python batch_size, "
        "aiokafka max_batch_size); native: each client's own default (16 KiB for kafka-python/aiokafka)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs per client and case; the fastest is kept")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds a client may wait for its acknowledgements")
    ap.add_argument("--topic-prefix", default="rdpy-bench-producer")
    ap.add_argument("--txn-messages", type=int, default=DEFAULT_TXN_MESSAGES,
                    help="messages per transaction of the *-transactional rows in the acks=all tables")
    ap.add_argument("--small-txn", type=int, default=DEFAULT_SMALL_TXN,
                    help="messages per transaction in the small-transactions section (0: skip it)")
    ap.add_argument("--small-txns", type=int,
                    help=f"transactions per client in the small-transactions section"
                    f" (default {DEFAULT_SMALL_TXNS[False]}, --quick {DEFAULT_SMALL_TXNS[True]})")
    # Worker mode (internal): one client, one case, in this process.
    ap.add_argument("--worker", choices=CLIENTS, help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        return worker_main(a)

    left_out: dict[str, str] = {}
    if a.clients is None:
        a.clients = list(DEFAULT_CLIENTS)
        if not a.bootstrap:
            left_out = {c: why for c, why in NOT_ON_TANSU.items() if c in a.clients}
            a.clients = [c for c in a.clients if c not in left_out]
    else:
        a.clients = [c.strip() for c in a.clients.split(",") if c.strip()]
    unknown = set(a.clients) - set(CLIENTS)
    if unknown:
        ap.error(f"unknown clients {sorted(unknown)}; choose from {CLIENTS}")
    sizes = [int(s) for s in a.sizes.split(",")]
    acks_list = [s.strip() for s in a.acks.split(",")]
    part_list = [int(s) for s in a.partitions.split(",")]

    def count(size: int) -> int:
        if a.messages:
            return int(a.messages)
        table = QUICK_MESSAGES if a.quick else DEFAULT_MESSAGES
        # Sizes other than 100/1000: the 100-byte count scaled to the same volume, at least 1000.
        return table.get(size, max(1000, table[100] * 100 // size))

    print(machine_notes())
    print(f"load average before the run: {load_average()} (the clients and the broker share the machine)")
    print(client_versions())
    broker = open_broker(a.bootstrap)
    t_start = time.perf_counter()
    failures: list[str] = []
    summary: list[tuple[str, dict[str, dict[str, Any]]]] = []
    small_summary: list[tuple[str, dict[str, dict[str, Any]]]] = []
    try:
        print(f"broker: {broker.description}")
        for c, why in left_out.items():
            print(f"not measured: {c}: {why}")
        create_topics(broker.bootstrap, {topic_name(a.topic_prefix, n): n for n in part_list})
        batch_note = (
            f"batch {BATCH_BYTES:,} bytes for every client"
            if a.batch == "matched"
            else "each client's default batch size"
        )
        print(
            f"keys None, compression none, linger 5 ms, {batch_note}; rdpy/confluent-kafka: produce()+poll(0)"
            f" then flush(); kafka-python: send()+callbacks then flush(); aiokafka: await send() + done"
            f" callback; aiokafka-batch: create_batch()/send_batch() (no per-message reports, not a ratio"
            f" reference); *-idempotent: the same idiom with idempotence on (acks=all cases only; ratio"
            f" columns against the idempotent references, 'vs non-idem.' against the same client not"
            f" idempotent); *-transactional: the same idiom in transactions of {a.txn_messages} messages"
            f" (acks=all cases only; ratio columns against the transactional references, 'vs idem.'"
            f" against the same client idempotent); best of {a.repeat} run(s), each client in a fresh process"
        )
        for size in sizes:
            for acks in acks_list:
                for parts in part_list:
                    n = count(size)
                    title = f"{size}-byte values, acks={acks}, {parts} partition{'s' if parts > 1 else ''}, {n:,} messages"
                    print(f"\n### {title}\n", flush=True)
                    results, fails = run_case(a, broker.bootstrap, size, acks, parts, n)
                    failures += fails
                    summary.append((f"{size} B, acks={acks}, {parts}p", results))
                    print(case_table(results, size, [c for c in a.clients if runs_in_case(c, acks)]), flush=True)
        txn_clients = [c for c in a.clients if split_client(c)[1] == TRANSACTIONAL]
        if a.small_txn > 0 and txn_clients:
            count_txns = a.small_txns or DEFAULT_SMALL_TXNS[a.quick]
            for parts in part_list:
                n = a.small_txn * count_txns
                title = (f"small transactions: {a.small_txn} messages of 100 bytes each, {count_txns} transactions,"
                         f" acks=all, {parts} partition{'s' if parts > 1 else ''}")
                print(f"\n### {title}\n", flush=True)
                results, fails = run_case(a, broker.bootstrap, 100, "all", parts, n, clients=txn_clients,
                                          txn_messages=a.small_txn)
                failures += fails
                small_summary.append((f"{a.small_txn}-message transactions, {parts}p", results))
                print(small_txn_table(results, txn_clients), flush=True)
    finally:
        broker.stop()

    print(f"\nTargets (issue 4, informational): rdpy at 100-byte values, acks=1:"
          f" >= {TARGET_VS_KAFKA_PYTHON:g}x kafka-python msgs/s and >= {TARGET_VS_AIOKAFKA:g}x aiokafka msgs/s")
    for label, results in summary:
        if not label.startswith("100 B, acks=1,"):
            continue
        r, kp, aio = results.get("rdpy"), results.get("kafka-python"), results.get("aiokafka")
        for ref_name, ref, target in (("kafka-python", kp, TARGET_VS_KAFKA_PYTHON), ("aiokafka", aio, TARGET_VS_AIOKAFKA)):
            if r is None or ref is None:
                print(f"  {label}: rdpy vs {ref_name}: not measured")
                continue
            ratio = r["rate"] / ref["rate"]
            print(f"  {label}: rdpy vs {ref_name} {ratio:.2f}x (target {target:g}x): {'met' if ratio >= target else 'NOT met'}")
    print(f"\nTarget (issue 15, informational): rdpy-idempotent >= {TARGET_IDEMPOTENT_VS_PLAIN:.0%} of rdpy's msgs/s"
          " (acks=all cases)")
    for label, results in summary:
        if "acks=all" not in label:
            continue
        plain, idem = results.get("rdpy"), results.get("rdpy" + IDEMPOTENT)
        if plain is None or idem is None:
            print(f"  {label}: rdpy-idempotent vs rdpy: not measured")
            continue
        ratio = idem["rate"] / plain["rate"]
        print(f"  {label}: rdpy-idempotent vs rdpy {ratio:.0%} (target {TARGET_IDEMPOTENT_VS_PLAIN:.0%}):"
              f" {'met' if ratio >= TARGET_IDEMPOTENT_VS_PLAIN else 'NOT met'}")
    print(f"\nTransactions (informational): rdpy-transactional msgs/s against rdpy-idempotent and"
          f" confluent-kafka-transactional ({a.txn_messages}-message transactions), and commits/s in small transactions")
    for label, results in summary:
        r, idem, ck = (results.get(c) for c in ("rdpy" + TRANSACTIONAL, "rdpy" + IDEMPOTENT,
                                                 "confluent-kafka" + TRANSACTIONAL))
        if "acks=all" in label and r is not None:
            print(f"  {label}: {r['rate']:,.0f} msgs/s, {r['commit_rate']:,.1f} commits/s;"
                  f" vs rdpy-idempotent {fmt_ratio(r['rate'] / idem['rate'] if idem else None)},"
                  f" vs confluent-kafka-transactional {fmt_ratio(r['rate'] / ck['rate'] if ck else None)}")
    for label, results in small_summary:
        r, ck = results.get("rdpy" + TRANSACTIONAL), results.get("confluent-kafka" + TRANSACTIONAL)
        if r is not None:
            print(f"  {label}: rdpy {r['commit_rate']:,.1f} commits/s,"
                  f" vs confluent-kafka {fmt_ratio(r['commit_rate'] / ck['commit_rate'] if ck else None)}")
    print(f"\ntotal time {time.perf_counter() - t_start:.0f} s, load average at the end {load_average()}")
    if failures:
        print(f"\n{len(failures)} FAILURE(S):", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
