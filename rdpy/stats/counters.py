"""The engine's measurement points: per-broker and per-topic counters and windows.

Each object has one writer, the thread that owns what is measured (a broker thread for its
connection, requests and batches), and one reader, the main thread emitting statistics, which
only reads ints (atomic under the GIL) and rolls windows over (see ``Window``).  Counters are
plain int additions and always kept; windows are fed only while statistics are on (nobody
would read them otherwise), so with statistics off nothing here costs more than an int add.
"""

from __future__ import annotations

from rdpy.config.conf import Settings
from rdpy.stats.schema import WINDOWS
from rdpy.stats.window import Window

__all__ = ["BrokerCounters", "TopicCounters", "statistics_interval"]


def statistics_interval(settings: Settings) -> float:
    """Seconds between statistics documents; 0 when they are off: statistics.interval.ms is 0
    or there is no stats_cb to hand them to."""
    if not settings.callbacks.get("stats_cb"):
        return 0.0
    return settings.get_int("statistics.interval.ms") / 1000.0


def _window(name: str, settings: Settings) -> Window:
    spec = WINDOWS[name]
    hi = settings.get_int(spec.hi_property) if spec.hi_property else None
    return Window.from_spec(spec, hi)


class BrokerCounters:
    """One broker connection's counters (librdkafka's rkb_c and rkb_avg_*). Broker thread."""

    __slots__ = (
        "enabled",
        "tx",
        "txbytes",
        "txerrs",
        "txretries",
        "req_timeouts",
        "rx",
        "rxbytes",
        "rxerrs",
        "rxcorriderrs",
        "rxpartial",
        "zbuf_grow",
        "wakeups",
        "last_tx",
        "last_rx",
        "req",
        "int_latency",
        "outbuf_latency",
        "rtt",
        "throttle",
    )

    def __init__(self, settings: Settings) -> None:
        self.enabled = statistics_interval(settings) > 0
        self.tx = 0
        self.txbytes = 0
        self.txerrs = 0
        self.txretries = 0
        self.req_timeouts = 0
        self.rx = 0
        self.rxbytes = 0
        self.rxerrs = 0
        self.rxcorriderrs = 0
        self.rxpartial = 0
        self.zbuf_grow = 0
        self.wakeups = 0
        #: Monotonic time of the last request sent / response received (0: never).
        self.last_tx = 0.0
        self.last_rx = 0.0
        #: Requests sent per API key.
        self.req: dict[int, int] = {}
        self.int_latency = _window("int_latency", settings)
        self.outbuf_latency = _window("outbuf_latency", settings)
        self.rtt = _window("rtt", settings)
        self.throttle = _window("throttle", settings)

    def sent(self, api_key: int, nbytes: int, queued_for: float, now: float) -> None:
        """A request was written to the connection after waiting `queued_for` seconds."""
        self.tx += 1
        self.txbytes += nbytes
        self.req[api_key] = self.req.get(api_key, 0) + 1
        self.last_tx = now
        if self.enabled:
            self.outbuf_latency.add(int(queued_for * 1_000_000))

    def received(self, nbytes: int, rtt: float, throttle_ms: int | None, now: float) -> None:
        """A response arrived `rtt` seconds after its request was sent."""
        self.rx += 1
        self.rxbytes += nbytes
        self.last_rx = now
        if self.enabled:
            self.rtt.add(int(rtt * 1_000_000))
            if throttle_ms is not None:
                self.throttle.add(throttle_ms)


class TopicCounters:
    """A topic's batch windows (librdkafka's rkt_avg_batchsize/batchcnt). Broker threads.

    Several broker threads may add to one topic's windows (partitions have different leaders);
    a value lost to a concurrent add is a sampling error the windows tolerate (see Window).
    """

    __slots__ = ("enabled", "batchsize", "batchcnt")

    def __init__(self, settings: Settings) -> None:
        self.enabled = statistics_interval(settings) > 0
        self.batchsize = _window("batchsize", settings)
        self.batchcnt = _window("batchcnt", settings)

    def batch(self, nbytes: int, count: int) -> None:
        if self.enabled:
            self.batchsize.add(nbytes)
            self.batchcnt.add(count)
