"""The seed's ``CheckpointManager`` and ``LoaderCheckpoint``, on graph-checkpoint's runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import graph_checkpoint as core
from graph_checkpoint import admin

from ._common import (
    ItemId,
    Target,
    driver_of,
    finished,
    iso,
    log,
    seed_stats,
    status_text,
)

__all__ = ["CheckpointManager", "LoaderCheckpoint"]

_DEFAULT_DESCRIPTION = "Data loading run"

# ----------------------------------------------------------------------------- the manager


class CheckpointManager:
    """The seed's ``CheckpointManager``, keeping its runs in Neo4j.

    Give it the driver, or the connection object that holds it (``conn.driver`` and
    ``conn.database``), instead of a checkpoint directory; an existing
    :class:`graph_checkpoint.CheckpointManager` works too. The run it starts or resumes is
    :attr:`current_run`, which the compat decorators use when handed
    ``checkpoint_manager=``. :attr:`core` is the manager underneath, for the batch API.
    """

    def __init__(
        self, connection: Target, database: str | None = None, *, heartbeat_interval: float = 15.0
    ) -> None:
        if isinstance(connection, core.CheckpointManager):
            self.core = connection
        else:
            found = driver_of(connection)
            if found is None:
                raise TypeError(
                    "CheckpointManager needs the neo4j driver (or a connection object with"
                    f" .driver), got {type(connection).__name__}: checkpoints now live in"
                    " Neo4j, in the same transactions as the data, not in a directory"
                )
            driver, own_database = found
            self.core = core.CheckpointManager(
                driver, database or own_database, heartbeat_interval=heartbeat_interval
            )
        self._run: core.Run | None = self.core.current_run
        self._loader_errors: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<compat.CheckpointManager run={self.current_run_id}>"

    def __enter__(self) -> CheckpointManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def current_run(self) -> core.Run | None:
        """The run started or resumed last, while it is open (hand it to the batch API)."""
        return self._run if self._run is not None and not self._run.closed else None

    @property
    def current_run_id(self) -> str | None:
        """The id of the run started or resumed last (kept after it completes, as before)."""
        return self._run.run_id if self._run is not None else None

    def ensure_run(self, description: str | None = None) -> core.Run:
        """The open run; without one, resume an incomplete run without config or start one."""
        run = self.current_run
        if run is None:
            run = self._run = self.core.run(description=description or _DEFAULT_DESCRIPTION)
            log.info("no run was started or resumed: using run %s", run.run_id)
        return run

    def _leave(self, reason: str) -> None:
        run = self.current_run
        if run is not None:
            run.interrupt(reason)

    def start_new_run(
        self, run_description: str | None = None, config: Mapping[str, Any] | None = None
    ) -> str:
        """Start a new run with an optional config; returns its id (``run_YYYYMMDD_HHMMSS``)."""
        self._leave("a new run was started")
        self._run = self.core.start_run(
            description=run_description or _DEFAULT_DESCRIPTION,
            config=None if config is None else dict(config),
        )
        log.info("started run %s (%s)", self._run.run_id, self.format_config_summary(config))
        return self._run.run_id

    def resume_run(self, run_id: str | None = None) -> str | None:
        """Resume ``run_id``, or the newest incomplete run; None when there is none."""
        if self.current_run is not None and run_id in (None, self.current_run_id):
            return self.current_run_id
        try:
            run = self.core.resume_run(run_id)
        except (core.RunNotFoundError, core.RunStateError) as exc:
            log.info("no run to resume: %s", exc)
            return None
        self._leave(f"run {run.run_id} was resumed instead")
        self._run = run
        log.info("resuming run %s", run.run_id)
        return run.run_id

    def complete_run(self) -> core.RunInfo | None:
        """End the current run: ``completed``, or ``completed_with_failures`` if items failed."""
        run = self.current_run
        if run is None:
            return None
        info = run.complete()
        log.info("run %s %s", info.run_id, status_text(info.status))
        return info

    def close(self) -> None:
        """Interrupt a run still open (it stays resumable); the driver stays open."""
        self.core.close()

    def list_runs(self) -> list[dict[str, Any]]:
        """All runs, newest first, with the seed's keys and each run's item counts."""
        runs = []
        for summary in admin.list_runs(self.core):
            run = summary.run
            runs.append(
                {
                    "run_id": run.run_id,
                    "start_time": iso(run.started_at),
                    "end_time": iso(run.finished_at),
                    "status": status_text(run.status),
                    "stale": run.stale,
                    "description": run.description or "",
                    "config": run.config or {},
                    "processed": summary.processed,
                    "failed": summary.failed,
                    "loaders": {p.loader: status_text(p.status) for p in summary.loaders},
                }
            )
        return runs

    def cleanup_old_runs(self, keep_last_n: int = 5) -> list[str]:
        """Delete all but the newest ``keep_last_n`` runs; returns the ids deleted.

        Unlike the JSON files, runs a live process is working on are never deleted, nor any
        other run :func:`graph_checkpoint.admin.cleanup` keeps (such as one waiting to be
        resumed).
        """
        result = admin.cleanup(self.core, keep=keep_last_n)
        for deleted in result.deleted:
            log.info("cleaned up old run %s (%d items)", deleted.run_id, deleted.items)
        return [deleted.run_id for deleted in result.deleted]

    def _progress(self) -> list[core.LoaderProgress]:
        run_id = self.current_run_id
        return self.core.progress(run_id) if run_id is not None else []

    def get_loader_progress(self, loader_name: str) -> dict[str, Any] | None:
        """A loader's figures in the current run (seed and graph-checkpoint keys), or None."""
        for progress in self._progress():
            if progress.loader == loader_name:
                return seed_stats(progress.as_dict(), 0)
        return None

    def save_loader_progress(self, loader_name: str, progress_info: Mapping[str, Any]) -> None:
        """Does nothing: progress is committed with each batch of items, in the graph."""
        log.debug("save_loader_progress(%s) ignored: progress commits with the data", loader_name)

    def get_run_summary(self) -> dict[str, Any]:
        """The current run's status, config and per-loader progress; {} without a run."""
        run_id = self.current_run_id
        if run_id is None:
            return {}
        info = self.core.get_run(run_id)
        loaders: dict[str, Any] = {}
        for progress in self.core.progress(run_id):
            status = status_text(progress.status)
            loaders[progress.loader] = {
                "status": "in_progress" if status == "running" else status,
                "timestamp": iso(progress.updated_at),
                "progress": seed_stats(progress.as_dict(), 0),
            }
        for name, error in self._loader_errors.items():
            entry = loaders.setdefault(name, {"timestamp": None, "progress": {}})
            entry.update(status="failed", error=error)
        return {
            "run_id": run_id,
            "status": status_text(info.status),
            "start_time": iso(info.started_at),
            "description": info.description or "",
            "config": info.config or {},
            "loaders": loaders,
        }

    def is_loader_completed(self, loader_name: str) -> bool:
        """True if the loader finished in the current run and left no failed items.

        A loader that left failed items is not completed: running it again retries them.
        """
        if self._loader_errors.get(loader_name) is not None:
            return False
        return any(
            p.loader == loader_name and finished(p.status) and p.failed == 0
            for p in self._progress()
        )

    def mark_loader_complete(self, loader_name: str) -> None:
        """Record ``loader_name`` as completed in the current run."""
        if self.current_run is None:
            log.warning("mark_loader_complete(%s): there is no open run", loader_name)
            return
        self.forget_failure(loader_name)
        core.LoaderCheckpoint(self.ensure_run(), loader_name).complete()
        log.info("marked %s as completed", loader_name)

    def mark_loader_failed(self, loader_name: str, error_message: str) -> None:
        """Note that ``loader_name`` failed; get_run_summary() reports it, with the message.

        A checkpointed loader that raised is also recorded as failed in the graph. The message
        is kept in this manager only: the public API has no way to store it on the loader.
        """
        self._loader_errors[loader_name] = error_message
        first_line = (error_message.splitlines() or [""])[0]
        log.error("loader %s failed: %s", loader_name, first_line)

    def forget_failure(self, loader_name: str) -> None:
        """Drop what :meth:`mark_loader_failed` noted for ``loader_name`` (it ran again)."""
        self._loader_errors.pop(loader_name, None)

    def get_run_config(self) -> dict[str, Any]:
        """The config stored with the current run ({} without one)."""
        if self._run is None:
            return {}
        return dict(self._run.info.config or {})

    def validate_config_compatibility(
        self, current_config: Mapping[str, Any], critical_params: Iterable[str] | None = None
    ) -> bool:
        """False if a setting differs from the stored config (both set, values unequal).

        ``critical_params`` limits the check to those keys (the seed checked a fixed list of
        its own settings); None checks every key the two configs share.
        """
        stored = self.get_run_config()
        keys = set(stored) & set(current_config) if critical_params is None else critical_params
        differ = [
            f"{key}: stored={stored.get(key)!r}, current={current_config.get(key)!r}"
            for key in sorted(keys)
            if stored.get(key) is not None
            and current_config.get(key) is not None
            and stored.get(key) != current_config.get(key)
        ]
        if differ:
            log.warning("configuration incompatible with the stored run: %s", "; ".join(differ))
        return not differ

    @staticmethod
    def format_config_summary(config: Mapping[str, Any] | None) -> str:
        """A one-line ``key=value, ...`` view of a config (``default settings`` when empty)."""
        parts = [f"{key}={value}" for key, value in sorted((config or {}).items())]
        return ", ".join(parts) if parts else "default settings"

    _format_config_summary = format_config_summary  # the name the seed's main.py calls


