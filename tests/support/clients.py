"""The client modules the acceptance suites run against, and what each of them can do.

A test takes the ``client`` fixture and gets the imported module (``confluent_kafka`` is the
reference, ``rdpy`` the client under test), so one test body drives both:
``client.Producer(conf)``, ``client.KafkaError._MSG_TIMED_OUT``, ``client.KafkaException``.

Where the clients differ on purpose, the difference is data in ``CAPABILITIES`` and the test
asserts each client's declared behaviour -- never a silent skip. Every client in
``CLIENT_MODULES`` must declare every capability (``has_capability`` raises otherwise).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

__all__ = ["CAPABILITIES", "CLIENT_MODULES", "client", "has_capability", "outcome"]

CLIENT_MODULES: list[str] = ["confluent_kafka", "rdpy"]

CAPABILITIES: dict[str, dict[str, bool]] = {
    "confluent_kafka": {
        # `partitioner` given a Python callable. confluent-kafka rejects it when the Producer is
        # created: KafkaException(_INVALID_ARG, 'Invalid value for configuration property
        # "partitioner": <function ...>'). A client declaring True must call it as
        # partitioner(key: bytes | None, partition_count: int, ...) -> int.
        "callable_partitioner": False,
        # poll()/flush() blocked on an idle or unreachable cluster return to the interpreter
        # often enough (<= 200 ms) that SIGINT raises KeyboardInterrupt promptly.
        "interruptible_wait": True,
        # With check.crcs=true, after reporting a batch whose CRC does not match, the consumer
        # stays at that batch (reporting it again on later fetches) until the application
        # seeks past it. librdkafka 2.16 does report it (_BAD_MSG, "MessageSet at offset ...
        # failed CRC32C check ..."), but then refetches it at once, repeating the error many
        # times a second, and soon misreads the data after it ("Unsupported Message(Set)
        # MagicByte 104 at offset 562949979361253") and reports end of partition.
        "stays_at_corrupt_batch": False,
        # A record that cannot be decoded (its fields overrun its length) in a batch whose
        # CRC is right: the records before it are returned, then an error (_BAD_MSG, at the
        # offset where reading stopped) is reported on every later fetch of it until the
        # application seeks past. librdkafka 2.16 returns the records before it and then
        # stops reading the partition without any error.
        "reports_undecodable_records": False,
        # offsets_for_times given the same partition twice with different timestamps looks
        # each one up. librdkafka 2.16 answers every entry of that partition from one lookup.
        "answers_each_repeated_lookup": False,
        # offsets_for_times/get_watermark_offsets answered with a retriable error (the leader
        # moved: NOT_LEADER_OR_FOLLOWER) refresh the metadata and ask again within the
        # timeout. librdkafka 2.16 raises the error ("Failed to get offsets: Broker: Not
        # leader for partition").
        "retries_offset_lookups": False,
        # A partition assigned at its committed offset whose OffsetFetch is answered
        # NOT_COORDINATOR: the coordinator is looked up again, the committed offset asked for
        # again, and the partition starts there without any error event. librdkafka 2.16
        # reports it (consumer error NOT_COORDINATOR, 'Failed to fetch committed offsets for 0
        # partition(s) in group "...": Broker: Not coordinator') and never starts the partition
        # (until it is assigned again).
        "requeries_coordinator_for_committed_offsets": False,
        # offsets_for_times whose ListOffsets answer carries a partition error the table
        # retries (REQUEST_TIMED_OUT) returns what the request sent again answered. librdkafka
        # 2.16 does send it again, but returns the first answer for the partition without
        # raising: offset -1 with TopicPartition.error REQUEST_TIMED_OUT
        # (rd_kafka_get_offsets_for_times_resp_cb parses every answer into one results list,
        # and rd_kafka_topic_partition_list_update takes the partition's first entry).
        "answers_retried_offsets_for_times": False,
        # security.protocol ssl, sasl_plaintext and sasl_ssl (TLS; SASL PLAIN and SCRAM-SHA-256/512).
        # A client declaring False must refuse them when the Producer/Consumer is created:
        # KafkaException(_NOT_IMPLEMENTED).
        "tls_and_sasl": True,
    },
    "rdpy": {
        # rdpy accepts partitioner=callable(key, partition_count) -> int, called on the
        # application's thread only.
        "callable_partitioner": True,
        "interruptible_wait": True,
        # rdpy reports the batch, refetches it after fetch.error.backoff.ms and never skips
        # it by itself.
        "stays_at_corrupt_batch": True,
        "reports_undecodable_records": True,
        # rdpy sends a partition's second timestamp in a second ListOffsets request.
        "answers_each_repeated_lookup": True,
        "retries_offset_lookups": True,
        # A deliberate difference (docs/DESIGN.md, consumer invariants): rdpy retries.
        "requeries_coordinator_for_committed_offsets": True,
        "answers_retried_offsets_for_times": True,
        # Not yet: Producer()/Consumer() raise KafkaException(_NOT_IMPLEMENTED) for any
        # security.protocol other than plaintext.
        "tls_and_sasl": False,
    },
}


def has_capability(client: ModuleType, name: str) -> bool:
    """Whether `client` declares capability `name`; undeclared clients or names are errors."""
    try:
        caps = CAPABILITIES[client.__name__]
    except KeyError:
        raise KeyError(f"client {client.__name__!r} declares no CAPABILITIES") from None
    try:
        return caps[name]
    except KeyError:
        raise KeyError(f"client {client.__name__!r} does not declare capability {name!r}") from None


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What call() comes to, in a form two clients' answers can be compared in: ("ok", its
    result), or the name of the exception it raised and its message."""
    try:
        return ("ok", call())
    except Exception as e:  # noqa: BLE001 - the comparison is of exception types and messages
        return (type(e).__name__, str(e))


@pytest.fixture(params=CLIENT_MODULES)
def client(request: pytest.FixtureRequest) -> ModuleType:
    """The client module under test (one parametrization per entry of CLIENT_MODULES)."""
    return importlib.import_module(request.param)
