"""Clients dropped without close() give back their threads and file descriptors.

The application may forget close(): a Producer or Consumer it no longer refers to must stop its
threads and close its sockets by itself (confluent-kafka does, from its dealloc). Each test runs
in a child process, so that its thread and descriptor counts (/proc/self/task, /proc/self/fd:
librdkafka's threads are not Python threads) are the clients' alone. The clients connect and
work before they are dropped: each producer produced and flushed a message, each consumer was
assigned a partition and fetched from it. Run for both clients, on the real broker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import ModuleType
from typing import Any

from tests.integration.consumer._util import create_topic, unique_topic
from tests.support.broker import BrokerEndpoint
from tests.support.clients import client  # noqa: F401  (the parametrized client fixture)

#: How long the counts may take to come back to their baseline after the clients are dropped.
SETTLE_S = 5.0

CHILD_PRELUDE = r"""
import gc, importlib, json, os, sys, time

ck = importlib.import_module(sys.argv[1])
bootstrap, topic, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
QUIET = {"log_level": 0}
SETTLE_S = float(os.environ["RDPY_TEST_SETTLE_S"])


def counts():
    return len(os.listdir("/proc/self/task")), len(os.listdir("/proc/self/fd"))


def settle(baseline, limit):
    # Seconds until threads and descriptors are back to the baseline, or None.
    start = time.monotonic()
    while time.monotonic() - start < limit:
        now = counts()
        if now[0] <= baseline[0] and now[1] <= baseline[1]:
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def new_producer(**conf):
    return ck.Producer({"bootstrap.servers": bootstrap, **QUIET, **conf})


def new_consumer(**conf):
    return ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "rdpy-lifetimes",
                        "enable.auto.commit": False, **QUIET, **conf})


def first_message(consumer):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = consumer.poll(0.2)
        if m is not None and m.error() is None:
            return m.offset()
    raise AssertionError("the consumer fetched nothing in 30 s")


# Warm up (whatever a library sets up once per process), then measure.
p = new_producer()
for partition in (0, 1):  # every consumer below finds a message to fetch
    p.produce(topic, b"warm-up", partition=partition)
assert p.flush(30) == 0
p.close()
c = new_consumer()
c.assign([ck.TopicPartition(topic, 0, 0)])
first_message(c)
c.close()
del p, c
time.sleep(0.5)
baseline = counts()
"""

CHILD_DROPPED = CHILD_PRELUDE + r"""
gc.disable()  # reference counting alone must free a dropped client: no cycle may hold it
report = {"baseline": baseline}

# n producers and n consumers alive together, each having done its work, then all dropped.
clients = []
for i in range(n):
    p = new_producer()
    p.produce(topic, b"m%d" % i, partition=i % 2)
    clients.append(p)
for p in clients:
    assert p.flush(30) == 0
for i in range(n):
    c = new_consumer()
    c.assign([ck.TopicPartition(topic, i % 2, 0)])
    clients.append(c)
for c in clients[n:]:
    first_message(c)
report["peak"] = counts()
del p, c
clients.clear()
report["together_settled_s"] = settle(baseline, SETTLE_S)
report["together_after"] = counts()

# One at a time: each dropped as soon as it has done its work.
for i in range(n // 5):
    p = new_producer()
    p.produce(topic, b"o%d" % i, partition=0)
    assert p.flush(30) == 0
    del p
    c = new_consumer()
    c.assign([ck.TopicPartition(topic, 1, 0)])
    first_message(c)
    del c
report["one_by_one_settled_s"] = settle(baseline, SETTLE_S)
report["one_by_one_after"] = counts()
print(json.dumps(report))
"""

CHILD_CYCLE = CHILD_PRELUDE + r"""
# An application object owns the client and gives it its own bound methods as callbacks: a
# reference cycle (object -> client -> callback -> object), which only the cyclic GC can free.
# The client's threads must not keep it alive meanwhile (confluent-kafka's are not Python
# objects at all).
class App:
    def __init__(self, kind):
        if kind == "consumer":
            self.client = new_consumer(error_cb=self.on_error, on_commit=self.on_commit,
                                       stats_cb=self.on_stats, logger=self)
        else:
            self.client = new_producer(error_cb=self.on_error, on_delivery=self.on_delivery,
                                       stats_cb=self.on_stats, logger=self)

    def on_error(self, err): pass
    def on_commit(self, err, partitions): pass
    def on_delivery(self, err, msg): pass
    def on_stats(self, doc): pass
    def log(self, *args, **kwargs): pass


kinds = sys.argv[5].split(",")
for i in range(n):
    for kind in kinds:
        app = App(kind)
        if kind == "consumer":
            app.client.assign([ck.TopicPartition(topic, i % 2, 0)])
            first_message(app.client)
        else:
            app.client.produce(topic, b"c%d" % i, partition=i % 2)
            assert app.client.flush(30) == 0
        del app
gc.collect()
report = {"baseline": baseline, "settled_s": settle(baseline, SETTLE_S), "after": counts()}
print(json.dumps(report))
"""


def _run_child(client: ModuleType, code: str, broker: BrokerEndpoint, *args: str) -> dict[str, Any]:
    topic = unique_topic("lifetimes")
    create_topic(broker.bootstrap_servers, topic, 2)
    proc = subprocess.run(
        [sys.executable, "-c", code, client.__name__, broker.bootstrap_servers, topic, *args],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "RDPY_TEST_SETTLE_S": str(SETTLE_S)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def test_dropped_clients_give_back_their_threads_and_sockets(
    client: ModuleType, broker: BrokerEndpoint  # noqa: F811
) -> None:
    """50 producers and 50 consumers, created, used and dropped without close() (with the
    cyclic GC off, so reference counting alone frees them): within a few seconds threads and
    file descriptors are back to what they were before. Then the same one at a time."""
    report = _run_child(client, CHILD_DROPPED, broker, "50")
    baseline = report["baseline"]
    assert report["peak"][0] > baseline[0] and report["peak"][1] > baseline[1], report
    assert report["together_settled_s"] is not None, (
        f"threads/fds {report['together_after']} did not come back to {baseline}: {report}")
    assert report["one_by_one_settled_s"] is not None, (
        f"threads/fds {report['one_by_one_after']} did not come back to {baseline}: {report}")


def test_clients_whose_callbacks_refer_to_them_are_freed_by_the_cyclic_gc(
    client: ModuleType, broker: BrokerEndpoint  # noqa: F811
) -> None:
    """Their callbacks are bound methods of the object that owns them (error_cb, on_commit or
    on_delivery, stats_cb, logger): once that object is dropped, gc.collect() frees the client
    and its threads and sockets go."""
    report = _run_child(client, CHILD_CYCLE, broker, "10", "consumer,producer")
    assert report["settled_s"] is not None, (
        f"threads/fds {report['after']} did not come back to {report['baseline']}: {report}")