# ---------------------------------------------------------------------- per-item checkpoint


def _run_of(target: CheckpointManager | core.CheckpointManager | core.Run, what: str) -> core.Run:
    if isinstance(target, core.Run):
        return target
    if isinstance(target, core.CheckpointManager):
        target = CheckpointManager(target)
    if isinstance(target, CheckpointManager):
        return target.ensure_run()
    raise TypeError(f"{what} needs a CheckpointManager or a run, got {type(target).__name__}")


class LoaderCheckpoint:
    """The seed's ``LoaderCheckpoint``: one loader's items in the manager's run.

    Pass ``tx=`` (the transaction that writes the item) to :meth:`mark_processed` so the mark
    commits with the data; without it the mark commits on its own, as before, which is not
    atomic with the item's writes.
    """

    def __init__(
        self,
        manager: CheckpointManager | core.CheckpointManager | core.Run,
        loader_name: str,
    ) -> None:
        self.manager = manager
        self.loader_name = loader_name
        self.total_items = 0
        self.checkpoint = core.LoaderCheckpoint(_run_of(manager, "LoaderCheckpoint"), loader_name)
        self._warned = False

    def __repr__(self) -> str:
        return f"<compat.LoaderCheckpoint {self.loader_name} run={self.checkpoint.run_id}>"

    def set_total_items(self, total: int) -> None:
        """Set the number of items expected, for :meth:`get_progress_stats`."""
        self.total_items = total

    def is_processed(self, item_id: ItemId, tx: Any = None) -> bool:
        """True if the item was processed in this run (read inside ``tx`` when given)."""
        return self.checkpoint.is_processed(item_id, tx=tx)

    def mark_processed(self, item_id: ItemId, tx: Any = None) -> bool:
        """Record the item as processed, in ``tx``; True if it was not recorded before."""
        if tx is None and not self._warned:
            self._warned = True
            log.warning(
                "%s: mark_processed() without tx commits apart from the item's data; pass"
                " the transaction that writes the item: mark_processed(item_id, tx=tx)",
                self.loader_name,
            )
        return self.checkpoint.mark_processed(item_id, tx=tx)

    def mark_failed(self, item_id: ItemId, error_message: BaseException | str) -> int:
        """Record the item as failed with its error; returns its attempt count."""
        return self.checkpoint.mark_failed(item_id, error_message)

    def save_progress(self) -> None:
        """Does nothing: every mark is already in the graph."""
        log.debug("%s: save_progress() does nothing: marks are in the graph", self.loader_name)

    def get_progress_stats(self) -> dict[str, Any]:
        """graph-checkpoint's figures plus the seed's ``processed_count``, ``failure_count``,
        ``total_items`` and ``completion_percentage``."""
        return seed_stats(self.checkpoint.get_progress_stats(), self.total_items)

    def complete(self) -> None:
        """Mark the loader completed in the run."""
        self.checkpoint.complete()
