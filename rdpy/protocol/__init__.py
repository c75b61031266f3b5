"""Sans-I/O Kafka protocol: generated messages, primitives, headers, framing and sessions.

Nothing here does I/O, threading or timekeeping.

    from rdpy.protocol.messages.produce import ProduceRequest, TopicProduceData, PartitionProduceData
    req = ProduceRequest(acks=-1, timeout_ms=30000, topic_data=[
        TopicProduceData(name="t", partition_data=[PartitionProduceData(index=0, records=batch)])])
    body = req.encode(9)
"""

from __future__ import annotations

from .base import FieldSpec, Message, Struct
from .errors import ProtocolError
from .framing import DEFAULT_MAX_FRAME_SIZE, Frame, FrameDecoder, frame
from .headers import (
    RequestHeader,
    ResponseHeader,
    request_header_version,
    response_header_version,
)
from .messages import API_NAMES, all_message_types, data_type, request_type, response_type
from .primitives import Reader, Writer
from .session import PendingRequest, ProtocolSession, Response
from .versions import broker_ranges, negotiate, pick_version, supported_versions

__all__ = [
    "API_NAMES",
    "DEFAULT_MAX_FRAME_SIZE",
    "FieldSpec",
    "Frame",
    "FrameDecoder",
    "Message",
    "PendingRequest",
    "ProtocolError",
    "ProtocolSession",
    "Reader",
    "RequestHeader",
    "Response",
    "ResponseHeader",
    "Struct",
    "Writer",
    "all_message_types",
    "broker_ranges",
    "data_type",
    "frame",
    "negotiate",
    "pick_version",
    "request_header_version",
    "request_type",
    "response_header_version",
    "response_type",
    "supported_versions",
]
