"""The statistics emitter: the engine's counters as librdkafka's stats_cb JSON document.

Two halves.  ``collect_*`` read the running client (main thread; ints are read without locks,
dicts and deques are copied in one C call first) into plain nested dicts of values.  ``shape``
then walks the schema (rdpy.stats.schema) and writes exactly the declared keys, in librdkafka's
order, for the client type: a value the collectors give that the schema does not declare, or a
declared field they do not give, raises, so the schema and the emitter cannot drift apart
(tests/unit/test_stats_emit.py emits real documents from a running client).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rdpy.stats.schema import (
    ANY,
    REQUEST_NAMES,
    ClientType,
    Presence,
    children,
    is_map,
)

if TYPE_CHECKING:
    from rdpy.client.broker.broker import Broker
    from rdpy.client.handle import Handle
    from rdpy.client.toppar import Topic, Toppar

__all__ = ["StatsEmitter", "shape"]

_US = 1_000_000
_FETCH_STATES = {"none": "none", "offset_query": "offset-query", "active": "active"}
_UP = "UP"


class SchemaMismatch(AssertionError):
    """The collectors and the schema disagree: a bug in rdpy, never a user error."""


def shape(values: Mapping[str, Any], client: ClientType,
          path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The object at schema ``path`` built from ``values``, keys in schema order."""
    if is_map(path):
        return {key: shape(v, client, (*path, ANY)) for key, v in values.items()}
    out: dict[str, Any] = {}
    declared = set()
    for f in children(path, client):
        declared.add(f.name)
        if f.name not in values:
            if f.presence is Presence.ALWAYS:
                raise SchemaMismatch(f"statistics: no value for {f.dotted}")
            continue
        v = values[f.name]
        if f.presence is Presence.NONZERO and not v:
            continue
        out[f.name] = shape(v, client, f.path) if isinstance(v, Mapping) else v
    extra = set(values) - declared
    if extra:
        raise SchemaMismatch(f"statistics: undeclared keys at {'.'.join(path) or '<root>'}: "
                             f"{sorted(extra)}")
    return out


