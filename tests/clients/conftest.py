"""Fixtures for the black-box client tests: a real `strom serve` on 127.0.0.1.

The `strom` fixture starts `strom serve --listen 127.0.0.1:0 --data-dir <tmp>` (binary at
target/debug/strom, or $STROM_BIN), reads its start-up line from stdout to learn the address,
and on teardown sends SIGTERM and fails the test unless the server exits with status 0 within
a bounded time. `StromServer.kill9()` and `StromServer.restart()` drive crash tests.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / "target" / "debug" / "strom"
LISTEN_RE = re.compile(r"listening on (\S+)")
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0


def strom_bin() -> Path:
    return Path(os.environ.get("STROM_BIN", str(DEFAULT_BIN)))


class StromServer:
    """One `strom serve` process (and its restarts) on one data directory."""

    def __init__(self, data_dir: Path, log_dir: Path, binary: Path | None = None):
        self.binary = binary or strom_bin()
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.bootstrap: str | None = None
        self.port: int | None = None
        self.stdout_lines: list[str] = []
        self._runs = 0
        self._stderr_path: Path | None = None
        self._reader: threading.Thread | None = None
        # More `strom serve` flags for every start (e.g. `--advertised-listener` of a proxy).
        self.extra_args: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, listen: str = "127.0.0.1:0", timeout: float = START_TIMEOUT_S) -> str:
        assert self.proc is None, "server already running"
        if not self.binary.is_file():
            pytest.fail(
                f"strom binary not found at {self.binary} (build it with `cargo build --bin strom` "
                "or set STROM_BIN)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._runs += 1
        self._stderr_path = self.log_dir / f"strom-run{self._runs}.stderr"
        stderr = open(self._stderr_path, "wb")
        env = dict(os.environ)
        env.setdefault("STROM_LOG", "info")
        cmd = [str(self.binary), "serve", "--listen", listen, "--data-dir", str(self.data_dir),
               *self.extra_args]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
        stderr.close()
        first_line: list[str] = []
        got_line = threading.Event()
        proc = self.proc
        lines = self.stdout_lines

        def drain() -> None:
            # Keeps reading stdout for the life of the process so it can never block on a full pipe.
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                lines.append(line)
                if not got_line.is_set():
                    first_line.append(line)
                    got_line.set()
            got_line.set()

        self._reader = threading.Thread(target=drain, name="strom-stdout", daemon=True)
        self._reader.start()
        if not got_line.wait(timeout):
            self._force_kill()
            pytest.fail(f"`{' '.join(cmd)}` printed no start-up line within {timeout}s\n{self.stderr_tail()}")
        if not first_line:
            rc = self.proc.wait(timeout=5)
            self._finish()
            pytest.fail(f"`{' '.join(cmd)}` exited with status {rc} before listening\n{self.stderr_tail()}")
        m = LISTEN_RE.search(first_line[0])
        if not m:
            self._force_kill()
            pytest.fail(f"unexpected start-up line from strom serve: {first_line[0]!r}\n{self.stderr_tail()}")
        addr = m.group(1).rstrip(",;)")
        host, _, port = addr.rpartition(":")
        assert host == "127.0.0.1", f"server listens on {addr}, expected 127.0.0.1"
        self.port = int(port)
        assert self.port > 0, f"server reported port 0: {first_line[0]!r}"
        self.bootstrap = f"127.0.0.1:{self.port}"
        return self.bootstrap

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then wait; fails unless the server exits with status 0 in time."""
        if self.proc is None:
            return
        proc = self.proc
        if proc.poll() is not None:
            self._finish()
            pytest.fail(f"strom serve had already exited with status {proc.returncode}\n{self.stderr_tail()}")
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._force_kill()
            pytest.fail(f"strom serve did not exit within {timeout}s of SIGTERM\n{self.stderr_tail()}")
        self._finish()
        if rc != 0:
            pytest.fail(f"strom serve exited with status {rc} after SIGTERM (expected 0)\n{self.stderr_tail()}")

    def kill9(self) -> None:
        """SIGKILL: no chance to flush, close files or write a clean-shutdown marker."""
        assert self.proc is not None, "server not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._finish()

    def restart(self, same_port: bool = True, timeout: float = START_TIMEOUT_S) -> str:
        """Start again on the same data dir (after stop() or kill9()), by default on the same port."""
        if self.running:
            self.stop()
        old_port = self.port
        deadline = time.monotonic() + timeout
        while True:
            try:
                listen = f"127.0.0.1:{old_port}" if same_port and old_port else "127.0.0.1:0"
                addr = self.start(listen=listen, timeout=max(1.0, deadline - time.monotonic()))
                return addr
            except pytest.fail.Exception:
                # The old socket may linger for a moment after a kill; retry the bind briefly.
                self.proc = None
                if time.monotonic() > deadline or "in use" not in self.stderr_tail().lower():
                    raise
                time.sleep(0.2)

    def assert_alive(self) -> None:
        assert self.running, f"strom serve died (status {self.proc and self.proc.returncode})\n{self.stderr_tail()}"

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stderr_tail(self, n: int = 40) -> str:
        if self._stderr_path is None or not self._stderr_path.exists():
            return "(no stderr)"
        lines = self._stderr_path.read_text("utf-8", "replace").splitlines()
        return "--- strom stderr (last lines) ---\n" + "\n".join(lines[-n:])

    def _force_kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._finish()

    def _finish(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)
            self._reader = None
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


@pytest.fixture
def strom(tmp_path: Path):
    """A running `strom serve` on 127.0.0.1 with a fresh data dir; stopped cleanly afterwards."""
    server = StromServer(tmp_path / "data", tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.stop()


@pytest.fixture
def bootstrap(strom: StromServer) -> str:
    """The bootstrap address ("127.0.0.1:PORT") of the `strom` fixture's server."""
    assert strom.bootstrap is not None
    return strom.bootstrap
