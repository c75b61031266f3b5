"""How often a client asks for metadata about a topic the cluster does not have: librdkafka
refreshes it with a backoff (topic.metadata.refresh.fast.interval.ms doubling up to
retry.backoff.max.ms), not ten times a second forever (rdpy did, after one
get_watermark_offsets() on a missing topic)."""

from __future__ import annotations

import time
from types import ModuleType

import pytest

from rdpy.mock import MockCluster
from tests.support.clients import client  # noqa: F401

METADATA = 3


def test_unknown_topic_refresh_backs_off(client: ModuleType) -> None:  # noqa: F811
    with MockCluster(num_brokers=1) as cluster:
        consumer = client.Consumer({"bootstrap.servers": cluster.bootstrap_servers,
                                    "group.id": "refresh-backoff", "log_level": 0})
        try:
            with pytest.raises(client.KafkaException):
                consumer.get_watermark_offsets(client.TopicPartition("no-such-topic", 0),
                                               timeout=1)
            before = cluster.request_count(METADATA)
            time.sleep(3)
            asked = cluster.request_count(METADATA) - before
        finally:
            consumer.close()
    # With the backoff: 0.1 + 0.2 + 0.4 + 0.8 + 1 + 1 s... at most about 6 in 3 s.
    assert asked <= 8, f"{asked} Metadata requests in 3 s"
