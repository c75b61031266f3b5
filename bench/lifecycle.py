"""Short-lived producers: rdpy vs confluent-kafka, created, used once and closed, many times.

A service that creates a producer per request (or a script run per message) pays for client
creation, the first connection and metadata lookup, one flush and close() every time. Each
round runs in a fresh subprocess and times N producers one after the other, each one:
Producer(conf), produce() one message to an existing topic, flush(), close(). The clients run
in alternating rounds on the same broker; the table gives every round's seconds, the phases'
shares (create / produce+flush / close, summed over the N producers), and the best round's
ratio rdpy/confluent-kafka. Target (issue 12): 200 producers in under 3 s.

    python bench/lifecycle.py [--count 200] [--rounds 3] [--bootstrap host:port]
                              [--profile rdpy.prof] [--clients rdpy,confluent-kafka]
                              [--new-topics]

--new-topics: each producer writes to a topic of its own, which the broker creates when the
producer's metadata request names it (the first produce to a new topic).

--profile runs one more rdpy round under cProfile (the application's thread: where its calls
wait or work) and prints the top functions by cumulative and by own time.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (  # noqa: E402
    client_versions,
    create_topics,
    emit_result,
    format_table,
    load_average,
    machine_notes,
    open_broker,
    run_worker,
)

CLIENTS = ["rdpy", "confluent-kafka"]
MODULES = {"rdpy": "rdpy", "confluent-kafka": "confluent_kafka"}
TARGET_SECONDS = 3.0  # for 200 producers


def worker(client: str, bootstrap: str, topic: str, count: int, profile: str | None,
           new_topics: bool) -> None:
    """One round in this process: `count` producers, each created, used once and closed
    (`new_topics`: each to a topic of its own, which the broker creates on first use)."""
    import importlib

    ck = importlib.import_module(MODULES[client])
    conf = {"bootstrap.servers": bootstrap, "log_level": 0}
    phases = {"create": 0.0, "produce_flush": 0.0, "close": 0.0}
    failed = 0
    profiler: Any = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    clock = time.perf_counter
    start = clock()
    for i in range(count):
        t0 = clock()
        p = ck.Producer(conf)
        t1 = clock()
        p.produce(f"{topic}-{i}" if new_topics else topic, b"lifecycle-%d" % i)
        left = p.flush(30)
        t2 = clock()
        p.close()
        t3 = clock()
        failed += left
        phases["create"] += t1 - t0
        phases["produce_flush"] += t2 - t1
        phases["close"] += t3 - t2
    total = clock() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    emit_result({"seconds": total, "phases": phases, "undelivered": failed})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200, help="producers per round (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per client, alternating (default 3)")
    parser.add_argument("--bootstrap", help="an existing cluster (default: start a local Tansu)")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--profile", metavar="FILE", help="also profile one rdpy round into FILE and summarize it")
    parser.add_argument("--new-topics", action="store_true",
                        help="each producer writes to a new topic (auto-created by the broker)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.bootstrap, args.topic, args.count, args.profile, args.new_topics)
        return 0

    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    print(machine_notes())
    print(client_versions())
    broker = open_broker(args.bootstrap)
    try:
        print(f"broker: {broker.description}")
        topic = f"bench-lifecycle-{uuid.uuid4().hex[:8]}"
        if not args.new_topics:
            create_topics(broker.bootstrap, {topic: 1})

        def run(client: str, profile: str | None = None) -> dict[str, Any]:
            # With --new-topics every round gets topics of its own.
            argv = [__file__, "--worker", client, "--bootstrap", broker.bootstrap,
                    "--topic", f"{topic}-{uuid.uuid4().hex[:6]}" if args.new_topics else topic,
                    "--count", str(args.count)] + (["--profile", profile] if profile else [])
            argv += ["--new-topics"] if args.new_topics else []
            outcome = run_worker(argv, timeout=max(120.0, args.count * 1.0))
            if outcome.result is None:
                raise SystemExit(f"{client} round failed (rc {outcome.returncode}):\n{outcome.stderr[-3000:]}")
            return outcome.result

        results: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
        for r in range(args.rounds):
            for client in clients if r % 2 == 0 else reversed(clients):
                res = run(client)
                results[client].append(res)
                print(f"round {r + 1}: {client:16} {res['seconds']:7.2f} s  (load {load_average()})", flush=True)

        rows = []
        for client in clients:
            for i, res in enumerate(results[client]):
                ph = res["phases"]
                rows.append([client, str(i + 1), f"{res['seconds']:.2f}", f"{ph['create']:.2f}",
                             f"{ph['produce_flush']:.2f}", f"{ph['close']:.2f}",
                             f"{res['seconds'] / args.count * 1000:.1f}", str(res["undelivered"])])
        print()
        print(f"{args.count} producers per round, each: Producer(), produce() 1 message"
              f"{' to a new topic' if args.new_topics else ''}, flush(), close()")
        print(format_table(["client", "round", "seconds", "create s", "produce+flush s", "close s",
                            "ms/producer", "undelivered"], rows, left=2))
        best = {c: min(r["seconds"] for r in results[c]) for c in clients if results[c]}
        if "rdpy" in best and "confluent-kafka" in best:
            print(f"\nbest rounds: rdpy {best['rdpy']:.2f} s, confluent-kafka {best['confluent-kafka']:.2f} s, "
                  f"ratio rdpy/confluent {best['rdpy'] / best['confluent-kafka']:.2f}x")
        if "rdpy" in best:
            target = TARGET_SECONDS * args.count / 200
            verdict = "met" if best["rdpy"] < target else "NOT met"
            print(f"target: {args.count} producers in under {target:.1f} s: {verdict}")

        if args.profile:
            run("rdpy", args.profile)
            import pstats

            stats = pstats.Stats(args.profile)
            stats.strip_dirs()
            print(f"\nrdpy round under cProfile ({args.profile}), application thread, by cumulative time:")
            stats.sort_stats("cumulative").print_stats(25)
            print("by own time:")
            stats.sort_stats("tottime").print_stats(15)
        undelivered = sum(r["undelivered"] for rs in results.values() for r in rs)
        return 1 if undelivered else 0
    finally:
        broker.stop()


if __name__ == "__main__":
    sys.exit(main())
