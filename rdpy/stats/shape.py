"""Shaping a statistics document: collected values in, librdkafka's JSON object out, in the
schema's order. Pure functions, no thread of their own (the main thread calls them).

The engine's collector (rdpy/client/stats_collect.py) reads the running client into plain
nested dicts; ``shape`` walks the schema (rdpy.stats.schema) and writes exactly the declared
keys for the client type. A value the collector gives that the schema does not declare, or a
declared field it does not give, raises ``SchemaMismatch``, so the schema and the collector
cannot drift apart (tests/unit/test_stats_emit.py shapes real documents from a running client).
"""

from __future__ import annotations

from collections.abc import Mapping

from rdpy.config.conf import ClientType
from rdpy.stats.schema import ANY, Presence, children, is_map

__all__ = ["SchemaMismatch", "shape"]


class SchemaMismatch(AssertionError):
    """The collector and the schema disagree: a bug in rdpy, never a user error."""


def shape(values: Mapping[str, object], client: ClientType,
          path: tuple[str, ...] = ()) -> dict[str, object]:
    """The object at schema ``path`` built from ``values``, keys in schema order."""
    if is_map(path):
        return {key: shape(_mapping(v, (*path, key)), client, (*path, ANY))
                for key, v in values.items()}
    out: dict[str, object] = {}
    declared = set()
    for f in children(path, client):
        declared.add(f.name)
        if f.name not in values:
            if f.presence is Presence.ALWAYS:
                raise SchemaMismatch(f"statistics: no value for {f.dotted}")
            continue
        v = values[f.name]
        if f.presence is Presence.NONZERO and not v:
            continue
        out[f.name] = shape(v, client, f.path) if isinstance(v, Mapping) else v
    extra = set(values) - declared
    if extra:
        raise SchemaMismatch(f"statistics: undeclared keys at {'.'.join(path) or '<root>'}: "
                             f"{sorted(extra)}")
    return out


def _mapping(value: object, path: tuple[str, ...]) -> Mapping[str, object]:
    """An entry of a map level (a broker, a topic, a partition) is an object of its own."""
    if not isinstance(value, Mapping):
        raise SchemaMismatch(f"statistics: {'.'.join(path)} is not an object")
    return value
