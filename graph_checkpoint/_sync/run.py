# Generated from graph_checkpoint/_async/run.py by scripts/unasync.py: do not edit.
# Change the async source, then run `python scripts/unasync.py`.
"""A checkpoint run as seen from the process that executes it."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING

from .. import _engine, _ops
from .._compat import Heartbeat
from ..errors import RunStateError
from ..model import LoaderProgress, RunInfo, RunStatus

if TYPE_CHECKING:
    from .io import Executor
    from .manager import CheckpointManager

__all__ = ["Run"]

log = logging.getLogger("graph_checkpoint")


class Run:
    """A ``:CheckpointRun`` this process is executing.

    Get one from the manager's ``run()``, ``start_run()`` or ``resume_run()``, pass it to
    checkpointed loaders, and end it with :meth:`complete`, :meth:`fail` or :meth:`interrupt`
    (a block ``with run:`` does that for you: completed when the block ends,
    interrupted on Ctrl-C or a transient failure, failed on any other exception). While it is open a
    background heartbeat keeps ``updated_at`` fresh, so a run whose process died shows as
    stale.
    """

    def __init__(self, manager: CheckpointManager, info: RunInfo, executor: Executor) -> None:
        self.manager = manager
        self.info = info
        self._executor = executor
        self._closed = False
        self._heartbeat = Heartbeat(
            manager.heartbeat_interval, self._beat, name=f"heartbeat of run {info.run_id}"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.run_id} {self.info.status}>"

    @property
    def run_id(self) -> str:
        """The run's id, e.g. ``run_20261128_143022``."""
        return self.info.run_id

    @property
    def closed(self) -> bool:
        """True once :meth:`complete`, :meth:`fail` or :meth:`interrupt` was called."""
        return self._closed

    def check_open(self) -> None:
        """Raise :class:`RunStateError` if the run was already ended in this process."""
        if self._closed:
            raise RunStateError(
                f"run {self.run_id} is already {self.info.status}: resume it with"
                " manager.resume_run(run_id) to load more"
            )

    def progress(self) -> list[LoaderProgress]:
        """Per-loader progress, read from the database."""
        return self._executor.run(_ops.loader_progress(self.run_id))

    def refresh(self) -> RunInfo:
        """Re-read the run node."""
        self.info = self._executor.run(_ops.get_run(self.run_id))
        return self.info

    def complete(self) -> RunInfo:
        """Mark the run completed."""
        return self._finish(RunStatus.COMPLETED, None)

    def fail(self, error: BaseException | str) -> RunInfo:
        """Mark the run failed with ``error``; it can be resumed later."""
        return self._finish(RunStatus.FAILED, error)

    def interrupt(self, error: BaseException | str | None = None) -> RunInfo:
        """Mark the run interrupted (stopped on purpose or by a transient fault); resumable."""
        return self._finish(RunStatus.INTERRUPTED, error)

    def _finish(
        self, status: RunStatus, error: BaseException | str | None, retry: bool = True
    ) -> RunInfo:
        self.check_open()
        # Stopped first, so it is stopped even when the write below fails (server gone).
        self._heartbeat.stop()
        self.info = self._executor.run(_ops.finish_run(self.run_id, status, error), retry=retry)
        self._closed = True
        log.info("run %s %s", self.run_id, status)
        return self.info

    def _beat(self) -> None:
        self._executor.run(_ops.heartbeat(self.run_id))

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        status = _engine.status_after(exc)
        try:
            # A load interrupted by a lost server already waited out one retry window.
            self._finish(status, exc, retry=status is not RunStatus.INTERRUPTED)
        except Exception as finish_error:
            if exc is None:
                raise
            # The block's own exception is the one the caller needs to see.
            log.warning("could not mark run %s %s: %s", self.run_id, status, finish_error)
