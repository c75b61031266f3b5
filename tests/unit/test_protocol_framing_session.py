"""FrameDecoder, ProtocolSession, header versions and version negotiation."""

from __future__ import annotations

import os

import pytest

from rdpy.protocol import (
    FrameDecoder,
    ProtocolError,
    ProtocolSession,
    ResponseHeader,
    frame,
    negotiate,
    pick_version,
    request_header_version,
    response_header_version,
    supported_versions,
)
from rdpy.protocol.framing import LARGE_FRAME
from rdpy.protocol.messages import api_versions as av
from rdpy.protocol.messages import metadata as md
from rdpy.protocol.messages import produce as pr


def test_frames_split_at_every_byte_boundary() -> None:
    payloads = [b"", b"a", b"hello world" * 3, bytes(range(200))]
    stream = b"".join(frame(p) for p in payloads)
    for cut in range(len(stream) + 1):
        d = FrameDecoder()
        out = d.feed(stream[:cut]) + d.feed(stream[cut:])
        assert [bytes(f) for f in out] == payloads
        assert d.buffered() == 0
    d = FrameDecoder()
    out = []
    for i in range(len(stream)):
        out += d.feed(stream[i : i + 1])
    assert out == payloads


def test_large_frame_in_pieces_and_mixed() -> None:
    big = os.urandom(LARGE_FRAME + 12345)
    stream = frame(b"x") + frame(big) + frame(b"yz")
    for step in (1 << 16, 4093, len(stream)):
        d = FrameDecoder()
        out = []
        for i in range(0, len(stream), step):
            out += d.feed(memoryview(stream)[i : i + step])
        assert [bytes(f) for f in out] == [b"x", big, b"yz"]


@pytest.mark.parametrize("size", [-1, 101, 2**31 - 1])
def test_oversize_or_negative_frame_rejected(size: int) -> None:
    d = FrameDecoder(max_frame_size=100)
    with pytest.raises(ProtocolError, match="invalid frame size"):
        d.feed(size.to_bytes(4, "big", signed=True) + b"abc")
    with pytest.raises(ProtocolError):  # stays broken
        d.feed(b"")


def test_announced_size_alone_allocates_nothing() -> None:
    """A peer announcing a 90 MB frame and sending 100 bytes of it costs about 100 bytes, not
    90 MB (issue 12: memory follows what was received, not what was announced)."""
    import tracemalloc

    decoder = FrameDecoder()
    tracemalloc.start()
    try:
        assert decoder.feed((90_000_000).to_bytes(4, "big") + b"x" * 100) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoder.buffered() == 100
    assert peak < 1_000_000, peak
    # ... and the frame still comes out whole when its bytes do arrive.
    rest = b"y" * (90_000_000 - 100)
    for i in range(0, len(rest), 1 << 22):
        frames = decoder.feed(rest[i:i + (1 << 22)])
    assert [len(f) for f in frames] == [90_000_000]


def test_header_versions() -> None:
    assert request_header_version(18, 3) == 2 and request_header_version(18, 2) == 1
    assert request_header_version(0, 9) == 2 and request_header_version(0, 8) == 1
    assert request_header_version(7, 0) == 0
    assert response_header_version(18, 3) == 0  # ApiVersionsResponse: always v0
    assert response_header_version(3, 9) == 1 and response_header_version(3, 8) == 0
    with pytest.raises(ProtocolError):
        request_header_version(9999, 0)


def _response_frame(corr: int, resp: object, api_key: int, version: int) -> bytes:
    hdr = ResponseHeader(correlation_id=corr).encode(response_header_version(api_key, version))
    return hdr + resp.encode(version)  # type: ignore[attr-defined]


