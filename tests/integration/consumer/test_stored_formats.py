"""What a broker may hold on disk besides what today's producers write, read by the consumer:
message sets of the old formats (magic 0 and 1, plain and compressed with every legacy codec,
create and log-append time) ahead of RecordBatches in one partition, as a topic that lived
through a format upgrade has them; and a batch whose CRC no longer matches (check.crcs), which
the consumer reports and does not skip by itself.

The bytes are put into the log of rdpy's mock cluster as stored (MockCluster.append_stored) and
served by Fetch unchanged. confluent-kafka is the reference for what the application sees.
"""

from __future__ import annotations

import struct
import time
from types import ModuleType
from typing import Any

from rdpy.mock import MockCluster
from rdpy.records import GZIP, LZ4, NONE, SNAPPY, ZSTD, RecordBatchBuilder, build_message_set, crc32c
from tests.integration.consumer._util import consumer_conf, drain, mock_topic
from tests.support.clients import has_capability

# (magic, codec, log-append time?) of each stored message set, in log order.
LEGACY_SETS = [
    (0, NONE, False), (0, GZIP, False), (0, SNAPPY, False), (0, LZ4, False),
    (1, NONE, False), (1, GZIP, False), (1, SNAPPY, False), (1, LZ4, False), (1, GZIP, True),
]
PER_SET = 3
BASE_TS = 1_700_000_000_000


def _stored_log(cluster: MockCluster, topic: str) -> list[tuple[int, bytes | None, bytes | None, tuple[int, int]]]:
    """Write the legacy sets, then two v2 batches; returns what a consumer must read:
    (offset, key, value, timestamp) per record."""
    expected = []
    offset = 0
    for n, (magic, codec, log_append) in enumerate(LEGACY_SETS):
        msgs = []
        for i in range(PER_SET):
            key = None if i == 0 else b"k%d-%d" % (n, i)
            value = b"legacy-m%d-c%d-%d" % (magic, codec, i) if i != 1 else None
            msgs.append((offset, BASE_TS + n * 10 + i, key, value))
            if magic == 0:
                ts = (0, 0)  # TIMESTAMP_NOT_AVAILABLE, reported with 0 (librdkafka)
            elif log_append:
                ts = (2, BASE_TS + n * 10 + PER_SET - 1)  # the wrapper's (max) timestamp
            else:
                ts = (1, BASE_TS + n * 10 + i)
            expected.append((offset, key, value, ts))
            offset += 1
        data = build_message_set(magic, msgs, compression=codec, timestamp_type=1 if log_append else 0)
        assert cluster.append_stored(topic, 0, data) == msgs[0][0]
    for codec in (NONE, ZSTD):
        b = RecordBatchBuilder(compression=codec)
        for i in range(PER_SET):
            b.append(BASE_TS + 1000 + i, b"v2-k%d" % i, b"v2-c%d-%d" % (codec, i), [("h", b"%d" % i)])
            expected.append((offset + i, b"v2-k%d" % i, b"v2-c%d-%d" % (codec, i), (1, BASE_TS + 1000 + i)))
        assert cluster.append_stored(topic, 0, b.build(base_offset=offset)) == offset
        offset += PER_SET
    return expected


def test_old_message_formats_before_record_batches(
    consumer_client: ModuleType, make_consumer: Any, rdpy_mock: MockCluster
) -> None:
    ck = consumer_client
    topic = mock_topic(rdpy_mock, "formats", 1)
    expected = _stored_log(rdpy_mock, topic)
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers, **{
        "enable.partition.eof": True, "check.crcs": True}))
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    got = drain(ck, consumer, [(topic, 0)], expected=len(expected))
    assert [(m.offset(), m.key(), m.value(), m.timestamp()) for m in got] == expected
    assert [m.headers() for m in got[-2 * PER_SET:]] == [[("h", b"%d" % i)] for i in range(PER_SET)] * 2
    assert all(m.headers() is None for m in got[:-2 * PER_SET])
    assert consumer.position([ck.TopicPartition(topic, 0)])[0].offset == len(expected)

    # Starting inside a compressed message set: the records before the start are not returned.
    consumer.seek(ck.TopicPartition(topic, 0, 4))
    got = drain(ck, consumer, [(topic, 0)], expected=len(expected) - 4)
    assert [m.offset() for m in got] == list(range(4, len(expected)))


def _three_batches() -> list[bytearray]:
    """Three v2 batches of 3 records (offsets 0-8, values b"batch<n>-value<i>"), as stored,
    for a test to alter before it stores them."""
    out = []
    for n in range(3):
        b = RecordBatchBuilder()
        for i in range(3):
            b.append(BASE_TS + i, None, b"batch%d-value%d" % (n, i), [])
        out.append(bytearray(b.build(base_offset=3 * n)))
    return out


