"""Run confluent-kafka-python's own unit tests against rdpy, with only the import changed.

The tests are not part of rdpy (nor of confluent-kafka's sdist): this copies `tests/` from a
confluent-kafka-python git checkout at a given ref into a temporary directory, rewrites every
`confluent_kafka` to `rdpy`, and runs pytest there, so that rdpy is held to the checks
confluent-kafka holds itself to. Files and pytest options after `--` are passed through.

    python tools/confluent_tests.py --repo ../confluent-kafka-python [--ref v2.15.0] [-- -x -q]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_REPO = os.environ.get(
    "CONFLUENT_KAFKA_PYTHON_REPO", "/work/.mirror/confluentinc+confluent-kafka-python/repo")

# The unit tests for the surface rdpy has: the Producer, Consumer, Message, errors, logging,
# partitioners and the serializing clients. Admin, AIO, share-consumer, OAuth, Avro and schema
# registry tests exercise features rdpy does not have yet.
DEFAULT_FILES = [
    "tests/test_Producer.py",
    "tests/test_Consumer.py",
    "tests/test_misc.py",
    "tests/test_message.py",
    "tests/test_Messages.py",
    "tests/test_error.py",
    "tests/test_kafka_error.py",
    "tests/test_log.py",
    "tests/test_partitioners.py",
    "tests/test_serializer_error.py",
    "tests/test_topic_partition.py",
    "tests/test_enums.py",
    "tests/test_threads.py",
]


def export_tests(repo: Path, ref: str, into: Path) -> None:
    """Write `tests/` of repo at ref under into, as `git archive` has it (no work tree needed)."""
    git_dir = repo / ".git" if (repo / ".git").exists() else repo
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", ref, "tests"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "x", "-C", str(into)], input=archive, check=True)


def rewrite_imports(root: Path) -> int:
    """Replace confluent_kafka by rdpy in every Python file under root; the count of files."""
    changed = 0
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "confluent_kafka" in text:
            path.write_text(text.replace("confluent_kafka", "rdpy"), encoding="utf-8")
            changed += 1
    return changed


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(DEFAULT_REPO),
                        help="a confluent-kafka-python git checkout or bare repository")
    parser.add_argument("--ref", default="HEAD", help="the commit or tag whose tests to run")
    args = parser.parse_args(argv)
    files = [a for a in passthrough if a.startswith("tests/")] or DEFAULT_FILES
    options = [a for a in passthrough if not a.startswith("tests/")]
    with tempfile.TemporaryDirectory(prefix="confluent-tests-") as tmp:
        root = Path(tmp)
        export_tests(args.repo, args.ref, root)
        rewrite_imports(root)
        present = [f for f in files if (root / f.split("::")[0]).exists()]
        # rootdir is the copy, so its tests/ package and conftest are used, not rdpy's own.
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={root}",
                   "-o", "addopts=", *options, *present]
        return subprocess.run(command, cwd=root).returncode


if __name__ == "__main__":
    raise SystemExit(main())
