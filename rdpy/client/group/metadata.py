"""The consumer group metadata a transactional producer commits offsets for
(send_offsets_to_transaction): the group, the consumer's generation and member id, and its
group.instance.id. confluent-kafka hands it around as bytes in librdkafka's
rd_kafka_consumer_group_metadata_write() layout, which `serialize()` and `parse()` follow. A
value type: no thread, no state.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rdpy.errors import ErrorCode, KafkaError, KafkaException

__all__ = ["GroupMetadata"]

_CGMD_MAGIC = b"CGMDv2:"


@dataclass(frozen=True)
class GroupMetadata:
    """A consumer's group metadata. Serialized: "CGMDv2:", the generation as a native int32,
    the group id and member id NUL-terminated, a byte saying whether the group instance id is
    null, then that id NUL-terminated."""

    group_id: str
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None

    def serialize(self) -> bytes:
        out = (_CGMD_MAGIC + struct.pack("=i", self.generation_id)
               + self.group_id.encode() + b"\0" + self.member_id.encode() + b"\0")
        if self.group_instance_id is None:
            return out + b"\x01"
        return out + b"\x00" + self.group_instance_id.encode() + b"\0"

    @classmethod
    def parse(cls, data: bytes) -> GroupMetadata:
        """As rd_kafka_consumer_group_metadata_read(); KafkaException(_BAD_MSG) otherwise."""
        if len(data) < len(_CGMD_MAGIC) + 4 + 3:
            raise _bad_cgmd("Input buffer is too short")
        if not data.startswith(_CGMD_MAGIC):
            raise _bad_cgmd("Input buffer is not a serialized consumer group metadata object")
        (generation,) = struct.unpack_from("=i", data, len(_CGMD_MAGIC))
        rest = data[len(_CGMD_MAGIC) + 4:]
        group, rest = _cstring(rest, "group id")
        member, rest = _cstring(rest, "member id")
        if not rest:
            raise _bad_cgmd("Input buffer bad length")
        instance: str | None = None
        is_null, rest = rest[0], rest[1:]
        if not is_null:
            instance, rest = _cstring(rest, "group instance id")
        if rest:
            raise _bad_cgmd("Input buffer bad length")
        return cls(group, generation, member, instance)


def _cstring(data: bytes, what: str) -> tuple[str, bytes]:
    end = data.find(b"\0")
    if end < 0 or not all(0x20 <= c < 0x7F for c in data[:end]):
        raise _bad_cgmd(f"Input buffer {what} is not safe")
    return data[:end].decode(), data[end + 1:]


def _bad_cgmd(text: str) -> KafkaException:
    return KafkaException(KafkaError(ErrorCode._BAD_MSG, text))
