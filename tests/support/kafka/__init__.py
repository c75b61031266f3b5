"""Real Apache Kafka for the tests: jars from Maven Central (dist), a test PKI (certs), the
single four-listener broker and the 3-node cluster (server), pytest fixtures (fixtures).

The Kafka version is pinned once, in dist.KAFKA_VERSION.
"""

from tests.support.kafka.dist import KAFKA_VERSION, KafkaDistError, kafka_libs
from tests.support.kafka.server import (
    LISTENERS,
    SASL_MECHANISMS,
    SUPER_USER,
    USERS,
    KafkaBroker,
    KafkaCluster,
    KafkaNode,
    KafkaStartError,
    start_kafka_broker,
    start_kafka_cluster,
)

__all__ = [
    "KAFKA_VERSION",
    "LISTENERS",
    "SASL_MECHANISMS",
    "SUPER_USER",
    "USERS",
    "KafkaBroker",
    "KafkaCluster",
    "KafkaDistError",
    "KafkaNode",
    "KafkaStartError",
    "kafka_libs",
    "start_kafka_broker",
    "start_kafka_cluster",
]
