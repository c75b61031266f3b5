"""`rdpy version` lists rdpy's version and every API the protocol layer speaks."""

from __future__ import annotations

import io
import subprocess
import sys

from rdpy import __version__
from rdpy.cli import print_version, supported_apis
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
    assert lines[0] == f"rdpy {__version__}"
    assert len(lines) == 2 + len(API_MODULES)
    assert any(line.split(":")[1].split()[0] == "Metadata" for line in lines[2:])


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rdpy", "version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith(f"rdpy {__version__}\n")
