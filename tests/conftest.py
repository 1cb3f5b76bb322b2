"""Fixtures for graph-checkpoint's own tests.

The fixtures come from graph-checkpoint's pytest plugin (``graph_checkpoint.pytest_plugin``),
the same one users get. This file adds what only this repository can do: when neither
NEO4J_URI nor Docker is there, start the project's own Maven-built Neo4j with
``scripts/neo4j`` for the session and stop it afterwards.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from graph_checkpoint.pytest_plugin import Neo4jServer, open_server, server_from_env

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "neo4j"


def _local_server_env() -> dict[str, str]:
    out = subprocess.run([str(SCRIPT), "env"], capture_output=True, text=True, check=True)
    env: dict[str, str] = {}
    for part in out.stdout.replace("export ", "").split():
        key, _, value = part.partition("=")
        env[key] = value
    return env


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    """NEO4J_URI if set, else a Docker container, else the project's own server."""
    with open_server(os.environ) as server:
        if server is not None:
            yield server
            return
    started_here = subprocess.run([str(SCRIPT), "status"], capture_output=True).returncode != 0
    subprocess.run([str(SCRIPT), "start"], check=True)
    try:
        local = server_from_env(_local_server_env())
        yield Neo4jServer(local.uri, local.username, local.password, local.database, "local")
    finally:
        if started_here:
            subprocess.run([str(SCRIPT), "stop"], check=False)


@pytest.fixture
def driver(clean_neo4j: neo4j.Driver) -> neo4j.Driver:
    """The session's driver, on a database emptied before this test."""
    return clean_neo4j


@pytest.fixture
def manager(checkpoint_manager):  # type: ignore[no-untyped-def]
    """A CheckpointManager on a clean database."""
    return checkpoint_manager
