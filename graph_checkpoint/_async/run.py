"""A checkpoint run as seen from the process that executes it."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from .. import _engine, _ops, _process
from .._compat import AsyncHeartbeat
from ..errors import RunStateError
from ..model import LoaderProgress, LoadResult, ParticipantInfo, RunInfo, RunStatus

if TYPE_CHECKING:
    from .io import AsyncExecutor
    from .manager import AsyncCheckpointManager

__all__ = ["AsyncRun"]

log = logging.getLogger("graph_checkpoint")


class AsyncRun:
    """A ``:CheckpointRun`` this process is executing.

    Get one from the manager's ``run()``, ``start_run()`` or ``resume_run()``, pass it to
    checkpointed loaders, and end it with :meth:`complete`, :meth:`fail` or :meth:`interrupt`
    (a block ``async with run:`` does that for you: completed when the block ends,
    interrupted on Ctrl-C or a transient failure, failed on any other exception). While it is open a
    background heartbeat keeps ``updated_at`` fresh, so a run whose process died shows as
    stale.

    This process takes part in the run as :attr:`participant`. Several processes may share
    one run: each one's end only ends its own part, and the run itself is completed when the
    last live participant is done and every participant is (or when a coordinator, opened
    with ``coordinator=True``, completes it: it knows when the input is exhausted).
    """

    def __init__(
        self,
        manager: AsyncCheckpointManager,
        info: RunInfo,
        executor: AsyncExecutor,
        participant: ParticipantInfo,
        reserved: str,
    ) -> None:
        self.manager = manager
        self.info = info
        self.participant = participant
        self._executor = executor
        self._closed = False
        self._results: list[LoadResult] = []
        self._marked = [0, 0]
        # Loads and manual marks of the run may run in threads of their own.
        self._count_lock = threading.Lock()
        self._reserved = reserved
        self._heartbeat = AsyncHeartbeat(
            manager.heartbeat_interval, self._beat, name=f"heartbeat of run {info.run_id}"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.run_id} {self.info.status}>"

    @property
    def run_id(self) -> str:
        """The run's id, e.g. ``run_20261128_143022``."""
        return self.info.run_id

    @property
    def coordinator(self) -> bool:
        """True when this process coordinates the run: its :meth:`complete` completes it."""
        return self.participant.role == _ops.COORDINATOR

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

    async def progress(self) -> list[LoaderProgress]:
        """Per-loader progress, read from the database."""
        return await self._executor.run(_ops.loader_progress(self.run_id))

    async def participants(self) -> list[ParticipantInfo]:
        """Every process that joined the run, read from the database, oldest first."""
        return await self._executor.run(_ops.participants(self.run_id))

    async def refresh(self) -> RunInfo:
        """Re-read the run node."""
        self.info = await self._executor.run(_ops.get_run(self.run_id))
        return self.info

    async def complete(self) -> RunInfo:
        """This process went through its input: mark its part done, and the run completed.

        The run is completed when no other participant still loads and every one is done; a
        participant that died leaves the run interrupted (resumable). A coordinator's
        ``complete()`` completes the run outright.
        """
        return await self._finish(RunStatus.COMPLETED, None)

    async def fail(self, error: BaseException | str) -> RunInfo:
        """Mark this process's part failed with ``error``; the run can be resumed later.

        The run fails too unless another participant still loads (then it decides).
        """
        return await self._finish(RunStatus.FAILED, error)

    async def interrupt(self, error: BaseException | str | None = None) -> RunInfo:
        """Mark this process's part interrupted (stopped on purpose or by a transient fault).

        The run is interrupted too, resumable, unless another participant still loads.
        """
        return await self._finish(RunStatus.INTERRUPTED, error)

    async def _finish(
        self, status: RunStatus, error: BaseException | str | None, retry: bool = True
    ) -> RunInfo:
        self.check_open()
        # Stopped first, so it is stopped even when the write below fails (server gone).
        await self._heartbeat.stop()
        end = _ops.end_participation(
            self.run_id, self.participant.name, status, error, self._counts(), self.coordinator
        )
        try:
            self.info, live = await self._executor.run(end, retry=retry)
        except BaseException:
            # The next run object this process opens on the run takes this participant's
            # place instead of waiting for its heartbeat to go stale.
            _process.abandon(self.run_id, self.participant.name)
            raise
        finally:
            _process.release_name(self.run_id, self._reserved)
        self._closed = True
        if live and self.info.status is RunStatus.RUNNING:
            log.info(
                "run %s: participant %s %s; %d other%s still loading (%s)",
                self.run_id,
                self.participant.name,
                "done" if status is RunStatus.COMPLETED else status,
                len(live),
                "" if len(live) == 1 else "s",
                ", ".join(live[:5]) + (", ..." if len(live) > 5 else ""),
            )
        else:
            log.info("run %s %s", self.run_id, self.info.status)
        return self.info

    def _track(self, result: LoadResult, running: bool) -> None:
        """Follow a load of this run while it runs, then keep only its counts."""
        with self._count_lock:
            if running:
                self._results.append(result)
                return
            # Identity, not equality: two loads with the same figures are two loads.
            self._results = [r for r in self._results if r is not result]
            self._marked[0] += result.processed
            self._marked[1] += result.failed

    def _mark(self, processed: int = 0, failed: int = 0) -> None:
        """Count items loaded (or recorded through the manual API) and failed."""
        with self._count_lock:
            self._marked[0] += processed
            self._marked[1] += failed

    def _counts(self) -> tuple[int, int]:
        with self._count_lock:
            running = list(self._results)
            return (
                self._marked[0] + sum(r.processed for r in running),
                self._marked[1] + sum(r.failed for r in running),
            )

    async def _beat(self) -> None:
        op = _ops.heartbeat(self.run_id, self.participant.name, self._counts())
        await self._executor.run(op)

    async def __aenter__(self) -> AsyncRun:
        return self

    async def __aexit__(
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
            await self._finish(status, exc, retry=status is not RunStatus.INTERRUPTED)
        except Exception as finish_error:
            if exc is None:
                raise
            # The block's own exception is the one the caller needs to see.
            log.warning("could not mark run %s %s: %s", self.run_id, status, finish_error)
