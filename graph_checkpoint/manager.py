"""The entry point of the library: runs are started, resumed and read through a manager."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import neo4j

from . import _ops
from ._sync_io import SyncIO
from .model import LoaderProgress, RunInfo
from .run import Run

__all__ = ["CheckpointManager"]

log = logging.getLogger("graph_checkpoint")


class CheckpointManager:
    """Keeps checkpoint runs in the Neo4j database that ``driver`` connects to.

    ``database`` None means the server's default database. The schema (constraints and
    indexes from ``cypher/schema.cypher``) is applied the first time a run is opened.
    ``heartbeat_interval`` is how often, in seconds, an open run refreshes its ``updated_at``.

    >>> manager = CheckpointManager(driver)                          # doctest: +SKIP
    >>> with manager.run(description="people", config={"file": "people.csv"}) as run:
    ...     load_people(run, rows)                                   # doctest: +SKIP
    """

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str | None = None,
        *,
        heartbeat_interval: float = 15.0,
    ) -> None:
        if not isinstance(driver, neo4j.Driver):
            raise TypeError(
                f"CheckpointManager needs a neo4j.Driver, got {type(driver).__name__}"
                " (for an AsyncDriver use AsyncCheckpointManager)"
            )
        self.driver = driver
        self.database = database
        self.heartbeat_interval = heartbeat_interval
        self._io = SyncIO(driver, database)
        self._open_runs: list[Run] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<CheckpointManager database={self.database or '(default)'}>"

    def ensure_schema(self) -> None:
        """Create the checkpoint constraints and indexes if they are missing."""
        self._io.run(_ops.ensure_schema())
        self._io._schema_ready = True

    def run(
        self,
        description: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        force: bool = False,
    ) -> Run:
        """Resume the newest incomplete run whose config equals ``config``, else start one.

        With ``run_id`` that run is resumed if it exists and created if not, so several
        processes given the same id work on one run. Use the result as a context manager:
        the run is completed when the block ends, interrupted on Ctrl-C or a transient
        failure, and failed on any other exception.
        """
        self._io.ensure_schema()
        info = self._io.run(_ops.open_run(description, config, run_id, force))
        return self._open(info)

    def start_run(
        self,
        description: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
    ) -> Run:
        """Start a new run. End it with ``run.complete()`` or ``run.fail(error)``."""
        self._io.ensure_schema()
        return self._open(self._io.run(_ops.create_run(description, config, run_id)))

    def resume_run(
        self,
        run_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
    ) -> Run:
        """Resume ``run_id``, or the newest incomplete run when it is None.

        Raises :class:`RunNotFoundError` for an unknown id, and :class:`ConfigMismatchError`
        when ``config`` has other keys than the stored config (``force=True`` overrides).
        """
        self._io.ensure_schema()
        return self._open(self._io.run(_ops.resume_run(run_id, config, force)))

    def get_run(self, run_id: str) -> RunInfo:
        """Read one run. Raises :class:`RunNotFoundError` for an unknown id."""
        info: RunInfo = self._io.run(_ops.get_run(run_id))
        return info

    def progress(self, run_id: str) -> list[LoaderProgress]:
        """Per-loader progress of a run."""
        result: list[LoaderProgress] = self._io.run(_ops.loader_progress(run_id))
        return result

    @property
    def current_run(self) -> Run | None:
        """The run most recently opened by this manager and not yet ended, if any."""
        with self._lock:
            return self._open_runs[-1] if self._open_runs else None

    def _open(self, info: RunInfo) -> Run:
        run = Run(self, info)
        with self._lock:
            self._open_runs.append(run)
        log.info("run %s %s", info.run_id, "resumed" if info.resumes else "started")
        return run

    def _forget(self, run: Run) -> None:
        with self._lock:
            if run in self._open_runs:
                self._open_runs.remove(run)