def _damaged_log(cluster: MockCluster, topic: str) -> tuple[list[int], int, str]:
    """_three_batches; the middle one's first value is altered after its CRC was computed.
    Returns the offsets of the good records, the bad batch's offset and the error text
    librdkafka gives for it."""
    batches = _three_batches()
    bad = batches[1]
    crc = struct.unpack_from(">I", bad, 17)[0]
    bad[bad.index(b"batch1-value0")] = ord("B")  # same length: the batch still parses, only its CRC is off
    bad_at = 3
    bad_text = (f"MessageSet at offset {bad_at} ({len(bad) - 12} bytes) failed CRC32C check "
                f"(original {crc:#x} != calculated {crc32c(bytes(bad[21:])):#x})")
    for raw in batches:
        cluster.append_stored(topic, 0, bytes(raw))
    return [0, 1, 2, 6, 7, 8], bad_at, bad_text


def test_check_crcs_reports_a_damaged_batch(
    consumer_client: ModuleType, make_consumer: Any, rdpy_mock: MockCluster
) -> None:
    ck = consumer_client
    topic = mock_topic(rdpy_mock, "crc", 1)
    good, bad_at, bad_text = _damaged_log(rdpy_mock, topic)

    # check.crcs=false (the default): nothing is checked, the altered value is returned.
    unchecked = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers, **{"enable.partition.eof": True}))
    unchecked.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    got = drain(ck, unchecked, [(topic, 0)], expected=9)
    assert [m.offset() for m in got] == list(range(9))
    assert got[3].value() == b"Batch1-value0"

    # check.crcs=true: the records before it, then an error for the batch. The consumer does
    # not skip it on its own (it reports it again when it fetches it again); the application
    # may seek past it.
    checked = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers, **{
        "enable.partition.eof": True, "check.crcs": True}))
    checked.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    events = _events(ck, checked, until=lambda e: e[0] == "error", timeout=10)
    assert events == [("msg", o) for o in good[:3]] + [("error", ck.KafkaError._BAD_MSG, bad_text, bad_at)]
    if not has_capability(ck, "stays_at_corrupt_batch"):
        return  # librdkafka: see tests/support/clients.py
    assert set(_events(ck, checked, until=lambda e: False, timeout=1.5)) <= {events[-1]}
    assert checked.position([ck.TopicPartition(topic, 0)])[0].offset == bad_at

    checked.seek(ck.TopicPartition(topic, 0, bad_at + 3))
    events = _events(ck, checked, until=lambda e: e[0] == "eof", timeout=10)
    assert events == [("msg", o) for o in good[3:]] + [("eof", 9)]
    assert checked.position([ck.TopicPartition(topic, 0)])[0].offset == 9


def _events(ck: ModuleType, consumer: Any, until: Any, timeout: float) -> list[tuple[Any, ...]]:
    """What poll() returns, as ("msg", offset) / ("eof", offset) / ("error", code, text,
    offset), until `until(event)` is true or `timeout` s pass."""
    events: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = consumer.poll(0.1)
        if m is None:
            continue
        err = m.error()
        if err is None:
            event: tuple[Any, ...] = ("msg", m.offset())
        elif err.code() == ck.KafkaError._PARTITION_EOF:
            event = ("eof", m.offset())
        else:
            event = ("error", err.code(), err.str(), m.offset())
        events.append(event)
        if until(event):
            return events
    return events


def test_an_undecodable_record_stops_the_partition_after_the_records_before_it(
    consumer_client: ModuleType, make_consumer: Any, rdpy_mock: MockCluster
) -> None:
    """A batch whose CRC is right but whose second record overruns its declared length (a
    producer bug, not damage): the records before it arrive; the consumer does not skip the
    rest on its own."""
    ck = consumer_client
    topic = mock_topic(rdpy_mock, "undecodable", 1)
    batches = _three_batches()
    bad = batches[1]
    bad[bad.index(b"batch1-value1") - 1] = 0x7E  # value length 63: past the record
    struct.pack_into(">I", bad, 17, crc32c(bytes(bad[21:])))
    for raw in batches:
        rdpy_mock.append_stored(topic, 0, bytes(raw))
    consumer = make_consumer(consumer_conf(rdpy_mock.bootstrap_servers, **{"enable.partition.eof": True}))
    consumer.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    events = _events(ck, consumer, until=lambda e: e[0] == "error", timeout=3)
    assert events[:4] == [("msg", o) for o in range(4)]
    if has_capability(ck, "reports_undecodable_records"):
        assert len(events) == 5 and events[4][:2] == ("error", ck.KafkaError._BAD_MSG)
        assert events[4][3] == 4 and "record 1 (byte 20 of the records)" in events[4][2], events[4]
        # Reported again on later fetches, nothing read past it.
        again = _events(ck, consumer, until=lambda e: False, timeout=1.5)
        assert again and all(e[:2] == ("error", ck.KafkaError._BAD_MSG) and e[3] == 4 for e in again)
    else:
        assert len(events) == 4  # librdkafka: silence
    assert consumer.position([ck.TopicPartition(topic, 0)])[0].offset == 4
    consumer.seek(ck.TopicPartition(topic, 0, 6))
    events = _events(ck, consumer, until=lambda e: e[0] == "eof", timeout=10)
    assert events == [("msg", 6), ("msg", 7), ("msg", 8), ("eof", 9)]
