"""The pytest plugin's Docker path, for real: a Docker daemon, a Neo4j container, no NEO4J_URI.

No registry is reachable here, so the container runs the image ``scripts/neo4j image`` builds
locally (``graph-checkpoint/neo4j:<version>-local``); the plugin is told its name as a user
would, through ``GRAPH_CKPT_NEO4J_IMAGE`` or the ``graph_checkpoint_neo4j_image`` ini option.
Each test runs a user's test file in its own pytest process, which starts (and must remove)
its own container. ``scripts/test`` installs and starts Docker; where Docker cannot be had,
these tests are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from graph_checkpoint._docker import PID_LABEL, docker_available

ROOT = Path(__file__).resolve().parent.parent
VERSION = os.environ.get("GRAPH_CKPT_NEO4J_VERSION") or "5.26.30"

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow


def _load_image_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "graph_ckpt_neo4j_image", ROOT / "scripts" / "neo4j_image.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IMAGE = _load_image_module().image_name(VERSION)

USER_TESTS = """
import pytest

from graph_checkpoint import checkpoint_loader
from graph_checkpoint.pytest_plugin import SimulatedInterrupt

ROWS = [{"id": i} for i in range(60)]


@checkpoint_loader(batch_size=10, item_id="id", progress=False)
def load_items(tx, rows):
    tx.run("UNWIND $rows AS r CREATE (:Item {id: r.id})", rows=rows)


def count_items(driver):
    records, _, _ = driver.execute_query(
        "MATCH (i:Item) RETURN count(i) AS nodes, count(DISTINCT i.id) AS ids"
    )
    return records[0]["nodes"], records[0]["ids"]


def test_the_server_is_a_container(neo4j_server):
    assert neo4j_server.source == "docker"


def test_a_load(checkpoint_manager):
    with checkpoint_manager.run(config={"file": "items"}) as run:
        assert load_items(run, ROWS).processed == 60
    assert count_items(checkpoint_manager.driver) == (60, 60)


def test_an_interrupted_load_resumes(checkpoint_manager, interrupt_after):
    with pytest.raises(SimulatedInterrupt), interrupt_after(2):
        with checkpoint_manager.run(config={"file": "items"}) as run:
            load_items(run, ROWS)
    assert checkpoint_manager.get_run(run.run_id).status == "interrupted"
    assert count_items(checkpoint_manager.driver) == (20, 20)
    with checkpoint_manager.run(config={"file": "items"}) as run:
        result = load_items(run, ROWS)
    assert (result.processed, result.skipped) == (40, 20)
    assert count_items(checkpoint_manager.driver) == (60, 60)
    assert checkpoint_manager.get_run(run.run_id).status == "completed"
"""

# Signals that it has its server, then waits to be stopped.
WAITING_TEST = """
import os
import pathlib
import time


def test_wait(neo4j_driver):
    neo4j_driver.verify_connectivity()
    pathlib.Path("ready").write_text(str(os.getpid()))
    time.sleep(300)
"""


def _docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def _containers(pid: int | None = None) -> list[str]:
    """The plugin's containers (of pytest process ``pid``), running or not."""
    label = PID_LABEL if pid is None else f"{PID_LABEL}={pid}"
    return _docker("ps", "--all", "--quiet", "--filter", f"label={label}").split()


@pytest.fixture(scope="module")
def local_image() -> str:
    """The local image, built (or found up to date) by ``scripts/neo4j image``."""
    # scripts/test says why it could not have Docker, or that it was told to leave it alone.
    reason = os.environ.get("GRAPH_CKPT_NO_DOCKER_REASON")
    if reason:
        pytest.skip(f"no Docker for the container tests: {reason}")
    if not docker_available():
        pytest.skip(
            "no Docker daemon answers (DOCKER_HOST, /var/run/docker.sock): scripts/test"
            " installs and starts one where it can"
        )
    built = subprocess.run(
        [str(ROOT / "scripts" / "neo4j"), "image"],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "GRAPH_CKPT_NEO4J_VERSION": VERSION},
    )
    assert built.returncode == 0, f"scripts/neo4j image failed: {built.stderr.strip()}"
    assert built.stdout.strip() == IMAGE
    return IMAGE


