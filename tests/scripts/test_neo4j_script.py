"""scripts/neo4j: the project's own Neo4j server, and its one-line errors.

These start extra servers on their own ports and folders, never touching the session's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "scripts" / "neo4j_server.py"
JARS = ROOT / ".neo4j" / "lib-5.26.30"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A server home that reuses the jar cache, so no test waits for Maven twice."""
    if JARS.joinpath(".complete").exists():
        (tmp_path / JARS.name).symlink_to(JARS)
    return tmp_path


def script(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SERVER), command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_missing_java_is_one_line(home: Path):
    proc = script(
        "start",
        GRAPH_CKPT_NEO4J_HOME=str(home),
        GRAPH_CKPT_JAVA="/nonexistent/java",
        GRAPH_CKPT_NEO4J_PORT=str(free_port()),
    )
    assert "Java 17 or 21 not found" in one_error_line(proc)


def test_missing_maven_is_one_line(tmp_path: Path):
    # An empty home has no jars, and a PATH without mvn cannot fetch them.
    proc = script(
        "start",
        GRAPH_CKPT_NEO4J_HOME=str(tmp_path),
        PATH=str(Path(sys.executable).parent),
        GRAPH_CKPT_NEO4J_PORT=str(free_port()),
    )
    assert "Maven not found" in one_error_line(proc)


def test_port_taken_is_one_line(home: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = script("start", GRAPH_CKPT_NEO4J_HOME=str(home), GRAPH_CKPT_NEO4J_PORT=str(port))
    assert f"port {port}" in one_error_line(proc)
    assert "already in use" in proc.stderr


def test_usage():
    proc = subprocess.run([sys.executable, str(SERVER), "bogus"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage: scripts/neo4j" in proc.stderr


@pytest.mark.slow
def test_start_env_stop_and_a_wrong_password(home: Path):
    port = str(free_port())
    env = {
        "GRAPH_CKPT_NEO4J_HOME": str(home),
        "GRAPH_CKPT_NEO4J_PORT": port,
        "GRAPH_CKPT_NEO4J_HEAP": "512m",
        "GRAPH_CKPT_NEO4J_PAGECACHE": "64m",
    }
    try:
        started = script("start", **env)
        assert started.returncode == 0, started.stderr
        assert script("status", **env).stdout.startswith("running")
        exported = script("env", **env).stdout
        assert f"NEO4J_URI=bolt://127.0.0.1:{port}" in exported
        assert "NEO4J_PASSWORD=graph-checkpoint-dev" in exported
        again = script("start", **env)
        assert again.returncode == 0 and "already running" in again.stderr
        pid = int((home / f"instance-{port}" / "neo4j.pid").read_text())

        assert script("stop", **env).returncode == 0
        assert not Path(f"/proc/{pid}").exists()
        assert script("status", **env).returncode == 3

        wrong = script("start", GRAPH_CKPT_NEO4J_PASSWORD="not-the-one", **env)
        line = one_error_line(wrong)
        assert "rejects the password" in line and "scripts/neo4j reset" in line
        assert "not-the-one" not in wrong.stderr
        # The refused server was stopped again: no Java process of ours is left.
        time.sleep(0.5)
        assert script("status", **env).returncode == 3
    finally:
        script("stop", **env)
