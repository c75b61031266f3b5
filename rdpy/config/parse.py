"""Value parsing with librdkafka's exact rules and error texts (rd_kafka_anyconf_set_prop()).

`parse(prop, value, current)` turns the string a user set into the typed value stored in a
`Conf`, or raises `ConfError` with the message librdkafka's rd_kafka_conf_set() writes to its
errstr.  `format_value(prop, typed)` is the inverse (rd_kafka_conf_get()).  Pure functions.

Typed values: STRING -> str | None, INT -> int, FLOAT -> float, BOOL -> bool, ENUM -> int code,
FLAGS -> int bit mask, PATTERNS -> str | None (validated), POINTER -> any Python object.
"""

from __future__ import annotations

import re

from rdpy.config.properties import Property, Type

__all__ = ["ConfError", "parse", "format_value", "UNSET"]

# C isspace() in the "C" locale.
_CSPACE = " \t\n\v\f\r"

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1

_PARTITIONERS = frozenset(
    ("random", "consistent", "consistent_random", "murmur2", "murmur2_random", "fnv1a", "fnv1a_random")
)

_FLOAT_RE = re.compile(
    r"[+-]?(?:"
    r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?"
    r")",
    re.IGNORECASE,
)


# librdkafka's _RK_C_KSTR properties: stored as Kafka protocol strings and, unlike the other
# strings, not left-trimmed.
_KAFKA_STRINGS = frozenset(("group.protocol.type", "client.rack"))


class ConfError(Exception):
    """A rejected value; str(err) is librdkafka's errstr for the same input."""


