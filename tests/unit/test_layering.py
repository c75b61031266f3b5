"""The layers of rdpy, checked statically: which package may import which.

Every module under rdpy/ is parsed with `ast` (nothing is imported) and every `import` and
`from ... import` statement is collected, those inside functions and under `if TYPE_CHECKING:`
included. The rules, from the bottom up:

- protocol/ and records/ are sans-I/O layers at the bottom: they import nothing from rdpy but
  themselves (not even rdpy.errors; that is what the code does today, so that is the rule).
- stats/ imports nothing from client/ (it describes the statistics; the engine fills them).
- Outside client/, only the facades (producer.py, consumer.py, share_consumer.py, partitioners.py,
  later admin/client.py) import rdpy.client: the public modules see the engine through them.
- No function-local imports of rdpy modules, except in ALLOWED_LOCAL, each with its reason. A
  local import that dodges an import cycle hides a layering problem instead of fixing it.
- No import cycles among rdpy modules at module level (TYPE_CHECKING-only and function-local
  imports left out: they do not run when the module is imported).
- The third-party modules rdpy imports are its declared runtime dependencies, and each of those
  is imported somewhere (a dependency nothing imports is only weight).

Every rule holds without exceptions today (issue 14 removed the last offenders); a change that
breaks one fixes the layering rather than adding an exception. Imports made with importlib (rdpy/__init__.py's lazy
facades, protocol/messages' lazy registry) are not statements and are not seen here.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rdpy"

#: Outside rdpy/client/, the modules that may import rdpy.client: the public facades.
FACADES = {"rdpy.producer", "rdpy.consumer", "rdpy.admin.client",  # admin/client.py: AdminClient
           "rdpy.share_consumer",  # refuses with client/startup.py until share groups exist
           "rdpy.partitioners"}  # murmur2()/consistent()/fnv1a(): client/partitioner.py's hashes

#: Function-local imports of rdpy modules that are there on purpose: (importer package,
#: imported package) -> why. Matched by prefix, so a move inside client/ keeps its entry.
ALLOWED_LOCAL = {
    ("rdpy.client", "rdpy.mock"): "test.mock.num.brokers starts rdpy's mock cluster: imported "
                                  "when that setting asks for it, so only tests pay for it",
}

#: Import cycles at module level today (sorted module lists); none.
KNOWN_CYCLES: list[list[str]] = []

#: Distribution name -> top-level module, where they differ beyond '-' vs '_'.
DIST_MODULES = {"pure-sasl": "puresasl", "pyopenssl": "OpenSSL"}

#: Optional extras for rdpy's own code (imported lazily, only when the feature is used).
RUNTIME_EXTRAS = ("gssapi",)


# --- collecting imports -----------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # the rdpy module imported when it is one, else the dotted name as written
    path: str  # file, relative to the repository
    line: int
    local: bool  # inside a function
    type_only: bool  # under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        where = " (inside a function)" if self.local else ""
        where += " (under TYPE_CHECKING)" if self.type_only else ""
        return f"{self.path}:{self.line}: {self.importer} imports {self.target}{where}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from` statement names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def collect(importer: str, source: str, path: str, is_package: bool,
            modules: Iterable[str]) -> list[Import]:
    """Every import statement of one module. `from pkg import name` counts as importing
    pkg.name when that is a module in `modules`, else pkg."""
    known = set(modules)
    found: list[Import] = []

    def add(target: str, node: ast.stmt, local: bool, type_only: bool) -> None:
        found.append(Import(importer, target, path, node.lineno, local, type_only))

    def visit(node: ast.AST, local: bool, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, local, type_only)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(importer, is_package, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base, node, local, type_only)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, local, True)
            for child in node.orelse:
                visit(child, local, type_only)
        else:
            inner = local or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            for part in ast.iter_child_nodes(node):
                visit(part, inner, type_only)

    visit(ast.parse(source, filename=path), False, False)
    return found


def _collect_all() -> list[Import]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(f) for f in files}
    out: list[Import] = []
    for f in files:
        out += collect(module_name(f), f.read_text(), str(f.relative_to(ROOT)),
                       f.name == "__init__.py", modules)
    return out


IMPORTS = _collect_all()
MODULES = {module_name(f) for f in PACKAGE.rglob("*.py")}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def check(rule: str, offenders: Iterable[Import]) -> None:
    """Fail naming every offending import as file:line (a statement importing two names of
    one module is one line)."""
    lines = list(dict.fromkeys(str(i) for i in offenders))
    if lines:
        pytest.fail(rule + ":\n  " + "\n  ".join(lines), pytrace=False)


# --- the rules --------------------------------------------------------------------------------


def _sans_io_offenders(package: str) -> list[Import]:
    return [i for i in IMPORTS if within(i.importer, package)
            and within(i.target, "rdpy") and not within(i.target, package)]


@pytest.mark.parametrize("package", ["rdpy.protocol", "rdpy.records"])
def test_sans_io_layers_import_only_themselves(package: str) -> None:
    assert any(within(m, package) for m in MODULES), f"no modules in {package}"
    check(f"{package} imports rdpy modules outside itself", _sans_io_offenders(package))


def _stats_offenders() -> list[Import]:
    return [i for i in IMPORTS if within(i.importer, "rdpy.stats")
            and within(i.target, "rdpy.client")]


def test_stats_imports_nothing_from_client() -> None:
    check("rdpy.stats imports rdpy.client", _stats_offenders())


def _outside_client_offenders() -> list[Import]:
    return [i for i in IMPORTS if within(i.target, "rdpy.client")
            and not within(i.importer, "rdpy.client") and not within(i.importer, "rdpy.stats")
            and i.importer not in FACADES]


def test_only_facades_import_client() -> None:
    check("rdpy.client imported outside client/ by a non-facade", _outside_client_offenders())


def _matches(i: Import, entries: Mapping[tuple[str, str], str]) -> bool:
    return any(within(i.importer, a) and within(i.target, b) for a, b in entries)


def _local_offenders() -> list[Import]:
    return [i for i in IMPORTS if i.local and within(i.target, "rdpy")
            and not _matches(i, ALLOWED_LOCAL)]


def test_no_function_local_imports_but_the_allowed() -> None:
    check("function-local imports of rdpy modules (move them to module level; if that makes a "
          "cycle, fix the layering; a deliberate lazy import goes in ALLOWED_LOCAL with its "
          "reason)", _local_offenders())


def test_allowed_local_imports_still_exist() -> None:
    """An entry nothing matches any more is stale: remove it."""
    local = [i for i in IMPORTS if i.local]
    stale = [key for key in ALLOWED_LOCAL if not any(_matches(i, {key: ""}) for i in local)]
    assert not stale, f"ALLOWED_LOCAL entries that match no import: {stale}"


# --- cycles -----------------------------------------------------------------------------------


def module_graph(imports: Iterable[Import], modules: set[str]) -> dict[str, set[str]]:
    """rdpy module -> rdpy modules it imports when it is imported (module level, not
    TYPE_CHECKING). A package's implicit import of its parent is left out: a submodule
    importing from its own package's __init__ would otherwise always look like a cycle."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for i in imports:
        if not i.local and not i.type_only and i.target in modules:
            graph[i.importer].add(i.target)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a self-import), each
    sorted, in sorted order (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(root: str) -> None:
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in graph[v]:
                    found.append(sorted(comp))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return sorted(found)


def test_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert cycles(graph) == [["a", "b", "c"], ["e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_at_module_level() -> None:
    found = cycles(module_graph(IMPORTS, MODULES))
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, "import cycles among rdpy modules at module level:\n  " + "\n  ".join(
        " -> ".join(c) for c in new)
    stale = [c for c in KNOWN_CYCLES if c not in found]
    assert not stale, f"KNOWN_CYCLES entries that are gone: {stale}"


# --- third-party dependencies -----------------------------------------------------------------


def _requirement_modules(requirements: Iterable[str]) -> set[str]:
    names = set()
    for req in requirements:
        match = re.match(r"[A-Za-z0-9._-]+", req)
        assert match, req
        dist = match.group(0).lower()
        names.add(DIST_MODULES.get(dist, dist.replace("-", "_")))
    return names


def test_third_party_imports_are_the_declared_dependencies() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _requirement_modules(project["dependencies"])
    extras = _requirement_modules(
        req for extra in RUNTIME_EXTRAS for req in project["optional-dependencies"].get(extra, []))
    third_party = [i for i in IMPORTS if i.target.split(".")[0] not in sys.stdlib_module_names
                   and i.target.split(".")[0] not in ("rdpy", "__future__")]
    undeclared = [i for i in third_party if i.target.split(".")[0] not in runtime
                  and not (i.local and i.target.split(".")[0] in extras)]
    check("third-party imports that are not runtime dependencies in pyproject.toml (or an "
          f"optional one of {RUNTIME_EXTRAS}, imported inside a function)", undeclared)
    unused = runtime - {i.target.split(".")[0] for i in third_party}
    assert not unused, f"runtime dependencies no rdpy module imports: {sorted(unused)}"


# --- the collector itself ---------------------------------------------------------------------


def test_collector_sees_local_type_only_and_relative_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import rdpy.errors\n"
        "from . import sibling\n"
        "from .sibling import name\n"
        "from .. import errors\n"
        "if TYPE_CHECKING:\n"
        "    from rdpy.client import handle\n"
        "else:\n"
        "    import json\n"
        "def f():\n"
        "    from rdpy.mock import MockCluster\n"
        "class C:\n"
        "    import rdpy.constants\n"
    )
    modules = {"rdpy.errors", "rdpy.pkg.sibling", "rdpy.client.handle", "rdpy.mock",
               "rdpy.constants"}
    got = [(i.target, i.line, i.local, i.type_only)
           for i in collect("rdpy.pkg.mod", source, "rdpy/pkg/mod.py", False, modules)]
    assert got == [
        ("typing", 1, False, False),
        ("rdpy.errors", 2, False, False),
        ("rdpy.pkg.sibling", 3, False, False),
        ("rdpy.pkg.sibling", 4, False, False),
        ("rdpy.errors", 5, False, False),
        ("rdpy.client.handle", 7, False, True),
        ("json", 9, False, False),
        ("rdpy.mock", 11, True, False),
        ("rdpy.constants", 13, False, False),
    ]
