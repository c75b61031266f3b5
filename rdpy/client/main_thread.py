"""The client's main thread: the timers no broker thread owns. It runs no user code: anything
for the application goes on the reply queue.

One tick every 100 ms (sooner when woken): messages that wait for metadata or for a leader are
placed or time out; cached metadata older than metadata.max.age.ms is forgotten; messages left on
removed partitions fail; while no broker is up, backing-off brokers are told to try again; the
client's components do their work (`MainThreadWork`: offset lookups, commits); a statistics
document is built when due; and the metadata is refreshed, fast while a topic is unknown or a
partition leaderless. Everything here runs on the main thread ("rdpy:main:<name>") unless a
method says otherwise.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

from rdpy.client.broker.setup import BrokerState
from rdpy.client.msg import ProducerMessage
from rdpy.client.ops import Connect, ConnectNow, StatsReady
from rdpy.client.produce import unassigned
from rdpy.client.stats_collect import StatsCollector
from rdpy.client.toppar import Topic, Toppar
from rdpy.errors import ErrorCode
from rdpy.stats.counters import statistics_interval

if TYPE_CHECKING:
    from rdpy.client.handle import Handle

__all__ = ["MainThread"]

#: Longest sleep between ticks.
_TICK = 0.1
_INF = float("inf")
#: Brokers neither connected nor connecting.
_NOT_CONNECTED = (BrokerState.INIT, BrokerState.DOWN)


class MainThread:
    """The main thread of one client and the state only it touches."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self._wake = threading.Event()
        #: The earliest time a component asked for a tick (wake_at), inf: none.
        self._next_due = _INF
        self.thread = threading.Thread(target=self._loop, name=f"rdpy:main:{handle.name}",
                                       daemon=True)
        self._next_probe = 0.0
        #: librdkafka's 1 s timer: the first tick a second after the client was created.
        self._next_connect_any = handle.clock() + 1.0
        self.rebootstrap = handle.settings.get_enum("metadata.recovery.strategy") == "rebootstrap"
        # Statistics: built every statistics.interval.ms and served to stats_cb by poll()
        # (collected only when someone will read them).
        self.stats_interval = statistics_interval(handle.settings)
        self._next_stats = handle.clock() + self.stats_interval
        self._stats = StatsCollector(handle) if self.stats_interval else None

    def start(self) -> None:
        """App thread."""
        self.thread.start()

    def wake(self) -> None:
        """Any thread. Run the next tick now."""
        self._wake.set()

    def wake_at(self, when: float) -> None:
        """Any thread. Run a tick no later than `when` (monotonic): a retry due sooner than
        the next regular tick (librdkafka's timers: 20 ms after CONCURRENT_TRANSACTIONS)."""
        if when < self._next_due:
            self._next_due = when
            self._wake.set()  # the wait in progress is recomputed with the new due time

    def join(self, timeout: float) -> None:
        """App thread. Wait up to `timeout` s for the thread to end (not from itself)."""
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _loop(self) -> None:
        clock = self.handle.clock
        while not self.handle.terminating:
            self._wake.wait(self.sleep_for(clock()))
            self._wake.clear()
            if self.handle.terminating:
                break
            now = clock()
            if self._next_due <= now:
                self._next_due = _INF
            try:
                self.serve(now)
            except Exception as exc:  # a bug must not silently kill the main thread
                self.handle.log(3, "BUG", f"main thread: internal error: {exc!r}")
                self.handle.report_error(ErrorCode._FAIL, f"main thread: internal error: {exc!r}")

    def sleep_for(self, now: float) -> float:
        """Seconds until the next tick: _TICK, or less when something is due sooner. The
        statistics count as due on their own cadence rather than at the next regular tick (up
        to _TICK late): librdkafka's stats timer fires on time."""
        due = min(self._next_due, self._next_stats) if self._stats else self._next_due
        return _TICK if due == _INF else max(0.0, min(_TICK, due - now))

    def serve(self, now: float) -> None:
        """One tick (tests call it directly, with a fake clock)."""
        h = self.handle
        for broker, request, err in h.take_late_failures():
            request.fail(broker, err)
        need_refresh = self._serve_waiting(now)
        self._evict_stale_metadata(now)
        self._fail_removed()
        self._probe_cluster(now)
        self._connect_any(now)
        for work in h.main_work:
            work.main_tick(now)
        self._emit_stats(now)
        h.refresher.main_tick(now, need_refresh)

    def _serve_waiting(self, now: float) -> bool:
        """Place what waited for metadata, time out what waits for a topic or a leader.
        Returns whether the metadata needs refreshing (a topic unknown, a partition
        leaderless)."""
        h = self.handle
        failed: list[ProducerMessage] = []
        need_refresh = False
        with h.lock:
            topics = list(h.topics.values())
        for topic in topics:
            if topic.exists is True and not topic.direct and not h.user_partitioner:
                with h.lock, topic.ua_lock:
                    failed += unassigned.place(h, topic)
            if topic.exists is not True:
                need_refresh = True
                failed += unassigned.expire(topic, now, h.refresher.propagation_max)
                continue
            leaderless, expired = _serve_leaderless(topic, now, h.fatal_error is not None)
            need_refresh = need_refresh or leaderless
            failed += expired
        h.deliver(failed)
        return need_refresh

    def _evict_stale_metadata(self, now: float) -> None:
        """Takes the handle lock. Forget cached topic metadata older than
        metadata.max.age.ms (topics in use are refreshed well before that; this drops what
        nobody asks about any more)."""
        with self.handle.lock:
            self.handle.metadata.evict_older_than(now - self.handle.refresher.max_age)

    def _fail_removed(self) -> None:
        """Takes the handle lock. Messages queued on removed partitions with no leader to
        fail them."""
        h = self.handle
        with h.lock:
            removed = list(h.refresher.removed)
        failed = [m for tp in removed if tp.msgq and tp.leader is None for m in tp.take_all()]
        for m in failed:
            m.err = ErrorCode._UNKNOWN_PARTITION
        h.deliver(failed)

    def _probe_cluster(self, now: float) -> None:
        """While no broker is up, once a second, tell every broker backing off from a failed
        connection to try again at once (those with nothing to send stay idle).

        librdkafka does the same in effect with metadata.recovery.strategy=rebootstrap (the
        default): when every broker is down it re-adds the bootstrap brokers, which start
        without a backoff, and its one-second timers ask for a cluster connection. So a
        cluster back after an outage is found within about a second, not after
        reconnect.backoff.max.ms (10 s)."""
        if not self.rebootstrap or now < self._next_probe:
            return
        brokers = self.handle.all_brokers()
        if any(b.state == BrokerState.UP for b in brokers):
            return
        self._next_probe = now + 1.0
        for b in brokers:
            if b.state == BrokerState.DOWN and b.next_connect_at > now:
                b.post(ConnectNow())

    def _connect_any(self, now: float) -> None:
        """Once a second while no broker is up, ask one that is not connecting to connect,
        even with nothing to send: librdkafka's sparse connections keep at least one
        connection to the cluster (rd_kafka_connect_any() from its 1 s timer). A broker never
        tried is preferred, so that every address is tried before all are reported down.
        This is what connects a learned broker once the bootstrap ones are decommissioned."""
        if now < self._next_connect_any:
            return
        self._next_connect_any = now + 1.0
        brokers = self.handle.all_brokers()
        if any(b.state == BrokerState.UP for b in brokers):
            return
        idle = [b for b in brokers if b.state in _NOT_CONNECTED]
        pool = [b for b in idle if not b.connects] or idle
        if pool:
            random.choice(pool).post(Connect())

    def _emit_stats(self, now: float) -> None:
        """One statistics document per statistics.interval.ms, for poll()."""
        if self._stats is None or now < self._next_stats:
            return
        # Fixed cadence, as librdkafka's timer: a late tick does not shift the next ones.
        self._next_stats = max(self._next_stats + self.stats_interval, now)
        self.handle.reply_q.push(StatsReady(self._stats.json()))