@pytest.fixture
def user_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment of a user with Docker and no server of their own."""
    for name in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GRAPH_CKPT_NEO4J_IMAGE", raising=False)
    # Ryuk stays off because the plugin turns it off, not because the environment says so.
    monkeypatch.delenv("TESTCONTAINERS_RYUK_DISABLED", raising=False)
    before = set(_containers())
    yield
    leftover = set(_containers()) - before
    if leftover:  # never leave one behind for the next test, whatever this one found
        _docker("rm", "--force", *leftover)


def test_a_user_test_file_loads_interrupts_and_resumes_in_a_container(
    local_image: str, user_env: None, pytester: pytest.Pytester
) -> None:
    pytester.makeini(f"[pytest]\ngraph_checkpoint_neo4j_image = {local_image}\n")
    pytester.makepyfile(test_user_loader=USER_TESTS)
    began = time.monotonic()
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider", timeout=600)
    result.assert_outcomes(passed=3)
    print(f"a pytest session on a container of {local_image}: {time.monotonic() - began:.1f}s")
    assert _containers() == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_session_removes_its_container(
    local_image: str,
    user_env: None,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    signum: signal.Signals,
) -> None:
    monkeypatch.setenv("GRAPH_CKPT_NEO4J_IMAGE", local_image)
    pytester.makepyfile(test_waits=WAITING_TEST)
    with _session(pytester) as session:
        assert len(_containers(session.pid)) == 1
        session.send_signal(signum)
        output = session.communicate(timeout=120)[0]
    assert "KeyboardInterrupt" in output, output
    assert _containers(session.pid) == []


def test_the_container_of_a_killed_session_is_removed_by_the_next_session(
    local_image: str,
    user_env: None,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRAPH_CKPT_NEO4J_IMAGE", local_image)
    pytester.makepyfile(test_waits=WAITING_TEST)
    with _session(pytester) as killed:
        killed.kill()  # nothing of its own runs: the container outlives it
        killed.wait(timeout=60)
    [leftover] = _containers(killed.pid)

    pytester.makepyfile(test_waits="def test_ok(neo4j_driver):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "log_cli=true", "-o", "log_cli_level=INFO", timeout=600
    )
    result.assert_outcomes(passed=1)
    assert _containers(killed.pid) == []
    assert f"left by pytest sessions that were killed: {leftover[:12]}" in result.stdout.str()


@contextmanager
def _session(pytester: pytest.Pytester) -> Iterator[subprocess.Popen[str]]:
    """A user's pytest session in its own process, once its test has a server; killed at the
    end of the block if it still runs."""
    session = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = pytester.path / "ready"
        deadline = time.monotonic() + 300
        while not ready.exists():
            if session.poll() is not None or time.monotonic() > deadline:
                session.kill()
                raise AssertionError(f"the session never got a server:\n{session.communicate()[0]}")
            time.sleep(0.2)
        yield session
    finally:
        if session.poll() is None:
            session.kill()
        session.communicate()


def test_an_image_docker_cannot_pull_is_a_one_line_skip(
    local_image: str, user_env: None, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = "graph-checkpoint/no-such-image:0"
    monkeypatch.setenv("GRAPH_CKPT_NEO4J_IMAGE", missing)
    pytester.makepyfile(
        test_needs_neo4j="""
        def test_load(checkpoint_manager):
            raise AssertionError("must be skipped before it runs")
        """
    )
    result = pytester.runpytest_subprocess(
        "-rs", "-W", "error", "-p", "no:cacheprovider", timeout=300
    )
    result.assert_outcomes(skipped=1)
    [line] = [ln for ln in result.stdout.lines if ln.startswith("SKIPPED")]
    assert f"the Neo4j image {missing} is not on this machine and could not be pulled" in line
    assert "NEO4J_URI" in line and "GRAPH_CKPT_NEO4J_IMAGE" in line
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert _containers() == []
