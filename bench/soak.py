"""Fault soak: the fault-injection scenarios of tests/integration/faults, longer, randomized
and repeated, on confluent-kafka (the reference) and rdpy, side by side.

    python bench/soak.py --seed 7 --minutes 20
    python bench/soak.py --seed 7 --minutes 5 --scenarios outage,random --clients rdpy

Every run is one scenario on one client in a fresh worker process (its own Tansu broker, and
fault proxy where the scenario needs one), killed if it outlives its time limit. The run's
parameters (outage length, fault mix, durations, max.in.flight) are drawn from a seed derived
from --seed, the round and the scenario, so both clients of a round face the same faults and
a run can be repeated (`--worker SCENARIO --client C --seed N` runs one). Rounds repeat until
--minutes is spent; the clients alternate which goes first.

Scenarios (see the tests of the same names for what each checks):
  outage     Tansu killed (SIGKILL) for 5-20 s and restarted empty, 300 msg/s throughout,
             message.timeout.ms=15000 (the log is wiped: loss is counted for what the new
             broker acknowledged)
  reconnect  a fault proxy resets every connection for 5-20 s (Tansu keeps running) and
             serves again right after the first attempt made after that: the time to the
             first ack is then the client's gap between attempts
  restart    a topic of 6 partitions, Tansu restarted after 0.5-3 s without it (re-created
             with 4 partitions by auto-create)
  freeze     Tansu stopped (SIGSTOP) for 5-20 s, then continued
  random     a fault proxy drops, stalls, truncates, corrupts, delays frames and announces
             90 MB frames, at random, 30-90 s
  handshake  the first ApiVersions response held back, socket.timeout.ms 1000-3000
  badargs    seeded produce/poll/flush calls with bad arguments among good messages

Per scenario the table sums, per client: runs, messages produced, delivery reports (and
messages with none or more than one), failed reports, records written more than once, records
acknowledged but not in the log, records out of produce order (runs with max.in.flight=1
only), the longest time from a broker's return to the first ack, the largest peak RSS of a
worker, and how many runs broke an invariant (named below the table).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    client_versions, emit_result, format_table, git_revision, load_average, machine_notes, peak_rss_kb,
    run_worker,
)

SCENARIOS = ["outage", "reconnect", "restart", "freeze", "random", "handshake", "badargs"]
CLIENTS = ["confluent_kafka", "rdpy"]
LIMITS = {"reconnect": 120, "outage": 120, "restart": 90, "freeze": 120, "random": 240, "handshake": 60, "badargs": 90}
ESTIMATES = {"reconnect": 30, "outage": 35, "restart": 15, "freeze": 35, "random": 75, "handshake": 8, "badargs": 6}
QUIET = {"log_level": 0}


def derive_seed(seed: int, round_no: int, scenario: str) -> int:
    digest = hashlib.sha256(f"{seed}/{round_no}/{scenario}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


# ---------------------------------------------------------------------------------------------
# Worker side: one scenario, one client, one seed. Counts instead of asserting.
# ---------------------------------------------------------------------------------------------


class Run:
    """What a worker measured; `violations` names each invariant that did not hold."""

    def __init__(self, scenario: str, client: str, seed: int) -> None:
        self.r: dict[str, Any] = {"scenario": scenario, "client": client, "seed": seed, "violations": [],
                                  "params": {}}

    def violation(self, text: str) -> None:
        self.r["violations"].append(text[:300])

    def set(self, **kw: Any) -> None:
        self.r.update(kw)


def _ledger_counts(run: Run, ledger: Any, consumed: list[Any], checkable: set[int] | None,
                   in_flight_one: bool) -> None:
    """messages, reports, missing/extra reports, failed, duplicates, lost, reordered; and the
    shared checker's verdicts (tests.support.invariants) where they apply."""
    from tests.support.invariants import InvariantViolation

    sent = set(ledger.sent)
    counts = Counter(r.seq for r in ledger.reports)
    missing = len(sent - set(counts))
    extra = sum(n - 1 for n in counts.values() if n > 1) + sum(1 for s in counts if s not in sent)
    first: dict[int, Any] = {}
    for r in ledger.reports:
        first.setdefault(r.seq, r)
    failed = Counter(str(r.code) for r in first.values() if r.code is not None)
    read = Counter(ledger.seq_of(m.value()) for m in consumed)
    duplicates = sum(n - 1 for s, n in read.items() if s is not None and n > 1)
    scope = sent if checkable is None else checkable
    lost = sorted(s for s in scope if s in first and first[s].code is None and s not in read)
    reordered = 0
    if in_flight_one:
        seen: set[int] = set()
        top: dict[int, int] = {}
        for m in sorted(consumed, key=lambda m: (m.partition(), m.offset())):
            s = ledger.seq_of(m.value())
            if s is None or s in seen or s not in scope:
                continue
            seen.add(s)
            p = m.partition()
            if s < top.get(p, -1):
                reordered += 1
            top[p] = max(top.get(p, -1), s)
    run.set(messages=len(sent), reports=len(ledger.reports), missing_reports=missing, extra_reports=extra,
            failed=dict(failed), duplicates=duplicates, lost=len(lost), reordered=reordered if in_flight_one else None)
    if missing:
        run.violation(f"{missing} messages without a delivery report")
    if extra:
        run.violation(f"{extra} surplus delivery reports")
    if lost:
        run.violation(f"{len(lost)} acknowledged messages not in the log (e.g. seqs {lost[:5]})")
    if reordered:
        run.violation(f"{reordered} records out of produce order (max.in.flight=1)")
    threads = {r.thread for r in ledger.reports} - ledger._app_threads  # noqa: SLF001
    if threads:
        run.violation(f"delivery callbacks on {len(threads)} non-application thread(s)")
    if checkable is None:  # one broker epoch: the shared checks apply as they are
        try:
            ledger.check_log(consumed, ordered=in_flight_one, allow_duplicates=True)
        except InvariantViolation as e:
            run.violation("check_log: " + str(e).splitlines()[0])


