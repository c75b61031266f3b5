"""Process-level behaviour, each in a subprocess with a hard timeout: Ctrl-C interrupts a
blocked poll()/flush() promptly, and a producer dropped without flush() does not hang exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.clients import has_capability

REPO = Path(__file__).resolve().parents[3]


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


_INTERRUPT = """
    import importlib, socket, sys, time
    client = importlib.import_module(sys.argv[1])
    # A silent, unreachable cluster: connections are accepted by the kernel and never answered,
    # so no event ever ends the wait early.
    hole = socket.socket(); hole.bind(("127.0.0.1", 0)); hole.listen(16)
    p = client.Producer({"bootstrap.servers": "127.0.0.1:%d" % hole.getsockname()[1],
                         "message.timeout.ms": 60000, "log_level": 0})
    if sys.argv[2] == "flush":
        p.produce("t", b"v")
    print("ready", flush=True)
    try:
        result = p.flush(30) if sys.argv[2] == "flush" else p.poll(30)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        raise
    print("returned", result, flush=True)
"""


@pytest.mark.parametrize("call", ["flush", "poll"])
def test_blocked_call_is_interruptible(client: ModuleType, call: str) -> None:
    proc = _spawn(_INTERRUPT, client.__name__, call)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
        time.sleep(0.5)  # well inside the 30 s wait
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = "", ""
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    if has_capability(client, "interruptible_wait"):
        assert "KeyboardInterrupt" in out, (out, err[-2000:])
        assert "returned" not in out
        assert proc.returncode != 0
        assert elapsed < 1.5, f"{call}() took {elapsed:.2f}s to notice SIGINT"
    else:  # pragma: no cover - no client declares this today
        assert "returned" in out or elapsed >= 1.5


_DROP = """
    import importlib, socket, sys, time
    client = importlib.import_module(sys.argv[1])
    bootstrap, mode = sys.argv[2], sys.argv[3]
    p = client.Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 300000,
                         "linger.ms": 1000, "log_level": 0})
    for i in range(1000):
        p.produce("rdpy-prod-drop", b"v" * 100)
    p.poll(0.2)
    t0 = time.monotonic()
    if mode == "del":
        del p
    print("dropped %.3f" % (time.monotonic() - t0), flush=True)
"""


@pytest.mark.parametrize("mode", ["del", "interpreter-exit"])
@pytest.mark.parametrize("cluster", ["live", "unreachable"])
def test_producer_dropped_without_flush_does_not_hang(
    client: ModuleType, broker: Any, closed_port_bootstrap: str, mode: str, cluster: str
) -> None:
    bootstrap = broker.bootstrap_servers if cluster == "live" else closed_port_bootstrap
    t0 = time.monotonic()
    proc = _spawn(_DROP, client.__name__, bootstrap, mode)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"process hung after dropping the producer: {out!r} {err[-2000:]!r}")
    assert proc.returncode == 0, err[-2000:]
    assert "dropped" in out
    assert time.monotonic() - t0 < 12