def test_session_roundtrip_and_correlation() -> None:
    s = ProtocolSession("cid")
    req = md.MetadataRequest(topics=None)
    c1, f1 = s.send_request(req, 12)
    c2, f2 = s.send_request(av.ApiVersionsRequest(), 3)
    assert (c1, c2) == (0, 1) and s.pending() == 2
    # The frame is size-prefixed and carries our header.
    assert FrameDecoder().feed(f1)[0] == f1[4:]
    assert f1[4:12] == b"\x00\x03\x00\x0c\x00\x00\x00\x00"
    resp = md.MetadataResponse(cluster_id="c", controller_id=1)
    got = s.receive(_response_frame(c1, resp, 3, 12))
    assert got.correlation_id == c1 and got.response == resp and got.request is req
    assert s.pending() == 1
    with pytest.raises(ProtocolError, match="unknown correlation id 0"):
        s.receive(_response_frame(c1, resp, 3, 12))
    with pytest.raises(ProtocolError, match="unknown correlation id 77"):
        s.receive(_response_frame(77, resp, 3, 12))
    got = s.receive(_response_frame(c2, av.ApiVersionsResponse(), 18, 3))
    assert isinstance(got.response, av.ApiVersionsResponse) and s.pending() == 0


def test_session_tolerates_trailing_bytes_and_counts_them() -> None:
    # librdkafka's mock cluster appends a byte to Metadata v12; Java and librdkafka ignore it.
    s = ProtocolSession("cid")
    corr, _ = s.send_request(md.MetadataRequest(topics=None), 12)
    resp = md.MetadataResponse(cluster_id="c", controller_id=1)
    got = s.receive(_response_frame(corr, resp, 3, 12) + b"\x00\x07")
    assert got.response == resp
    assert s.trailing_bytes_ignored == 2


def test_session_acks0_and_wrap() -> None:
    s = ProtocolSession(None, first_correlation_id=2**31 - 1)
    c, _ = s.send_request(pr.ProduceRequest(acks=0), 9)
    assert c == 2**31 - 1 and s.pending() == 0
    c, _ = s.send_request(pr.ProduceRequest(acks=1), 9)
    assert c == 0 and s.pending() == 1
    c, _ = s.send_request(pr.ProduceRequest(acks=0), 9, expect_response=True)
    assert s.pending() == 2
    assert len(s.clear()) == 2 and s.pending() == 0
    with pytest.raises(ProtocolError, match="not a request"):
        s.send_request(pr.ProduceResponse(), 9)


def test_api_versions_fallback_to_v0_body() -> None:
    s = ProtocolSession("x")
    c, _ = s.send_request(av.ApiVersionsRequest(client_software_name="a"), 3)
    legacy = av.ApiVersionsResponse(error_code=35, api_keys=[av.ApiVersion(api_key=18, max_version=2)])
    got = s.receive(ResponseHeader(correlation_id=c).encode(0) + legacy.encode(0))
    assert got.response.error_code == 35  # type: ignore[attr-defined]


def test_version_negotiation() -> None:
    assert pick_version((0, 11), (3, 9)) == 9
    assert pick_version((5, 7), (0, 4)) is None
    assert pick_version((0, 3), None) is None
    assert supported_versions(0) == (pr.ProduceRequest.MIN_VERSION, pr.ProduceRequest.MAX_VERSION)
    resp = av.ApiVersionsResponse(api_keys=[
        av.ApiVersion(api_key=0, min_version=0, max_version=9),
        av.ApiVersion(api_key=3, min_version=0, max_version=99)])
    from rdpy.protocol import broker_ranges

    got = negotiate(broker_ranges(resp.api_keys))
    assert got == {0: 9, 3: md.MetadataRequest.MAX_VERSION}
    assert negotiate({0: (0, 9)}, wanted={0: (3, 7), 1: (4, 12)}) == {0: 7}


def test_supported_versions_table_matches_every_generated_class() -> None:
    # The table lets negotiation skip importing the API modules; it must never drift from them.
    from rdpy.protocol.messages import API_MODULES, API_VERSIONS, request_type, response_type

    assert set(API_VERSIONS) == set(API_MODULES)
    for key, rng in API_VERSIONS.items():
        req, resp = request_type(key), response_type(key)
        assert supported_versions(key) == rng == (req.MIN_VERSION, req.MAX_VERSION), key
        assert (resp.MIN_VERSION, resp.MAX_VERSION) == rng, key
