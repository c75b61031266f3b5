"""Request/response headers and which header version goes with which API version.

Request header v0: api_key, api_version, correlation_id. v1 adds the (nullable, non-compact)
client_id. v2 (flexible requests) adds a tagged-field section -- client_id stays a *non-compact*
nullable string (a Kafka quirk, see RequestHeader.json). Response header v0 is the correlation id;
v1 (flexible responses) adds a tagged-field section, except ApiVersionsResponse which always uses
v0 so that a client can parse it whatever version it asked for.
"""

from __future__ import annotations

from .errors import ProtocolError
from .messages import API_MODULES, request_type, response_type
from .messages.request_header import RequestHeader
from .messages.response_header import ResponseHeader

__all__ = [
    "RequestHeader",
    "ResponseHeader",
    "request_header_version",
    "response_header_version",
    "API_VERSIONS_KEY",
    "CONTROLLED_SHUTDOWN_KEY",
]

API_VERSIONS_KEY = 18
CONTROLLED_SHUTDOWN_KEY = 7

_REQ_FLEX: dict[int, int | None] = {}
_RESP_FLEX: dict[int, int | None] = {}


def _flex_start(api_key: int, request: bool) -> int | None:
    cache = _REQ_FLEX if request else _RESP_FLEX
    try:
        return cache[api_key]
    except KeyError:
        pass
    if api_key not in API_MODULES:
        raise ProtocolError(f"unknown API key {api_key}")
    cls = request_type(api_key) if request else response_type(api_key)
    cache[api_key] = cls.FLEXIBLE_VERSIONS
    return cls.FLEXIBLE_VERSIONS


def request_header_version(api_key: int, api_version: int) -> int:
    """2 for flexible request versions, else 1 (0 only for ControlledShutdown v0)."""
    if api_key == CONTROLLED_SHUTDOWN_KEY and api_version == 0:
        return 0  # (ControlledShutdown is controller-only, so not generated; kept for the rule)
    flex = _flex_start(api_key, True)
    if flex is not None and api_version >= flex:
        return 2
    return 1


def response_header_version(api_key: int, api_version: int) -> int:
    """1 for flexible response versions, else 0; ApiVersionsResponse always uses 0."""
    if api_key == API_VERSIONS_KEY:
        return 0
    flex = _flex_start(api_key, False)
    if flex is not None and api_version >= flex:
        return 1
    return 0
