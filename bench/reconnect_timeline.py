"""When does a producer try to reconnect while its only broker is down, and how soon after the
broker is back does it deliver again? One client per run, with debug=broker,generic,metadata.

    python bench/reconnect_timeline.py --client confluent_kafka --outage 18
    python bench/reconnect_timeline.py --client rdpy --outage 18
    python bench/reconnect_timeline.py --client confluent_kafka --outage 18 \\
        --conf metadata.recovery.strategy=none

A Tansu broker is started, a producer produces 300 msg/s to an auto-created topic, the broker
is killed (SIGKILL) after 3 s and restarted on the same port `--outage` seconds later (by a
helper thread: the producing thread keeps polling, so log lines are stamped when emitted).
Printed: the client's connection attempts, re-bootstrap and state lines, metadata requests and
reconnect back-offs, in seconds from the kill; then when the broker accepted connections again
and the first delivery report without error after that.

Measured with confluent-kafka 2.16.1 (librdkafka 2.16.0), --outage 18: an attempt at about
every second through the outage (each "Starting re-bootstrap sequence" replaces the failed
broker by a fresh bootstrap broker with no attempts behind it, so no back-off builds up), the
broker connected at the first tick after its return, metadata one tick later, first ack ~1 s
after the return. With metadata.recovery.strategy=none: attempts 0.4, 1.3, 5.6, 10, 10 s apart
and the first ack ~9 s after the return.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (puts the repository root on sys.path)

INTERESTING = re.compile(
    r"Connecting to|Connected to|Selected for cluster|changed state \w+ -> (UP|DOWN)|Request metadata|"
    r"Starting re-bootstrap|Decommissioning \d|Delaying next reconnect|Connect to .* failed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--client", default="confluent_kafka", choices=["confluent_kafka", "rdpy"])
    ap.add_argument("--outage", type=float, default=18.0)
    ap.add_argument("--conf", action="append", default=[], help="extra producer property, name=value")
    ap.add_argument("--all", action="store_true", help="print every log line, not only the interesting ones")
    args = ap.parse_args()

    from tests.integration.faults._util import SteadyProducer, first_ack_after
    from tests.support.invariants import Ledger
    from tests.support.tansuproc import TansuProcess

    mod = importlib.import_module(args.client)
    lines: list[tuple[float, str]] = []

    class Stamp(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append((time.monotonic(), record.getMessage()))

    logger = logging.getLogger(f"timeline.{args.client}")
    logger.addHandler(Stamp())
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    extra = dict(c.split("=", 1) for c in args.conf)
    with TansuProcess() as tansu:
        producer = mod.Producer({"bootstrap.servers": tansu.bootstrap, "message.timeout.ms": 15000,
                                 "debug": "broker,generic,metadata", "logger": logger, **extra})
        ledger = Ledger()
        stream = SteadyProducer(producer, ledger, "timeline", rate=300)
        times: dict[str, float] = {}

        def chaos() -> None:
            time.sleep(3.0)
            times["kill"] = tansu.kill()
            time.sleep(args.outage)
            times["back"] = tansu.restart()

        helper = threading.Thread(target=chaos)
        helper.start()
        stream.run(3.0 + args.outage + 6.0)
        helper.join()
        ledger.flush(producer, 30)
        producer.close() if hasattr(producer, "close") else None
    kill, back = times["kill"], times["back"]
    version = mod.version()
    print(f"{args.client} {version[0] if isinstance(version, tuple) else version}" + (f" (librdkafka {mod.libversion()[0]})" if args.client == "confluent_kafka" else "")
          + f", outage {args.outage} s, extra conf {extra or '-'}; seconds from the kill:")
    for t, line in lines:
        if t < kill - 0.05 or not (args.all or INTERESTING.search(line)):
            continue
        line = re.sub(r"\[rdkafka#producer-\d+\] ", "", line)
        line = re.sub(r"(ipv4#)?127\.0\.0\.1:\d+/?", "", line)
        print(f"{t - kill:8.3f}  {line[:150]}")
    first = first_ack_after(stream, back)
    print(f"broker accepting connections again at {back - kill:.3f} s; first ack "
          f"{'none' if first is None else f'{first:.3f} s after that'}")


if __name__ == "__main__":
    main()
