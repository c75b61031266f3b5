"""API version negotiation: our supported ranges vs. the broker's ApiVersions answer."""

from __future__ import annotations

from typing import Iterable, Mapping, Protocol

from .messages import API_MODULES, API_VERSIONS

__all__ = ["supported_versions", "pick_version", "broker_ranges", "negotiate"]

VersionRange = tuple[int, int]


class _ApiVersionLike(Protocol):
    api_key: int
    min_version: int
    max_version: int


def supported_versions(api_key: int) -> VersionRange:
    """The versions this library can encode/decode for ``api_key`` (from the generated code).

    Read from the generated table, not the classes: negotiating with a broker must not import
    every API module (that was 12% of a short producer run's CPU)."""
    return API_VERSIONS[api_key]


def broker_ranges(api_versions: Iterable[_ApiVersionLike]) -> dict[int, VersionRange]:
    """``{api_key: (min, max)}`` from ``ApiVersionsResponse.api_keys``."""
    return {a.api_key: (a.min_version, a.max_version) for a in api_versions}


def pick_version(ours: VersionRange, theirs: VersionRange | None) -> int | None:
    """Highest version in both ranges, or None when they do not overlap (or theirs is None)."""
    if theirs is None:
        return None
    lo = max(ours[0], theirs[0])
    hi = min(ours[1], theirs[1])
    return hi if lo <= hi else None


def negotiate(
    broker: Mapping[int, VersionRange],
    wanted: Mapping[int, VersionRange] | None = None,
) -> dict[int, int]:
    """``{api_key: version}`` for every API both sides support.

    ``wanted`` restricts our side (e.g. the APIs and ranges the client actually implements);
    by default every generated API with its full range is considered.
    """
    ours = dict(wanted) if wanted is not None else {k: supported_versions(k) for k in API_MODULES}
    out: dict[int, int] = {}
    for key, rng in sorted(ours.items()):
        v = pick_version(rng, broker.get(key))
        if v is not None:
            out[key] = v
    return out
