"""Apache Kafka's jars, from Maven Central through `mvn`, cached between runs.

KAFKA_VERSION below is the one place the Kafka version is pinned. `kafka_libs()` returns a
directory holding org.apache.kafka:kafka_2.13 and kafka-tools at that version with all their
runtime dependencies plus a logging backend (see pom.xml beside this file), so that
``java -cp 'DIR/*' kafka.Kafka server.properties`` runs a broker. The first call runs

    mvn -B -q -f tests/support/kafka/pom.xml dependency:copy-dependencies \\
        -Dkafka.version=KAFKA_VERSION -DoutputDirectory=CACHE/KAFKA_VERSION/libs.partial

(Maven's own repository, ~/.m2, is used as usual) and renames the directory to ``libs`` when it
is complete; later calls, in any process, find ``libs`` and run nothing. CACHE is
$RDPY_KAFKA_CACHE, else ~/.cache/rdpy-kafka. A lock file serialises concurrent first calls.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

__all__ = ["KAFKA_VERSION", "POM", "KafkaDistError", "cache_root", "kafka_libs", "mvn_command"]

KAFKA_VERSION = "4.4.0"

POM = Path(__file__).with_name("pom.xml")


class KafkaDistError(RuntimeError):
    """Kafka's jars could not be obtained; the message holds the exact command and its output."""


def cache_root() -> Path:
    """Where the jars are cached: $RDPY_KAFKA_CACHE, else ~/.cache/rdpy-kafka."""
    env = os.environ.get("RDPY_KAFKA_CACHE", "").strip()
    return Path(env) if env else Path.home() / ".cache" / "rdpy-kafka"


def mvn_command(version: str, output_dir: Path) -> list[str]:
    """The mvn invocation that copies Kafka `version`'s runtime jars into `output_dir`."""
    return [
        "mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
        f"-Dkafka.version={version}", f"-DoutputDirectory={output_dir}",
    ]


def kafka_libs(version: str = KAFKA_VERSION, timeout: float = 900.0) -> Path:
    """The directory of Kafka `version`'s jars, downloading them with mvn the first time.

    Raises KafkaDistError (naming the command, its exit status and output) when mvn is missing
    or fails; a partial download is never taken for a complete one.
    """
    home = cache_root() / version
    libs = home / "libs"
    if (libs / f"kafka_2.13-{version}.jar").exists():
        return libs
    if shutil.which("mvn") is None:
        raise KafkaDistError("mvn is not on PATH: Apache Kafka's jars come from Maven Central through mvn "
                             "(Debian: apt-get install maven)")
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (libs / f"kafka_2.13-{version}.jar").exists():  # another process finished meanwhile
            return libs
        partial = home / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        command = mvn_command(version, partial)
        started = time.monotonic()
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise KafkaDistError(f"`{' '.join(command)}` did not finish in {timeout}s; output:\n"
                                 f"{(exc.output or b'').decode(errors='replace')[-4000:]}") from None
        elapsed = time.monotonic() - started
        output = done.stdout.decode(errors="replace")
        jar = partial / f"kafka_2.13-{version}.jar"
        if done.returncode != 0 or not jar.exists():
            raise KafkaDistError(f"`{' '.join(command)}` exited with status {done.returncode} "
                                 f"(kafka_2.13 jar {'present' if jar.exists() else 'missing'}); output:\n"
                                 f"{output[-4000:]}")
        (partial / "FETCHED.json").write_text(json.dumps(
            {"kafka_version": version, "command": command, "seconds": round(elapsed, 1),
             "jars": len(list(partial.glob("*.jar")))}, indent=1) + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        partial.rename(libs)
        return libs
