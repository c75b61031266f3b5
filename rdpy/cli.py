"""The `rdpy` command line.

`rdpy --version` prints rdpy's version and the librdkafka version whose behaviour it follows;
`rdpy version` adds every Kafka API it can speak with the range of versions the generated
protocol layer encodes and decodes; `rdpy broker` starts a local Tansu broker to try rdpy against
(as `python -m rdpy.testing.broker`). Produce, consume, metadata and perf commands arrive with
the clients that they drive. Output piped into a command that stops reading early (`| head`) ends
the command quietly, as for any Unix tool, rather than with a BrokenPipeError traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from rdpy._version import __version__
from rdpy.constants import libversion
from rdpy.protocol.messages import API_MODULES, API_NAMES, request_type
from rdpy.testing import broker as local_broker


def supported_apis() -> list[tuple[int, str, int, int]]:
    """(api_key, name, min_version, max_version) for every API rdpy can encode, by key."""
    rows = []
    for api_key in sorted(API_MODULES):
        cls = request_type(api_key)
        rows.append((api_key, API_NAMES[api_key], cls.MIN_VERSION, cls.MAX_VERSION))
    return rows


def version_line() -> str:
    return f"rdpy {__version__} (follows librdkafka {libversion()[0]})"


def print_version(stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    apis = supported_apis()
    print(version_line(), file=stream)
    print(f"Kafka APIs ({len(apis)}), key: name versions", file=stream)
    for api_key, name, lo, hi in apis:
        print(f"  {api_key:3d}: {name:34s} v{lo}-v{hi}", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rdpy", description="rdpy, a pure-Python Kafka client")
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print rdpy's version and the Kafka APIs it speaks")
    broker = commands.add_parser("broker", help="start a local Kafka-compatible broker (Tansu)")
    local_broker.add_arguments(broker)
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print_version()
            sys.stdout.flush()
            return 0
        return local_broker.run(args.port)
    except BrokenPipeError:
        # The reader went away (`rdpy version | head`). Point stdout at /dev/null so the
        # interpreter's final flush does not raise again, and exit as SIGPIPE would have.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