def _close(run: Run, ledger: Any, producer: Any, timeout: float = 30.0) -> None:
    from tests.integration.faults._util import bounded_close

    left = ledger.flush(producer, 60)
    if left:
        run.violation(f"flush(60) left {left} messages")
        producer.purge()
        ledger.flush(producer, 10)
    try:
        bounded_close(ledger, producer, timeout)
    except AssertionError as e:
        run.violation(str(e))


def _consume(bootstrap: str, topic: str) -> list[Any]:
    from tests.integration.faults._util import consume_all, partition_count

    n = partition_count(bootstrap, topic)
    return consume_all(bootstrap, topic, n, expected=0, timeout=120) if n else []


def scenario_outage(run: Run, mod: Any, rng: random.Random, kind: str = "kill") -> None:
    from tests.integration.faults._util import Chaos, SteadyProducer, first_ack_after
    from tests.support.invariants import Ledger
    from tests.support.tansuproc import TansuProcess

    outage = round(rng.uniform(5, 20), 1)
    before = round(rng.uniform(2, 5), 1)
    in_flight = rng.choice([1, 5])
    run.set(params={"outage_s": outage, "kill_at_s": before, "max.in.flight": in_flight, "kind": kind})
    with TansuProcess(log_dir=Path(tempfile.mkdtemp(prefix="soak-"))) as tansu:
        topic = f"soak-{kind}"
        producer = mod.Producer({"bootstrap.servers": tansu.bootstrap, "message.timeout.ms": 15000,
                                 "max.in.flight.requests.per.connection": in_flight, **QUIET})
        ledger = Ledger()
        stream = SteadyProducer(producer, ledger, topic, rate=300)
        down, up = (tansu.kill, tansu.restart) if kind == "kill" else (tansu.freeze, tansu.thaw)
        chaos = Chaos([(before, "down", down), (before + outage, "up", up)]).start()
        stream.run(before + outage + 6)
        chaos.join()
        _close(run, ledger, producer)
        consumed = _consume(tansu.bootstrap, topic)
        checkable = None if kind == "freeze" else {s for s, t in stream.produced_at.items() if t > chaos.done["down"]}
        _ledger_counts(run, ledger, consumed, checkable, in_flight == 1)
        first = first_ack_after(stream, chaos.done["up"])
        run.set(first_ack_s=first)
        if first is None or first > 3.0:
            run.violation(f"first ack {first} s after the broker was back")


