"""The statistics collector: the running client as librdkafka's stats_cb JSON document.

It reads the engine (brokers, topics, partitions, counters and windows; the consumer through
its ConsumerStatsSource) into plain nested dicts and hands them to rdpy.stats.shape, which
writes exactly the keys the schema declares, in librdkafka's order. Main thread only: windows
roll over as they are read, ints are read without locks, and the dicts and deques other threads
change are copied in one C call first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rdpy.client.broker.broker import Broker
from rdpy.client.broker.setup import BrokerState
from rdpy.client.toppar import FetchState, Topic, Toppar
from rdpy.config.conf import ClientType
from rdpy.errors import err2str
from rdpy.stats.schema import REQUEST_NAMES
from rdpy.stats.shape import shape

if TYPE_CHECKING:
    from rdpy.client.handle import Handle

__all__ = ["StatsCollector"]

_US = 1_000_000

#: One JSON object as collected, before shaping (values are ints, strs, bools, objects).
Values = dict[str, object]


class StatsCollector:
    """Builds one document per statistics interval. Main thread only (windows roll over)."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.client: ClientType = handle.kind
        self.created_at = handle.clock()

    def document(self) -> dict[str, object]:
        """Main thread. The document as a dict, keys in librdkafka's order."""
        return shape(self._top(), self.client)

    def json(self) -> str:
        """Main thread. The document as stats_cb gets it."""
        import json  # with statistics.interval.ms only, not with every client

        return json.dumps(self.document(), separators=(",", ":"))

    # --- the top level ---------------------------------------------------------------------------

    def _top(self) -> Values:
        """Main thread, takes the handle lock to copy the tables. The top level."""
        h = self.handle
        now = h.clock()
        with h.lock:
            # librdkafka lists every broker handle it has: bootstrap ones (until a Metadata
            # answer names the cluster's brokers: Handle.decommission_unavailable), learned
            # ones, and logical ones (the group coordinator connection).
            brokers = h.bootstrap + list(h.brokers.values()) + h.logical
            topics = list(h.topics.values())
            metadata_topics = len(h.metadata.topics)
        broker_docs = {_key(b): self._broker(b, now) for b in brokers}
        topic_docs: dict[str, Values] = {}
        partitions: list[Values] = []
        for t in topics:
            parts = self._partitions(t)
            partitions += parts.values()
            topic_docs[t.name] = self._topic(t, parts, now)
        values: Values = {
            "name": h.name,
            "client_id": h.settings.get_str("client.id"),
            "type": h.kind,
            "ts": int(time.monotonic() * _US),
            "time": int(time.time()),
            "age": int((now - self.created_at) * _US),
            "replyq": len(h.reply_q),
            **self._queue_limits(),
            "simple_cnt": 0,
            "metadata_cache_cnt": metadata_topics,
            "brokers": broker_docs,
            "topics": topic_docs,
            "tx": _total(broker_docs.values(), "tx"),
            "tx_bytes": _total(broker_docs.values(), "txbytes"),
            "rx": _total(broker_docs.values(), "rx"),
            "rx_bytes": _total(broker_docs.values(), "rxbytes"),
            "txmsgs": _total(partitions, "txmsgs"),
            "txmsg_bytes": _total(partitions, "txbytes"),
            "rxmsgs": _total(partitions, "rxmsgs"),
            "rxmsg_bytes": _total(partitions, "rxbytes"),
        }
        if h.consumer_stats is not None:
            values["cgrp"] = h.consumer_stats.cgrp_stats(now)
        if h.eos_stats is not None:
            values["eos"] = h.eos_stats.eos_stats(now)
        fatal = h.fatal_error
        if fatal is not None:
            values["fatal"] = {"error": err2str(fatal.code()), "reason": fatal.str(),
                               "cnt": h.fatal_cnt}
        return values

    def _queue_limits(self) -> Values:
        """Main thread. The producer's message counters and limits (0 for a consumer)."""
        h = self.handle
        if self.client != "producer":
            return {"msg_cnt": 0, "msg_size": 0, "msg_max": 0, "msg_size_max": 0}
        s = h.settings
        return {"msg_cnt": h.msg_cnt, "msg_size": h.msg_bytes,
                "msg_max": s.get_int("queue.buffering.max.messages"),
                "msg_size_max": s.get_int("queue.buffering.max.kbytes") * 1024}

    # --- brokers -------------------------------------------------------------------------------

    def _broker(self, b: Broker, now: float) -> Values:
        """Main thread. One broker: its connection, requests, counters and windows."""
        c = b.stats
        up = b.state is BrokerState.UP
        waiting = list(b.waitresp.values())
        req_by_key = dict(c.req)
        return {
            "name": _key(b),
            "nodeid": b.node_id if b.node_id >= 0 and not b.logical else -1,
            "nodename": f"{b.host}:{b.port}",
            "source": "logical" if b.logical else "configured" if b.node_id < 0 else "learned",
            "state": b.state.value,
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

    # --- topics and partitions ------------------------------------------------------------------

    def _topic(self, t: Topic, parts: dict[str, Values], now: float) -> Values:
        """Main thread. One topic, around its collected partitions."""
        info = self.handle.metadata.topics.get(t.name)
        return {
            "topic": t.name,
            "age": int((now - t.created_at) * 1000),
            "metadata_age": int((now - info.updated_at) * 1000) if info is not None else 0,
            "batchsize": t.counters.batchsize.rollover().as_dict(),
            "batchcnt": t.counters.batchcnt.rollover().as_dict(),
            "partitions": parts,
        }

    def _partitions(self, t: Topic) -> dict[str, Values]:
        """Main thread. The topic's partitions by id, its unassigned queue as "-1"."""
        parts = {str(tp.partition): self._partition(tp) for tp in list(t.partitions)}
        parts["-1"] = _unassigned(t)
        return parts

    def _partition(self, tp: Toppar) -> Values:
        """Main thread. One partition (copies its queues: other threads change them)."""
        producer = self.client == "producer"
        msgq = list(tp.msgq)
        xmitq = list(tp.xmitq)
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
            "next_ack_seq": tp.next_ack_seq,
            "next_err_seq": tp.next_err_seq,
            "acked_msgid": tp.acked_msgid,
        })
        if not producer:
            values.update(self._consumer_partition(tp))
        return values

    def _consumer_partition(self, tp: Toppar) -> Values:
        """Main thread. A consumer's partition: fetch state, offsets and lag."""
        h = self.handle
        source = h.consumer_stats
        stored = tp.stored_position()[0]
        end = tp.ls_offset if h.read_committed and tp.ls_offset >= 0 else tp.hi_offset
        return {
            "fetchq_cnt": max(0, tp.queued_msgs),
            "fetchq_size": source.prefetched_bytes(tp) if source is not None else 0,
            # FetchState's values are librdkafka's names for the states.
            "fetch_state": tp.fetch_state.value if tp.assigned else FetchState.NONE.value,
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
        }


