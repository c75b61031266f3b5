"""Public constants with confluent-kafka's names and librdkafka's values, and rdpy's version.

The top-level ``rdpy`` package re-exports what ``confluent_kafka`` exports at its top level
(``OFFSET_*`` and ``TIMESTAMP_*``); the others here mirror ``confluent_kafka.cimpl`` and are used by
rdpy internally (offset specs for ListOffsets, isolation levels for fetches).
"""

from __future__ import annotations

from rdpy._version import __version__

# Logical offsets (librdkafka's RD_KAFKA_OFFSET_*).
OFFSET_BEGINNING: int = -2
OFFSET_END: int = -1
OFFSET_STORED: int = -1000
OFFSET_INVALID: int = -1001

# ListOffsets specs (confluent_kafka.cimpl.OFFSET_SPEC_*; Kafka's timestamp sentinels).
OFFSET_SPEC_MAX_TIMESTAMP: int = -3
OFFSET_SPEC_EARLIEST: int = -2
OFFSET_SPEC_LATEST: int = -1

# Message timestamp types (librdkafka's rd_kafka_timestamp_type_t).
TIMESTAMP_NOT_AVAILABLE: int = 0
TIMESTAMP_CREATE_TIME: int = 1
TIMESTAMP_LOG_APPEND_TIME: int = 2

# Fetch isolation levels (the Kafka protocol's IsolationLevel).
ISOLATION_LEVEL_READ_UNCOMMITTED: int = 0
ISOLATION_LEVEL_READ_COMMITTED: int = 1


def _version_int(version: str) -> int:
    """librdkafka's hex scheme: 0xMMmmrrxx, with xx = 0xff for a final release (pre-releases lower)."""
    parts = version.split(".")
    major, minor = int(parts[0]), int(parts[1])
    patch_digits = ""
    for ch in parts[2] if len(parts) > 2 else "0":
        if not ch.isdigit():
            break
        patch_digits += ch
    patch = int(patch_digits or "0")
    final = len(parts) <= 3 and (len(parts) < 3 or parts[2] == patch_digits)
    return (major << 24) | (minor << 16) | (patch << 8) | (0xFF if final else 0x00)


#: The librdkafka release whose behaviour rdpy follows (its defaults, error codes, wording).
_LIBRDKAFKA_VERSION = "2.16.0"


def version() -> str:
    """rdpy's own version string, e.g. ``"0.1.0"``.

    As ``confluent_kafka.version()`` does since 2.12: the string only (its stub still says a
    tuple, but the C function returns the string, and code such as
    ``"version %s" % confluent_kafka.version()`` relies on it).
    """
    return __version__


def libversion() -> tuple[str, int]:
    """The librdkafka version whose behaviour rdpy follows, as ``(str, int)``:
    ``("2.16.0", 0x021000ff)``, the int in librdkafka's ``0xMMmmrrxx`` scheme.

    confluent-kafka returns the linked librdkafka's version here; rdpy has no librdkafka
    underneath, so it names the release it mirrors (its semantics and configuration defaults).
    """
    return (_LIBRDKAFKA_VERSION, _version_int(_LIBRDKAFKA_VERSION))