def scenario_reconnect(run: Run, mod: Any, rng: random.Random) -> None:
    from tests.integration.faults._util import SteadyProducer, create_topic, first_ack_after
    from tests.support.broker import free_loopback_port
    from tests.support.faultproxy import FaultProxy
    from tests.support.invariants import Ledger
    from tests.support.tansuproc import TansuProcess

    outage = round(rng.uniform(5, 20), 1)
    in_flight = rng.choice([1, 5])
    run.set(params={"outage_s": outage, "max.in.flight": in_flight})
    tansu_port = free_loopback_port()
    with FaultProxy(upstream_port=tansu_port, seed=run.r["seed"]) as proxy, \
            TansuProcess(port=tansu_port, advertised_port=proxy.port, log_dir=Path(tempfile.mkdtemp(prefix="soak-"))):
        topic = create_topic(proxy.address, "soak-reconnect", 3)
        producer = mod.Producer({"bootstrap.servers": proxy.address, "message.timeout.ms": 30000,
                                 "max.in.flight.requests.per.connection": in_flight, **QUIET})
        ledger = Ledger()
        stream = SteadyProducer(producer, ledger, topic, rate=300)
        stream.run(3.0)
        t_down = time.monotonic()
        proxy.refuse(until=outage)
        back = None
        while back is None and time.monotonic() - t_down < outage + 15.0:
            stream.run(0.5)
            back = next((e["t"] for e in proxy.events() if e["kind"] == "serving"), None)
        stream.run(6.0)
        _close(run, ledger, producer)
        attempts = [e["t"] - t_down for e in proxy.events() if e["kind"] == "refused"]
        gaps = [b - a for a, b in zip(attempts, attempts[1:])]
        _ledger_counts(run, ledger, _consume(proxy.address, topic), None, in_flight == 1)
        first = None if back is None else first_ack_after(stream, back)
        run.set(first_ack_s=first, attempts=len(attempts), max_attempt_gap_s=round(max(gaps, default=0), 2),
                attempt_times=[round(a, 2) for a in attempts[-12:]])
        if first is None or first > 3.0:
            run.violation(f"first ack {first} s after the broker was back (attempt gap up to {max(gaps, default=0):.1f} s)")


def scenario_restart(run: Run, mod: Any, rng: random.Random) -> None:
    from tests.integration.faults._util import Chaos, SteadyProducer, create_topic, partition_count
    from tests.support.invariants import Ledger
    from tests.support.tansuproc import TansuProcess

    down = round(rng.uniform(0.5, 3), 1)
    run.set(params={"down_s": down, "partitions_before": 6})
    with TansuProcess(log_dir=Path(tempfile.mkdtemp(prefix="soak-"))) as tansu:
        topic = create_topic(tansu.bootstrap, "soak-restart", 6)
        producer = mod.Producer({"bootstrap.servers": tansu.bootstrap, "message.timeout.ms": 15000,
                                 "max.in.flight.requests.per.connection": 1, **QUIET})
        ledger = Ledger()
        stream = SteadyProducer(producer, ledger, topic, rate=300)
        chaos = Chaos([(2.0, "down", tansu.kill), (2.0 + down, "up", tansu.restart)]).start()
        stream.run(8.0 + down)
        chaos.join()
        _close(run, ledger, producer)
        consumed = _consume(tansu.bootstrap, topic)
        after = {s for s, t in stream.produced_at.items() if t > chaos.done["down"]}
        _ledger_counts(run, ledger, consumed, after, True)
        run.set(partitions_after=partition_count(tansu.bootstrap, topic))


