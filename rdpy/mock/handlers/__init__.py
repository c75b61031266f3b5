"""One function per Kafka API the mock cluster serves, decoded request in, response out, and
HANDLERS, the table the server dispatches on.

No sockets here: a handler gets a `RequestContext` (cluster state, the serving broker, the API
version, the fault to inject if any) and the decoded request, and returns the response message,
`None` when Kafka sends no response (Produce with acks=0), or `Wait` when a Fetch has fewer
than min_bytes to return and may be held (the server asks again when the cluster changes and
answers at the deadline with `may_wait=False`). Handlers run on the server thread with
`state.lock` held.

The handlers live by API family: api.py (ApiVersions and `SUPPORTED`), metadata.py (Metadata,
CreateTopics), produce.py, fetch.py (Fetch, ListOffsets), groups.py (FindCoordinator and group
offsets; group membership comes there), txn.py (producer ids and transactions); context.py has
what they share. `SUPPORTED` is what ApiVersions advertises: exactly the APIs and versions in
HANDLERS. Anything else is refused the way Kafka refuses a request it cannot parse (the server
closes the connection), so a missing feature fails loudly instead of being faked.
"""

from __future__ import annotations

from rdpy.mock.handlers.api import (
    ADD_OFFSETS_TO_TXN,
    ADD_PARTITIONS_TO_TXN,
    API_VERSIONS,
    CREATE_TOPICS,
    END_TXN,
    FETCH,
    FIND_COORDINATOR,
    INIT_PRODUCER_ID,
    LIST_OFFSETS,
    METADATA,
    OFFSET_COMMIT,
    OFFSET_FETCH,
    PRODUCE,
    SUPPORTED,
    TXN_OFFSET_COMMIT,
    api_versions_error,
    handle_api_versions,
)
from rdpy.mock.handlers.context import Handler, Reply, RequestContext, Wait
from rdpy.mock.handlers.fetch import handle_fetch, handle_list_offsets
from rdpy.mock.handlers.groups import handle_find_coordinator, handle_offset_commit, handle_offset_fetch
from rdpy.mock.handlers.metadata import handle_create_topics, handle_metadata
from rdpy.mock.handlers.produce import handle_produce
from rdpy.mock.handlers.txn import (
    handle_add_offsets_to_txn,
    handle_add_partitions_to_txn,
    handle_end_txn,
    handle_init_producer_id,
    handle_txn_offset_commit,
)

__all__ = [
    "API_VERSIONS",
    "HANDLERS",
    "SUPPORTED",
    "Handler",
    "Reply",
    "RequestContext",
    "Wait",
    "api_versions_error",
    "handle_add_offsets_to_txn",
    "handle_add_partitions_to_txn",
    "handle_api_versions",
    "handle_create_topics",
    "handle_end_txn",
    "handle_fetch",
    "handle_find_coordinator",
    "handle_init_producer_id",
    "handle_list_offsets",
    "handle_metadata",
    "handle_offset_commit",
    "handle_offset_fetch",
    "handle_produce",
    "handle_txn_offset_commit",
]

HANDLERS: dict[int, Handler] = {
    PRODUCE: handle_produce,
    FETCH: handle_fetch,
    LIST_OFFSETS: handle_list_offsets,
    METADATA: handle_metadata,
    OFFSET_COMMIT: handle_offset_commit,
    OFFSET_FETCH: handle_offset_fetch,
    FIND_COORDINATOR: handle_find_coordinator,
    API_VERSIONS: handle_api_versions,
    CREATE_TOPICS: handle_create_topics,
    INIT_PRODUCER_ID: handle_init_producer_id,
    ADD_PARTITIONS_TO_TXN: handle_add_partitions_to_txn,
    ADD_OFFSETS_TO_TXN: handle_add_offsets_to_txn,
    END_TXN: handle_end_txn,
    TXN_OFFSET_COMMIT: handle_txn_offset_commit,
}
assert set(HANDLERS) == set(SUPPORTED)
