"""Cost of recording one value in a statistics window (rdpy.stats.window.Window), on its own and
with a lock around each call, and of a rollover that reads a full period.

The engine calls `Window.add()` for every rtt, latency and batch size it measures, so its cost is
paid per request or per batch; this prints it and asserts nothing (it was a unit test that only
printed, moved here). 100,000 random values below 100,000, best of 5 runs.

    python bench/stats_window.py [--values N] [--repeat R]
"""

from __future__ import annotations

import argparse
import platform
import random
import threading
import timeit

from rdpy.stats.window import Window


def add_cost(values: list[int], repeat: int) -> float:
    """Seconds per Window.add(), best of `repeat` runs over `values`."""
    add = Window(0, 100_000).add

    def run() -> None:
        for v in values:
            add(v)

    return min(timeit.repeat(run, number=1, repeat=repeat)) / len(values)


def locked_add_cost(values: list[int], repeat: int) -> float:
    """The same with a lock taken around each call (what a caller sharing a window pays)."""
    add = Window(0, 100_000).add
    lock = threading.Lock()

    def run() -> None:
        for v in values:
            with lock:
                add(v)

    return min(timeit.repeat(run, number=1, repeat=repeat)) / len(values)


def rollover_cost(values: list[int]) -> float:
    """Seconds for one rollover of a window holding `values` (every slot in use)."""
    w = Window(0, 100_000)
    for v in values:
        w.add(v)
    return timeit.timeit(w.rollover, number=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)
    values = [rng.randrange(100_000) for _ in range(args.values)]
    print(f"Python {platform.python_version()} ({platform.machine()}), {args.values:,} values, "
          f"best of {args.repeat}")
    print(f"Window.add: {add_cost(values, args.repeat) * 1e9:.0f} ns/value (with a lock around "
          f"it: {locked_add_cost(values, args.repeat) * 1e9:.0f} ns); rollover of "
          f"{args.values:,} values: {rollover_cost(values) * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
