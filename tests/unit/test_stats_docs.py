"""STATISTICS.md is generated from rdpy/stats/schema.py, is up to date, and documents every field."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from rdpy.stats import schema

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "STATISTICS.md"
TOOL = ROOT / "tools" / "gen_docs.py"
WINDOW_SECTION = "Windows"
REQUESTS_SECTION = "Request names"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs_under_test", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _load_tool()


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _sections(text: str) -> dict[str, str]:
    """Level-2 sections by title."""
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {p.split("\n", 1)[0].strip(): p.split("\n", 1)[1] for p in parts}


def _first_cells(section: str) -> list[str]:
    """First column of every table body row, without backticks and the "(window)" mark."""
    rows = []
    for line in section.splitlines():
        if " | " not in line or line.startswith(("Field |", "Key |", "Window |", "API key |")):
            continue
        if set(line) <= set("-| "):
            continue
        rows.append(line.split(" | ")[0].replace(" (window)", "").strip("` "))
    return rows


def _by_path(text: str) -> dict[str, list[str]]:
    """Field names listed in each level section, keyed by the section's "Path:"."""
    out: dict[str, list[str]] = {}
    for body in _sections(text).values():
        m = re.search(r"^Path: `([^`]+)`", body, flags=re.MULTILINE)
        if m:
            out[m.group(1)] = _first_cells(body)
    return out


def test_statistics_md_is_fresh(tool: ModuleType, doc: str) -> None:
    assert tool.render_statistics() == doc, "STATISTICS.md is stale: run python tools/gen_docs.py"


def test_check_mode_accepts_statistics_md() -> None:
    # The whole --check also covers CONFIGURATION.md (tests/unit/test_config.py); here only
    # STATISTICS.md's verdict matters.
    r = subprocess.run(
        [sys.executable, str(TOOL), "--check"], capture_output=True, text=True, cwd=ROOT,
        timeout=120,
    )
    assert "STATISTICS.md" not in r.stderr, r.stderr


def test_check_mode_fails_on_a_stale_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _load_tool()  # a private copy: the target list is pointed at a scratch file
    target = tmp_path / "STATISTICS.md"
    target.write_text(tool.render_statistics() + "edited by hand\n", encoding="utf-8")
    monkeypatch.setattr(tool, "DOCUMENTS", ((str(target), tool.render_statistics),))
    assert tool.main(["--check"]) == 1
    assert "STATISTICS.md is stale" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8").endswith("edited by hand\n")  # check writes nothing
    assert tool.main([]) == 0
    assert tool.main(["--check"]) == 0


def test_every_level_has_a_section_with_exactly_its_fields(doc: str) -> None:
    listed = _by_path(doc)
    for level in schema.LEVELS:
        path = ".".join(level.path) if level.path else "(root)"
        assert path in listed, f"no section for {path}"
        assert listed[path] == [f.name for f in schema.children(level.path)], path


def test_every_schema_field_path_is_documented(doc: str) -> None:
    listed = _by_path(doc)
    sections = _sections(doc)
    windows = sections[WINDOW_SECTION]
    window_keys = _first_cells(windows)
    window_paths = re.findall(r"^`\w+` \| `([^`]+)`", windows, flags=re.MULTILINE)
    missing = []
    for f in schema.FIELDS:
        parent = f.path[:-1]
        parent_dotted = ".".join(parent) if parent else "(root)"
        if parent and parent[-1] in schema.WINDOWS:
            ok = f.name in window_keys and parent_dotted in window_paths
        else:
            ok = f.name in listed.get(parent_dotted, [])
        if not ok:
            missing.append(f.dotted)
    assert missing == []


def test_windows_section_covers_keys_specs_and_paths(doc: str) -> None:
    windows = _sections(doc)[WINDOW_SECTION]
    for key, _ in schema.WINDOW_KEYS:
        assert f"`{key}` |" in windows
    for name, spec in schema.WINDOWS.items():
        rows = [line for line in windows.splitlines() if line.startswith(f"`{name}` | `")]
        paths = [f.dotted for f in schema.FIELDS if f.name == name]
        assert len(rows) == len(paths) >= 1, name
        for row in rows:
            assert f"{spec.lo} .. {spec.hi}" in row
            if spec.hi_property:
                assert f"`{spec.hi_property}`" in row


def test_request_names_section_lists_every_request(doc: str) -> None:
    rows = [
        line.split(" | ")
        for line in _sections(doc)[REQUESTS_SECTION].splitlines()
        if re.match(r"^\d+ \| ", line)
    ]
    assert [(int(r[0]), r[1].strip("`")) for r in rows] == [
        (r.api_key, r.name) for r in schema.REQUEST_NAMES
    ]


def test_intro_names_the_switches(doc: str) -> None:
    intro = doc.split("\n## ", 1)[0]
    for word in ("statistics.interval.ms", "stats_cb", "librdkafka", "Where rdpy differs"):
        assert word in intro


def test_generated_marker_and_no_stray_pipes(doc: str) -> None:
    assert "Generated by tools/gen_docs.py from rdpy/stats/schema.py" in doc
    header_cells = {"Field": 6, "Key": 3, "Window": 7, "API key": 4}
    for body in _sections(doc).values():
        width = 0
        for line in body.splitlines():
            head = line.split(" | ")[0]
            if head in header_cells:
                width = header_cells[head]
            elif width and " | " in line:
                cells = re.split(r"(?<!\\) \| |(?<!\\) \|$", line)
                assert len(cells) == width, line
            elif not line.strip():
                width = 0


def test_tool_runs_from_any_directory() -> None:
    # The tool puts the repository on sys.path itself; it must not depend on the caller's cwd.
    r = subprocess.run(
        [sys.executable, str(TOOL), "--check"], capture_output=True, text=True, cwd="/",
        env={**os.environ, "PYTHONPATH": ""}, timeout=120,
    )
    assert "Traceback" not in r.stderr, r.stderr
