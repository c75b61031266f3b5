"""examples/stats_to_prometheus.py's conversion, on the statistics librdkafka itself wrote.

The example's point is that one exporter serves rdpy and librdkafka alike, so its pure
conversion function is checked here on the documents captured from confluent-kafka's stats_cb
(tests/data/librdkafka_stats_*.json); tests/integration/test_examples.py runs it on rdpy's.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "stats_to_prometheus.py"
DATA = ROOT / "tests" / "data"

# name{label="value",...} value, as the text exposition format writes a sample.
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*)\} (\S+)')
LABEL = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"')

Samples = dict[str, dict[frozenset[tuple[str, str]], float]]


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stats_to_prometheus_under_test", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _doc(kind: str) -> dict[str, Any]:
    with open(DATA / f"librdkafka_stats_{kind}.json", encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    return doc


def _parse(text: str) -> Samples:
    """Parse exposition text strictly: every family declared once by HELP then TYPE, its
    samples right after, nothing else."""
    assert text.endswith("\n")
    samples: Samples = {}
    family = ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# HELP "):
            family = line.split(" ")[2]
            assert family not in samples, f"{family} declared twice"
            assert lines[i + 1].startswith(f"# TYPE {family} ")
            assert lines[i + 1].split(" ")[3] in ("gauge", "counter")
            samples[family] = {}
        elif line.startswith("# TYPE "):
            continue
        else:
            m = SAMPLE.fullmatch(line)
            assert m is not None, f"not a sample line: {line!r}"
            assert m.group(1) == family, f"{m.group(1)} outside its family"
            labels = frozenset(LABEL.findall(m.group(2)))
            assert labels not in samples[family], f"duplicate sample {line!r}"
            samples[family][labels] = float(m.group(3))
    for name, found in samples.items():
        assert found, f"{name} declared without samples"
    return samples


def _by(samples: Samples, family: str, label: str) -> dict[str, float]:
    """One family's samples keyed by the value of one label."""
    return {dict(labels)[label]: v for labels, v in samples[family].items()}


def test_librdkafka_producer_document(example: ModuleType) -> None:
    doc = _doc("producer")
    samples = _parse(example.to_prometheus(doc))
    client = frozenset({("client", doc["name"])})
    assert samples["rdkafka_msg_cnt"] == {client: doc["msg_cnt"]}
    assert samples["rdkafka_msg_size_bytes"] == {client: doc["msg_size"]}
    for key, family in (("tx", "rdkafka_tx_total"), ("tx_bytes", "rdkafka_tx_bytes_total"),
                        ("rx", "rdkafka_rx_total"), ("rx_bytes", "rdkafka_rx_bytes_total"),
                        ("txmsgs", "rdkafka_txmsgs_total"),
                        ("txmsg_bytes", "rdkafka_txmsg_bytes_total")):
        assert samples[family] == {client: doc[key]}, family
        assert doc[key] > 0
    # A producer exports no consumer-only families.
    assert not any(f.startswith(("rdkafka_rxmsg", "rdkafka_partition_rx", "rdkafka_cgrp"))
                   for f in samples)

    brokers = doc["brokers"]
    assert _by(samples, "rdkafka_broker_state", "broker") == {name: 6 for name in brokers}
    assert _by(samples, "rdkafka_broker_tx_total", "broker") == {
        name: b["tx"] for name, b in brokers.items()}
    assert _by(samples, "rdkafka_broker_rxbytes_total", "broker") == {
        name: b["rxbytes"] for name, b in brokers.items()}
    assert _by(samples, "rdkafka_broker_waitresp_cnt", "broker") == {
        name: b["waitresp_cnt"] for name, b in brokers.items()}
    for q in ("p50", "p99"):
        rtt = _by(samples, f"rdkafka_broker_rtt_{q}_seconds", "broker")
        assert rtt == {name: pytest.approx(b["rtt"][q] / 1e6) for name, b in brokers.items()}
        assert all(v > 0 for v in rtt.values())

    # Per partition, without librdkafka's internal "-1" partition; the sum is the total.
    (topic, t), = doc["topics"].items()
    txmsgs = samples["rdkafka_partition_txmsgs_total"]
    assert {dict(labels)["topic"] for labels in txmsgs} == {topic}
    by_partition = _by(samples, "rdkafka_partition_txmsgs_total", "partition")
    assert by_partition == {p: v["txmsgs"] for p, v in t["partitions"].items() if p != "-1"}
    assert sum(by_partition.values()) == doc["txmsgs"]
    assert _by(samples, "rdkafka_partition_msgq_cnt", "partition") == {
        p: v["msgq_cnt"] for p, v in t["partitions"].items() if p != "-1"}


