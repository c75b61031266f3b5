"""rdpy's statistics JSON against librdkafka's, from the same scenario on the same broker.

confluent-kafka (librdkafka) and rdpy each produce the same messages to their own topic, then
consume them back with assign(), with statistics.interval.ms set; the last document of each is
compared level by level (objects, and the union of the entries of maps such as brokers or
partitions): rdpy must have every key librdkafka has, with the same JSON type (librdkafka's
"Unknown-NN?" request-name placeholders excepted), message counts must be equal and message byte
counts within 10%.  Every rdpy document must also validate against the schema exactly.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import confluent_kafka
import pytest

import rdpy
from rdpy.stats.schema import ANY, PLACEHOLDER_REQUEST_NAME, is_map
from rdpy.stats.validate import validate_json
from tests.support.topics import create_topic

PARTITIONS = 3
MESSAGES = 3000
INTERVAL_MS = 200

CLIENTS = {"confluent_kafka": confluent_kafka, "rdpy": rdpy}


def _create_topic(bootstrap: str, name: str) -> None:
    # Once every leader takes writes: on Kafka a brand-new topic answers the first Produce
    # requests with NOT_LEADER_OR_FOLLOWER for a moment, and librdkafka counts the retried
    # messages in txmsgs again (3706 for 3000 seen), so the counts would not compare.
    create_topic({"bootstrap.servers": bootstrap}, name, PARTITIONS)


def _wait_for_docs(poll: Callable[[float], Any], docs: list[str], extra: int) -> None:
    """Poll until `extra` more documents arrived after the work was done (fresh counters)."""
    want = len(docs) + extra
    deadline = time.monotonic() + 10
    while len(docs) < want and time.monotonic() < deadline:
        poll(0.05)
    assert len(docs) >= want, "no statistics emitted"


def _produce(mod: Any, bootstrap: str, topic: str) -> list[str]:
    docs: list[str] = []
    p = mod.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "client.id": "stats-cmp",
                      "statistics.interval.ms": INTERVAL_MS, "stats_cb": docs.append})
    failed: list[Any] = []
    for i in range(MESSAGES):
        p.produce(topic, value=b"v" * (50 + i % 100), key=b"key-%d" % (i % 17),
                  on_delivery=lambda err, msg: failed.append(err) if err else None)
        p.poll(0)
    assert p.flush(30) == 0
    assert not failed
    _wait_for_docs(p.poll, docs, 2)
    return docs


def _consume(mod: Any, bootstrap: str, topic: str) -> str:
    docs: list[str] = []
    c = mod.Consumer({"bootstrap.servers": bootstrap, "group.id": f"stats-{uuid.uuid4().hex}",
                      "client.id": "stats-cmp", "enable.auto.commit": False,
                      "statistics.interval.ms": INTERVAL_MS, "stats_cb": docs.append})
    try:
        c.assign([mod.TopicPartition(topic, p, mod.OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got = 0
        deadline = time.monotonic() + 30
        while got < MESSAGES and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                got += 1
        assert got == MESSAGES
        _wait_for_docs(c.poll, docs, 2)
        return docs[-1]
    finally:
        c.close()


@pytest.fixture(scope="module")
def documents(broker: Any) -> Iterator[dict[str, dict[str, dict[str, Any]]]]:
    bootstrap = broker.bootstrap_servers
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, mod in CLIENTS.items():
        topic = f"rdpy-stats-cmp-{name}-{uuid.uuid4().hex[:8]}"
        _create_topic(bootstrap, topic)
        produced = _produce(mod, bootstrap, topic)
        consumed = _consume(mod, bootstrap, topic)
        if mod is rdpy:
            for text in produced:
                result = validate_json(text, "producer", allow_placeholders=False)
                assert result.ok, result
            result = validate_json(consumed, "consumer", allow_placeholders=False)
            assert result.ok, result
        out[name] = {"producer": json.loads(produced[-1]), "consumer": json.loads(consumed),
                     "producer_series": [json.loads(t) for t in produced]}
    yield out


def _levels(doc: Mapping[str, Any], path: tuple[str, ...] = ()
            ) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """(schema path, object) for every object in the document; map entries under "*"."""
    if is_map(path):
        for value in doc.values():
            if isinstance(value, Mapping):
                yield from _levels(value, (*path, ANY))
        return
    yield path, doc
    for key, value in doc.items():
        if isinstance(value, Mapping):
            yield from _levels(value, (*path, key))


def _key_types(doc: Mapping[str, Any]) -> dict[tuple[str, ...], dict[str, str]]:
    """Per schema path: every key seen at that level (over all map entries) -> JSON type."""
    out: dict[tuple[str, ...], dict[str, str]] = {}
    for path, obj in _levels(doc):
        level = out.setdefault(path, {})
        for key, value in obj.items():
            if path[-1:] == ("req",) and PLACEHOLDER_REQUEST_NAME.match(key):
                continue
            level[key] = _json_type(value)
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return type(value).__name__


@pytest.mark.parametrize("kind", ["producer", "consumer"])
def test_rdpy_has_every_key_librdkafka_has_with_the_same_types(
        documents: dict[str, dict[str, dict[str, Any]]], kind: str) -> None:
    theirs = _key_types(documents["confluent_kafka"][kind])
    ours = _key_types(documents["rdpy"][kind])
    missing_levels = sorted(".".join(p) for p in theirs if p not in ours)
    assert not missing_levels, f"levels librdkafka writes and rdpy does not: {missing_levels}"
    missing: list[str] = []
    wrong_type: list[str] = []
    for path, keys in theirs.items():
        for key, t in keys.items():
            mine = ours[path].get(key)
            if mine is None:
                missing.append(".".join((*path, key)))
            elif mine != t:
                wrong_type.append(f"{'.'.join((*path, key))}: librdkafka {t}, rdpy {mine}")
    assert not missing, f"keys librdkafka writes and rdpy does not: {missing}"
    assert not wrong_type, wrong_type


def _within(ours: int, theirs: int, tolerance: float = 0.10) -> bool:
    return abs(ours - theirs) <= tolerance * max(theirs, 1)


def test_producer_counters_agree(documents: dict[str, dict[str, dict[str, Any]]]) -> None:
    theirs = documents["confluent_kafka"]["producer"]
    ours = documents["rdpy"]["producer"]
    assert ours["txmsgs"] == theirs["txmsgs"] == MESSAGES
    assert _within(ours["txmsg_bytes"], theirs["txmsg_bytes"]), \
        (ours["txmsg_bytes"], theirs["txmsg_bytes"])
    assert ours["msg_cnt"] == theirs["msg_cnt"] == 0
    # Per partition: what was produced there was acknowledged there.
    for doc in (ours, theirs):
        (topic,) = doc["topics"].values()
        parts = [p for k, p in topic["partitions"].items() if k != "-1"]
        assert sum(p["txmsgs"] for p in parts) == MESSAGES
        assert sum(p["msgs"] for p in parts) == MESSAGES
    # Requests really counted: Produce requests on the brokers, bytes on the wire.
    produce_requests = sum(b["req"].get("Produce", 0) for b in ours["brokers"].values())
    assert produce_requests >= 1
    assert ours["tx_bytes"] > ours["txmsg_bytes"]
    assert ours["tx"] == sum(b["tx"] for b in ours["brokers"].values())


def test_consumer_counters_agree(documents: dict[str, dict[str, dict[str, Any]]]) -> None:
    theirs = documents["confluent_kafka"]["consumer"]
    ours = documents["rdpy"]["consumer"]
    assert ours["rxmsgs"] == theirs["rxmsgs"] == MESSAGES
    assert _within(ours["rxmsg_bytes"], theirs["rxmsg_bytes"]), \
        (ours["rxmsg_bytes"], theirs["rxmsg_bytes"])
    for doc in (ours, theirs):
        (topic,) = doc["topics"].values()
        parts = {k: p for k, p in topic["partitions"].items() if k != "-1"}
        assert sum(p["rxmsgs"] for p in parts.values()) == MESSAGES
        for p in parts.values():
            assert p["fetch_state"] == "active"
            assert p["desired"] is True
            assert p["app_offset"] == p["hi_offset"] == p["next_offset"]
    fetches = sum(b["req"].get("Fetch", 0) for b in ours["brokers"].values())
    assert fetches >= 1
    assert ours["rx_bytes"] > ours["rxmsg_bytes"]
    # assign() is not a group assignment: librdkafka reports 0, and so must rdpy.
    assert ours["cgrp"]["assignment_size"] == theirs["cgrp"]["assignment_size"] == 0
    assert ours["cgrp"]["join_state"] == theirs["cgrp"]["join_state"] == "init"


@pytest.mark.parametrize("client", list(CLIENTS))
def test_windows_measure_every_message_and_batch(
        documents: dict[str, Any], client: str) -> None:
    # Windows restart every interval, so over the whole series each produced message is in
    # exactly one int_latency window and one batchcnt sum; librdkafka and rdpy alike.
    series = documents[client]["producer_series"]
    latencies = sum(b["int_latency"]["cnt"] for d in series for b in d["brokers"].values())
    batched = sum(t["batchcnt"]["sum"] for d in series for t in d["topics"].values())
    batches = sum(t["batchcnt"]["cnt"] for d in series for t in d["topics"].values())
    rtts = sum(b["rtt"]["cnt"] for d in series for b in d["brokers"].values())
    produce_requests = max(sum(b["req"].get("Produce", 0) for b in d["brokers"].values())
                           for d in series)
    assert latencies == MESSAGES
    assert batched == MESSAGES
    assert batches >= PARTITIONS
    assert rtts >= produce_requests >= 1
    busiest = max((b["rtt"] for d in series for b in d["brokers"].values()),
                  key=lambda w: w["cnt"])
    assert 0 < busiest["min"] <= busiest["p50"] <= busiest["p99"] <= busiest["max"] + \
        busiest["max"] // 50 + 1


def _idempotent_eos(mod: Any, bootstrap: str, topic: str, per_partition: int) -> dict[str, Any]:
    """The last statistics document of an idempotent producer that wrote `per_partition`
    messages to each partition of `topic`."""
    docs: list[str] = []
    p = mod.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True,
                      "statistics.interval.ms": INTERVAL_MS, "stats_cb": docs.append})
    for i in range(per_partition * PARTITIONS):
        p.produce(topic, value=b"v%d" % i, partition=i % PARTITIONS)
        p.poll(0)
    assert p.flush(30) == 0
    _wait_for_docs(p.poll, docs, 2)
    if mod is rdpy:
        result = validate_json(docs[-1], "producer", allow_placeholders=False)
        assert result.ok, result
    doc: dict[str, Any] = json.loads(docs[-1])
    return doc


def test_idempotent_producer_eos_statistics_agree(broker: Any) -> None:
    """The "eos" object and the partitions' sequence fields of an idempotent producer: the
    same keys and types as librdkafka's, and the same values after the same messages."""
    per_partition = 200
    docs = {}
    for name, mod in CLIENTS.items():
        topic = f"rdpy-stats-eos-{name}-{uuid.uuid4().hex[:8]}"
        _create_topic(broker.bootstrap_servers, topic)
        docs[name] = (_idempotent_eos(mod, broker.bootstrap_servers, topic, per_partition), topic)
    (theirs, their_topic), (ours, our_topic) = docs["confluent_kafka"], docs["rdpy"]
    assert {k: _json_type(v) for k, v in ours["eos"].items()} == \
        {k: _json_type(v) for k, v in theirs["eos"].items()}
    for doc in (theirs, ours):
        eos = doc["eos"]
        assert (eos["idemp_state"], eos["txn_state"], eos["txn_may_enq"], eos["epoch_cnt"],
                eos["producer_epoch"]) == ("Assigned", "Init", False, 1, 0)
        assert eos["producer_id"] >= 0
    for doc, topic in ((theirs, their_topic), (ours, our_topic)):
        for partition in range(PARTITIONS):
            part = doc["topics"][topic]["partitions"][str(partition)]
            assert (part["next_ack_seq"], part["next_err_seq"], part["acked_msgid"],
                    part["msgs_inflight"]) == (per_partition, per_partition, per_partition, 0)
