#!/usr/bin/env python3
"""Export rdpy's statistics to Prometheus: stats_cb JSON in, /metrics text out.

    python examples/stats_to_prometheus.py

With `statistics.interval.ms` and a `stats_cb` in the configuration, a client hands your callback
one JSON document per interval (from inside poll(), on your thread). The document has
librdkafka's shape, so the same exporter serves rdpy, confluent-kafka and any other
librdkafka-based client. This example keeps the latest document of each client, converts them
to Prometheus' text format when scraped, and serves that on http://127.0.0.1:PORT/metrics with
the standard library's http.server (PORT: METRICS_PORT, or any free port).

To show it working, it produces a few thousand messages, consumes them back, scrapes its own
/metrics once and prints some of the samples. It uses the cluster in BOOTSTRAP_SERVERS if set;
otherwise it starts a local Tansu broker (`pip install "rdpy-kafka[demo]"`) and stops it at the end.
The field meanings are in STATISTICS.md.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from rdpy import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

COUNT = 3000

# How often the clients describe themselves. 500 ms keeps the demo short; in production use
# something close to the scrape interval (15000-60000 ms): each document costs a little CPU.
STATS_INTERVAL_MS = 500

Document = Mapping[str, Any]

# ---------------------------------------------------------------------------------------------
# The conversion: statistics document(s) -> Prometheus text exposition format. A pure function,
# so it can be tested on captured documents (rdpy's or librdkafka's) without a broker.
# ---------------------------------------------------------------------------------------------

# librdkafka's broker states in the order of its enum (rd_kafka_broker_state_t), so the number
# a dashboard shows means the same for every librdkafka-compatible client. 6 is UP.
BROKER_STATES = ("INIT", "DOWN", "TRY_CONNECT", "CONNECT", "SSL_HANDSHAKE", "AUTH_LEGACY", "UP",
                 "UPDATE", "APIVERSION_QUERY", "AUTH_HANDSHAKE", "AUTH_REQ", "REAUTH")


def _number(v: Any) -> float | None:
    """A JSON number as a sample value; anything else (missing key, string) gives no sample."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v


def _seconds(v: Any) -> float | None:
    """Window values are microseconds; Prometheus' convention is seconds."""
    n = _number(v)
    return None if n is None else n / 1_000_000


def _state(v: Any) -> float | None:
    return BROKER_STATES.index(v) if v in BROKER_STATES else -1


def _known(v: Any) -> float | None:
    """Offsets and lags use negative values for "unknown": leave those out rather than export a
    lag of -1 that a sum() or an alert would take for a real number."""
    n = _number(v)
    return None if n is None or n < 0 else n


class Metric(NamedTuple):
    """One Prometheus metric family taken from one key of the statistics document."""

    level: str  # the object holding the key: "client" (top level), "broker", "partition", "cgrp"
    key: tuple[str, ...]  # the key's path inside that object
    name: str
    type: str  # "gauge" or "counter" (counters end in _total and only grow)
    help: str
    client: str = ""  # "producer" or "consumer": exported for that client type only
    convert: Callable[[Any], float | None] = _number


