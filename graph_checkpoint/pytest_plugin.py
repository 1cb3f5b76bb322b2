"""pytest fixtures for testing checkpointed loaders against a real Neo4j.

Installed with graph-checkpoint and registered through the ``pytest11`` entry point, so
``pip install graph-checkpoint`` is enough to use them:

``neo4j_server``
    Connection settings of a Neo4j server for the test session: ``NEO4J_URI`` (with
    ``NEO4J_USERNAME``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``) when set, else a
    testcontainers Neo4j container when Docker answers (its image: ``GRAPH_CKPT_NEO4J_IMAGE``,
    else the ``graph_checkpoint_neo4j_image`` ini option, else :data:`CONTAINER_IMAGE`),
    else the test is skipped with a reason that says how to provide one.
``neo4j_driver``
    A ``neo4j.Driver`` for that server, one per test session.
``clean_neo4j``
    Empties the database before the test (all nodes and relationships; schema is kept).
``checkpoint_manager``
    A :class:`~graph_checkpoint.CheckpointManager` on a clean database.
``interrupt_after``
    ``with interrupt_after(2): ...`` makes a checkpointed load in the block stop with
    :class:`SimulatedInterrupt` once two batches have committed, to test the resume path::

        with pytest.raises(SimulatedInterrupt), interrupt_after(2):
            with checkpoint_manager.run(config=CONFIG) as run:
                load_people(run, rows)      # stops after 2 batches; the run is interrupted
        with checkpoint_manager.run(config=CONFIG) as run:
            load_people(run, rows)          # resumes it and loads the rest
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import neo4j
import pytest

from . import _reporter
from ._connection import ConnectionSettings, translate_error
from ._docker import ContainerUnavailableError, docker_available, neo4j_container
from ._sync.manager import CheckpointManager
from .errors import LoadInterruptedError

__all__ = [
    "NO_SERVER_REASON",
    "ContainerUnavailableError",
    "Interruption",
    "Neo4jServer",
    "SimulatedInterrupt",
    "clear_database",
    "container_image",
    "open_server",
    "select_source",
    "server_from_env",
]

CONTAINER_IMAGE = "neo4j:5.26-community"
IMAGE_INI_OPTION = "graph_checkpoint_neo4j_image"
_CONTAINER_PASSWORD = "graph-checkpoint-test"


class SimulatedInterrupt(LoadInterruptedError):
    """Raised by ``interrupt_after`` to stop a load part-way: the run ends ``interrupted``.

    It is a :class:`~graph_checkpoint.LoadInterruptedError` (what a load raises when a
    transient fault outlasts the retries) rather than a ``KeyboardInterrupt``: the run ends
    the same way, but a test that lets it escape fails on its own instead of aborting the
    whole pytest session, as a real ``KeyboardInterrupt`` would.
    """


@dataclass(frozen=True)
class Neo4jServer:
    """Where the test Neo4j is and how to log in (``repr`` hides the password)."""

    uri: str
    username: str
    password: str
    database: str | None = None
    source: str = "env"

    def __repr__(self) -> str:
        return f"Neo4jServer(uri={self.uri!r}, username={self.username!r}, source={self.source!r})"

    def driver(self) -> neo4j.Driver:
        """A new driver for this server."""
        return neo4j.GraphDatabase.driver(self.uri, auth=(self.username, self.password))


def container_image(env: Mapping[str, str], configured: str | None = None) -> str:
    """The image of the Neo4j container: ``GRAPH_CKPT_NEO4J_IMAGE`` if set, else
    ``configured`` (the ``graph_checkpoint_neo4j_image`` ini option), else the Community image
    of ``GRAPH_CKPT_NEO4J_VERSION`` (the version ``scripts/neo4j`` runs, such as
    ``neo4j:2025.12.1-community``), else :data:`CONTAINER_IMAGE`."""
    for image in (env.get("GRAPH_CKPT_NEO4J_IMAGE", ""), configured or ""):
        if image.strip():
            return image.strip()
    version = env.get("GRAPH_CKPT_NEO4J_VERSION", "").strip()
    return f"neo4j:{version}-community" if version else CONTAINER_IMAGE


def select_source(
    env: Mapping[str, str], docker_available: Callable[[], bool] = docker_available
) -> str | None:
    """Which server the fixtures use: ``"env"`` (NEO4J_URI always wins), ``"docker"``, or None."""
    if ConnectionSettings.from_env(env) is not None:
        return "env"
    if docker_available():
        return "docker"
    return None


def server_from_env(env: Mapping[str, str]) -> Neo4jServer:
    """Connection settings from the environment variables Neo4j's own tools use."""
    settings = ConnectionSettings.from_env(env)
    if settings is None:
        raise KeyError("NEO4J_URI")
    return Neo4jServer(
        uri=settings.uri,
        username=settings.username,
        password=settings.password,
        database=settings.database,
        source="env",
    )


