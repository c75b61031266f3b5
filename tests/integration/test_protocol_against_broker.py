"""The protocol and record layers alone, over a raw socket, against a real broker.

ApiVersions, Metadata, CreateTopics, Produce (one RecordBatch per codec, with headers) and Fetch
must succeed; confluent-kafka (librdkafka) must then consume exactly those records; and what
confluent-kafka produces with every codec, rdpy's reader must decode to the same records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from rdpy.protocol.messages import (
    CreateTopicsRequest,
    FetchRequest,
    MetadataRequest,
    ProduceRequest,
)
from rdpy.protocol.messages.create_topics import CreatableTopic
from rdpy.protocol.messages.fetch import FetchPartition, FetchTopic
from rdpy.protocol.messages.metadata import MetadataRequestTopic
from rdpy.protocol.messages.produce import PartitionProduceData, TopicProduceData
from rdpy.records import Record, RecordBatchBuilder, codec_id, read_batches
from tests.support.broker import BrokerEndpoint
from tests.support.rawclient import RawConnection

confluent_kafka = pytest.importorskip("confluent_kafka")

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
API_KEYS = {"Produce": 0, "Fetch": 1, "Metadata": 3, "ApiVersions": 18, "CreateTopics": 19}


class Sent(NamedTuple):
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    timestamp: int


def sample_records(tag: str, count: int = 40) -> list[Sent]:
    """Keys and values of every shape: null, empty, text, binary, compressible, large."""
    base_ts = 1_700_000_000_000
    out: list[Sent] = []
    for i in range(count):
        key: bytes | None = None if i % 7 == 0 else (b"" if i % 11 == 0 else f"key-{i}".encode())
        value: bytes | None
        if i % 13 == 5:
            value = None
        elif i % 5 == 0:
            value = bytes(range(256)) * 4
        else:
            value = (f"{tag} value {i} " * (1 + i % 9)).encode()
        headers: list[tuple[str, bytes | None]] = [("trace", f"t{i}".encode()), ("né", b"\x00\xff")]
        if i % 3 == 0:
            headers.append(("null-header", None))
        if i % 4 == 0:
            headers = []
        out.append(Sent(key, value, headers, base_ts + i * 17))
    return out


@pytest.fixture
def conn(broker: BrokerEndpoint) -> Iterator[RawConnection]:
    with RawConnection(broker.bootstrap_servers) as c:
        c.negotiate_versions()
        yield c


def create_topic(conn: RawConnection, name: str, partitions: int = 1) -> None:
    response = conn.request(
        CreateTopicsRequest(
            topics=[CreatableTopic(name=name, num_partitions=partitions, replication_factor=1)],
            timeout_ms=10_000,
        )
    )
    assert [(t.name, t.error_code) for t in response.topics] == [(name, 0)], response
    wait_for_leaders(conn, name, partitions)


def topic_metadata(conn: RawConnection, name: str) -> Any:
    response = conn.request(
        MetadataRequest(topics=[MetadataRequestTopic(name=name)], allow_auto_topic_creation=False)
    )
    (topic,) = response.topics
    return topic


def wait_for_leaders(conn: RawConnection, name: str, partitions: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        topic = topic_metadata(conn, name)
        if (
            topic.error_code == 0
            and len(topic.partitions) == partitions
            and all(p.leader_id >= 0 for p in topic.partitions)
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} has no leaders: {topic}")


def produce_batch(conn: RawConnection, topic: str, batch: bytes) -> int:
    response = conn.request(
        ProduceRequest(
            acks=-1,
            timeout_ms=10_000,
            topic_data=[
                TopicProduceData(
                    name=topic, partition_data=[PartitionProduceData(index=0, records=batch)]
                )
            ],
        )
    )
    (topic_response,) = response.responses
    (partition,) = topic_response.partition_responses
    assert partition.error_code == 0, partition
    base_offset: int = partition.base_offset
    return base_offset


def fetch_partition_0(conn: RawConnection, topic: str, topic_id: uuid.UUID, offset: int, max_wait_ms: int) -> Any:
    """One Fetch of partition 0 of `topic` from `offset` (read_uncommitted); the response."""
    return conn.request(
        FetchRequest(
            replica_id=-1,
            max_wait_ms=max_wait_ms,
            min_bytes=1,
            max_bytes=50 << 20,
            isolation_level=0,
            topics=[
                FetchTopic(
                    topic=topic,
                    topic_id=topic_id,
                    partitions=[FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=10 << 20)],
                )
            ],
        )
    )


def fetch_all(conn: RawConnection, topic: str, expected: int) -> list[Record]:
    """Fetch partition 0 from offset 0 until `expected` records arrived; decode them with rdpy."""
    topic_id = topic_metadata(conn, topic).topic_id
    records: list[Record] = []
    offset = 0
    deadline = time.monotonic() + 15
    while len(records) < expected and time.monotonic() < deadline:
        response = fetch_partition_0(conn, topic, topic_id, offset, max_wait_ms=500)
        assert response.error_code == 0, response
        (topic_response,) = response.responses
        (partition,) = topic_response.partitions
        assert partition.error_code == 0, partition
        for batch in read_batches(partition.records or b"", check_crcs=True):
            for record in batch.records():
                if record.offset >= offset:
                    records.append(record)
            offset = max(offset, batch.next_offset)
    return records


def assert_same(sent: list[Sent], got: list[Record]) -> None:
    assert [r.offset for r in got] == list(range(len(sent)))
    assert [(r.key, r.value, list(r.headers), r.timestamp) for r in got] == [
        (s.key, s.value, s.headers, s.timestamp) for s in sent
    ]


def test_api_versions_lists_the_core_apis(conn: RawConnection) -> None:
    for name, key in API_KEYS.items():
        assert key in conn.versions, f"no common version for {name}"


def test_metadata_names_the_broker(conn: RawConnection, broker: BrokerEndpoint) -> None:
    response = conn.request(MetadataRequest(topics=[]))
    assert response.brokers, response
    advertised = {f"{b.host}:{b.port}" for b in response.brokers}
    if not broker.external:
        assert broker.bootstrap_servers in advertised


@pytest.mark.parametrize("codec", CODECS)
def test_rdpy_produces_confluent_consumes(conn: RawConnection, broker: BrokerEndpoint, codec: str) -> None:
    topic = f"rdpy-raw-produce-{codec}-{uuid.uuid4().hex[:8]}"
    create_topic(conn, topic)
    sent = sample_records(codec)
    builder = RecordBatchBuilder(compression=codec_id(codec))
    for s in sent:
        assert builder.append(s.timestamp, s.key, s.value, s.headers)
    assert produce_batch(conn, topic, builder.build()) == 0

    # Fetched back over the raw socket and decoded by rdpy ...
    assert_same(sent, fetch_all(conn, topic, len(sent)))

    # ... and consumed by librdkafka, byte for byte.
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "group.id": f"g-{topic}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
        got: list[Any] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF and len(got) >= len(sent):
                    break
                if msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(msg.error())
            got.append(msg)
    finally:
        consumer.close()
    assert [m.offset() for m in got] == list(range(len(sent)))
    assert [
        (m.key(), m.value(), m.headers() or [], m.timestamp()) for m in got
    ] == [
        (s.key, s.value, s.headers, (confluent_kafka.TIMESTAMP_CREATE_TIME, s.timestamp))
        for s in sent
    ]


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_produces_rdpy_decodes(conn: RawConnection, broker: BrokerEndpoint, codec: str) -> None:
    topic = f"rdpy-raw-consume-{codec}-{uuid.uuid4().hex[:8]}"
    create_topic(conn, topic)
    sent = sample_records(codec)
    producer = confluent_kafka.Producer(
        {
            "bootstrap.servers": broker.bootstrap_servers,
            "compression.type": codec,
            "linger.ms": 50,
            "enable.idempotence": True,
        }
    )
    delivered: list[Any] = []

    def on_delivery(err: Any, msg: Any) -> None:
        assert err is None, err
        delivered.append(msg)

    for s in sent:
        producer.produce(
            topic,
            value=s.value,
            key=s.key,
            partition=0,
            timestamp=s.timestamp,
            headers=s.headers or None,
            on_delivery=on_delivery,
        )
    assert producer.flush(20) == 0
    assert len(delivered) == len(sent)

    got = fetch_all(conn, topic, len(sent))
    assert_same(sent, got)
    # The batches really were compressed with the codec under test.
    raw = fetch_partition_0(conn, topic, topic_metadata(conn, topic).topic_id, 0, max_wait_ms=100)
    batches = list(read_batches(raw.responses[0].partitions[0].records or b""))
    assert batches and {b.compression for b in batches} == {codec_id(codec)}
    assert all(b.producer_id >= 0 for b in batches), "idempotent batches carry a producer id"
