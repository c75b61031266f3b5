"""One function per Kafka API the mock cluster serves, decoded request in, response out, and
HANDLERS, the table the server dispatches on.

No sockets here: a handler gets a `RequestContext` (cluster state, the serving broker, the API
version, the fault to inject if any) and the decoded request, and returns the response message,
`None` when Kafka sends no response (Produce with acks=0), or `Wait` when a Fetch has fewer
than min_bytes to return and may be held (the server asks again when the cluster changes and
answers at the deadline with `may_wait=False`), or `Pending` when a JoinGroup or SyncGroup
waits for the rest of its group. Handlers run on the server thread with `state.lock` held.

The handlers live by API family: api.py (ApiVersions and `SUPPORTED`), metadata.py (Metadata,
CreateTopics), produce.py, fetch.py (Fetch, ListOffsets), groups.py (FindCoordinator and group
offsets), membership.py (the classic group protocol: JoinGroup, SyncGroup, Heartbeat,
LeaveGroup, DescribeGroups, ListGroups), txn.py (producer ids and transactions); context.py has
what they share. `SUPPORTED` is what ApiVersions advertises: exactly the APIs and versions in
HANDLERS. Anything else is refused the way Kafka refuses a request it cannot parse (the server
closes the connection), so a missing feature fails loudly instead of being faked.
"""

from __future__ import annotations

from rdpy.mock.handlers.api import SUPPORTED, api_versions_error, handle_api_versions
from rdpy.mock.handlers.context import Handler, Pending, Reply, RequestContext, Wait
from rdpy.mock.handlers.fetch import handle_fetch, handle_list_offsets
from rdpy.mock.handlers.groups import handle_find_coordinator, handle_offset_commit, handle_offset_fetch
from rdpy.mock.handlers.membership import (
    handle_describe_groups,
    handle_heartbeat,
    handle_join_group,
    handle_leave_group,
    handle_list_groups,
    handle_sync_group,
)
from rdpy.mock.handlers.metadata import handle_create_topics, handle_metadata
from rdpy.mock.handlers.produce import handle_produce
from rdpy.mock.handlers.txn import (
    handle_add_offsets_to_txn,
    handle_add_partitions_to_txn,
    handle_end_txn,
    handle_init_producer_id,
    handle_txn_offset_commit,
)
from rdpy.protocol.messages.add_offsets_to_txn import AddOffsetsToTxnRequest
from rdpy.protocol.messages.add_partitions_to_txn import AddPartitionsToTxnRequest
from rdpy.protocol.messages.api_versions import ApiVersionsRequest
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

__all__ = [
    "HANDLERS",
    "SUPPORTED",
    "Handler",
    "Pending",
    "Reply",
    "RequestContext",
    "Wait",
    "api_versions_error",
    "handle_add_offsets_to_txn",
    "handle_add_partitions_to_txn",
    "handle_api_versions",
    "handle_create_topics",
    "handle_describe_groups",
    "handle_end_txn",
    "handle_fetch",
    "handle_find_coordinator",
    "handle_heartbeat",
    "handle_init_producer_id",
    "handle_join_group",
    "handle_leave_group",
    "handle_list_groups",
    "handle_list_offsets",
    "handle_metadata",
    "handle_offset_commit",
    "handle_offset_fetch",
    "handle_produce",
    "handle_sync_group",
    "handle_txn_offset_commit",
]

HANDLERS: dict[int, Handler] = {
    ProduceRequest.API_KEY: handle_produce,
    FetchRequest.API_KEY: handle_fetch,
    ListOffsetsRequest.API_KEY: handle_list_offsets,
    MetadataRequest.API_KEY: handle_metadata,
    OffsetCommitRequest.API_KEY: handle_offset_commit,
    OffsetFetchRequest.API_KEY: handle_offset_fetch,
    FindCoordinatorRequest.API_KEY: handle_find_coordinator,
    JoinGroupRequest.API_KEY: handle_join_group,
    HeartbeatRequest.API_KEY: handle_heartbeat,
    LeaveGroupRequest.API_KEY: handle_leave_group,
    SyncGroupRequest.API_KEY: handle_sync_group,
    DescribeGroupsRequest.API_KEY: handle_describe_groups,
    ListGroupsRequest.API_KEY: handle_list_groups,
    ApiVersionsRequest.API_KEY: handle_api_versions,
    CreateTopicsRequest.API_KEY: handle_create_topics,
    InitProducerIdRequest.API_KEY: handle_init_producer_id,
    AddPartitionsToTxnRequest.API_KEY: handle_add_partitions_to_txn,
    AddOffsetsToTxnRequest.API_KEY: handle_add_offsets_to_txn,
    EndTxnRequest.API_KEY: handle_end_txn,
    TxnOffsetCommitRequest.API_KEY: handle_txn_offset_commit,
}
assert set(HANDLERS) == set(SUPPORTED)