# What to export, in output order. The statistics hold much more (see STATISTICS.md): adding a
# key here is all it takes. Counters keep their JSON name plus _total, so they are easy to trace.
METRICS: tuple[Metric, ...] = (
    Metric("client", ("replyq",), "rdkafka_replyq", "gauge",
           "Events waiting for the application's poll()"),
    Metric("client", ("msg_cnt",), "rdkafka_msg_cnt", "gauge",
           "Messages produced and not yet delivered or failed", "producer"),
    Metric("client", ("msg_size",), "rdkafka_msg_size_bytes", "gauge",
           "Bytes of the messages in msg_cnt", "producer"),
    Metric("client", ("tx",), "rdkafka_tx_total", "counter", "Requests sent to all brokers"),
    Metric("client", ("tx_bytes",), "rdkafka_tx_bytes_total", "counter",
           "Bytes sent to all brokers"),
    Metric("client", ("rx",), "rdkafka_rx_total", "counter",
           "Responses received from all brokers"),
    Metric("client", ("rx_bytes",), "rdkafka_rx_bytes_total", "counter",
           "Bytes received from all brokers"),
    Metric("client", ("txmsgs",), "rdkafka_txmsgs_total", "counter",
           "Messages produced and acknowledged", "producer"),
    Metric("client", ("txmsg_bytes",), "rdkafka_txmsg_bytes_total", "counter",
           "Bytes of the acknowledged messages", "producer"),
    Metric("client", ("rxmsgs",), "rdkafka_rxmsgs_total", "counter",
           "Messages consumed", "consumer"),
    Metric("client", ("rxmsg_bytes",), "rdkafka_rxmsg_bytes_total", "counter",
           "Bytes of the consumed messages", "consumer"),
    Metric("broker", ("state",), "rdkafka_broker_state", "gauge",
           "Connection state: " + ", ".join(f"{i} {s}" for i, s in enumerate(BROKER_STATES))
           + ", -1 other", convert=_state),
    # Windows cover the last statistics interval only, hence gauges.
    Metric("broker", ("rtt", "p50"), "rdkafka_broker_rtt_p50_seconds", "gauge",
           "Median request round-trip time over the last statistics interval", convert=_seconds),
    Metric("broker", ("rtt", "p99"), "rdkafka_broker_rtt_p99_seconds", "gauge",
           "99th percentile of the request round-trip time over the last statistics interval",
           convert=_seconds),
    Metric("broker", ("outbuf_cnt",), "rdkafka_broker_outbuf_cnt", "gauge",
           "Requests waiting to be sent"),
    Metric("broker", ("outbuf_msg_cnt",), "rdkafka_broker_outbuf_msg_cnt", "gauge",
           "Messages in the requests waiting to be sent"),
    Metric("broker", ("waitresp_cnt",), "rdkafka_broker_waitresp_cnt", "gauge",
           "Requests sent and awaiting a response"),
    Metric("broker", ("waitresp_msg_cnt",), "rdkafka_broker_waitresp_msg_cnt", "gauge",
           "Messages in the requests awaiting a response"),
    Metric("broker", ("tx",), "rdkafka_broker_tx_total", "counter", "Requests sent"),
    Metric("broker", ("txbytes",), "rdkafka_broker_txbytes_total", "counter", "Bytes sent"),
    Metric("broker", ("txerrs",), "rdkafka_broker_txerrs_total", "counter", "Send errors"),
    Metric("broker", ("rx",), "rdkafka_broker_rx_total", "counter", "Responses received"),
    Metric("broker", ("rxbytes",), "rdkafka_broker_rxbytes_total", "counter", "Bytes received"),
    Metric("broker", ("rxerrs",), "rdkafka_broker_rxerrs_total", "counter", "Receive errors"),
    Metric("broker", ("req_timeouts",), "rdkafka_broker_req_timeouts_total", "counter",
           "Requests that timed out"),
    Metric("broker", ("disconnects",), "rdkafka_broker_disconnects_total", "counter",
           "Connections lost or closed"),
    Metric("partition", ("txmsgs",), "rdkafka_partition_txmsgs_total", "counter",
           "Messages produced and acknowledged", "producer"),
    Metric("partition", ("txbytes",), "rdkafka_partition_txbytes_total", "counter",
           "Bytes of the acknowledged messages", "producer"),
    Metric("partition", ("msgq_cnt",), "rdkafka_partition_msgq_cnt", "gauge",
           "Messages waiting in the partition's queue", "producer"),
    Metric("partition", ("msgq_bytes",), "rdkafka_partition_msgq_bytes", "gauge",
           "Bytes of the messages in msgq_cnt", "producer"),
    Metric("partition", ("rxmsgs",), "rdkafka_partition_rxmsgs_total", "counter",
           "Messages consumed", "consumer"),
    Metric("partition", ("rxbytes",), "rdkafka_partition_rxbytes_total", "counter",
           "Bytes of the consumed messages", "consumer"),
    Metric("partition", ("fetchq_cnt",), "rdkafka_partition_fetchq_cnt", "gauge",
           "Prefetched messages waiting for the application", "consumer"),
    Metric("partition", ("committed_offset",), "rdkafka_partition_committed_offset", "gauge",
           "Last committed offset (absent until known)", "consumer", _known),
    Metric("partition", ("consumer_lag",), "rdkafka_partition_consumer_lag", "gauge",
           "Messages between the committed offset and the end of the partition "
           "(absent until both are known)", "consumer", _known),
    Metric("cgrp", ("assignment_size",), "rdkafka_cgrp_assignment_size", "gauge",
           "Partitions in the group assignment (0 with assign() only)", "consumer"),
    Metric("cgrp", ("rebalance_cnt",), "rdkafka_cgrp_rebalance_cnt_total", "counter",
           "Group rebalances", "consumer"),
)


