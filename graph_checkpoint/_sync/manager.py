# Generated from graph_checkpoint/_async/manager.py by scripts/unasync.py: do not edit.
# Change the async source, then run `python scripts/unasync.py`.
"""The entry point of the library: runs are started, resumed and read through a manager."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import neo4j

from .. import _ops, _process
from .._compat import Util
from ..model import LoaderProgress, ParticipantInfo, RunInfo
from .io import Executor
from .run import Run

__all__ = ["CheckpointManager", "executor_of"]

log = logging.getLogger("graph_checkpoint")


class CheckpointManager:
    """Keeps checkpoint runs in the Neo4j database that ``driver`` connects to.

    ``database`` None means the server's default database. The schema (constraints and
    indexes from ``cypher/schema.cypher``) is applied the first time a run is opened.
    ``heartbeat_interval`` is how often, in seconds, an open run refreshes its ``updated_at``.
    """

    def __init__(
        self,
        driver: neo4j.Driver,
        database: str | None = None,
        *,
        heartbeat_interval: float = 15.0,
    ) -> None:
        if not isinstance(driver, neo4j.Driver):
            wanted, other = neo4j.Driver.__name__, Util.twin(neo4j.Driver.__name__)
            raise TypeError(
                f"{type(self).__name__} needs a neo4j.{wanted}, got {type(driver).__name__}"
                f" (for a neo4j.{other} use {Util.twin(type(self).__name__)})"
            )
        if not heartbeat_interval > 0:
            raise ValueError(
                f"heartbeat_interval must be positive seconds, got {heartbeat_interval!r}"
            )
        self.driver = driver
        self.database = database
        self.heartbeat_interval = heartbeat_interval
        self._executor = Executor(driver, database)
        self._open_runs: list[Run] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} database={self.database or '(default)'}>"

    def ensure_schema(self) -> None:
        """Create the checkpoint constraints and indexes if they are missing."""
        self._executor.ensure_schema(again=True)

    def run(
        self,
        description: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        force: bool = False,
        participant: str | None = None,
        coordinator: bool = False,
    ) -> Run:
        """Resume the newest incomplete run whose config equals ``config``, else start one.

        With ``run_id`` that run is resumed if it exists and created if not, so several
        processes given the same id work on one run. Use the result as a context manager:
        the run is completed when the block ends, interrupted on Ctrl-C or a transient
        failure, and failed on any other exception.

        Every process that opens a run takes part in it: ``participant`` names this
        process's part (say ``"shard-3"`` when each process loads a part of the input, so a
        restarted shard takes its own place back); without it the process is ``host:pid``
        and takes the place of one that died. With several participants the run is
        completed when the last one still loading is done and all are. ``coordinator=True``
        opens the run for a process that only knows when the input is exhausted (a Spark
        driver): its completion completes the run, whatever the participants did.
        """
        self._executor.ensure_schema()
        _ops.check_participant_name(participant)
        info = self._executor.run(_ops.open_run(description, config, run_id, force))
        return self._open(info, participant, coordinator)

    def start_run(
        self,
        description: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        participant: str | None = None,
        coordinator: bool = False,
    ) -> Run:
        """Start a new run. End it with ``run.complete()`` or ``run.fail(error)``.

        ``participant`` and ``coordinator`` as for :meth:`run`.
        """
        self._executor.ensure_schema()
        _ops.check_participant_name(participant)
        info = self._executor.run(_ops.create_run(description, config, run_id))
        return self._open(info, participant, coordinator)

    def resume_run(
        self,
        run_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
        participant: str | None = None,
        coordinator: bool = False,
    ) -> Run:
        """Resume ``run_id``, or the newest incomplete run when it is None.

        Raises :class:`RunNotFoundError` for an unknown id, and :class:`ConfigMismatchError`
        when ``config`` has other keys than the stored config (``force=True`` overrides).
        ``participant`` and ``coordinator`` as for :meth:`run`.
        """
        self._executor.ensure_schema()
        _ops.check_participant_name(participant)
        info = self._executor.run(_ops.resume_run(run_id, config, force))
        return self._open(info, participant, coordinator)

    def get_run(self, run_id: str) -> RunInfo:
        """Read one run. Raises :class:`RunNotFoundError` for an unknown id."""
        return self._executor.run(_ops.get_run(run_id))

    def progress(self, run_id: str) -> list[LoaderProgress]:
        """Per-loader progress of a run."""
        return self._executor.run(_ops.loader_progress(run_id))

    def participants(self, run_id: str) -> list[ParticipantInfo]:
        """The processes that joined a run (host, pid, items, last heartbeat, state)."""
        return self._executor.run(_ops.participants(run_id))

    @property
    def current_run(self) -> Run | None:
        """The run most recently opened by this manager and not yet ended, if any."""
        with self._lock:
            self._open_runs = [run for run in self._open_runs if not run.closed]
            return self._open_runs[-1] if self._open_runs else None

    def close(self) -> None:
        """Interrupt every run this manager opened that is still open (e.g. at shutdown).

        A run whose end cannot be written (the server is gone) keeps its stored status; its
        heartbeat stops, so it shows as stale and resumes like any other. The driver stays
        open: it is the caller's.
        """
        with self._lock:
            runs, self._open_runs = self._open_runs, []
        for run in reversed(runs):
            if run.closed:
                continue
            try:
                run.interrupt("the checkpoint manager was closed with the run open")
            except Exception as exc:
                log.warning("could not mark run %s interrupted: %s", run.run_id, exc)

    def _open(self, info: RunInfo, participant: str | None, coordinator: bool) -> Run:
        reserved = _process.reserve_name(info.run_id)
        role = _ops.COORDINATOR if coordinator else _ops.PARTICIPANT
        try:
            # The run as the join left it: it may have re-opened a run that another
            # participant settled a moment ago.
            joined, info = self._executor.run(
                _ops.join_run(info.run_id, participant, reserved, role)
            )
        except BaseException:
            _process.release_name(info.run_id, reserved)
            raise
        run = Run(self, info, self._executor, joined, reserved)
        with self._lock:
            self._open_runs.append(run)
        log.info(
            "run %s %s; this process takes part as %s",
            info.run_id,
            "resumed" if info.resumes else "started",
            joined.name,
        )
        return run


def executor_of(manager: CheckpointManager) -> Executor:
    """The executor that performs ``manager``'s operations, for the package's own modules.

    The one reader of the manager's private executor: loaders, the manual API and ``admin``
    go through here, so the managers expose no I/O object to users.
    """
    return manager._executor  # noqa: SLF001
