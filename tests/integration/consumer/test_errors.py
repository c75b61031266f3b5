"""Error cases whose exact codes applications branch on."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.integration.consumer._util import consumer_conf, unique_topic
from tests.support.rdkafka_mock import LibrdkafkaMockCluster


def test_seek_on_a_known_but_unassigned_partition_is_a_state_error(
    consumer_client: ModuleType, make_consumer: Any, librdkafka_mock: LibrdkafkaMockCluster
) -> None:
    ck = consumer_client
    topic = unique_topic("seek-state")
    librdkafka_mock.create_topic(topic, 2)
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
