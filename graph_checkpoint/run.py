"""A checkpoint run as seen from the process that executes it."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from . import _engine, _ops
from .errors import RunStateError
from .model import LoaderProgress, RunInfo

if TYPE_CHECKING:
    from .manager import CheckpointManager

__all__ = ["Run"]

log = logging.getLogger("graph_checkpoint")


class Run:
    """A ``:CheckpointRun`` this process is executing.

    Get one from :meth:`CheckpointManager.run`, :meth:`~CheckpointManager.start_run` or
    :meth:`~CheckpointManager.resume_run`, pass it to checkpointed loaders, and end it with
    :meth:`complete` or :meth:`fail` (a ``with`` block does that for you). While it is open a
    background heartbeat keeps ``updated_at`` fresh, so a run whose process died shows as
    stale.
    """

    def __init__(self, manager: CheckpointManager, info: RunInfo) -> None:
        self.manager = manager
        self.info = info
        self._closed = False
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"graph-ckpt-heartbeat-{info.run_id}", daemon=True
        )
        self._heartbeat.start()

    def __repr__(self) -> str:
        return f"<Run {self.run_id} {self.info.status}>"

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
        result: list[LoaderProgress] = self.manager._io.run(_ops.loader_progress(self.run_id))
        return result

    def refresh(self) -> RunInfo:
        """Re-read the run node."""
        self.info = self.manager.get_run(self.run_id)
        return self.info

    def complete(self) -> RunInfo:
        """Mark the run completed."""
        return self._finish("completed", None)

    def fail(self, error: BaseException | str) -> RunInfo:
        """Mark the run failed with ``error``; it can be resumed later."""
        return self._finish("failed", error)

    def interrupt(self, error: BaseException | str | None = None) -> RunInfo:
        """Mark the run interrupted (stopped on purpose or by a transient fault); resumable."""
        return self._finish("interrupted", error)

    def _finish(self, status: str, error: BaseException | str | None) -> RunInfo:
        self.check_open()
        self._stop_heartbeat()
        self.info = self.manager._io.run(_ops.finish_run(self.run_id, status, error))
        self._closed = True
        self.manager._forget(self)
        log.info("run %s %s", self.run_id, status)
        return self.info

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        if self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=5)

    def _beat(self) -> None:
        interval = self.manager.heartbeat_interval
        while not self._stop.wait(interval):
            try:
                self.manager._io.run(_ops.heartbeat(self.run_id))
            except Exception as exc:  # a missed beat is harmless; the next one may pass
                log.debug("heartbeat of run %s failed: %s", self.run_id, exc)

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
            self._finish(status, exc)
        except Exception as finish_error:
            self._stop_heartbeat()
            if exc is None:
                raise
            # The block's own exception is the one the caller needs to see.
            log.warning("could not mark run %s %s: %s", self.run_id, status, finish_error)
