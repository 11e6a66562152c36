"""Apache Kafka's own command-line tools (Java), run from the jars that
../shared/peers/kafka-peer.sh fetches from Maven Central (`scripts/test.sh` fetches them
first; $KAFKA_PEER names another copy of the script)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PEER = Path(os.environ.get("KAFKA_PEER", str(REPO.parent / "shared" / "peers" / "kafka-peer.sh")))


def kafka_tool(cls: str, *args: str, timeout: float = 120) -> str:
    """Runs a Kafka tool class (e.g. org.apache.kafka.tools.FeatureCommand) to completion and
    returns its stdout and stderr together; raises AssertionError on a non-zero exit."""
    assert PEER.is_file(), f"Kafka's tools come from {PEER} (set KAFKA_PEER to the kafka-peer.sh script)"
    assert shutil.which("java"), "java is not installed"
    env = dict(os.environ, KAFKA_HEAP=os.environ.get("KAFKA_HEAP", "-Xmx256m"))
    proc = subprocess.run(["bash", str(PEER), "tool", cls, *args], capture_output=True, timeout=timeout, env=env)
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    out = "\n".join(line for line in out.splitlines() if not line.startswith("SLF4J:"))
    if proc.returncode != 0:
        raise AssertionError(f"{cls} {' '.join(args)} exited {proc.returncode}:\n{out[-4000:]}")
    return out