def scenario_random(run: Run, mod: Any, rng: random.Random) -> None:
    from tests.integration.faults._util import SteadyProducer, create_topic
    from tests.support.broker import free_loopback_port
    from tests.support.faultproxy import FaultProxy, Rule
    from tests.support.invariants import Ledger
    from tests.support.tansuproc import TansuProcess

    duration = round(rng.uniform(30, 90))
    scale = rng.choice([0.5, 1.0, 2.0])
    in_flight = rng.choice([1, 5])
    p = 0.004 * scale
    rules = [
        Rule("drop", direction="both", probability=p, name="drop"),
        Rule("stall", direction="response", probability=p, seconds=round(rng.uniform(0.2, 1.5), 1), name="stall short"),
        Rule("stall", direction="both", probability=p / 2, seconds=round(rng.uniform(3.5, 8), 1), name="stall long"),
        Rule("truncate", direction="both", probability=p, name="truncate"),
        Rule("delay", direction="response", probability=p, seconds=round(rng.uniform(0.1, 2.0), 1), name="delay"),
        Rule("corrupt", direction="response", probability=p / 4, mode=rng.choice(["cut", "garbage", "flip"]), name="corrupt"),
        Rule("huge", direction="response", probability=p / 8, name="90MB"),
    ]
    run.set(params={"duration_s": duration, "fault_scale": scale, "max.in.flight": in_flight})
    tansu_port = free_loopback_port()
    with FaultProxy(upstream_port=tansu_port, seed=run.r["seed"]) as proxy, \
            TansuProcess(port=tansu_port, advertised_port=proxy.port, log_dir=Path(tempfile.mkdtemp(prefix="soak-"))):
        topic = create_topic(proxy.address, "soak-random", 3)
        producer = mod.Producer({"bootstrap.servers": proxy.address, "message.timeout.ms": 60000,
                                 "socket.timeout.ms": 3000, "retry.backoff.ms": 50,
                                 "max.in.flight.requests.per.connection": in_flight, **QUIET})
        ledger = Ledger()
        stream = SteadyProducer(producer, ledger, topic, rate=250)
        proxy.set_rules(*rules)
        stream.run(duration)
        proxy.clear_rules()
        _close(run, ledger, producer)
        fired = Counter(e["rule"] for e in proxy.fired())
        consumed = _consume(proxy.address, topic)
        # Corrupted responses fail their request for good; the records may be in the log.
        _ledger_counts(run, ledger, consumed, None, in_flight == 1)
        run.set(faults=dict(fired))


def scenario_freeze(run: Run, mod: Any, rng: random.Random) -> None:
    scenario_outage(run, mod, rng, kind="freeze")


