"""Statistics documents are shaped by the schema: values the collector gives that the schema
does not place, or declared fields it lacks, are bugs that raise; a running client's documents
validate exactly even with no broker."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import rdpy
from rdpy.config import Conf
from rdpy.stats.counters import BrokerCounters, TopicCounters
from rdpy.stats.schema import children
from rdpy.stats.shape import SchemaMismatch, shape
from rdpy.stats.validate import validate_json


def _top_values() -> dict[str, Any]:
    values: dict[str, Any] = {f.name: 0 for f in children((), "producer")}
    values.update({"name": "n", "client_id": "c", "type": "producer", "brokers": {},
                   "topics": {}})
    for optional in ("cgrp", "eos", "fatal"):
        values.pop(optional, None)
    return values


def test_shape_writes_schema_order_and_refuses_drift() -> None:
    values = _top_values()
    doc = shape(dict(reversed(list(values.items()))), "producer")
    assert list(doc) == [k for k in (f.name for f in children((), "producer"))
                         if k in values]
    with pytest.raises(SchemaMismatch, match="undeclared keys at <root>: \\['bogus'\\]"):
        shape({**values, "bogus": 1}, "producer")
    del values["replyq"]
    with pytest.raises(SchemaMismatch, match="no value for replyq"):
        shape(values, "producer")


def test_consumer_only_keys_are_not_written_for_producers() -> None:
    # "cgrp" is declared for consumers only: a producer giving it is a bug.
    with pytest.raises(SchemaMismatch, match="cgrp"):
        shape({**_top_values(), "cgrp": {}}, "producer")


@pytest.mark.parametrize("kind", ["producer", "consumer"])
def test_documents_from_a_client_without_a_broker_validate(kind: str) -> None:
    docs: list[str] = []
    conf = {"bootstrap.servers": "127.0.0.1:1", "statistics.interval.ms": 100,
            "stats_cb": docs.append, "reconnect.backoff.ms": 10}
    if kind == "producer":
        client: Any = rdpy.Producer(conf)
        client.produce("t", b"queued while no broker is reachable")
        poll = client.poll
    else:
        client = rdpy.Consumer({**conf, "group.id": "g"})
        client.assign([rdpy.TopicPartition("t", 0, rdpy.OFFSET_BEGINNING)])
        poll = client.poll
    deadline = time.monotonic() + 5
    while len(docs) < 3 and time.monotonic() < deadline:
        poll(0.05)
    try:
        assert len(docs) >= 3
        for text in docs:
            result = validate_json(text, kind, allow_placeholders=False)
            assert result.ok, result
        doc = json.loads(docs[-1])
        assert doc["type"] == kind
        (bootstrap,) = doc["brokers"].values()
        assert bootstrap["name"] == "127.0.0.1:1/bootstrap" and bootstrap["nodeid"] == -1
        assert bootstrap["state"] != "UP" and bootstrap["connects"] >= 1
        assert doc["ts"] > json.loads(docs[0])["ts"]
        if kind == "producer":
            assert doc["msg_cnt"] == 1 and doc["msg_size"] == 35
            assert doc["topics"]["t"]["partitions"]["-1"]["msgq_cnt"] == 1
    finally:
        if kind == "producer":
            client.purge()
            client.flush(1)
        else:
            client.close()


@pytest.mark.parametrize("with_stats", [True, False])
def test_windows_are_fed_only_while_statistics_are_on(with_stats: bool) -> None:
    conf: dict[str, Any] = {"statistics.interval.ms": 1000}
    if with_stats:
        conf["stats_cb"] = print
    settings = Conf.from_dict(conf, "producer").finalize("producer")
    broker, topic = BrokerCounters(settings), TopicCounters(settings)
    broker.sent(0, 100, 0.002, 1.0)
    broker.received(50, 0.003, 7, 1.0)
    topic.batch(1000, 10)
    # Plain counters are always kept; windows only with someone to read them.
    assert (broker.tx, broker.txbytes, broker.rx, broker.rxbytes) == (1, 100, 1, 50)
    counts = [w.rollover().cnt for w in (broker.outbuf_latency, broker.rtt, broker.throttle,
                                         topic.batchsize, topic.batchcnt)]
    assert counts == ([1] * 5 if with_stats else [0] * 5)
