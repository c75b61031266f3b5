"""Seeded random faults on every frame while a producer produces steadily: connections
dropped, directions stalled (some longer than socket.timeout.ms), frames truncated mid-way.
Every message gets exactly one report and is delivered (message.timeout.ms outlasts the
faults), nothing acknowledged is lost, and with max.in.flight=1 the log keeps produce order
(retries may duplicate, first occurrences stay in order)."""

from __future__ import annotations

import time
from types import ModuleType

import pytest

from tests.integration.faults._util import (
    QUIET, Proxied, SteadyProducer, bounded_close, consume_all, create_topic, seconds,
)
from tests.support.faultproxy import Rule
from tests.support.invariants import Ledger

PARTITIONS = 3


def random_rules(scale: float = 1.0) -> list[Rule]:
    """The fault mix: per frame, a small chance of each fault (drawn from the proxy's seed)."""
    p = 0.004 * scale
    return [
        Rule("drop", direction="both", probability=p, name="drop"),
        Rule("stall", direction="response", probability=p, seconds=0.7, name="stall 0.7s"),
        Rule("stall", direction="request", probability=p / 2, seconds=1.5, name="stall 1.5s"),
        Rule("stall", direction="response", probability=p / 2, seconds=3.5, name="stall 3.5s"),  # > socket.timeout.ms
        Rule("truncate", direction="both", probability=p, name="truncate"),
    ]


def run_random_faults(client: ModuleType, proxied: Proxied, duration: float, rules: list[Rule]) -> dict[str, object]:
    topic = create_topic(proxied.bootstrap, "random-faults", PARTITIONS)
    producer = client.Producer({
        "bootstrap.servers": proxied.bootstrap, "message.timeout.ms": 60000, "socket.timeout.ms": 3000,
        "max.in.flight.requests.per.connection": 1, "retry.backoff.ms": 50, **QUIET,
    })
    ledger = Ledger()
    stream = SteadyProducer(producer, ledger, topic, rate=250)
    proxied.proxy.set_rules(*rules)
    stream.run(duration)
    proxied.proxy.clear_rules()
    t0 = time.monotonic()
    left = ledger.flush(producer, 60)
    drained = time.monotonic() - t0
    fired = proxied.proxy.fired()
    assert left == 0, f"{left} messages still waiting 60 s after the faults stopped"
    bounded_close(ledger, producer)
    summary = ledger.check_reports(ordered=True, expect_delivered=True)
    consumed = consume_all(proxied.bootstrap, topic, PARTITIONS, expected=len(summary.delivered), timeout=60)
    log = ledger.check_log(consumed, ordered=True, allow_duplicates=True)
    counts: dict[str, int] = {}
    for e in fired:
        counts[e["rule"]] = counts.get(e["rule"], 0) + 1
    result = {"messages": len(ledger.sent), "faults": counts, "duplicates": sum(n - 1 for n in log.duplicates.values()),
              "drained_s": round(drained, 2)}
    print(f"\n[{client.__name__}] random faults: {result}")
    assert sum(counts.values()) >= 3, f"too few faults fired to mean anything: {counts}"
    return result


def test_random_drops_stalls_truncations(client: ModuleType, proxied: Proxied) -> None:
    """The CI slice: fixed seed (RDPY_FAULTS_SEED, 12), 10 s per client."""
    run_random_faults(client, proxied, seconds(10.0), random_rules())


@pytest.mark.faults_long
def test_random_faults_long(client: ModuleType, proxied: Proxied) -> None:
    """The same, 90 s per client with twice the fault rate (RDPY_FAULTS_LONG=1)."""
    run_random_faults(client, proxied, seconds(90.0), random_rules(scale=2.0))