class _Unset:
    """Marker for "no change": librdkafka accepts a blank enum value and leaves it alone."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def _strtol(s: str) -> int | None:
    """C strtol(s, &end, 0) then (int) cast; None when no digits were consumed (end == s)."""
    i, n = 0, len(s)
    while i < n and s[i] in _CSPACE:
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    base = 10
    if s.startswith(("0x", "0X"), i) and i + 2 < n and s[i + 2] in "0123456789abcdefABCDEF":
        base, i = 16, i + 2
    elif i < n and s[i] == "0":
        base = 8
    digits = "0123456789abcdef"[:base]
    j = i
    while j < n and s[j].lower() in digits:
        j += 1
    if j == i:
        return None
    v = int(s[i:j], base)
    v = -v if neg else v
    v = max(_LONG_MIN, min(_LONG_MAX, v))  # strtol saturates at LONG_MIN/LONG_MAX (LP64)
    v &= 0xFFFFFFFF  # then the (int) cast keeps the low 32 bits
    return v - (1 << 32) if v > _INT_MAX else v


def _strtod(s: str) -> float | None:
    """C strtod(); None when nothing was consumed."""
    i = 0
    while i < len(s) and s[i] in _CSPACE:
        i += 1
    m = _FLOAT_RE.match(s, i)
    if not m:
        return None
    text = m.group(0)
    body = text.lstrip("+-")
    if body[:2].lower() == "0x":
        v = float.fromhex(text)
    elif body[:3].lower() == "nan":
        v = float("nan")
    else:
        v = float(text.split("(")[0])
    return v


def _g(v: float) -> str:
    return "%g" % v


def _choice(prop: Property, token: str) -> tuple[str, int] | None:
    low = token.lower()
    for name, code in prop.choices:
        if name.lower() == low:
            return name, code
    return None


def _unsupported_choice(prop: Property, name: str) -> str | None:
    for n, reason in prop.unsupported_choices:
        if n == name:
            return reason
    return None


def parse(prop: Property, value: str | None, current: object) -> object:
    """The typed value for `value` (None or "" = unset), or raise ConfError.

    `current` is the present typed value: FLAGS values are added to or removed from it
    (librdkafka ORs CSV flags into the existing mask; "-flag" removes one).
    Returns UNSET when librdkafka would accept the value without changing anything.
    """
    name = prop.name
    if value == "":
        value = None
    if prop.unsupported is not None:
        raise ConfError(f'Configuration property "{name}" not supported in this build: {prop.unsupported}')
    t = prop.type
    if t is Type.STRING:
        if value is None:
            if prop.validator is not None:  # librdkafka validates NULL and prints it as "(null)"
                raise ConfError(f'Invalid value for configuration property "{name}": (null)')
            return prop.default
        if name not in _KAFKA_STRINGS:
            value = value.lstrip(_CSPACE)
        if prop.validator is not None and not _validate(prop.validator, value):
            raise ConfError(f'Invalid value for configuration property "{name}": {value}')
        return value
    if t is Type.PATTERNS:
        if value is None:
            return None
        for pat in value.split(","):
            try:
                re.compile(pat)
            except re.error as e:
                raise ConfError(f'Failed to parse pattern "{pat}": {e}') from None
        return value
    if t is Type.POINTER:
        raise ConfError(f'Property "{name}" must be set through dedicated .._set_..() function')
    if t is Type.INTERNAL:
        raise ConfError(f'Internal property "{name}" not settable')
    if t is Type.INVALID:
        raise ConfError(prop.invalid_message or f'No such configuration property: "{name}"')
    if t is Type.BOOL:
        if value is None:
            raise ConfError(f'Bool configuration property "{name}" cannot be set to empty value')
        low = value.lower()
        if low in ("true", "t") or value == "1":
            return True
        if low in ("false", "f") or value == "0":
            return False
        raise ConfError(f'Expected bool value for "{name}": true or false')
    if t is Type.INT:
        if value is None:
            raise ConfError(f'Integer configuration property "{name}" cannot be set to empty value')
        ival = _strtol(value)
        if ival is None:
            c = _choice(prop, value)
            if c is None:
                raise ConfError(f'Invalid value for configuration property "{name}"')
            ival = c[1]
        assert isinstance(prop.vmin, int) and isinstance(prop.vmax, int)
        if ival < prop.vmin or ival > prop.vmax:
            raise ConfError(
                f'Configuration property "{name}" value {ival} is outside allowed range {prop.vmin}..{prop.vmax}\n'
            )
        return ival
    if t is Type.FLOAT:
        if value is None:
            raise ConfError(f'Float configuration property "{name}" cannot be set to empty value')
        dval = _strtod(value)
        if dval is None:
            raise ConfError(f'Invalid value for configuration property "{name}"')
        assert prop.vmin is not None and prop.vmax is not None
        if dval < prop.vmin or dval > prop.vmax:  # NaN passes, as in C
            raise ConfError(
                f'Configuration property "{name}" value {_g(dval)} is outside allowed range '
                f"{_g(prop.vmin)}..{_g(prop.vmax)}\n"
            )
        return dval
    # ENUM / FLAGS
    if value is None:
        raise ConfError(f'Configuration property "{name}" cannot be set to empty value')
    flags = t is Type.FLAGS
    tokens = value.split(",") if flags else [value]
    mask = current if isinstance(current, int) else 0
    result: object = UNSET
    for tok in tokens:
        # librdkafka trims leading whitespace only (its right-trim looks at the delimiter).
        tok = tok.lstrip(_CSPACE)
        add = True
        if flags and tok[:1] in ("+", "-"):
            add = tok[0] == "+"
            tok = tok[1:]
        if not tok:
            continue
        c = _choice(prop, tok)
        if c is None:
            raise ConfError(f'Invalid value "{tok}" for configuration property "{name}"')
        reason = _unsupported_choice(prop, c[0])
        if reason is not None:
            raise ConfError(f'Unsupported value "{tok}" for configuration property "{name}": {reason}')
        if not flags:
            return c[1]
        mask = (mask | c[1]) if add else (mask & ~c[1])
        result = mask
    return result


def _validate(kind: str, value: str) -> bool:
    if kind == "partitioner":
        return value in _PARTITIONERS
    if kind == "single":
        return "," not in value and " " not in value
    return True  # broker_version: librdkafka accepts any version string


def format_value(prop: Property, typed: object) -> str | None:
    """The canonical string for a typed value, as rd_kafka_conf_get() prints it (None: unset)."""
    t = prop.type
    if typed is None:
        return None
    if t is Type.BOOL:
        return "true" if typed else "false"
    if t is Type.INT:
        return str(typed)
    if t is Type.FLOAT:
        assert isinstance(typed, float)
        return _g(typed)
    if t is Type.ENUM:
        for n, code in prop.choices:
            if code == typed:
                return n
        return None
    if t is Type.FLAGS:
        assert isinstance(typed, int)
        unsupported = {n for n, _ in prop.unsupported_choices}
        return ",".join(n for n, bit in prop.choices if typed & bit == bit and n not in unsupported)
    if t is Type.POINTER:
        return repr(typed)
    return str(typed)


def default_value(prop: Property) -> object:
    """The typed default of `prop`."""
    d = prop.default
    t = prop.type
    if t in (Type.POINTER, Type.INTERNAL, Type.INVALID):
        return None
    if t is Type.FLAGS:
        mask = 0
        for tok in (d or "").split(","):
            c = _choice(prop, tok) if tok else None
            if c is not None:
                mask |= c[1]
        return mask
    if d is None:
        return None
    if t is Type.STRING or t is Type.PATTERNS:
        return d
    if t is Type.BOOL:
        return d == "true"
    if t is Type.INT:
        return int(d)
    if t is Type.FLOAT:
        return float(d)
    c = _choice(prop, d)
    assert c is not None, prop.name
    return c[1]
