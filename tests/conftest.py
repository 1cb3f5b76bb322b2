"""Fixtures for graph-checkpoint's own tests.

The fixtures come from graph-checkpoint's pytest plugin (``graph_checkpoint.pytest_plugin``),
the same one users get. This file adds what only this repository can do: when neither
NEO4J_URI nor Docker is there, start the project's own Maven-built Neo4j with
``scripts/neo4j`` for the session and stop it afterwards.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

from graph_checkpoint import _cypher
from graph_checkpoint.pytest_plugin import (
    ContainerUnavailableError,
    Neo4jServer,
    open_server,
    server_from_env,
)

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
    """NEO4J_URI if set, else a Docker container, else the project's own server.

    A Docker that answers but cannot start the container (no image, say) falls through to
    the project's own server too: this suite needs a server, not a container.
    """
    try:
        with open_server(os.environ) as server:
            if server is not None:
                yield server
                return
    except ContainerUnavailableError as exc:
        logging.getLogger(__name__).warning("%s; using scripts/neo4j's server instead", exc)
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


# --- reading the checkpoint records ---------------------------------------------------------
# A processed record covers one id, a range of ints or a chunk of strs, so "one record per item"
# is checked on the ids the records cover, expanded by the library's own query.


def processed_ids(
    driver: neo4j.Driver,
    database: str | None,
    run_id: str | None = None,
    loader: str | None = None,
) -> list[Any]:
    """Every id a processed record covers, once per record that covers it.

    For one loader of one run, or of every run/loader that has records when ``run_id`` or
    ``loader`` is None. Duplicates are kept, so an id recorded twice shows up twice; failed
    records are left out.
    """
    expand = _cypher.query("processed_items")
    with driver.session(database=database) as session:
        # Keys come from the records themselves (not :CheckpointLoader), so a record left
        # without its loader node is still counted.
        keys = session.run(
            "MATCH (p:ProcessedItem)"
            " WHERE ($run_id IS NULL OR p.run_id = $run_id)"
            " AND ($loader IS NULL OR p.loader = $loader)"
            " RETURN DISTINCT p.run_id AS run_id, p.loader AS loader",
            run_id=run_id,
            loader=loader,
        ).data()
        ids: list[Any] = []
        for key in keys:
            ids += session.run(expand, **key).value("item_id")
    return ids


def failed_records(
    driver: neo4j.Driver,
    database: str | None,
    run_id: str | None = None,
    loader: str | None = None,
) -> list[dict[str, Any]]:
    """The failed records (of one run and loader, when given), as dicts of their properties."""
    records, _, _ = driver.execute_query(
        "MATCH (f:ProcessedItem)"
        " WHERE coalesce(f.status, 'processed') <> 'processed'"
        " AND ($run_id IS NULL OR f.run_id = $run_id)"
        " AND ($loader IS NULL OR f.loader = $loader)"
        " RETURN properties(f) AS record",
        run_id=run_id,
        loader=loader,
        database_=database,
    )
    return [r["record"] for r in records]
