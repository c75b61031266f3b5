"""protocol/ and records/ are sans-I/O: no sockets, threads, TLS, select or clocks.

Two checks: no module under those packages has an import statement naming a forbidden module,
and importing the packages in a fresh interpreter does not load any of them through a
dependency (`time` is excluded from that second check only because CPython itself loads it at
start-up before any of our code runs).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rdpy

FORBIDDEN = {"socket", "threading", "ssl", "select", "selectors", "time", "asyncio", "_thread"}
PACKAGE_ROOT = Path(rdpy.__file__).parent
SANS_IO_PACKAGES = ["protocol", "records"]


def _imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", SANS_IO_PACKAGES)
def test_no_forbidden_import_statements(package: str) -> None:
    files = sorted((PACKAGE_ROOT / package).rglob("*.py"))
    assert files, f"rdpy/{package} has no modules"
    offenders = {
        str(f.relative_to(PACKAGE_ROOT)): sorted(_imported_names(f) & FORBIDDEN) for f in files
    }
    assert {f: names for f, names in offenders.items() if names} == {}


def _newly_loaded(imports: str) -> set[str]:
    """The modules that `imports` loads in a fresh interpreter."""
    probe = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        f"{imports}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_importing_sans_io_packages_loads_no_io_module() -> None:
    newly_loaded = _newly_loaded("import rdpy.protocol, rdpy.records, rdpy.client.partitioner\n"
                                 "import rdpy.protocol.messages")
    # The standard library's uuid (Kafka's UUID fields are uuid.UUID) loads platform, and
    # with it subprocess, threading and selectors, on Python 3.10: not ours to avoid.
    from_stdlib = _newly_loaded("import uuid")
    assert newly_loaded & (FORBIDDEN - {"time"}) - from_stdlib == set()


def test_forbidden_import_is_detected(tmp_path: Path) -> None:
    # The checker itself must be able to fail.
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom socket import socket\nimport time as t\n")
    assert _imported_names(sample) & FORBIDDEN == {"socket", "time"}