def scenario_handshake(run: Run, mod: Any, rng: random.Random) -> None:
    from tests.integration.faults._util import create_topic
    from tests.support.broker import free_loopback_port
    from tests.support.faultproxy import FaultProxy, Rule
    from tests.support.invariants import Ledger
    from tests.support.tansuproc import TansuProcess

    socket_timeout_ms = rng.choice([1000, 2000, 3000])
    run.set(params={"socket.timeout.ms": socket_timeout_ms})
    tansu_port = free_loopback_port()
    with FaultProxy(upstream_port=tansu_port, seed=run.r["seed"]) as proxy, \
            TansuProcess(port=tansu_port, advertised_port=proxy.port, log_dir=Path(tempfile.mkdtemp(prefix="soak-"))):
        topic = create_topic(proxy.address, "soak-handshake", 1)
        proxy.set_rules(Rule("stall", api_key=18, count=1, seconds=30))
        ledger = Ledger()
        t0 = time.monotonic()
        producer = mod.Producer({"bootstrap.servers": proxy.address, "socket.timeout.ms": socket_timeout_ms,
                                 "message.timeout.ms": 30000, **QUIET})
        ledger.produce(producer, topic, b"first", partition=0)
        ledger.flush(producer, 25)
        recovered = time.monotonic() - t0
        _close(run, ledger, producer)
        _ledger_counts(run, ledger, _consume(proxy.address, topic), None, True)
        run.set(first_ack_s=round(recovered, 3))
        if recovered > 2 * socket_timeout_ms / 1000 + 1.0:
            run.violation(f"stalled handshake: first delivery after {recovered:.2f} s "
                          f"(socket.timeout.ms={socket_timeout_ms})")


def scenario_badargs(run: Run, mod: Any, rng: random.Random) -> None:
    from tests.integration.faults._util import create_topic
    from tests.integration.faults.test_bad_arguments import PARTITIONS, bad_calls
    from tests.support.invariants import Ledger
    from tests.support.tansuproc import TansuProcess

    with TansuProcess(log_dir=Path(tempfile.mkdtemp(prefix="soak-"))) as tansu:
        topic = create_topic(tansu.bootstrap, "soak-badargs", PARTITIONS)
        # linger.ms=5000: no report arrives while the calls are made, so len(producer) changes
        # only by what they do; flush() sends at once.
        producer = mod.Producer({"bootstrap.servers": tansu.bootstrap, "linger.ms": 5000, **QUIET})
        ledger = Ledger()
        ledger.produce(producer, topic, b"warm-up", partition=0)
        ledger.flush(producer, 15)
        calls = bad_calls(topic) * rng.randint(3, 10)
        rng.shuffle(calls)
        wrong: Counter[str] = Counter()
        stray: list[str] = []
        for name, call, expected in calls:
            for _ in range(rng.randint(0, 6)):
                ledger.produce(producer, topic, b"good", key=b"k%d" % rng.randrange(7))
            before = len(producer)
            try:
                call(producer, lambda err, msg, name=name: stray.append(name))
                wrong[f"{name}: accepted"] += 1
            except BaseException as e:
                if isinstance(expected, str):
                    ok = isinstance(e, mod.KafkaException) and e.args[0].code() == getattr(mod.KafkaError, expected)
                else:
                    ok = type(e) is expected
                if not ok:
                    wrong[f"{name}: {type(e).__name__}"] += 1
            if len(producer) != before:
                wrong[f"{name}: len(producer) changed"] += 1
        _close(run, ledger, producer)
        _ledger_counts(run, ledger, _consume(tansu.bootstrap, topic), None, True)
        run.set(bad_calls=len(calls))
        for what, n in sorted(wrong.items()):
            run.violation(f"bad argument {what} (x{n})")
        if stray:
            run.violation(f"{len(stray)} reports for refused calls")


def worker_main(scenario: str, client: str, seed: int) -> None:
    import importlib

    from tests.support.invariants import InvariantViolation, ResourceBaseline

    mod = importlib.import_module(client)
    import confluent_kafka  # noqa: F401  (the checker's import, before the baseline)

    run = Run(scenario, client, seed)
    baseline = ResourceBaseline()
    t0 = time.monotonic()
    try:
        globals()[f"scenario_{scenario}"](run, mod, random.Random(seed))
    except Exception as e:  # the run's own failure is a result too
        run.violation(f"scenario raised {type(e).__name__}: {e}")
    run.set(elapsed_s=round(time.monotonic() - t0, 1), peak_rss_mib=round(peak_rss_kb() / 1024, 1))
    try:  # close() gave back the client's threads and descriptors
        baseline.assert_back(5.0)
    except InvariantViolation as e:
        run.violation(str(e).replace("\n", " "))
    emit_result(run.r)


