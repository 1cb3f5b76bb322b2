"""Fixtures of the fault tests (helpers live in ``_support``)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from graph_checkpoint.pytest_plugin import Neo4jServer

from ._support import LOADER_SCRIPT, SEED_ENV, LoaderProcess, Seed, server_env


@pytest.fixture
def fault_seed(request: pytest.FixtureRequest) -> Seed:
    """The test's seed: ``GRAPH_CKPT_FAULT_SEED`` if set, else a fresh one, printed."""
    raw = os.environ.get(SEED_ENV)
    value = int(raw) if raw else random.SystemRandom().randrange(2**32)
    seed = Seed(value, random.Random(value), request.node.nodeid)
    # Captured output is shown by pytest when the test fails, so the seed is never lost.
    print(f"fault test {seed}")
    return seed


@pytest.fixture
def spawn_loader(neo4j_server: Neo4jServer) -> Iterator[Any]:
    """Start ``fault_loader.py`` processes (``api=`` picks the API); kill those left running."""
    started: list[LoaderProcess] = []

    def spawn(*args: str, api: str = "sync", server: Neo4jServer | None = None) -> LoaderProcess:
        # Closed in the finalizer below: it must outlive this function.
        stderr_file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        popen = subprocess.Popen(
            [sys.executable, str(LOADER_SCRIPT), "--api", api, *args],
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            env=server_env(server or neo4j_server),
        )
        process = LoaderProcess(popen, stderr_file)
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(timeout=60)
        if process.popen.stdout is not None:
            process.popen.stdout.close()
        process.stderr_file.close()
