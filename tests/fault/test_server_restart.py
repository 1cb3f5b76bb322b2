"""Server restart test: Neo4j is stopped and started again while a load is running.

The test starts a Neo4j server of its own with ``scripts/neo4j`` on a separate port, never
the session's shared server: ``GRAPH_CKPT_FAULT_NEO4J_PORT`` if set (that server is stopped
at the end), else a free port chosen at random, whose instance folder is removed at the end
(``scripts/neo4j reset``), so two test runs on one machine never share it. Two ways of
losing the server are covered:

* a graceful ``scripts/neo4j restart`` under a load whose driver retries for long enough:
  the load rides it out (or, if it outlasts the retries, stops with a clear error);
* the server process SIGKILLed under a load whose driver retries only briefly: the load
  stops with :class:`LoadInterruptedError` or :class:`ConnectionFailedError`, and after the
  server recovered from its transaction log the run resumes.

Either way the same exactly-once check as the crash test must hold afterwards.

The SIGKILL case runs once per API (``api``): ``async`` loads and resumes through
``AsyncCheckpointManager``, an ``async def`` loader and the async driver, with the same driver
settings. The graceful restart, the slowest test of the suite, runs with the sync API only.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import neo4j
import pytest

from graph_checkpoint import (
    AsyncCheckpointManager,
    CheckpointManager,
    ConnectionFailedError,
    LoadInterruptedError,
    LoadResult,
    Progress,
    checkpoint_loader,
)
from graph_checkpoint.pytest_plugin import Neo4jServer, clear_database

from ._support import APIS, LOADER_NAME, async_driver, exactly_once

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "neo4j"


def _load_neo4j_script() -> ModuleType:
    """scripts/neo4j_server.py, whose checks of "is this pid our server?" the test reuses."""
    path = ROOT / "scripts" / "neo4j_server.py"
    spec = importlib.util.spec_from_file_location("graph_ckpt_neo4j_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NEO4J_SCRIPT = _load_neo4j_script()


def _free_port() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


FIXED_PORT = os.environ.get("GRAPH_CKPT_FAULT_NEO4J_PORT")
PORT = FIXED_PORT or _free_port()
PASSWORD = "graph-checkpoint-dev"
ITEMS = 5_000
BATCH_SIZE = 50
CLEAR_ERRORS = (LoadInterruptedError, ConnectionFailedError)
# The driver's retry backoff doubles from 1s by default, so a load could sleep up to ~20s after
# the server is back; a flat, short delay keeps the test quick without changing what it proves.
FLAT_RETRY = {"initial_retry_delay": 0.5, "retry_delay_multiplier": 1.0}
CREATE = "UNWIND $rows AS r CREATE (:FaultItem {id: r})"


def script_env() -> dict[str, str]:
    """Environment for ``scripts/neo4j`` that selects this module's own, small server."""
    env = dict(os.environ)
    env.update(
        GRAPH_CKPT_NEO4J_PORT=PORT,
        GRAPH_CKPT_NEO4J_PASSWORD=PASSWORD,
        GRAPH_CKPT_NEO4J_HEAP=os.environ.get("GRAPH_CKPT_FAULT_NEO4J_HEAP", "512m"),
        GRAPH_CKPT_NEO4J_PAGECACHE="256m",
    )
    return env


def server_script(command: str) -> None:
    """Run ``scripts/neo4j <command>`` for this module's server; fail with its output."""
    proc = subprocess.run(
        [str(SCRIPT), command], env=script_env(), capture_output=True, text=True, timeout=400
    )
    assert proc.returncode == 0, f"scripts/neo4j {command} failed: {proc.stderr[-2000:]}"


def server_pid() -> int:
    """The pid of this module's server, checked the way ``scripts/neo4j`` checks it."""
    instance = NEO4J_SCRIPT.instance_dir(script_env())  # its folder depends on the version
    pid = int((instance / "neo4j.pid").read_text().strip())
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    # Never signal a recycled pid: it must be the java of this very instance, of either line.
    assert NEO4J_SCRIPT.is_neo4j_server(cmdline, instance)
    return pid


