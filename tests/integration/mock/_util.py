"""Helpers for the suite that proves rdpy's mock cluster against confluent-kafka."""

from __future__ import annotations

import uuid

__all__ = ["unique"]


def unique(prefix: str) -> str:
    """A name no other test uses (topics, groups, transactional ids), readable in logs."""
    return f"rdpy-mock-{prefix}-{uuid.uuid4().hex[:8]}"