def _unassigned(t: Topic) -> Values:
    """Main thread, takes `t.ua_lock`. The "-1" partition: librdkafka's UA partition, holding
    not-yet-partitioned messages."""
    with t.ua_lock:  # produce() appends under it; copying a deque mid-append raises
        ua = list(t.ua)
    values = _partition_defaults(-1)
    values.update({"msgq_cnt": len(ua), "msgq_bytes": sum(m.size for m in ua)})
    return values


def _partition_defaults(partition: int) -> Values:
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
        # Idempotent producer sequence state (nothing sequenced yet).
        "next_ack_seq": 0, "next_err_seq": 0, "acked_msgid": 0,
    }


def _total(docs: Iterable[Values], key: str) -> int:
    """The sum of the int `key` of each collected object: the top-level totals are the sums
    of the very values the document shows (read once), not a second read of the counters."""
    total = 0
    for doc in docs:
        value = doc[key]
        assert isinstance(value, int)
        total += value
    return total


def _lag(end: int, offset: int) -> int:
    return max(0, end - offset) if end >= 0 and offset >= 0 else -1


def _key(b: Broker) -> str:
    """A broker's name in the statistics: "host:port/nodeid", "host:port/bootstrap", or a
    logical broker's own name (librdkafka's rkb_name)."""
    return b.logical_name if b.logical else b.name
