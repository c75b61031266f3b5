"""Blocking request helpers for the application thread: send requests, wait for their answers.

Used by list_topics(), committed(), offsets_for_times() and friends. The wait is sliced
(MAX_BLOCK_SLICE) so that Ctrl-C is handled; the response callback runs on the broker thread and
only stores the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rdpy.admin import BrokerMetadata, ClusterMetadata, PartitionMetadata, TopicMetadata
from rdpy.client.broker.broker import Broker
from rdpy.client.handle import Handle
from rdpy.client.queue import MAX_BLOCK_SLICE
from rdpy.client.request import R, Request, RequestFuture
from rdpy.errors import ErrorCode, KafkaError, KafkaException
from rdpy.protocol.base import Message as ProtocolMessage
from rdpy.protocol.messages import metadata as metadata_msgs

if TYPE_CHECKING:
    from rdpy.protocol.messages.metadata import MetadataRequest, MetadataResponse


def deadline_for(timeout: float | None) -> float:
    """Monotonic deadline for a confluent-style timeout (None or negative: forever)."""
    if timeout is None or timeout < 0:
        return float("inf")
    return time.monotonic() + timeout


def request_sync(broker: Broker, response_type: type[R],
                 build: Callable[[int], ProtocolMessage], deadline: float,
                 request_timeout: float, max_version: int | None = None
                 ) -> tuple[int, R | None]:
    """App thread. Send one request through `broker`; (error code, response or None).

    Returns (_TIMED_OUT, None) when `deadline` passes first.
    """
    return requests_sync([(broker, build)], response_type, deadline, request_timeout,
                         max_version)[0]


def requests_sync(requests: Sequence[tuple[Broker, Callable[[int], ProtocolMessage]]],
                  response_type: type[R], deadline: float, request_timeout: float,
                  max_version: int | None = None) -> list[tuple[int, R | None]]:
    """App thread. Send every (broker, build) request at once and wait for all of them:
    (error code, response or None) per request, in order; (_TIMED_OUT, None) for those not
    answered by `deadline`. Requests to different brokers are in flight together."""
    futures: list[RequestFuture[R]] = []
    for broker, build in requests:
        future: RequestFuture[R] = RequestFuture()
        futures.append(future)
        broker.enqueue_request(Request(response_type, build, future.on_done, request_timeout,
                                       max_version=max_version))
    for future in futures:
        # Sliced, so that the application's thread handles signals (Ctrl-C) meanwhile.
        while not future.wait(min(MAX_BLOCK_SLICE, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                break
    return [f.result for f in futures]


def list_topics(handle: Handle, topic: str | None, timeout: float | None) -> ClusterMetadata:
    """App thread. Metadata for all topics or one, from any usable broker (confluent's
    list_topics()); the answer also refreshes the client's metadata cache."""
    deadline = deadline_for(timeout)
    last_err = 0

    def build(version: int) -> MetadataRequest:
        topics = None if topic is None else [metadata_msgs.MetadataRequestTopic(name=topic)]
        return metadata_msgs.MetadataRequest(
            topics=topics, allow_auto_topic_creation=handle.refresher.allow_auto_create)

    while True:
        with handle.lock:
            broker = handle.any_broker()
        if broker is not None:
            err, response = request_sync(broker, metadata_msgs.MetadataResponse, build, deadline,
                                         handle.request_timeout)
            if response is not None:
                handle.refresher.apply(response, None if topic is None else [topic])
                return cluster_metadata(handle, response, broker)
            if err != ErrorCode._TIMED_OUT:
                last_err = err
        if time.monotonic() >= deadline:
            if last_err:
                raise KafkaException(KafkaError(
                    ErrorCode._TRANSPORT,
                    "Failed to get metadata: Local: Broker transport failure"))
            raise KafkaException(KafkaError(ErrorCode._TIMED_OUT,
                                            "Failed to get metadata: Local: Timed out"))
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def cluster_metadata(handle: Handle, response: MetadataResponse, broker: Broker) -> ClusterMetadata:
    """App thread. A Metadata response, already applied, as confluent's ClusterMetadata.

    The cluster id and controller are the client's, as confluent-kafka reads them
    (rd_kafka_clusterid() and rd_kafka_controllerid() without waiting): the answer's, except
    that a cluster id once known stays when an answer has none (see MetadataRefresher)."""
    md = ClusterMetadata()
    md.cluster_id = cluster_id(handle, 0)
    md.controller_id = controller_id(handle, 0)
    md.orig_broker_id = broker.node_id if broker.node_id >= 0 else -1
    md.orig_broker_name = broker.name
    for b in response.brokers:
        bm = BrokerMetadata()
        bm.id, bm.host, bm.port = b.node_id, b.host, b.port
        md.brokers[b.node_id] = bm
    for t in response.topics:
        if t.name is None:
            continue  # asked for by id (never by rdpy)
        tm = TopicMetadata()
        tm.topic = t.name
        tm.error = KafkaError(t.error_code) if t.error_code else None
        for p in t.partitions:
            pm = PartitionMetadata()
            pm.id, pm.leader = p.partition_index, p.leader_id
            pm.replicas, pm.isrs = list(p.replica_nodes), list(p.isr_nodes)
            pm.error = KafkaError(p.error_code) if p.error_code else None
            tm.partitions[p.partition_index] = pm
        md.topics[t.name] = tm
    return md


def _known_cluster(handle: Handle, timeout: float | None, known: Callable[[], bool]) -> None:
    """App thread. Wait (sliced, up to `timeout` s; None or negative: forever) until
    `known()` (read under the handle lock) or any Metadata answer has been applied, as
    rd_kafka_clusterid()/rd_kafka_controllerid() wait for a metadata update."""
    deadline = deadline_for(timeout)
    while True:
        with handle.lock:
            if known() or handle.metadata.updated_at > 0:
                return
        remaining = deadline - time.monotonic()
        if remaining <= 0 or handle.terminating:
            return
        time.sleep(min(0.05, remaining))


def cluster_id(handle: Handle, timeout: float | None) -> str | None:
    """App thread. The cluster id (Metadata v2+), waiting up to `timeout` s for the first
    Metadata answer; None if it did not come or had none (librdkafka's rd_kafka_clusterid())."""
    _known_cluster(handle, timeout, lambda: handle.metadata.cluster_id is not None)
    with handle.lock:
        return handle.metadata.cluster_id


def controller_id(handle: Handle, timeout: float | None) -> int:
    """App thread. The controller's node id (Metadata v1+), waiting up to `timeout` s for the
    first Metadata answer; -1 if it did not come or had none (rd_kafka_controllerid())."""
    _known_cluster(handle, timeout, lambda: handle.metadata.controller_id != -1)
    with handle.lock:
        return handle.metadata.controller_id


def require_cluster_id(handle: Handle, timeout: float | None) -> str:
    """App thread. confluent-kafka's Producer/Consumer.cluster_id(timeout): the cluster id,
    or KafkaException(_TIMED_OUT) with its text when none came within `timeout` s."""
    found = cluster_id(handle, timeout)
    if found is None:
        raise KafkaException(KafkaError(
            ErrorCode._TIMED_OUT,
            "Failed to retrieve cluster id: Local: Timed out. The broker must support KIP-78 "
            "(>= 0.10.1) for the cluster id to be available."))
    return found
