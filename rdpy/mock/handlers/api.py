"""The APIs the mock serves and ApiVersions, which advertises them.

`SUPPORTED` (API key -> version range) is the one list of what the mock serves: ApiVersions
answers with it, the server refuses anything outside it, and the package's HANDLERS table must
have exactly its keys. A new API is a key and a range here, a handler in its family's module and
a line in HANDLERS. Runs on the server thread with `state.lock` held.
"""

from __future__ import annotations

from rdpy.errors import ErrorCode
from rdpy.mock.handlers.context import Reply, RequestContext
from rdpy.protocol.messages import api_versions as m_av

__all__ = [
    "ADD_OFFSETS_TO_TXN",
    "ADD_PARTITIONS_TO_TXN",
    "API_VERSIONS",
    "CREATE_TOPICS",
    "END_TXN",
    "FETCH",
    "FIND_COORDINATOR",
    "INIT_PRODUCER_ID",
    "LIST_OFFSETS",
    "METADATA",
    "OFFSET_COMMIT",
    "OFFSET_FETCH",
    "PRODUCE",
    "SUPPORTED",
    "TXN_OFFSET_COMMIT",
    "api_versions_error",
    "handle_api_versions",
]

PRODUCE = 0
FETCH = 1
LIST_OFFSETS = 2
METADATA = 3
OFFSET_COMMIT = 8
OFFSET_FETCH = 9
FIND_COORDINATOR = 10
API_VERSIONS = 18
CREATE_TOPICS = 19
INIT_PRODUCER_ID = 22
ADD_PARTITIONS_TO_TXN = 24
ADD_OFFSETS_TO_TXN = 25
END_TXN = 26
TXN_OFFSET_COMMIT = 28

#: API key -> (min, max) version served and advertised. Upper bounds are where a newer
#: version would change semantics this mock does not implement: Fetch v13+ and
#: ListOffsets/OffsetFetch batching by topic id or group, FindCoordinator v4 batched keys,
#: AddPartitionsToTxn v4 (broker-side verification), InitProducerId v5 and EndTxn v4+
#: (KIP-890 epoch bumps per transaction), Produce v10+ (leader hints on errors).
SUPPORTED: dict[int, tuple[int, int]] = {
    PRODUCE: (3, 9),
    FETCH: (4, 12),
    LIST_OFFSETS: (1, 7),
    METADATA: (0, 12),
    OFFSET_COMMIT: (0, 8),
    OFFSET_FETCH: (0, 7),
    FIND_COORDINATOR: (0, 3),
    API_VERSIONS: (0, 3),
    CREATE_TOPICS: (0, 7),
    INIT_PRODUCER_ID: (0, 4),
    ADD_PARTITIONS_TO_TXN: (0, 3),
    ADD_OFFSETS_TO_TXN: (0, 3),
    END_TXN: (0, 3),
    TXN_OFFSET_COMMIT: (0, 3),
}


def _api_keys() -> list[m_av.ApiVersion]:
    return [m_av.ApiVersion(api_key=k, min_version=lo, max_version=hi)
            for k, (lo, hi) in sorted(SUPPORTED.items())]


def handle_api_versions(ctx: RequestContext, req: m_av.ApiVersionsRequest) -> Reply:
    return m_av.ApiVersionsResponse(error_code=ctx.injected_error, api_keys=_api_keys())


def api_versions_error() -> m_av.ApiVersionsResponse:
    """Kafka's answer to an ApiVersions version it does not know: a v0 body with
    UNSUPPORTED_VERSION and its own ApiVersions range, so the client can retry lower."""
    lo, hi = SUPPORTED[API_VERSIONS]
    return m_av.ApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=[m_av.ApiVersion(api_key=API_VERSIONS, min_version=lo, max_version=hi)])
