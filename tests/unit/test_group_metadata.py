"""The consumer group metadata a transactional producer is given: librdkafka's serialized
layout, byte for byte what confluent-kafka's Consumer.consumer_group_metadata() returns, and
its parsing errors."""

from __future__ import annotations

import pytest

from rdpy import Consumer, KafkaError, KafkaException
from rdpy.client.group.metadata import GroupMetadata

#: confluent-kafka 2.16.1, Consumer({'group.id': 'grp'}).consumer_group_metadata() before
#: joining: generation -1, no member id, no group instance id.
CONFLUENT_ASSIGN_ONLY = b"CGMDv2:\xff\xff\xff\xffgrp\x00\x00\x01"


def test_an_assign_only_consumer_serializes_as_confluent_kafka() -> None:
    assert GroupMetadata("grp").serialize() == CONFLUENT_ASSIGN_ONLY
    assert GroupMetadata.parse(CONFLUENT_ASSIGN_ONLY) == GroupMetadata("grp", -1, "", None)


def test_round_trip_with_member_and_instance() -> None:
    md = GroupMetadata("g", 7, "member-1", "instance-a")
    assert GroupMetadata.parse(md.serialize()) == md


@pytest.mark.parametrize("data, text", [
    (b"junk", "Input buffer is too short"),
    (b"XXXXXX:\x00\x00\x00\x00g\x00\x00\x01", "Input buffer is not a serialized consumer group "
                                              "metadata object"),
    (b"CGMDv2:\x00\x00\x00\x00g\x00\x00\x01extra", "Input buffer bad length"),
    (b"CGMDv2:\x00\x00\x00\x00g\x01\x00\x00\x01", "Input buffer group id is not safe"),
])
def test_bad_input_is_refused_as_librdkafka_does(data: bytes, text: str) -> None:
    with pytest.raises(KafkaException) as excinfo:
        GroupMetadata.parse(data)
    err = excinfo.value.args[0]
    assert (err.code(), err.str()) == (KafkaError._BAD_MSG, text)


def test_the_consumer_hands_out_its_metadata() -> None:
    c = Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "grp", "log_level": 0})
    try:
        assert c.consumer_group_metadata() == CONFLUENT_ASSIGN_ONLY
    finally:
        c.close()
