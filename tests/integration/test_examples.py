"""The examples in examples/ run against a real broker and do what they say."""

from __future__ import annotations

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
