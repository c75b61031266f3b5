"""Metadata and CreateTopics: the cluster's brokers and topics, and creating topics (by request
or, for Metadata, automatically when the cluster allows it). Runs on the server thread with
`state.lock` held.
"""

from __future__ import annotations

from rdpy.errors import ErrorCode
from rdpy.mock.handlers.context import Reply, RequestContext
from rdpy.mock.log import BrokerError
from rdpy.mock.state import Topic
from rdpy.protocol.messages import create_topics as m_ct
from rdpy.protocol.messages import metadata as m_md

__all__ = ["handle_create_topics", "handle_metadata"]


def handle_metadata(ctx: RequestContext, req: m_md.MetadataRequest) -> Reply:
    state = ctx.state
    brokers = [m_md.MetadataResponseBroker(node_id=b.node_id, host=b.host, port=b.port, rack=None)
               for _, b in sorted(state.brokers.items())]
    if req.topics is None or (ctx.api_version == 0 and not req.topics):
        names = sorted(state.topics)  # null (v0: empty) asks for every topic
    else:
        names = [t.name for t in req.topics if t.name is not None]
    # Before v4 there was no flag and brokers auto-created topics whenever configured to.
    allow_create = req.allow_auto_topic_creation if ctx.api_version >= 4 else True
    topics = [_metadata_topic(ctx, name, allow_create) for name in names]
    return m_md.MetadataResponse(brokers=brokers, cluster_id=state.cluster_id,
                                 controller_id=state.controller_id, topics=topics)


def _metadata_topic(ctx: RequestContext, name: str, allow_create: bool) -> m_md.MetadataResponseTopic:
    state = ctx.state
    if ctx.injected_error:
        return m_md.MetadataResponseTopic(error_code=ctx.injected_error, name=name)
    topic = state.topics.get(name)
    if topic is None and allow_create and state.auto_create_topics:
        try:
            topic = state.create_topic(name)
        except BrokerError as e:
            return m_md.MetadataResponseTopic(error_code=e.code, name=name)
    if topic is None:
        return m_md.MetadataResponseTopic(error_code=ErrorCode.UNKNOWN_TOPIC_OR_PART, name=name)
    return m_md.MetadataResponseTopic(
        name=name, topic_id=topic.topic_id, is_internal=False,
        partitions=[m_md.MetadataResponsePartition(
            partition_index=p.index, leader_id=p.leader, leader_epoch=p.leader_epoch,
            replica_nodes=list(p.replicas), isr_nodes=list(p.replicas), offline_replicas=[])
            for p in topic.partitions])


def handle_create_topics(ctx: RequestContext, req: m_ct.CreateTopicsRequest) -> Reply:
    results = [_create_topic(ctx, t, req.validate_only) for t in req.topics]
    return m_ct.CreateTopicsResponse(topics=results)


def _create_topic(ctx: RequestContext, t: m_ct.CreatableTopic,
                  validate_only: bool) -> m_ct.CreatableTopicResult:
    if ctx.injected_error:
        return m_ct.CreatableTopicResult(name=t.name, error_code=ctx.injected_error,
                                         error_message=None)
    assignments = {a.partition_index: list(a.broker_ids) for a in t.assignments} or None
    if assignments and (t.num_partitions != -1 or t.replication_factor != -1):
        return m_ct.CreatableTopicResult(
            name=t.name, error_code=ErrorCode.INVALID_REQUEST,
            error_message="both assignments and a partition count or replication factor")
    try:
        topic: Topic = ctx.state.create_topic(t.name, t.num_partitions, t.replication_factor,
                                              assignments, validate_only)
    except BrokerError as e:
        return m_ct.CreatableTopicResult(name=t.name, error_code=e.code, error_message=str(e))
    return m_ct.CreatableTopicResult(
        name=t.name, topic_id=topic.topic_id, error_message=None,
        num_partitions=len(topic.partitions),
        replication_factor=len(topic.partitions[0].replicas), configs=[])