class StatsEmitter:
    """Builds one document per statistics interval. Main thread only (windows roll over)."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.client = ClientType(handle.kind)
        self.created_at = handle.clock()

    def document(self) -> dict[str, Any]:
        return shape(self._top(), self.client)

    def json(self) -> str:
        return json.dumps(self.document(), separators=(",", ":"))

    # --- collectors -----------------------------------------------------------------------

    def _top(self) -> dict[str, Any]:
        h = self.handle
        now = h.clock()
        producer = self.client is ClientType.PRODUCER
        s = h.settings
        with h.lock:
            brokers = h.bootstrap + list(h.brokers.values())
            topics = list(h.topics.values())
            metadata_topics = len(h.metadata.topics)
        broker_docs = {b.name: self._broker(b, now) for b in brokers}
        topic_docs = {t.name: self._topic(t, now) for t in topics}
        partitions = [p for t in topic_docs.values() for p in t["partitions"].values()]
        values: dict[str, Any] = {
            "name": h.name,
            "client_id": s.get_str("client.id"),
            "type": h.kind,
            "ts": int(time.monotonic() * _US),
            "time": int(time.time()),
            "age": int((now - self.created_at) * _US),
            "replyq": len(h.reply_q),
            "msg_cnt": h.msg_cnt if producer else 0,
            "msg_size": h.msg_bytes if producer else 0,
            "msg_max": s.get_int("queue.buffering.max.messages") if producer else 0,
            "msg_size_max": s.get_int("queue.buffering.max.kbytes") * 1024 if producer else 0,
            "simple_cnt": 0,
            "metadata_cache_cnt": metadata_topics,
            "brokers": broker_docs,
            "topics": topic_docs,
            "tx": sum(b["tx"] for b in broker_docs.values()),
            "tx_bytes": sum(b["txbytes"] for b in broker_docs.values()),
            "rx": sum(b["rx"] for b in broker_docs.values()),
            "rx_bytes": sum(b["rxbytes"] for b in broker_docs.values()),
            "txmsgs": sum(p["txmsgs"] for p in partitions),
            "txmsg_bytes": sum(p["txbytes"] for p in partitions),
            "rxmsgs": sum(p["rxmsgs"] for p in partitions),
            "rxmsg_bytes": sum(p["rxbytes"] for p in partitions),
        }
        group = h.group_stats
        if group is not None:
            values["cgrp"] = group(now)
        return values

    def _broker(self, b: Broker, now: float) -> dict[str, Any]:
        c = b.stats
        up = str(b.state) == _UP
        waiting = list(b.waitresp.values())
        req_by_key = dict(c.req)
        return {
            "name": b.name,
            "nodeid": b.node_id if b.node_id >= 0 else -1,
            "nodename": f"{b.host}:{b.port}",
            "source": "configured" if b.node_id < 0 else "learned",
            "state": str(b.state),
            "stateage": int((now - b.state_since) * _US),
            "outbuf_cnt": len(b.outq),
            "outbuf_msg_cnt": 0,  # produce requests are built when sent, never queued built
            "waitresp_cnt": len(waiting),
            "waitresp_msg_cnt": sum(r.msg_count for r in waiting),
            "tx": c.tx,
            "txbytes": c.txbytes,
            "txerrs": c.txerrs,
            "txretries": c.txretries,
            "txidle": int((now - c.last_tx) * _US) if up and c.last_tx else -1,
            "req_timeouts": c.req_timeouts,
            "rx": c.rx,
            "rxbytes": c.rxbytes,
            "rxerrs": c.rxerrs,
            "rxcorriderrs": c.rxcorriderrs,
            "rxpartial": c.rxpartial,
            "rxidle": int((now - c.last_rx) * _US) if up and c.last_rx else -1,
            "zbuf_grow": c.zbuf_grow,
            "buf_grow": 0,
            "wakeups": c.wakeups,
            "connects": b.connects,
            "disconnects": b.disconnects,
            "int_latency": c.int_latency.rollover().as_dict(),
            "outbuf_latency": c.outbuf_latency.rollover().as_dict(),
            "rtt": c.rtt.rollover().as_dict(),
            "throttle": c.throttle.rollover().as_dict(),
            "req": {r.name: req_by_key.get(r.api_key, 0) for r in REQUEST_NAMES
                    if r.emitted.covers(self.client)},
            "toppars": {f"{tp.topic}-{tp.partition}": {"topic": tp.topic,
                                                       "partition": tp.partition}
                        for tp in list(b.toppars)},
        }

    def _topic(self, t: Topic, now: float) -> dict[str, Any]:
        info = self.handle.metadata.topics.get(t.name)
        parts = {str(tp.partition): self._partition(tp) for tp in list(t.partitions)}
        parts["-1"] = self._unassigned(t)
        return {
            "topic": t.name,
            "age": int((now - t.created_at) * 1000),
            "metadata_age": int((now - info.updated_at) * 1000) if info is not None else 0,
            "batchsize": t.counters.batchsize.rollover().as_dict(),
            "batchcnt": t.counters.batchcnt.rollover().as_dict(),
            "partitions": parts,
        }

    def _partition(self, tp: Toppar) -> dict[str, Any]:
        producer = self.client is ClientType.PRODUCER
        h = self.handle
        msgq = list(tp.msgq)
        xmitq = list(tp.xmitq)
        queue = h.consumer_queue
        end = tp.ls_offset if h.read_committed and tp.ls_offset >= 0 else tp.hi_offset
        values = _partition_defaults(tp.partition)
        values.update({
            "broker": tp.leader_id if tp.leader is not None else -1,
            "leader": tp.leader_id,
            "desired": tp.assigned,
            "unknown": False,
            "msgq_cnt": len(msgq) + len(xmitq),
            "msgq_bytes": sum(m.size for m in msgq) + sum(m.size for m in xmitq),
            "leader_epoch": tp.leader_epoch,
            "txmsgs": tp.txmsgs,
            "txbytes": tp.txbytes,
            "rxmsgs": tp.rxmsgs,
            "rxbytes": tp.rxbytes,
            "msgs": tp.produced_msgs if producer else tp.rxmsgs,
            "rx_ver_drops": tp.rx_ver_drops,
            "msgs_inflight": tp.inflight,
        })
        if not producer:
            stored = tp.stored_position()[0]
            values.update({
                "fetchq_cnt": max(0, tp.queued_msgs),
                "fetchq_size": queue.backlog_bytes(tp) if queue is not None else 0,
                "fetch_state": _FETCH_STATES.get(tp.fetch_state, tp.fetch_state)
                if tp.assigned else "none",
                "query_offset": tp.query_offset,
                "next_offset": tp.fetch_pos if tp.fetch_pos >= 0 else 0,
                "app_offset": tp.app_pos,
                "stored_offset": stored,
                "commited_offset": tp.committed_offset,
                "committed_offset": tp.committed_offset,
                "eof_offset": tp.eof_offset,
                "lo_offset": tp.lo_offset,
                "hi_offset": tp.hi_offset,
                "ls_offset": tp.ls_offset,
                "consumer_lag": _lag(end, tp.committed_offset),
                "consumer_lag_stored": _lag(end, stored),
            })
        return values

    def _unassigned(self, t: Topic) -> dict[str, Any]:
        """The "-1" partition: librdkafka's UA partition, holding not-yet-partitioned messages."""
        with t.ua_lock:  # produce() appends under it; copying a deque mid-append raises
            ua = list(t.ua)
        values = _partition_defaults(-1)
        values.update({"msgq_cnt": len(ua), "msgq_bytes": sum(m.size for m in ua)})
        return values


def _partition_defaults(partition: int) -> dict[str, Any]:
    """A partition object before anything is known (librdkafka's values for an idle toppar)."""
    return {
        "partition": partition, "broker": -1, "leader": -1, "desired": False, "unknown": False,
        "msgq_cnt": 0, "msgq_bytes": 0, "xmit_msgq_cnt": 0, "xmit_msgq_bytes": 0,
        "fetchq_cnt": 0, "fetchq_size": 0, "fetch_state": "none", "query_offset": -1001,
        "next_offset": 0, "app_offset": -1001, "stored_offset": -1001,
        "stored_leader_epoch": -1, "commited_offset": -1001, "committed_offset": -1001,
        "committed_leader_epoch": -1, "eof_offset": -1001, "lo_offset": -1001,
        "hi_offset": -1001, "ls_offset": -1001, "consumer_lag": -1, "consumer_lag_stored": -1,
        "leader_epoch": -1, "txmsgs": 0, "txbytes": 0, "rxmsgs": 0, "rxbytes": 0, "msgs": 0,
        "rx_ver_drops": 0, "msgs_inflight": 0,
        # Idempotent producer sequence state: no idempotence yet, so nothing was sequenced.
        "next_ack_seq": 0, "next_err_seq": 0, "acked_msgid": 0,
    }


def _lag(end: int, offset: int) -> int:
    return max(0, end - offset) if end >= 0 and offset >= 0 else -1
