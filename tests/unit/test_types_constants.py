"""rdpy.constants against confluent_kafka's constants; version() and libversion() shapes."""

from __future__ import annotations

import re

import confluent_kafka
import confluent_kafka.cimpl
import pytest

import rdpy
from rdpy import constants


NAMES = [n for n in dir(constants) if n.isupper() and not n.startswith("_")]


def test_every_constant_exists_in_confluent_with_same_value() -> None:
    assert NAMES
    for name in NAMES:
        assert getattr(constants, name) == getattr(confluent_kafka.cimpl, name), name


def test_top_level_constants_match_confluent() -> None:
    theirs = {n: getattr(confluent_kafka, n) for n in dir(confluent_kafka)
              if re.fullmatch(r"[A-Z][A-Z0-9_]+", n)}
    assert theirs
    for name, value in theirs.items():
        assert getattr(rdpy, name) == value, name


def _check_version_tuple(v: tuple[str, int]) -> None:
    s, n = v
    assert isinstance(s, str) and isinstance(n, int)
    major, minor, patch = (int(x) for x in s.split(".")[:3])
    assert n == (major << 24) | (minor << 16) | (patch << 8) | 0xFF


def test_version_scheme_matches_librdkafka() -> None:
    # The hex scheme, checked on confluent-kafka's librdkafka, then on the one rdpy follows.
    _check_version_tuple(confluent_kafka.libversion())
    _check_version_tuple(rdpy.libversion())


def test_libversion_is_the_librdkafka_rdpy_follows() -> None:
    # The release confluent-kafka 2.16 bundles, whose defaults and wording rdpy mirrors.
    assert rdpy.libversion() == ("2.16.0", 0x021000FF)
    assert rdpy.libversion() == confluent_kafka.libversion()


def test_version_is_a_string_as_confluent_kafka_returns_it() -> None:
    # confluent_kafka.version() returns its version string only (not the (str, int) its stub
    # says); `"... %s" % version()` in its own tests depends on that.
    assert isinstance(confluent_kafka.version(), str)
    assert confluent_kafka.version() == confluent_kafka.__version__
    assert rdpy.version() == rdpy.__version__
    assert "version %s" % rdpy.version() == f"version {rdpy.__version__}"


@pytest.mark.parametrize(
    "text, expected",
    [("2.16.0", 0x021000FF), ("0.1.0", 0x000100FF), ("1.2.3rc1", 0x01020300), ("0.1.0.dev0", 0x00010000)],
)
def test_version_int_helper(text: str, expected: int) -> None:
    assert constants._version_int(text) == expected
