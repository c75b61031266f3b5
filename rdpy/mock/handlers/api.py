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
from rdpy.protocol.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from rdpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest
from rdpy.protocol.messages.create_topics import CreateTopicsRequest
from rdpy.protocol.messages.describe_groups import DescribeGroupsRequest
from rdpy.protocol.messages.end_txn import EndTxnRequest
from rdpy.protocol.messages.fetch import FetchRequest
from rdpy.protocol.messages.find_coordinator import FindCoordinatorRequest
from rdpy.protocol.messages.heartbeat import HeartbeatRequest
from rdpy.protocol.messages.init_producer_id import InitProducerIdRequest
from rdpy.protocol.messages.join_group import JoinGroupRequest
from rdpy.protocol.messages.leave_group import LeaveGroupRequest
from rdpy.protocol.messages.list_groups import ListGroupsRequest
from rdpy.protocol.messages.list_offsets import ListOffsetsRequest
from rdpy.protocol.messages.metadata import MetadataRequest
from rdpy.protocol.messages.offset_commit import OffsetCommitRequest
from rdpy.protocol.messages.offset_fetch import OffsetFetchRequest
from rdpy.protocol.messages.produce import ProduceRequest
from rdpy.protocol.messages.sync_group import SyncGroupRequest
from rdpy.protocol.messages.txn_offset_commit import TxnOffsetCommitRequest

__all__ = ["SUPPORTED", "api_versions_error", "handle_api_versions"]

#: API key -> (min, max) version served and advertised. Upper bounds are where a newer
#: version would change semantics this mock does not implement: Fetch v13+ and
#: ListOffsets/OffsetFetch batching by topic id or group, FindCoordinator v4 batched keys,
#: AddPartitionsToTxn v4 (broker-side verification), InitProducerId v5 and EndTxn v4+
#: (KIP-890 epoch bumps per transaction), Produce v10+ (leader hints on errors).
SUPPORTED: dict[int, tuple[int, int]] = {
    ProduceRequest.API_KEY: (3, 9),
    FetchRequest.API_KEY: (4, 12),
    ListOffsetsRequest.API_KEY: (1, 7),
    MetadataRequest.API_KEY: (0, 12),
    OffsetCommitRequest.API_KEY: (0, 8),
    OffsetFetchRequest.API_KEY: (0, 7),
    FindCoordinatorRequest.API_KEY: (0, 3),
    JoinGroupRequest.API_KEY: (0, 9),
    HeartbeatRequest.API_KEY: (0, 4),
    LeaveGroupRequest.API_KEY: (0, 5),
    SyncGroupRequest.API_KEY: (0, 5),
    DescribeGroupsRequest.API_KEY: (0, 5),
    ListGroupsRequest.API_KEY: (0, 5),
    m_av.ApiVersionsRequest.API_KEY: (0, 3),
    CreateTopicsRequest.API_KEY: (0, 7),
    InitProducerIdRequest.API_KEY: (0, 4),
    AddPartitionsToTxnRequest.API_KEY: (0, 3),
    AddOffsetsToTxnRequest.API_KEY: (0, 3),
    EndTxnRequest.API_KEY: (0, 3),
    TxnOffsetCommitRequest.API_KEY: (0, 3),
}


def _api_keys() -> list[m_av.ApiVersion]:
    return [m_av.ApiVersion(api_key=k, min_version=lo, max_version=hi)
            for k, (lo, hi) in sorted(SUPPORTED.items())]


def handle_api_versions(ctx: RequestContext, req: m_av.ApiVersionsRequest) -> Reply:
    return m_av.ApiVersionsResponse(error_code=ctx.injected_error, api_keys=_api_keys())


def api_versions_error() -> m_av.ApiVersionsResponse:
    """Kafka's answer to an ApiVersions version it does not know: a v0 body with
    UNSUPPORTED_VERSION and its own ApiVersions range, so the client can retry lower."""
    api_key = m_av.ApiVersionsRequest.API_KEY
    lo, hi = SUPPORTED[api_key]
    return m_av.ApiVersionsResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        api_keys=[m_av.ApiVersion(api_key=api_key, min_version=lo, max_version=hi)])
