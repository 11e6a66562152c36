"""Blocking calls release the GIL and answer Ctrl-C; fork() is handled."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import strom


def test_blocking_poll_releases_the_gil(broker: strom.Broker) -> None:
    broker.create_topic("t")
    count = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1

    t = threading.Thread(target=spin)
    with strom.Consumer(broker=broker) as c:
        c.assign([("t", 0)])
        t.start()
        before = count
        c.poll(0.5)
        during = count - before
        stop.set()
        t.join()
    assert during > 10_000, f"another thread ran only {during} iterations during poll"


def test_send_batch_releases_the_gil(broker: strom.Broker) -> None:
    broker.create_topic("t")
    values = [b"x" * 100] * 200_000
    ticks = 0
    stop = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0)

    with strom.Producer(broker=broker) as p:
        t = threading.Thread(target=tick)
        t.start()
        p.send_batch("t", values).wait(60)
        stop.set()
        t.join()
    assert ticks > 0


SCRIPT = """
import os, signal, sys, tempfile, threading, time, _thread
import strom

b = strom.Broker(tempfile.mkdtemp(), group_initial_rebalance_delay_ms=0)
b.create_topic("t")
c = strom.Consumer(broker=b)
c.assign([("t", 0)])
how = sys.argv[1]

def interrupt():
    time.sleep(0.5)
    if how == "signal":
        os.kill(os.getpid(), signal.SIGINT)
    else:
        _thread.interrupt_main()

threading.Thread(target=interrupt, daemon=True).start()
started = time.monotonic()
try:
    if how == "iterate":
        for r in c:
            pass
    else:
        c.poll(None)
except KeyboardInterrupt:
    print("interrupted after %.2fs" % (time.monotonic() - started))
# Still usable afterwards.
p = strom.Producer(broker=b)
p.send("t", b"after").result(10)
print([r.value for r in c.poll(10)])
c.close(); p.close(); b.close()
"""


@pytest.mark.parametrize("how", ["signal", "interrupt_main", "iterate"])
def test_ctrl_c_interrupts_a_blocking_call(tmp_path: Path, how: str) -> None:
    script = tmp_path / "ctrl_c.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script), how], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("interrupted after "), out.stdout
    assert float(lines[0].split()[-1].rstrip("s")) < 3.0
    assert lines[1] == "[b'after']"


FORK = """
import os, sys, tempfile
import strom

parent_dir = tempfile.mkdtemp()
b = strom.Broker(parent_dir)
b.create_topic("t")
p = strom.Producer(broker=b)
p.send("t", b"parent").result(10)

pid = os.fork()
if pid == 0:
    code = 0
    # A handle from the parent refuses to work in the child...
    try:
        p.send("t", b"child")
        code = 1
    except strom.errors.IllegalStateError as e:
        assert "fork" in str(e), e
    # ...and a new broker and clients work.
    with strom.Broker(tempfile.mkdtemp()) as child:
        child.create_topic("c")
        with strom.Producer(broker=child) as cp:
            assert cp.send("c", b"in child").result(10).offset == 0
    os._exit(code)
_, status = os.waitpid(pid, 0)
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
# The parent goes on.
assert p.send("t", b"parent again").result(10).offset == 1
p.close(); b.close()
print("ok")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork(tmp_path: Path) -> None:
    script = tmp_path / "fork.py"
    script.write_text(FORK)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr
