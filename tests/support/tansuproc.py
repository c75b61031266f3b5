"""A Tansu broker process the fault tests can kill and restart on the same port.

rdpy.testing.tansu.start_tansu() advertises the port Tansu listens on; a broker behind a fault
proxy must advertise the proxy's port instead (Metadata responses name it, and clients connect
to whatever Metadata names). ``TansuProcess`` takes both, and adds ``kill()`` (SIGKILL: no
goodbye on any connection) ``restart()`` (a fresh process on the same ports), and ``freeze()``/``thaw()`` (SIGSTOP/SIGCONT: a
broker that stops answering without closing anything).

Tansu's memory storage does not survive a restart: topics and data are gone afterwards (create
topics again, or let a producer's Metadata request auto-create them).

Everything stays on 127.0.0.1, and every process started here is killed by ``stop()`` (or at
interpreter exit, if a test forgot).
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from rdpy.testing.tansu import free_loopback_port, tansu_binary, wait_for_port

__all__ = ["TansuProcess"]

_live: set[subprocess.Popen[bytes]] = set()


def _kill_leftovers() -> None:
    for proc in list(_live):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


atexit.register(_kill_leftovers)


class TansuProcess:
    """One Tansu broker on 127.0.0.1:`port` (memory storage), advertising 127.0.0.1:`advertised_port`.

    `advertised_port` defaults to `port` (clients talk to Tansu directly); point it at a
    FaultProxy's port to put the proxy between every client and the broker.
    """

    def __init__(self, port: int | None = None, advertised_port: int | None = None,
                 log_dir: Path | None = None, start_timeout: float = 30.0) -> None:
        self.port = port or free_loopback_port()
        self.advertised_port = advertised_port or self.port
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="rdpy-faults-tansu-"))
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.up_at: float | None = None  # time.monotonic() when it last accepted connections
        self.killed_at: float | None = None
        self.frozen_at: float | None = None

    @property
    def bootstrap(self) -> str:
        """Tansu's own address (not the advertised one)."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"tansu-{self.port}.log"

    def start(self) -> TansuProcess:
        """Start the process (appending to the log) and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("Tansu is already running")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"---- start #{self.starts} at monotonic {time.monotonic():.3f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [tansu_binary(), "broker",
                 "--listener-url", f"tcp://127.0.0.1:{self.port}",
                 "--advertised-listener-url", f"tcp://127.0.0.1:{self.advertised_port}",
                 "--storage-engine", "memory://tansu/"],
                stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "RUST_LOG": os.environ.get("RDPY_TANSU_LOG", "warn")},
            )
        _live.add(self.process)
        try:
            self._wait_accepting()
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"Tansu did not start; log:\n{self.log_tail()}") from None
        self.up_at = time.monotonic()
        return self

    def _wait_accepting(self) -> None:
        # The port may still be held by the killed process for a moment: retry the bind race
        # by waiting for the port rather than failing on the first refused connection.
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise TimeoutError("Tansu exited")
            try:
                wait_for_port("127.0.0.1", self.port, timeout=0.5)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    def kill(self) -> float:
        """SIGKILL the broker (connections die without a goodbye); returns time.monotonic()."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError("Tansu is not running")
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        _live.discard(self.process)
        self.killed_at = time.monotonic()
        return self.killed_at

    def freeze(self) -> float:
        """SIGSTOP the broker: connections stay open and the kernel keeps accepting and
        buffering, but nothing is answered (a stalled broker); returns time.monotonic()."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError("Tansu is not running")
        self.process.send_signal(signal.SIGSTOP)
        self.frozen_at = time.monotonic()
        return self.frozen_at

    def thaw(self) -> float:
        """SIGCONT a frozen broker: it answers everything buffered meanwhile; returns
        time.monotonic()."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError("Tansu is not running")
        self.process.send_signal(signal.SIGCONT)
        return time.monotonic()

    def restart(self) -> float:
        """A fresh broker on the same ports (empty: memory storage); returns when it accepts
        connections, as time.monotonic()."""
        if self.process is not None and self.process.poll() is None:
            self.kill()
        self.start()
        assert self.up_at is not None
        return self.up_at

    def stop(self) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        _live.discard(proc)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> TansuProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