def _objects(doc: Document) -> Iterator[tuple[str, Mapping[str, Any], dict[str, str]]]:
    """(level, object, labels) for every object of the document that METRICS reads from."""
    client = {"client": str(doc.get("name", ""))}
    yield "client", doc, client
    for name, broker in doc.get("brokers", {}).items():
        yield "broker", broker, {**client, "broker": name}
    for topic, t in doc.get("topics", {}).items():
        for partition, p in t.get("partitions", {}).items():
            # "-1" is the internal partition of messages whose topic metadata has not arrived
            # yet: its queue is already counted in the top-level msg_cnt.
            if partition != "-1":
                yield "partition", p, {**client, "topic": topic, "partition": partition}
    if "cgrp" in doc:  # consumers with a group.id only
        yield "cgrp", doc["cgrp"], client


def _lookup(obj: Mapping[str, Any], key: tuple[str, ...]) -> Any:
    for k in key:
        if not isinstance(obj, Mapping) or k not in obj:
            return None
        obj = obj[k]
    return obj


def _escape(value: str) -> str:
    """Label values escape backslash, double quote and newline (exposition format rules)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sample(name: str, labels: Mapping[str, str], value: float) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    text = str(value) if isinstance(value, int) else repr(float(value))
    return f"{name}{{{body}}} {text}"


def to_prometheus(*documents: Document) -> str:
    """Prometheus text exposition of one or more parsed statistics documents.

    Several documents (one per client) go into one text because the format wants each metric
    family once, with all its samples together; the `client` label tells the clients apart.
    Keys a document lacks are skipped, so documents of other librdkafka versions work too.
    """
    samples: dict[str, list[str]] = {m.name: [] for m in METRICS}
    for doc in documents:
        kind = doc.get("type", "")
        for level, obj, labels in _objects(doc):
            for m in METRICS:
                if m.level != level or (m.client and m.client != kind):
                    continue
                raw = _lookup(obj, m.key)
                value = None if raw is None else m.convert(raw)
                if value is not None:
                    samples[m.name].append(_sample(m.name, labels, value))
    lines: list[str] = []
    for m in METRICS:
        if samples[m.name]:
            lines += [f"# HELP {m.name} {m.help}", f"# TYPE {m.name} {m.type}", *samples[m.name]]
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------------------------------------
# The exporter: stats_cb stores documents, an HTTP thread renders them when scraped.
# ---------------------------------------------------------------------------------------------

class LatestStats:
    """The latest statistics document of each client, by client name.

    stats_cb runs on the application's thread (inside poll()) while scrapes arrive on the HTTP
    server's threads, hence the lock. Stored documents are never modified, so a scrape can
    render them after letting the lock go.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[str, Document] = {}

    def stats_cb(self, stats_json: str) -> None:
        doc = json.loads(stats_json)
        with self._lock:
            self._docs[doc["name"]] = doc

    def documents(self) -> list[Document]:
        with self._lock:
            return list(self._docs.values())

    def render(self) -> str:
        return to_prometheus(*self.documents())


