"""Fixtures of the Python package's tests.

Every client test runs twice through the ``target`` fixture: against an embedded
``strom.Broker`` (clients attached in-process) and against a real ``strom serve`` process
(clients over TCP). The server is started by ``StromServer`` from tests/clients/conftest.py
(the black-box suite's, loaded by path: binary from $STROM_BIN or target/debug/strom), once
per session with ``group.initial.rebalance.delay.ms=0``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import strom

REPO = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]


def _load_clients_conftest() -> Any:
    path = REPO / "tests" / "clients" / "conftest.py"
    spec = importlib.util.spec_from_file_location("strom_clients_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


clients = _load_clients_conftest()


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Target:
    """Where the clients of one test connect."""

    name: str
    kw: dict[str, Any]
    broker: Optional[strom.Broker] = None
    bootstrap: Optional[str] = None
    _admin: Optional[strom.Admin] = field(default=None, repr=False)

    def admin(self) -> strom.Admin:
        if self._admin is None:
            self._admin = strom.Admin(**self.kw)
        return self._admin

    def create_topic(self, name: Optional[str] = None, partitions: int = 1, **config: Any) -> str:
        name = name or unique()
        if self.broker is not None:
            self.broker.create_topic(name, partitions, config or None)
        else:
            self.admin().create_topic(name, partitions, config=config or None)
        return name

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[strom.Broker]:
    """An embedded broker on a fresh directory, groups forming without delay."""
    b = strom.Broker(str(tmp_path / "broker"), group_initial_rebalance_delay_ms=0)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="session")
def strom_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One `strom serve` for the session."""
    base = tmp_path_factory.mktemp("strom-serve")
    os.environ["STROM_GROUP_INITIAL_REBALANCE_DELAY_MS"] = "0"
    server = clients.StromServer(base / "data", base)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.stop()


@pytest.fixture(params=["embedded", "serve"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """Clients' connection: an embedded broker, or a `strom serve` process over TCP."""
    if request.param == "embedded":
        b = strom.Broker(str(tmp_path / "broker"), group_initial_rebalance_delay_ms=0)
        t = Target("embedded", {"broker": b}, broker=b)
        try:
            yield t
        finally:
            t.close()
            b.close()
    else:
        server = request.getfixturevalue("strom_server")
        server.assert_alive()
        t = Target("serve", {"bootstrap_servers": server.bootstrap}, bootstrap=server.bootstrap)
        try:
            yield t
        finally:
            t.close()


@pytest.fixture
def topic(target: Target) -> str:
    """A fresh one-partition topic on the target."""
    return target.create_topic()
