"""Logical offsets as librdkafka knows them: OFFSET_BEGINNING, OFFSET_END, OFFSET_STORED,
OFFSET_INVALID and OFFSET_TAIL(n), which a consumer may be told to start at and resolves to a
real offset later (offsets.py). Pure functions, any thread.
"""

from __future__ import annotations

from rdpy.constants import OFFSET_BEGINNING, OFFSET_END, OFFSET_INVALID, OFFSET_STORED

#: librdkafka's RD_KAFKA_OFFSET_TAIL_BASE: OFFSET_TAIL(n) == -2000 - n.
OFFSET_TAIL_BASE = -2000
#: The logical start offsets assign() accepts (besides OFFSET_TAIL(n)).
_LOGICAL_OFFSETS = frozenset({OFFSET_BEGINNING, OFFSET_END, OFFSET_STORED, OFFSET_INVALID})
#: Start at the group's committed offset.
_COMMITTED = frozenset({OFFSET_STORED, OFFSET_INVALID})
_NAMES = {OFFSET_BEGINNING: "BEGINNING", OFFSET_END: "END", OFFSET_STORED: "STORED",
          OFFSET_INVALID: "INVALID"}


def is_valid_start(offset: int) -> bool:
    """A real offset, a known logical one, or OFFSET_TAIL(n) (rd_kafka_assignment_add)."""
    return offset >= 0 or offset in _LOGICAL_OFFSETS or offset <= OFFSET_TAIL_BASE


def is_tail(offset: int) -> bool:
    """OFFSET_TAIL(n): n messages before the end."""
    return offset <= OFFSET_TAIL_BASE


def tail_count(offset: int) -> int:
    """The n of OFFSET_TAIL(n)."""
    return OFFSET_TAIL_BASE - offset


def starts_at_committed(offset: int) -> bool:
    """OFFSET_STORED or OFFSET_INVALID: start at the group's committed offset."""
    return offset in _COMMITTED


def offset_name(offset: int) -> str:
    """Offsets as librdkafka prints them (rd_kafka_offset2str)."""
    if offset in _NAMES:
        return _NAMES[offset]
    if is_tail(offset):
        return f"TAIL({tail_count(offset)})"
    return str(offset)


__all__ = ["OFFSET_TAIL_BASE", "is_tail", "is_valid_start", "offset_name", "starts_at_committed",
           "tail_count"]
