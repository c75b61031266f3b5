"""Import time: what `import rdpy` and `from rdpy import Producer, Consumer` cost, beside the
imports of confluent-kafka, aiokafka and kafka-python (whichever are installed).

Every measurement is a fresh interpreter (`python -c ...`) importing one statement; the cases
run in alternating rounds (`--rounds`, default 7) and the table gives medians:

- `wall ms`: time.perf_counter() around the statement inside the child (interpreter start-up
  and `site` left out), in a run without -X importtime; min-max over the rounds beside it.
- `-X importtime ms`: the same statement in another run under `python -X importtime`: the sum
  of the cumulative times of the top-level imports it printed after start-up. It is what
  `python -X importtime -c "..."` shows, but it leaves out a module imported with
  `importlib.import_module` (rdpy's lazy `Producer`/`Consumer` attributes): its own time is
  counted nowhere, only the imports it makes, so for rdpy it reads low; `wall ms` is the number.
- `modules`: how many modules the statement added to sys.modules.
- `vs confluent`: wall median over confluent-kafka's.

Bytecode: by default every client is measured with its bytecode cached (`PYTHONPYCACHEPREFIX`
set to a fresh temporary directory, one warm-up run per case first), which is what a
pip-installed package has (pip compiles on install). `--cold` then removes the cached bytecode
of the repository and of site-packages (the clients and their dependencies, not the standard
library) and sets PYTHONDONTWRITEBYTECODE=1, so every client's own modules are compiled from
source on every run, all clients alike: the state of rdpy in the development container (an
editable install under PYTHONDONTWRITEBYTECODE=1), whose installed peers have .pyc files
(comparing those two states measures compilation, not imports).

Nothing is asserted: the numbers are printed beside the peers'.

    python bench/import_time.py [--rounds 7] [--cold] [--clients rdpy,confluent-kafka,...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (  # noqa: E402
    ROOT,
    client_versions,
    fmt_ratio,
    format_table,
    git_revision,
    load_average,
    machine_notes,
)

#: (case name, client, top-level module that must be importable, statement)
CASES = [
    ("rdpy: import rdpy", "rdpy", "rdpy", "import rdpy"),
    ("rdpy: Producer, Consumer", "rdpy", "rdpy", "from rdpy import Producer, Consumer"),
    ("confluent-kafka: Producer, Consumer", "confluent-kafka", "confluent_kafka",
     "from confluent_kafka import Producer, Consumer"),
    ("aiokafka: AIOKafkaProducer, AIOKafkaConsumer", "aiokafka", "aiokafka",
     "from aiokafka import AIOKafkaProducer, AIOKafkaConsumer"),
    ("kafka-python: KafkaProducer, KafkaConsumer", "kafka-python", "kafka",
     "from kafka import KafkaProducer, KafkaConsumer"),
]
REFERENCE = "confluent-kafka: Producer, Consumer"
MARK = "--rdpy-import-bench--"
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _probe(statement: str) -> str:
    """The child's program: a marker on stderr (so that -X importtime lines printed after it
    are the statement's), the statement timed, one JSON line on stdout."""
    return (
        "import sys, time\n"
        f"sys.stderr.write({MARK!r} + '\\n'); sys.stderr.flush()\n"
        "before = len(sys.modules)\n"
        "t0 = time.perf_counter()\n"
        f"{statement}\n"
        "t1 = time.perf_counter()\n"
        "print('\\n' + __import__('json').dumps({'wall': t1 - t0, "
        "'modules': len(sys.modules) - before}))\n"
    )


def _importtime_total(stderr: str) -> float:
    """Seconds: the cumulative times of the top-level imports printed after the marker."""
    total = 0
    after = False
    for line in stderr.splitlines():
        if line == MARK:
            after = True
            continue
        m = _LINE.match(line)
        if after and m and len(m.group(3)) == 1:
            total += int(m.group(2))
    return total / 1e6


def run_once(statement: str, env: dict[str, str], importtime: bool) -> dict[str, float]:
    argv = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-c",
                                                                             _probe(statement)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(ROOT),
                          timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{statement!r} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    if importtime:
        result["importtime"] = _importtime_total(proc.stderr)
    return result


def child_env(cache_dir: str, cold: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cold:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the removed bytecode stays removed
    # The repository root first, as when run from it (an editable install finds it anyway).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    ap.add_argument("--cold", action="store_true",
                    help="no bytecode cache: compile every module from source on every run")
    ap.add_argument("--clients", default="",
                    help="comma-separated subset of rdpy,confluent-kafka,aiokafka,kafka-python")
    args = ap.parse_args(argv)
    wanted = set(filter(None, args.clients.split(",")))
    cases = []
    for name, client, module, statement in CASES:
        if wanted and client not in wanted:
            continue
        if importlib.util.find_spec(module) is None:
            print(f"{client}: not installed, skipped")
            continue
        cases.append((name, statement))

    print(machine_notes())
    print(client_versions())
    print(f"rdpy at {git_revision()}, load average {load_average()}")
    mode = ("cold: the clients' bytecode removed, their modules compiled on every run"
            if args.cold else "bytecode cached (as after pip install)")
    print(f"{args.rounds} alternating rounds, {mode}\n")

    samples: dict[str, list[dict[str, float]]] = {name: [] for name, _ in cases}
    with tempfile.TemporaryDirectory(prefix="rdpy-import-bench-") as cache_dir:
        for _, statement in cases:  # fill the bytecode cache
            run_once(statement, child_env(cache_dir, cold=False), importtime=False)
        if args.cold:
            # The cache mirrors source paths under cache_dir: drop the clients' part.
            for source in {str(ROOT), *sysconfig.get_paths().values()}:
                if "site-packages" in source or source == str(ROOT):
                    shutil.rmtree(Path(cache_dir + os.path.abspath(source)), ignore_errors=True)
        env = child_env(cache_dir, args.cold)
        for r in range(args.rounds):
            order = cases if r % 2 == 0 else cases[::-1]
            for name, statement in order:
                sample = run_once(statement, env, importtime=False)
                sample["importtime"] = run_once(statement, env, importtime=True)["importtime"]
                samples[name].append(sample)

    def median(name: str, key: str) -> float:
        return statistics.median(s[key] for s in samples[name])

    reference = median(REFERENCE, "wall") if REFERENCE in samples else None
    rows = []
    for name, _ in cases:
        walls = [s["wall"] * 1000 for s in samples[name]]
        wall = median(name, "wall")
        rows.append([
            name,
            f"{wall * 1000:.1f}",
            f"{min(walls):.1f}-{max(walls):.1f}",
            f"{median(name, 'importtime') * 1000:.1f}",
            f"{median(name, 'modules'):.0f}",
            fmt_ratio(wall / reference if reference else None),
        ])
    print(format_table(["import", "wall ms", "wall min-max", "-X importtime ms", "modules",
                        "vs confluent"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
