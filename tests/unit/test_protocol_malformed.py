"""Malformed input: decoders either succeed or raise ProtocolError, never anything else, fast."""

from __future__ import annotations

import time as _clock  # test-only; rdpy.protocol itself never imports it
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdpy.protocol import ProtocolError
from rdpy.protocol.base import Message
from rdpy.protocol.messages import fetch, metadata, produce
from rdpy.protocol.messages.find_coordinator import FindCoordinatorResponse
from rdpy.protocol.messages.sync_group import SyncGroupResponse

from .test_protocol_roundtrip import CASES, message_strategy

# Every response plus a spread of requests/data types, at every version.
MALFORMED_CASES = [(c, v) for c, v in CASES if c.NAME.endswith("Response") or c.API_KEY in (0, 1, 3, 11, 18) or c.API_KEY < 0]
_SETTINGS = settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _decode_or_protocol_error(cls: type[Message], data: bytes, version: int) -> None:
    start = _clock.perf_counter()
    try:
        cls.decode(data, version)
    except ProtocolError as e:
        assert e.api == cls.NAME and e.version == version
        str(e)
    assert _clock.perf_counter() - start < 0.5


@pytest.mark.parametrize("cls,version", MALFORMED_CASES, ids=[f"{c.NAME}-v{v}" for c, v in MALFORMED_CASES])
def test_random_and_truncated_input(cls: type[Message], version: int) -> None:
    @_SETTINGS
    @given(message_strategy(cls, version), st.data())
    def check(obj: Any, data: st.DataObject) -> None:
        good = obj.encode(version)
        cut = data.draw(st.integers(0, max(0, len(good) - 1)))
        _decode_or_protocol_error(cls, good[:cut], version)
        # Flip a byte somewhere.
        if good:
            i = data.draw(st.integers(0, len(good) - 1))
            bad = bytearray(good)
            bad[i] ^= data.draw(st.integers(1, 255))
            _decode_or_protocol_error(cls, bytes(bad), version)
        _decode_or_protocol_error(cls, data.draw(st.binary(max_size=64)), version)

    check()


def test_error_message_names_api_version_and_path() -> None:
    resp = metadata.MetadataResponse(topics=[
        metadata.MetadataResponseTopic(name=f"t{i}", partitions=[
            metadata.MetadataResponsePartition(partition_index=0)]) for i in range(4)])
    data = resp.encode(12)
    with pytest.raises(ProtocolError) as ei:
        metadata.MetadataResponse.decode(data[:-20], 12)
    e = ei.value
    assert e.api == "MetadataResponse" and e.version == 12
    assert e.field is not None and e.field.startswith("topics[3].")
    assert str(e).startswith("MetadataResponse v12: field topics[3].")
    assert "buffer underflow" in str(e) or "exceeds" in str(e)


def test_huge_array_length_is_rejected_without_allocating() -> None:
    # A Fetch response claiming 2**31-1 topics in a 20-byte buffer.
    data = bytes(4) + b"\x00\x00" + bytes(4) + b"\x7f\xff\xff\xff" + bytes(6)
    with pytest.raises(ProtocolError, match="exceeds"):
        fetch.FetchResponse.decode(data, 7)


def test_negative_lengths_and_bad_utf8() -> None:
    with pytest.raises(ProtocolError, match="negative string length"):
        produce.ProduceRequest.decode(b"\xff\xfe" + bytes(10), 3)
    with pytest.raises(ProtocolError, match="null value for non-nullable array"):
        produce.ProduceRequest.decode(b"\xff\xff" + bytes(6) + b"\xff\xff\xff\xff", 3)
    bad = b"\x00\x00" + bytes(6) + b"\x00\x00\x00\x01" + b"\x00\x02\xff\xfe" + bytes(4)
    with pytest.raises(ProtocolError, match="invalid UTF-8") as ei:
        produce.ProduceRequest.decode(bad, 3)
    assert ei.value.field == "topic_data[0].name"


def test_overlong_varint_and_trailing_bytes() -> None:
    with pytest.raises(ProtocolError, match="varint is too long"):
        produce.ProduceRequest.decode(b"\xff" * 12, 9)
    good = produce.ProduceRequest().encode(9)
    with pytest.raises(ProtocolError, match="trailing"):
        produce.ProduceRequest.decode(good + b"\x00", 9)


def test_unsupported_version() -> None:
    with pytest.raises(ProtocolError, match="unsupported version"):
        produce.ProduceRequest().encode(99)
    with pytest.raises(ProtocolError, match="unsupported version"):
        produce.ProduceRequest.decode(b"", 99)


def test_encode_errors_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="non-default"):
        produce.ProduceRequest(transactional_id="x").encode(2)
    with pytest.raises(ProtocolError) as ei:
        produce.ProduceRequest(topic_data=[produce.TopicProduceData(name=None)]).encode(5)  # type: ignore[arg-type]
    assert ei.value.field == "topic_data[0].name"
    with pytest.raises(ProtocolError):
        produce.ProduceRequest(acks=70000).encode(5)


def test_null_in_a_non_nullable_string_reads_as_empty() -> None:
    """librdkafka reads every string as nullable; its mock cluster answers a FindCoordinator
    error with a null host. Refusing it made the broker's error code a _BAD_MSG."""
    # v0: error_code, node_id, host (null), port
    body = bytes.fromhex("001e" "ffffffff" "ffff" "ffffffff")
    response = FindCoordinatorResponse.decode(body, 0)
    assert (response.error_code, response.node_id, response.host, response.port) == (30, -1, "", -1)


def test_null_in_non_nullable_bytes_reads_as_empty() -> None:
    """librdkafka's mock cluster answers a SyncGroup that failed (REBALANCE_IN_PROGRESS) with a
    null assignment. Refusing it turned the broker's error into a _BAD_MSG, and the member
    rejoined a second late: the mock had formed the next generation without it by then."""
    # v3: throttle_time_ms, error_code 27, assignment (null)
    body = bytes.fromhex("00000000" "001b" "ffffffff")
    response = SyncGroupResponse.decode(body, 3)
    assert (response.error_code, response.assignment) == (27, b"")
    # v4 (flexible): compact bytes, 0 = null, then no tagged fields
    body = bytes.fromhex("00000000" "001b" "00" "00")
    response = SyncGroupResponse.decode(body, 4)
    assert (response.error_code, response.assignment) == (27, b"")
