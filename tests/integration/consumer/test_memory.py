"""Memory stays bounded while a large topic is read slowly.

A child process (so its RSS is the consumer's alone) reads 60k x 1 KB records (~60 MB) with
small prefetch limits, pausing as a slow application would, and reports its RSS before
assign() and its peak; the growth must stay well under the topic's size."""

from __future__ import annotations

import json
import subprocess
import sys
from types import ModuleType
from typing import Any

from tests.integration.consumer._util import create_topic, produce, unique_topic

N = 60_000
VALUE_SIZE = 1024
PARTITIONS = 2

CHILD = r"""
import importlib, json, sys, time

def rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)

module, bootstrap, topic, partitions, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
ck = importlib.import_module(module)
consumer = ck.Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "rdpy-cons-memory",
    "enable.auto.commit": False,
    "queued.max.messages.kbytes": 2048,
    "fetch.max.bytes": 1048576,
    "max.partition.fetch.bytes": 262144,
    "log_level": 0,
})
baseline = rss_kb("VmRSS")
consumer.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in range(partitions)])
next_offset = [0] * partitions
count = 0
errors = []
samples = []
first = None
deadline = time.monotonic() + 120
while count < n and time.monotonic() < deadline:
    m = consumer.poll(0.5)
    if m is None:
        continue
    if m.error() is not None:
        errors.append(str(m.error()))
        continue
    p = m.partition()
    if m.offset() != next_offset[p] or len(m.value()) != %d:
        errors.append("partition %%d: offset %%d, expected %%d" %% (p, m.offset(), next_offset[p]))
    next_offset[p] = m.offset() + 1
    count += 1
    if count == 1:
        time.sleep(2.0)  # a stalled application: prefetch fills up to its limits
    elif count %% 2000 == 0:
        samples.append(rss_kb("VmRSS"))
        time.sleep(0.05)  # a slow application
consumer.close()
print(json.dumps({"baseline_kb": baseline, "peak_kb": rss_kb("VmHWM"), "samples_kb": samples,
                  "count": count, "errors": errors[:5]}))
""" % VALUE_SIZE


def test_memory_bounded_while_reading_slowly(consumer_client: ModuleType, broker: Any) -> None:
    bootstrap = broker.bootstrap_servers
    topic = create_topic(bootstrap, unique_topic("memory"), PARTITIONS)
    value = b"m" * VALUE_SIZE
    produce(
        bootstrap,
        topic,
        ({"value": value, "partition": i % PARTITIONS} for i in range(N)),
        **{"linger.ms": 20, "batch.size": 1_000_000, "queue.buffering.max.kbytes": 65536},
    )
    topic_kb = N * VALUE_SIZE // 1024
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, consumer_client.__name__, bootstrap, topic, str(PARTITIONS), str(N)],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["errors"] == [] and report["count"] == N, report
    growth_kb = report["peak_kb"] - report["baseline_kb"]
    print(f"memory: topic {topic_kb} KB, RSS growth {growth_kb} KB ({report})")
    assert growth_kb < topic_kb / 3, f"peak RSS grew {growth_kb} KB while reading a {topic_kb} KB topic: {report}"