# ---------------------------------------------------------------------------------------------
# Parent side: rounds, workers, tables.
# ---------------------------------------------------------------------------------------------


def _fmt(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def summarize(results: list[dict[str, Any]], scenarios: list[str], clients: list[str]) -> str:
    out: list[str] = []
    headers = ["client", "runs", "messages", "reports", "no/extra report", "failed", "duplicates", "lost",
               "reordered", "max 1st ack s", "peak RSS MiB", "runs violating"]
    for sc in scenarios:
        rows = []
        notes: list[str] = []
        for cl in clients:
            rs = [r for r in results if r["scenario"] == sc and r["client"] == cl]
            if not rs:
                continue
            done = [r for r in rs if "messages" in r]
            acks = [r["first_ack_s"] for r in rs if r.get("first_ack_s") is not None]
            reordered = [r["reordered"] for r in done if r.get("reordered") is not None]
            failed: Counter[str] = Counter()
            for r in done:
                failed.update(r.get("failed", {}))
            violating = [r for r in rs if r.get("violations")]
            rows.append([
                cl, str(len(rs)), str(sum(r["messages"] for r in done)), str(sum(r["reports"] for r in done)),
                f"{sum(r['missing_reports'] for r in done)}/{sum(r['extra_reports'] for r in done)}",
                str(sum(failed.values())), str(sum(r["duplicates"] for r in done)), str(sum(r["lost"] for r in done)),
                str(sum(reordered)) if reordered else "-", _fmt(max(acks) if acks else None),
                _fmt(max(r.get("peak_rss_mib", 0) for r in rs), 1), str(len(violating)),
            ])
            if failed:
                notes.append(f"{cl}: failed reports by code {dict(failed)}")
            for r in violating:
                notes.append(f"{cl} seed {r['seed']} {r.get('params', {})}: " + "; ".join(r["violations"][:6]))
        out.append(f"### {sc}\n\n{format_table(headers, rows)}\n")
        if notes:
            out.append("\n".join(f"- {n}" for n in notes) + "\n")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--minutes", type=float, default=10.0, help="time budget for all rounds (at least one round runs)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--json", help="also write every run's result to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--client", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(args.worker, args.client, args.seed)
        return
    scenarios = [s for s in args.scenarios.split(",") if s]
    clients = [c for c in args.clients.split(",") if c]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenarios {sorted(unknown)}; known: {SCENARIOS}")
    print(f"# Fault soak: seed {args.seed}, budget {args.minutes} min, {git_revision()}")
    print(f"{machine_notes()}; load {load_average()}\n{client_versions()}\n", flush=True)
    deadline = time.monotonic() + args.minutes * 60
    results: list[dict[str, Any]] = []
    round_no = 0
    per_round = sum(ESTIMATES[s] for s in scenarios) * len(clients)
    while round_no == 0 or time.monotonic() + per_round < deadline:
        order = clients if round_no % 2 == 0 else list(reversed(clients))
        for sc in scenarios:
            seed = derive_seed(args.seed, round_no, sc)
            for cl in order:
                out = run_worker([__file__, "--worker", sc, "--client", cl, "--seed", str(seed)], LIMITS[sc])
                r = out.result or {"scenario": sc, "client": cl, "seed": seed, "params": {},
                                   "violations": ["worker killed after its time limit" if out.timed_out
                                                  else f"worker exited {out.returncode}: {out.stderr.strip()[-300:]}"]}
                results.append(r)
                status = "ok" if not r["violations"] else f"{len(r['violations'])} violation(s)"
                print(f"round {round_no} {sc:9} {cl:15} seed {seed:<10} {out.wall:6.1f} s  {status}", flush=True)
        round_no += 1
    print(f"\n## Results: {round_no} round(s), seed {args.seed}\n")
    print(summarize(results, scenarios, clients))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