NO_SERVER_REASON = (
    "no Neo4j for graph-checkpoint's fixtures: set NEO4J_URI (with NEO4J_USERNAME,"
    " NEO4J_PASSWORD, NEO4J_DATABASE) to a Neo4j 5.26 or 2025.x server, or start Docker and install"
    " testcontainers (pip install 'graph-checkpoint[test]') so a Neo4j container can run"
)


@contextmanager
def open_server(
    env: Mapping[str, str],
    docker_available: Callable[[], bool] = docker_available,
    *,
    image: str | None = None,
) -> Iterator[Neo4jServer | None]:
    """The server :func:`select_source` picks, started if it is a container; None if none.

    A container is of ``image`` if given, else of :func:`container_image`'s, and is removed
    when the block ends; :class:`ContainerUnavailableError` says, in one line, why one could
    not be started.
    """
    source = select_source(env, docker_available)
    if source == "env":
        yield server_from_env(env)
    elif source == "docker":
        with neo4j_container(image or container_image(env), _CONTAINER_PASSWORD) as uri:
            yield Neo4jServer(
                uri=uri, username="neo4j", password=_CONTAINER_PASSWORD, source="docker"
            )
    else:
        yield None


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``graph_checkpoint_neo4j_image`` ini option."""
    parser.addini(
        IMAGE_INI_OPTION,
        "Docker image of the Neo4j container graph-checkpoint's fixtures start when NEO4J_URI"
        " is unset (GRAPH_CKPT_NEO4J_IMAGE overrides it)",
        default="",
    )


@pytest.fixture(scope="session")
def neo4j_server(pytestconfig: pytest.Config) -> Iterator[Neo4jServer]:
    """A Neo4j server for the whole test session (see the module docstring)."""
    image = container_image(os.environ, str(pytestconfig.getini(IMAGE_INI_OPTION) or ""))
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(open_server(os.environ, image=image))
        except ContainerUnavailableError as exc:
            pytest.skip(str(exc))
        if server is None:
            pytest.skip(NO_SERVER_REASON)
        yield server


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_server: Neo4jServer) -> Iterator[neo4j.Driver]:
    """One driver for the test session."""
    with neo4j_server.driver() as driver:
        try:
            driver.verify_connectivity()
        except Exception as exc:
            # A server that was asked for but cannot be used is an error, not a skip: the
            # message says what to check (never the password).
            pytest.fail(
                f"graph-checkpoint's fixtures cannot use the Neo4j at {neo4j_server.uri}"
                f" (from {neo4j_server.source}): {translate_error(exc, neo4j_server.database)}",
                pytrace=False,
            )
        yield driver


def clear_database(driver: neo4j.Driver, database: str | None) -> None:
    """Delete every node and relationship, in bounded transactions."""
    with driver.session(database=database, notifications_min_severity="OFF") as session:
        # Relationships first: DETACH DELETE of a node with a million relationships would
        # put them all in one inner transaction, however small the batch of nodes.
        session.run(
            "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
        ).consume()
        session.run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture
def clean_neo4j(neo4j_driver: neo4j.Driver, neo4j_server: Neo4jServer) -> neo4j.Driver:
    """The session's driver, on a database emptied before this test."""
    clear_database(neo4j_driver, neo4j_server.database)
    return neo4j_driver


@pytest.fixture
def checkpoint_manager(
    clean_neo4j: neo4j.Driver, neo4j_server: Neo4jServer
) -> Iterator[CheckpointManager]:
    """A CheckpointManager on a clean database; runs left open are interrupted afterwards."""
    manager = CheckpointManager(clean_neo4j, neo4j_server.database, heartbeat_interval=1.0)
    yield manager
    manager.close()


@dataclass
class Interruption:
    """What ``with interrupt_after(n) as interruption:`` reports once the block has run."""

    batches: int
    """The number of committed batches after which the load is stopped."""
    batches_seen: int = 0
    """Batches that committed while the block ran (up to the interruption)."""
    fired: bool = False
    """True once :class:`SimulatedInterrupt` was raised."""


@contextmanager
def _interrupt_after(batches: int) -> Iterator[Interruption]:
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise ValueError(f"interrupt_after needs a positive number of batches, got {batches!r}")
    state = Interruption(batches)

    def hook(_: Any) -> None:
        if state.fired:  # once only: a load the test starts again in the block runs on
            return
        state.batches_seen += 1
        if state.batches_seen >= batches:
            state.fired = True
            raise SimulatedInterrupt(f"interrupted by the test after {batches} batches")

    # The hook runs after each batch has committed, in the thread that drives the load; with
    # workers > 1 the batches already being written still finish (each commits whole).
    _reporter.after_batch.append(hook)
    try:
        yield state
    finally:
        _reporter.after_batch.remove(hook)


@pytest.fixture
def interrupt_after() -> Callable[[int], AbstractContextManager[Interruption]]:
    """``with interrupt_after(n):`` stops a checkpointed load once n batches have committed.

    The load raises :class:`SimulatedInterrupt` out of the block and its run ends
    ``interrupted``; opening the run again with the same config resumes it.
    """
    return _interrupt_after
