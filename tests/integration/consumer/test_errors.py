"""Error cases whose exact codes applications branch on."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.integration.consumer._util import consumer_conf, mock_topic
from tests.support.rdkafka_mock import LibrdkafkaMockCluster


def test_seek_on_a_known_but_unassigned_partition_is_a_state_error(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    ck = consumer_client
    topic = mock_topic(librdkafka_mock, "seek-state", 2)
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    # Looking at a partition (watermarks) does not make it known to seek() ...
    assert consumer.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, 0)
    with pytest.raises(ck.KafkaException) as info:
        consumer.seek(ck.TopicPartition(topic, 0, 0))
    assert info.value.args[0].code() == ck.KafkaError._UNKNOWN_PARTITION
    # ... having been assigned does: then it is a state error.
    consumer.assign([ck.TopicPartition(topic, 0, 0)])
    consumer.poll(0.2)
    consumer.assign([ck.TopicPartition(topic, 1, 0)])
    with pytest.raises(ck.KafkaException) as info:
        consumer.seek(ck.TopicPartition(topic, 0, 0))
    assert info.value.args[0].code() == ck.KafkaError._STATE
    assert "Failed to seek to offset 0" in info.value.args[0].str()


def test_calls_after_close_raise_runtime_error(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    ck = consumer_client
    consumer = make_consumer(consumer_conf(librdkafka_mock.bootstrap_servers))
    consumer.close()
    consumer.close()  # idempotent
    with pytest.raises(RuntimeError, match="Consumer closed"):
        consumer.poll(0)
    with pytest.raises(RuntimeError, match="Consumer closed"):
        consumer.assign([ck.TopicPartition("t", 0)])
    with pytest.raises(RuntimeError, match="Handle has been closed"):
        consumer.list_topics(timeout=1)


def _assignment_of(consumer: Any) -> list[tuple[str, int, int]]:
    return [(p.topic, p.partition, p.offset) for p in consumer.assignment()]


def _raises(ck: ModuleType, code: int, fn: Any, *args: Any) -> str:
    with pytest.raises(ck.KafkaException) as info:
        fn(*args)
    assert info.value.args[0].code() == code
    return str(info.value.args[0].str())


def test_assignment_changes_are_checked_before_anything_changes(
    consumer_client: ModuleType, make_consumer: Any
) -> None:
    """librdkafka's rd_kafka_assignment_add/subtract checks, with their codes and words; no
    broker is needed (nothing is fetched), so the bootstrap address refuses connections."""
    ck = consumer_client
    consumer = make_consumer(consumer_conf("127.0.0.1:1"))
    tp = ck.TopicPartition
    assert _raises(ck, ck.KafkaError._INVALID_ARG, consumer.incremental_unassign,
                   [tp("t", 1)]) == "Can't subtract from empty assignment"
    # assign() reports the code only (its old assignment is cleared first, as librdkafka's).
    for bad in ([tp("t", 0, 5), tp("t", 0, 6)], [tp("t", 0, -5)]):
        assert _raises(ck, ck.KafkaError._INVALID_ARG, consumer.assign, bad) == (
            "Failed to set assignment: Local: Invalid argument or configuration")
        assert _assignment_of(consumer) == []
    consumer.assign([tp("t", 0, ck.OFFSET_END), tp("t", 2, -2005)])  # OFFSET_TAIL(5) is fine
    assert _raises(ck, ck.KafkaError._INVALID_ARG, consumer.incremental_assign,
                   [tp("u", 0, 1), tp("u", 0, 2)]) == "Duplicate u [0] in input list"
    assert _raises(ck, ck.KafkaError._INVALID_ARG, consumer.incremental_assign,
                   [tp("u", 0, -3)]) == "u [0] has invalid start offset -3"
    assert _raises(ck, ck.KafkaError._CONFLICT, consumer.incremental_assign,
                   [tp("u", 1, 7), tp("t", 0, 7)]) == "t [0] is already part of the current assignment"
    assert _raises(ck, ck.KafkaError._INVALID_ARG, consumer.incremental_unassign,
                   [tp("t", 0), tp("u", 0)]) == "u [0] can't be unassigned since it is not in the current assignment"
    # Nothing changed on the way.
    assert sorted(_assignment_of(consumer)) == [("t", 0, ck.OFFSET_END), ("t", 2, -2005)]
    consumer.incremental_unassign([tp("t", 0)])
    assert _assignment_of(consumer) == [("t", 2, -2005)]