@pytest.fixture(scope="module")
def own_server() -> Iterator[Neo4jServer]:
    """A Neo4j server for this module alone, stopped again at the end."""
    proc = subprocess.run(
        [str(SCRIPT), "start"], env=script_env(), capture_output=True, text=True, timeout=400
    )
    if proc.returncode != 0 and ("not found" in proc.stderr):
        pytest.skip(f"cannot start a second Neo4j for the restart test: {proc.stderr.strip()}")
    try:
        assert proc.returncode == 0, f"scripts/neo4j start failed: {proc.stderr[-2000:]}"
        yield Neo4jServer(f"bolt://127.0.0.1:{PORT}", "neo4j", PASSWORD, "neo4j", "local")
    finally:
        # A server on a port of our own choosing leaves no instance folder behind.
        command = "stop" if FIXED_PORT else "reset"
        subprocess.run([str(SCRIPT), command], env=script_env(), capture_output=True, timeout=400)


@dataclass
class BackgroundLoad:
    """A checkpointed ``CREATE`` load running in a thread, with the error it ended with.

    The load opens its own driver with ``driver_options``: a ``neo4j.Driver`` for the sync
    API, or, for ``api="async"``, a ``neo4j.AsyncDriver`` in an event loop of the thread's own.
    """

    server: Neo4jServer
    driver_options: dict[str, Any]
    tag: str
    api: str = "sync"
    started: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    run_id: str | None = None
    processed: int = 0
    skipped: int = 0
    thread: threading.Thread | None = None

    def start(self, progress_mark: int) -> None:
        def report(progress: Progress) -> None:
            if progress.seen >= progress_mark:
                self.started.set()

        def body() -> None:
            try:
                if self.api == "async":
                    result = asyncio.run(self._load_async(report))
                else:
                    result = self._load_sync(report)
                self.processed, self.skipped = result.processed, result.skipped
            except BaseException as exc:  # the test inspects it; a thread must not leak it
                self.error = exc
            finally:
                self.started.set()

        self.thread = threading.Thread(target=body, name=f"restart-test-load-{self.api}")
        self.thread.start()

    def _load_sync(self, report: Any) -> LoadResult:
        @checkpoint_loader(
            name=LOADER_NAME, batch_size=BATCH_SIZE, on_progress=report, progress=False
        )
        def load(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
            tx.run(CREATE, rows=rows).consume()
            time.sleep(0.02)  # keep the load going long enough to be caught by the restart

        auth = (self.server.username, self.server.password)
        with neo4j.GraphDatabase.driver(self.server.uri, auth=auth, **self.driver_options) as d:
            manager = CheckpointManager(d, self.server.database)
            with manager.run(config={"tag": self.tag}) as run:
                self.run_id = run.run_id
                return load(run, range(ITEMS))

    async def _load_async(self, report: Any) -> LoadResult:
        @checkpoint_loader(
            name=LOADER_NAME, batch_size=BATCH_SIZE, on_progress=report, progress=False
        )
        async def load(tx: neo4j.AsyncManagedTransaction, rows: list[int]) -> None:
            result = await tx.run(CREATE, rows=rows)
            await result.consume()
            await asyncio.sleep(0.02)  # as in the sync load

        async def source() -> AsyncIterator[int]:
            for item in range(ITEMS):
                yield item

        async with async_driver(self.server, **self.driver_options) as driver:
            manager = AsyncCheckpointManager(driver, self.server.database)
            async with await manager.run(config={"tag": self.tag}) as run:
                self.run_id = run.run_id
                return await load(run, source())

    def join(self, timeout: float) -> None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the load hangs {timeout}s after the server left"


def resume_and_check(server: Neo4jServer, tag: str, first: BackgroundLoad) -> dict[str, Any]:
    """Resume the run if the first load stopped, then check exactly-once and the run's status.

    The resume uses the first load's API. A load that completed is not run again (that would
    start a new run); its run is checked as it is.
    """
    run_id = first.run_id
    resumed = 0
    if first.error is not None:
        resume = resume_async if first.api == "async" else resume_sync
        opened, result = resume(server, tag)
        assert run_id is None or opened == run_id, "resume opened a new run"
        assert result.processed + result.skipped == ITEMS and result.failed == 0, result
        run_id, resumed = opened, result.processed
    assert run_id is not None
    with server.driver() as driver:
        manager = CheckpointManager(driver, server.database)
        counts = exactly_once(driver, server.database, run_id, set(range(ITEMS)))
        info = manager.get_run(run_id)
        assert info.status == "completed", info
        (progress,) = manager.progress(run_id)
        assert progress.processed == ITEMS and progress.status == "completed", progress
    return {"processed_by_resume": resumed, **counts}


def resume_sync(server: Neo4jServer, tag: str) -> tuple[str, LoadResult]:
    """Open the run of ``tag`` again and load the rest: (its run id, the load's result)."""

    @checkpoint_loader(name=LOADER_NAME, batch_size=500, progress=False)
    def load(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run(CREATE, rows=rows).consume()

    with server.driver() as driver:
        manager = CheckpointManager(driver, server.database)
        with manager.run(config={"tag": tag}) as run:
            return run.run_id, load(run, range(ITEMS))


def resume_async(server: Neo4jServer, tag: str) -> tuple[str, LoadResult]:
    """:func:`resume_sync` with the async API."""

    @checkpoint_loader(name=LOADER_NAME, batch_size=500, progress=False)
    async def load(tx: neo4j.AsyncManagedTransaction, rows: list[int]) -> None:
        result = await tx.run(CREATE, rows=rows)
        await result.consume()

    async def main() -> tuple[str, LoadResult]:
        async with async_driver(server) as driver:
            manager = AsyncCheckpointManager(driver, server.database)
            async with await manager.run(config={"tag": tag}) as run:
                return run.run_id, await load(run, range(ITEMS))

    return asyncio.run(main())


@pytest.mark.slow
def test_graceful_restart_under_load(own_server: Neo4jServer) -> None:
    tag = "graceful-restart"
    with own_server.driver() as driver:
        clear_database(driver, own_server.database)
    # Long retries: the driver's own retry loop should carry the load across the restart.
    options = {"max_transaction_retry_time": 180.0, **FLAT_RETRY}
    load = BackgroundLoad(own_server, options, tag)
    load.start(progress_mark=ITEMS // 8)
    assert load.started.wait(120), "the load never got going"
    assert load.error is None, f"the load failed before the restart: {load.error!r}"
    began = time.monotonic()
    server_script("restart")
    print(f"server restarted in {time.monotonic() - began:.1f}s")
    load.join(timeout=300)
    if load.error is None:
        # A batch whose commit outcome was lost with the server is retried by the driver and
        # then finds its own items recorded: they count as skipped, never as loaded twice.
        print(f"the load rode out the restart; {load.skipped} items of retried commits skipped")
        assert load.processed + load.skipped == ITEMS, (load.processed, load.skipped)
    else:
        # Allowed: a clear, resumable error (the retries ran out while the server was away).
        assert isinstance(load.error, CLEAR_ERRORS), f"unclear error: {load.error!r}"
        print(f"the load stopped with {type(load.error).__name__}: {load.error}")
    print(resume_and_check(own_server, tag, load))


@pytest.mark.slow
@pytest.mark.parametrize("api", APIS)
def test_server_killed_under_load(own_server: Neo4jServer, api: str) -> None:
    tag = f"server-killed-{api}"
    with own_server.driver() as driver:
        clear_database(driver, own_server.database)
    # Short retries: the load must give up quickly with a clear error, not hang.
    options = {"max_transaction_retry_time": 2.0, "connection_timeout": 5.0, **FLAT_RETRY}
    load = BackgroundLoad(own_server, options, tag, api)
    load.start(progress_mark=ITEMS // 4)
    assert load.started.wait(120), "the load never got going"
    assert load.error is None, f"the load failed before the kill: {load.error!r}"
    os.kill(server_pid(), signal.SIGKILL)
    killed_at = time.monotonic()
    load.join(timeout=120)
    gave_up_after = time.monotonic() - killed_at
    try:
        assert isinstance(load.error, CLEAR_ERRORS), f"expected a clear error, got {load.error!r}"
        message = str(load.error)
        assert "resum" in message or "cannot reach" in message, message
        assert gave_up_after < 60, f"the load took {gave_up_after:.0f}s to give up"
    finally:
        server_script("start")  # recovers the committed transactions from the log
    with own_server.driver() as driver:
        assert load.run_id is not None
        info = CheckpointManager(driver, own_server.database).get_run(load.run_id)
    # The run could not be marked interrupted while the server was gone: it is left running
    # (and reported stale once its heartbeat is old); either status is resumable.
    assert info.status in ("running", "interrupted"), info
    print(
        f"{api} API gave up after {gave_up_after:.1f}s with {type(load.error).__name__};"
        f" run {info.status}"
    )
    print(resume_and_check(own_server, tag, load))