def _serve_leaderless(topic: Topic, now: float,
                      stopped: bool) -> tuple[bool, list[ProducerMessage]]:
    """Whether a partition of `topic` needs its leader looked up again (none, or one that is
    down while the partition has work), and the messages of the leaderless partitions'
    queues that fail now: timed out at the head, or all of them once the producer `stopped`
    on a fatal error (messages put back after its purge, as ProduceServer does for the
    partitions with a leader)."""
    query = False
    expired: list[ProducerMessage] = []
    for tp in topic.partitions:
        if tp.leader is None:
            query = True
            expired += _purge_msgq(tp) if stopped and tp.msgq else _expire_msgq(tp, now)
        elif not query and _leader_down(tp):
            query = True
    return query, expired


def _leader_down(tp: Toppar) -> bool:
    """The partition's leader is down while the partition has something to send or fetch:
    librdkafka's rd_kafka_toppar_needs_query() "down" (a broker lost with nothing to do, as
    an idle connection the broker closed, needs no query)."""
    leader = tp.leader
    return (leader is not None and leader.state == BrokerState.DOWN
            and bool(tp.msgq or tp.xmitq or tp.fetchable()))


def _purge_msgq(tp: Toppar) -> list[ProducerMessage]:
    """Takes `tp.lock`. Everything in a leaderless partition's queue, failed _PURGE_QUEUE."""
    purged = tp.take_all()
    for m in purged:
        m.err = ErrorCode._PURGE_QUEUE
    return purged


def _expire_msgq(tp: Toppar, now: float) -> list[ProducerMessage]:
    """Takes `tp.lock` if anything expired. Timed-out messages at the head of a leaderless
    partition's queue."""
    expired = tp.take_expired(now) if tp.msgq and tp.msgq[0].deadline <= now else []
    for m in expired:
        m.err = ErrorCode._MSG_TIMED_OUT
    return expired
