"""Check a statistics JSON document against the schema (rdpy.stats.schema).

``validate(doc, "producer")`` returns ``(undeclared, missing, mismatched)``:

- undeclared: keys present in the document that the schema does not declare (for that client
  type); librdkafka's ``"Unknown-NN?"`` request-name placeholders are tolerated unless
  ``allow_placeholders=False``;
- missing: declared keys absent from an object that is present (fields written only under a
  condition, ``Presence`` other than ALWAYS, are not required unless listed in ``require``);
- mismatched: values whose JSON type is not the declared one.

Run-time keys (broker names, ``"topic-partition"``, topic names, partition ids) are matched by
the ``"*"`` levels of the schema. Paths in the result are dotted, with the real keys, e.g.
``brokers.127.0.0.1:9092/1.rtt.p99``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import NamedTuple

from rdpy.config.conf import CLIENT_TYPES, ClientType
from rdpy.stats.schema import (
    ANY,
    PLACEHOLDER_REQUEST_NAME,
    Field,
    JsonType,
    Presence,
    children,
    is_map,
)

__all__ = ["ValidationResult", "validate", "validate_json"]


class ValidationResult(NamedTuple):
    undeclared: list[str]
    missing: list[str]
    mismatched: list[str]  # "path: expected int, got str"

    @property
    def ok(self) -> bool:
        return not (self.undeclared or self.missing or self.mismatched)


def _json_type(v: object) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    if v is None:
        return "null"
    return type(v).__name__


def _matches(t: JsonType, v: object) -> bool:
    if t is JsonType.INT:
        return isinstance(v, int) and not isinstance(v, bool)
    if t is JsonType.FLOAT:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t is JsonType.STR:
        return isinstance(v, str)
    if t is JsonType.BOOL:
        return isinstance(v, bool)
    return isinstance(v, dict)


def validate(
    doc: Mapping[str, object],
    client_type: str,
    *,
    require: Collection[Presence] = (),
    allow_placeholders: bool = True,
) -> ValidationResult:
    """Check ``doc`` (a decoded stats document) as written by a ``client_type`` handle."""
    client = _client_type(client_type)
    res = ValidationResult([], [], [])
    _walk(doc, (), (), client, frozenset(require), allow_placeholders, res)
    return res


def validate_json(text: str, client_type: str, *, require: Collection[Presence] = (),
                  allow_placeholders: bool = True) -> ValidationResult:
    """``validate`` on a JSON string, as stats_cb receives it."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        return ValidationResult([], [], [f"<root>: expected object, got {_json_type(doc)}"])
    return validate(doc, client_type, require=require, allow_placeholders=allow_placeholders)


def _client_type(name: str) -> ClientType:
    """``name`` as a ClientType; ValueError for anything else (a typo must not validate)."""
    for known in CLIENT_TYPES:
        if known == name:
            return known
    raise ValueError(f"{name!r} is not a client type (one of {', '.join(CLIENT_TYPES)})")


def _walk(
    obj: Mapping[str, object],
    schema_path: tuple[str, ...],
    real_path: tuple[str, ...],
    client: ClientType,
    require: frozenset[Presence],
    allow_placeholders: bool,
    res: ValidationResult,
) -> None:
    if is_map(schema_path):
        for key, value in obj.items():
            _check_value(
                None, value, (*schema_path, ANY), (*real_path, key), client, require,
                allow_placeholders, res,
            )
        return
    declared = {f.name: f for f in children(schema_path, client)}
    in_req = schema_path[-1:] == ("req",)
    for key, value in obj.items():
        f = declared.get(key)
        if f is None:
            if in_req and allow_placeholders and PLACEHOLDER_REQUEST_NAME.match(key):
                continue
            res.undeclared.append(".".join((*real_path, key)))
            continue
        _check_value(f, value, f.path, (*real_path, key), client, require, allow_placeholders,
                     res)
    for name, f in declared.items():
        if name not in obj and (f.presence is Presence.ALWAYS or f.presence in require):
            res.missing.append(".".join((*real_path, name)))


def _check_value(
    f: Field | None,
    value: object,
    schema_path: tuple[str, ...],
    real_path: tuple[str, ...],
    client: ClientType,
    require: frozenset[Presence],
    allow_placeholders: bool,
    res: ValidationResult,
) -> None:
    # f is None for the entries of a map: they are objects described by their children.
    expected = f.type if f is not None else JsonType.OBJECT
    if not _matches(expected, value):
        res.mismatched.append(
            f"{'.'.join(real_path)}: expected {expected.value}, got {_json_type(value)}"
        )
        return
    if expected is JsonType.OBJECT:
        assert isinstance(value, dict)
        _walk(value, schema_path, real_path, client, require, allow_placeholders, res)
