"""The examples in examples/ run against a real broker and do what they say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import confluent_kafka

from tests.support.broker import BrokerEndpoint
from tests.support.reading import consume_all
from tests.support.topics import create_topic

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run_example(script: str, *args: str, bootstrap: str | None = None, timeout: float = 60) -> str:
    """Run examples/`script` with `args`; it must succeed. Its output. With `bootstrap` it is
    told the cluster through BOOTSTRAP_SERVERS, without it BOOTSTRAP_SERVERS is unset."""
    env = {k: v for k, v in os.environ.items() if k != "BOOTSTRAP_SERVERS"}
    if bootstrap is not None:
        env["BOOTSTRAP_SERVERS"] = bootstrap
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_producer_example_delivers_everything(broker: BrokerEndpoint) -> None:
    topic = f"rdpy-example-{uuid.uuid4().hex[:8]}"
    out = _run_example("producer.py", broker.bootstrap_servers, topic, "2500")
    assert out.strip() == "delivered 2500, failed 0, still queued 0"


def test_quickstart_against_the_given_cluster(broker: BrokerEndpoint) -> None:
    out = _run_example("quickstart.py", bootstrap=broker.bootstrap_servers, timeout=90)
    lines = out.splitlines()
    assert "started a local Tansu broker" not in out
    assert lines[0].startswith("produced 5000 messages") and lines[0].endswith("all delivered")
    assert "5000 of 5000, all intact" in lines[1]


def test_quickstart_starts_its_own_broker() -> None:
    out = _run_example("quickstart.py", timeout=90)
    assert out.startswith("started a local Tansu broker at 127.0.0.1:")
    assert "5000 of 5000, all intact" in out


def test_stats_to_prometheus_serves_real_metrics(broker: BrokerEndpoint) -> None:
    out = _run_example("stats_to_prometheus.py", bootstrap=broker.bootstrap_servers, timeout=120)
    assert "started a local Tansu broker" not in out
    assert re.search(r"^serving metrics on http://127\.0\.0\.1:\d+/metrics$", out, re.MULTILINE)
    assert "produced 3000 messages" in out
    # The printed samples, as Prometheus would read them: family -> [(labels, value)].
    samples: dict[str, list[tuple[str, float]]] = {}
    for m in re.finditer(r"^  (\w+)\{(.*)\} (\S+)$", out, re.MULTILINE):
        samples.setdefault(m.group(1), []).append((m.group(2), float(m.group(3))))
    assert [v for labels, v in samples["rdkafka_txmsgs_total"] if "#producer-" in labels] == [3000]
    assert [v for labels, v in samples["rdkafka_rxmsgs_total"] if "#consumer-" in labels] == [3000]
    # Both clients are connected to the broker (6 = UP). Round-trip times cover the last
    # statistics interval only, which may have been idle: they need only be there.
    assert {v for _, v in samples["rdkafka_broker_state"]} == {6}
    assert all(v >= 0 for _, v in samples["rdkafka_broker_rtt_p99_seconds"])
    # Per partition: every message is counted once, and the committed consumer has no lag.
    partitions = samples["rdkafka_partition_txmsgs_total"]
    assert sum(v for _, v in partitions) == 3000
    assert all('topic="rdpy-stats-' in labels for labels, _ in partitions)
    assert samples["rdkafka_partition_consumer_lag"]
    assert {v for _, v in samples["rdkafka_partition_consumer_lag"]} == {0}


def test_consumer_example_reads_everything_once_and_resumes(broker: BrokerEndpoint) -> None:
    """examples/consumer.py reads every message, commits, and a second run starts after them."""
    topic = f"rdpy-example-{uuid.uuid4().hex[:8]}"
    group = f"rdpy-example-{uuid.uuid4().hex[:8]}"

    def run(script: str, *args: str) -> str:
        return _run_example(script, broker.bootstrap_servers, *args).strip()

    assert run("producer.py", topic, "2500") == "delivered 2500, failed 0, still queued 0"
    assert run("consumer.py", topic, group) == "read 2500 messages"
    assert run("consumer.py", topic, group) == "read 0 messages"
    assert run("producer.py", topic, "10") == "delivered 10, failed 0, still queued 0"
    assert run("consumer.py", topic, group) == "read 10 messages"


def test_transactions_example_transforms_each_record_exactly_once(
        broker: BrokerEndpoint) -> None:
    """examples/transactions.py: every input record's result once in the output, read
    read_committed; a second run finds nothing new (the offsets went with the results)."""
    bootstrap = broker.bootstrap_servers
    source = f"rdpy-example-in-{uuid.uuid4().hex[:8]}"
    sink = f"rdpy-example-out-{uuid.uuid4().hex[:8]}"
    group = f"rdpy-example-{uuid.uuid4().hex[:8]}"
    create_topic({"bootstrap.servers": bootstrap}, source, 3)
    create_topic({"bootstrap.servers": bootstrap}, sink, 3)
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for i in range(350):
        producer.produce(source, f"record {i}".encode(), key=str(i).encode())
    assert producer.flush(30) == 0

    def run() -> str:
        return _run_example("transactions.py", bootstrap, source, sink, group,
                            timeout=120).strip()

    assert run() == "transformed 350 records"
    assert run() == "transformed 0 records"
    out = consume_all(bootstrap, sink, 3, expected=350, **{"isolation.level": "read_committed"})
    assert sorted(m.value() for m in out) == sorted(f"RECORD {i}".encode() for i in range(350))


def test_consumer_group_example_shares_a_topic_and_resumes(broker: BrokerEndpoint) -> None:
    """examples/consumer_group.py: two members started together read every message exactly
    once between them (each commits what it processed), and a later run reads only what was
    produced since."""
    topic = f"rdpy-example-group-{uuid.uuid4().hex[:8]}"
    group = f"rdpy-example-group-{uuid.uuid4().hex[:8]}"
    create_topic({"bootstrap.servers": broker.bootstrap_servers}, topic, partitions=4)
    assert _run_example("producer.py", broker.bootstrap_servers, topic, "2000").strip() == \
        "delivered 2000, failed 0, still queued 0"
    script = str(EXAMPLES / "consumer_group.py")
    members = [subprocess.Popen([sys.executable, script, broker.bootstrap_servers, topic, group, "4"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [m.communicate(timeout=90) for m in members]
    for m, (_, err) in zip(members, outputs):
        assert m.returncode == 0, err
    counts = [int(re.fullmatch(r"read (\d+) messages\n", out).group(1))  # type: ignore[union-attr]
              for out, _ in outputs]
    # Both read everything between them: one member may have read it all before the other
    # joined, or they shared the partitions; a message read by both was read before a
    # rebalance moved its partition and its commit landed, which commit-after-each-message
    # keeps to the messages in flight at that moment.
    assert sum(counts) >= 2000, counts
    assert sum(counts) <= 2000 + 100, counts
    assert _run_example("producer.py", broker.bootstrap_servers, topic, "10").strip() == \
        "delivered 10, failed 0, still queued 0"
    assert _run_example("consumer_group.py", broker.bootstrap_servers, topic, group, "2").strip() == \
        "read 10 messages"
