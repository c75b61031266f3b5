"""compression.type is really applied: the batches on the broker carry the codec asked for.

The round-trip tests prove the bytes come back intact; these read the stored batches over a raw
connection and check their compression attribute, for rdpy and for confluent-kafka alike.
The delivery invariants (tests.support.invariants.Ledger) are checked on the way.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from rdpy.protocol.messages import FetchRequest, MetadataRequest
from rdpy.protocol.messages.fetch import FetchPartition, FetchTopic
from rdpy.protocol.messages.metadata import MetadataRequestTopic
from rdpy.records import codec_id, read_batches
from tests.integration.producer._util import consume_all, create_topic, unique_topic
from tests.support.invariants import Ledger
from tests.support.rawclient import RawConnection

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def stored_batches(bootstrap: str, topic: str) -> list[Any]:
    with RawConnection(bootstrap) as conn:
        conn.negotiate_versions()
        (meta,) = conn.request(MetadataRequest(topics=[MetadataRequestTopic(name=topic)])).topics
        response = conn.request(FetchRequest(
            replica_id=-1, max_wait_ms=100, min_bytes=1, max_bytes=10 << 20,
            topics=[FetchTopic(topic=topic, topic_id=meta.topic_id, partitions=[
                FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=10 << 20)])],
        ))
        return list(read_batches(response.responses[0].partitions[0].records or b""))


@pytest.mark.parametrize("codec", CODECS)
def test_batches_use_the_configured_codec(client: ModuleType, broker: Any, codec: str) -> None:
    topic = create_topic(broker.bootstrap_servers, unique_topic(f"wire-{codec}"), 1)
    producer = client.Producer({"bootstrap.servers": broker.bootstrap_servers,
                                "compression.type": codec, "linger.ms": 20})
    ledger = Ledger()
    for i in range(200):
        ledger.produce(producer, topic, (f"compressible value {i % 7} " * 8).encode(), partition=0)
    assert producer.flush(15) == 0
    ledger.check_reports(expect_delivered=True)
    producer.close()
    ledger.check_log(consume_all(broker.bootstrap_servers, topic, 1, expected=200))
    batches = stored_batches(broker.bootstrap_servers, topic)
    assert sum(b.record_count for b in batches) == 200
    assert {b.compression for b in batches} == {codec_id(codec)}
