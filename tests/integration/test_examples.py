"""The examples in examples/ run against a real broker and do what they say."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support.broker import BrokerEndpoint

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_producer_example_delivers_everything(broker: BrokerEndpoint) -> None:
    topic = f"rdpy-example-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "producer.py"), broker.bootstrap_servers, topic, "2500"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "delivered 2500, failed 0, still queued 0"


def test_quickstart_against_the_given_cluster(broker: BrokerEndpoint) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        capture_output=True, text=True, timeout=90,
        env={**os.environ, "BOOTSTRAP_SERVERS": broker.bootstrap_servers},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "started a local Tansu broker" not in done.stdout
    assert lines[0].startswith("produced 5000 messages") and lines[0].endswith("all delivered")
    assert "5000 of 5000, all intact" in lines[1]


def test_quickstart_starts_its_own_broker() -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOOTSTRAP_SERVERS"}
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")],
                          capture_output=True, text=True, timeout=90, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("started a local Tansu broker at 127.0.0.1:")
    assert "5000 of 5000, all intact" in done.stdout
