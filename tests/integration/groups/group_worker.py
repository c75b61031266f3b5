"""A consumer group member run as its own process, so that a test can SIGKILL it (no
LeaveGroup: the coordinator expires it after session.timeout.ms).

    python -m tests.integration.groups.group_worker CLIENT CONF_JSON TOPIC REPORT [--deadline S]

CLIENT is the module the member is written against (``confluent_kafka`` or ``rdpy``); the code
is the same for both. CONF_JSON is the consumer's configuration. The member subscribes to TOPIC
and loops: consume() a batch, report every record, then commit(asynchronous=False) (when the
batch was not empty) and report what the commit answered.

The report is a file of lines, each written and flushed before the next step, so that whatever
the process did before it was killed is there (a last line may be cut short by the kill; the
reader ignores it):

* ``assigned P,P,...`` -- assignment() changed (checked after every batch);
* ``on_assign P,P,...``, ``on_revoke P,P,...``, ``on_lost P,P,...`` -- a rebalance callback
  (they only report: the client assigns and unassigns by itself);
* ``consumed P O V`` -- a record handed out (partition, offset, value as hex), written before
  the commit covering it is attempted;
* ``committed P O`` -- for each partition commit() returned, the committed offset (written only
  after commit() returned);
* ``commit-failed TEXT`` -- commit() raised;
* ``error TEXT`` -- an error event from consume().

It exits (status 2) after --deadline seconds, in case nobody kills it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from typing import IO, Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("client")
    parser.add_argument("conf")
    parser.add_argument("topic")
    parser.add_argument("report")
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args()
    kafka = importlib.import_module(args.client)  # the only client-specific line
    with open(args.report, "a", encoding="ascii") as out:
        return run(kafka, json.loads(args.conf), args.topic, out, time.monotonic() + args.deadline)


def say(out: IO[str], lines: list[str]) -> None:
    if lines:
        out.write("".join(line + "\n" for line in lines))
        out.flush()


def run(kafka: Any, conf: dict[str, Any], topic: str, out: IO[str], deadline: float) -> int:
    consumer = kafka.Consumer(conf)

    def callback(kind: str) -> Any:
        def cb(_consumer: Any, tps: list[Any]) -> None:
            say(out, [f"{kind} " + ",".join(str(tp.partition) for tp in tps)])
        return cb

    consumer.subscribe([topic], on_assign=callback("on_assign"), on_revoke=callback("on_revoke"),
                       on_lost=callback("on_lost"))
    assigned: list[int] | None = None
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(num_messages=50, timeout=0.05)
            lines = []
            records = 0
            for m in batch:
                if m.error() is not None:
                    lines.append(f"error {m.error()}")
                    continue
                records += 1
                lines.append(f"consumed {m.partition()} {m.offset()} {(m.value() or b'').hex()}")
            say(out, lines)
            if records:
                try:
                    committed = consumer.commit(asynchronous=False)
                except kafka.KafkaException as e:
                    say(out, [f"commit-failed {e}"])
                else:
                    say(out, [f"committed {tp.partition} {tp.offset}" for tp in committed or []
                              if tp.error is None and tp.offset >= 0])
            now = sorted(tp.partition for tp in consumer.assignment())
            if now != assigned:
                assigned = now
                say(out, ["assigned " + ",".join(map(str, now))])
        return 2
    finally:
        consumer.close()


if __name__ == "__main__":
    raise SystemExit(main())
