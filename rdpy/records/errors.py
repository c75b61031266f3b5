"""Errors raised by the sans-I/O record layer."""

from __future__ import annotations

__all__ = ["RecordError", "CorruptRecordError", "UnsupportedCodecError"]


class RecordError(Exception):
    """Base class for record-layer errors."""


class CorruptRecordError(RecordError):
    """Malformed record data: bad lengths or varints, CRC mismatch, undecodable compression."""


class UnsupportedCodecError(RecordError):
    """A compression codec id this client does not know (attributes bits 0-2 of 5, 6 or 7)."""
