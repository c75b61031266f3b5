"""The `rdpy` command line.

`rdpy version` prints rdpy's version and every Kafka API it can speak with the range of versions
the generated protocol layer encodes and decodes. Produce, consume, metadata and perf commands
arrive with the clients that they drive.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from rdpy._version import __version__
from rdpy.protocol.messages import API_MODULES, API_NAMES, request_type


def supported_apis() -> list[tuple[int, str, int, int]]:
    """(api_key, name, min_version, max_version) for every API rdpy can encode, by key."""
    rows = []
    for api_key in sorted(API_MODULES):
        cls = request_type(api_key)
        rows.append((api_key, API_NAMES[api_key], cls.MIN_VERSION, cls.MAX_VERSION))
    return rows


def print_version(stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    apis = supported_apis()
    print(f"rdpy {__version__}", file=stream)
    print(f"Kafka APIs ({len(apis)}), key: name versions", file=stream)
    for api_key, name, lo, hi in apis:
        print(f"  {api_key:3d}: {name:34s} v{lo}-v{hi}", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rdpy", description="rdpy, a pure-Python Kafka client")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print rdpy's version and the Kafka APIs it speaks")
    args = parser.parse_args(argv)
    if args.command == "version":
        print_version()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