def test_librdkafka_consumer_document(example: ModuleType) -> None:
    doc = _doc("consumer")
    samples = _parse(example.to_prometheus(doc))
    client = frozenset({("client", doc["name"])})
    assert samples["rdkafka_rxmsgs_total"] == {client: doc["rxmsgs"]}
    assert samples["rdkafka_rxmsg_bytes_total"] == {client: doc["rxmsg_bytes"]}
    assert doc["rxmsgs"] > 0
    assert not any(f.startswith(("rdkafka_msg_", "rdkafka_txmsg", "rdkafka_partition_tx",
                                 "rdkafka_partition_msgq")) for f in samples)
    # Logical brokers are brokers too.
    states = _by(samples, "rdkafka_broker_state", "broker")
    assert "GroupCoordinator" in states and set(states.values()) == {6}

    (topic, t), = doc["topics"].items()
    rx = _by(samples, "rdkafka_partition_rxmsgs_total", "partition")
    assert rx == {p: v["rxmsgs"] for p, v in t["partitions"].items() if p != "-1"}
    assert sum(rx.values()) == doc["rxmsgs"]
    # This capture never committed: lag and committed offset are unknown (-1, -1001) and left
    # out rather than exported as numbers.
    assert all(v["consumer_lag"] == -1 for v in t["partitions"].values())
    assert "rdkafka_partition_consumer_lag" not in samples
    assert "rdkafka_partition_committed_offset" not in samples

    assert samples["rdkafka_cgrp_assignment_size"] == {client: doc["cgrp"]["assignment_size"]}
    assert samples["rdkafka_cgrp_rebalance_cnt_total"] == {client: doc["cgrp"]["rebalance_cnt"]}


def test_known_lag_is_exported(example: ModuleType) -> None:
    doc = _doc("consumer")
    partitions = next(iter(doc["topics"].values()))["partitions"]
    partitions["0"].update(consumer_lag=42, committed_offset=1000)
    samples = _parse(example.to_prometheus(doc))
    assert _by(samples, "rdkafka_partition_consumer_lag", "partition") == {"0": 42}
    assert _by(samples, "rdkafka_partition_committed_offset", "partition") == {"0": 1000}


def test_several_clients_share_each_family_once(example: ModuleType) -> None:
    producer, consumer = _doc("producer"), _doc("consumer")
    samples = _parse(example.to_prometheus(producer, consumer))  # _parse refuses repeats
    assert {dict(labels)["client"] for labels in samples["rdkafka_tx_total"]} == {
        producer["name"], consumer["name"]}
    assert len(samples["rdkafka_broker_state"]) == len(producer["brokers"]) + len(
        consumer["brokers"])


def test_odd_values_and_missing_keys(example: ModuleType) -> None:
    # A client.id is free text: label values are escaped. Keys a document lacks (another
    # librdkafka version) are skipped, an unknown broker state is -1.
    doc = {"name": 'a "b" \\ c\nd#producer-1', "type": "producer", "msg_cnt": 3,
           "brokers": {"b1": {"state": "SOMETHING_NEW", "rtt": {"p50": 1500}}}}
    text = example.to_prometheus(doc)
    samples = _parse(text)
    assert 'client="a \\"b\\" \\\\ c\\nd#producer-1"' in text
    assert list(samples["rdkafka_msg_cnt"].values()) == [3]
    assert list(samples["rdkafka_broker_state"].values()) == [-1]
    assert list(samples["rdkafka_broker_rtt_p50_seconds"].values()) == [0.0015]
    assert set(samples) == {"rdkafka_msg_cnt", "rdkafka_broker_state",
                            "rdkafka_broker_rtt_p50_seconds"}
    assert example.to_prometheus() == ""