def serve_metrics(stats: LatestStats, port: int) -> ThreadingHTTPServer:
    """Serve GET /metrics on 127.0.0.1:port (0: any free port) from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = stats.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one stderr line per scrape is noise

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


# ---------------------------------------------------------------------------------------------
# The demo: some traffic, so the metrics have something to say.
# ---------------------------------------------------------------------------------------------

def poll_until(client: Producer | Consumer, ready: Callable[[], bool], what: str) -> None:
    """Call poll() (where stats_cb runs) until ready() holds; give up after 30 s."""
    deadline = time.monotonic() + 30
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        client.poll(0.1)


def latest(stats: LatestStats, kind: str) -> Document:
    """The latest document of the (only) client of this type, or an empty one."""
    return next((d for d in stats.documents() if d.get("type") == kind), {})


def produce(producer: Producer, topic: str) -> None:
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: object) -> None:
        if err is not None:
            failures.append(err)

    for i in range(COUNT):
        producer.produce(topic, value=f"message {i}".encode(), key=f"key-{i % 16}",
                         on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(30)
    if failures or left:
        raise SystemExit(f"produce failed: {failures[:3]}, {left} still queued")


def consume(consumer: Consumer, topic: str) -> None:
    partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    received = 0
    deadline = time.monotonic() + 30
    while received < COUNT:
        if time.monotonic() > deadline:
            raise SystemExit(f"consumed {received} of {COUNT} messages in 30 s")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            raise SystemExit(f"consume failed: {msg.error()}")
        received += 1
    # Committing gives the statistics a committed offset, and so a consumer_lag.
    consumer.commit(asynchronous=False)


def _committed(doc: Document) -> int:
    """Sum of the committed offsets in a consumer document. On a new topic offsets start at 0,
    so this reaches COUNT once everything consumed is committed."""
    return sum(max(p.get("committed_offset", -1), 0)
               for t in doc.get("topics", {}).values()
               for k, p in t.get("partitions", {}).items() if k != "-1")


# The families whose samples the demo prints: a few lines out of the whole scrape.
SHOWN = ("rdkafka_txmsgs_total", "rdkafka_rxmsgs_total", "rdkafka_broker_state",
         "rdkafka_broker_rtt_p99_seconds", "rdkafka_partition_txmsgs_total",
         "rdkafka_partition_consumer_lag")


def run(bootstrap: str) -> None:
    stats = LatestStats()
    server = serve_metrics(stats, int(os.environ.get("METRICS_PORT", "0")))
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    print(f"serving metrics on {url}")
    common = {"bootstrap.servers": bootstrap, "statistics.interval.ms": STATS_INTERVAL_MS,
              "stats_cb": stats.stats_cb}
    topic = f"rdpy-stats-{uuid.uuid4().hex[:8]}"
    producer = Producer({**common, "linger.ms": 5})
    consumer = Consumer({**common, "group.id": f"stats-{topic}"})
    try:
        produce(producer, topic)
        # Statistics are sampled once per interval: wait for a document that has seen it all.
        poll_until(producer, lambda: latest(stats, "producer").get("txmsgs", 0) >= COUNT,
                   "the producer's statistics")
        consume(consumer, topic)
        poll_until(consumer, lambda: _committed(latest(stats, "consumer")) >= COUNT,
                   "the consumer's statistics")
        print(f"produced {COUNT} messages to {topic} and consumed them back")

        # What Prometheus would do: fetch /metrics over HTTP.
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        consumer.close()
        producer.close()
        server.shutdown()
        server.server_close()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    print(f"scraped {len(samples)} samples ({len(text)} bytes); among them:")
    for line in samples:
        if line.split("{", 1)[0] in SHOWN:
            print(f"  {line}")


def main() -> int:
    bootstrap = os.environ.get("BOOTSTRAP_SERVERS", "").strip()
    broker = None
    if not bootstrap:
        from rdpy.testing import start_tansu

        broker = start_tansu()
        bootstrap = broker.bootstrap_servers
        print(f"started a local Tansu broker at {bootstrap}")
    try:
        run(bootstrap)
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
