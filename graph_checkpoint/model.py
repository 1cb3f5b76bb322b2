"""Read-only views of the checkpoint nodes: runs, per-loader progress, load results."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from ._values import native

__all__ = [
    "STALE_AFTER",
    "LoadResult",
    "LoaderProgress",
    "ParticipantInfo",
    "RunInfo",
    "RunStatus",
]


class RunStatus(str, Enum):
    """The status of a run or of one of its loaders, as stored in the graph.

    A ``str`` enum: members compare equal to the stored text (``RunStatus.FAILED ==
    "failed"``) and format as it. ``COMPLETED_WITH_FAILURES`` is a run (or loader) that went
    through all of its input but left items recorded as failed: resuming it by id retries
    them. ``STALE`` is never stored: it is how a running run whose heartbeat stopped is shown
    (see :attr:`RunInfo.display_status`).
    """

    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    DELETING = "deleting"
    STALE = "stale"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        """True for a run (or loader) that went through all of its input."""
        return self in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES)


STALE_AFTER = timedelta(seconds=60)
"""A running run whose heartbeat is older than this is reported as stale (its process died)."""


@dataclass(frozen=True)
class RunInfo:
    """One ``:CheckpointRun`` node as it was read.

    ``status`` is a :class:`RunStatus`; ``stale`` is True for a running run whose heartbeat
    stopped (its process died without closing it). ``open`` is True for the run that
    ``manager.run(config=...)`` with its config resumes (an incomplete run that no newer run
    with the same config replaced). ``active`` is the time processes spent on the run (up to
    the last heartbeat of one that died), ``duration`` the wall time from start to finish.
    ``running_participants`` is how many of its participants say they are running (as read
    by ``get_run`` and the listings; 0 where not read).
    """

    run_id: str
    status: RunStatus
    description: str | None = None
    config: dict[str, Any] | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    host: str | None = None
    pid: int | None = None
    resumes: int = 0
    stale: bool = False
    open: bool = False
    active_seconds: float | None = None
    resumed_at: datetime | None = None
    running_participants: int = 0

    @classmethod
    def from_record(
        cls, node: Mapping[str, Any], now: Any = None, stale_after: timedelta = STALE_AFTER
    ) -> RunInfo:
        """Build from a ``r {.*}`` map; ``now`` (server time) decides staleness."""
        raw_config = node.get("config")
        updated = native(node.get("updated_at"))
        status = RunStatus(node["status"])
        now_native = native(now)
        stale = bool(
            status is RunStatus.RUNNING
            and updated is not None
            and now_native is not None
            and now_native - updated > stale_after
        )
        return cls(
            run_id=node["run_id"],
            status=status,
            description=node.get("description"),
            config=json.loads(raw_config) if raw_config else None,
            started_at=native(node.get("started_at")),
            updated_at=updated,
            finished_at=native(node.get("finished_at")),
            error=node.get("error"),
            host=node.get("host"),
            pid=node.get("pid"),
            resumes=node.get("resumes") or 0,
            stale=stale,
            open=node.get("open_key") is not None,
            active_seconds=node.get("active_seconds"),
            resumed_at=native(node.get("resumed_at")),
            running_participants=int(node.get("running_participants") or 0),
        )

    @property
    def duration(self) -> timedelta | None:
        """Time from start to finish, or to the last heartbeat while not finished."""
        end = self.finished_at or self.updated_at
        if self.started_at is None or end is None:
            return None
        return end - self.started_at

    @property
    def active(self) -> timedelta | None:
        """Time spent by the processes that worked on the run, without the time between.

        For a run still running (or whose process died), up to its last heartbeat. Runs
        recorded before this was tracked answer with their wall time.
        """
        if self.active_seconds is None:
            return self.duration
        active = timedelta(seconds=self.active_seconds)
        if self.resumed_at is not None and self.updated_at is not None:
            active += max(timedelta(0), self.updated_at - self.resumed_at)
        return active

    @property
    def display_status(self) -> RunStatus:
        """The status as shown to people: ``stale`` for a running run whose process died."""
        return RunStatus.STALE if self.stale else self.status


@dataclass(frozen=True)
class ParticipantInfo:
    """One process (or Spark task) that joined a run: a ``:CheckpointParticipant`` node.

    ``state`` is ``running``, ``stale`` (running, but its heartbeat stopped: its process
    died), ``done`` (it went through its input), ``failed`` or ``interrupted``. ``role`` is
    ``participant`` for a process that loads, ``coordinator`` for one that only says when
    the input is done (a Spark driver). ``items`` and ``failed`` are what it loaded and
    recorded as failed, as of its last heartbeat; ``joins`` counts the processes that took
    this place (a resumed process takes the place of one that died).
    """

    run_id: str
    name: str
    state: str
    role: str = "participant"
    host: str | None = None
    pid: int | None = None
    items: int = 0
    failed: int = 0
    joins: int = 0
    joined_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None

    @classmethod
    def from_record(
        cls, node: Mapping[str, Any], now: Any = None, stale_after: timedelta = STALE_AFTER
    ) -> ParticipantInfo:
        """Build from a ``p {.*}`` map; ``now`` (server time) decides staleness."""
        updated = native(node.get("updated_at"))
        now_native = native(now)
        state = node.get("status") or "running"
        if (
            state == "running"
            and updated is not None
            and now_native is not None
            and now_native - updated > stale_after
        ):
            state = "stale"
        return cls(
            run_id=node["run_id"],
            name=node["name"],
            state=state,
            role=node.get("role") or "participant",
            host=node.get("host"),
            pid=node.get("pid"),
            items=int(node.get("items") or 0),
            failed=int(node.get("failed") or 0),
            joins=int(node.get("joins") or 0),
            joined_at=native(node.get("joined_at")),
            updated_at=updated,
            finished_at=native(node.get("finished_at")),
            error=node.get("error"),
        )

    @property
    def live(self) -> bool:
        """True while its process works on the run (running with a fresh heartbeat)."""
        return self.state == "running"


@dataclass(frozen=True)
class LoaderProgress:
    """Progress of one loader within a run, summed over its counter shards."""

    loader: str
    status: RunStatus
    processed: int
    failed: int
    skipped: int
    total: int | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LoaderProgress:
        """Build from a row of ``cypher/queries/loader_progress.cypher``."""
        return cls(
            loader=record["loader"],
            status=RunStatus(record["status"]),
            processed=int(record["processed"]),
            failed=int(record["failed"]),
            skipped=int(record["skipped"]),
            total=record["total"],
            started_at=native(record["started_at"]),
            updated_at=native(record["updated_at"]),
            finished_at=native(record["finished_at"]),
        )

    @classmethod
    def not_started(cls, loader: str) -> LoaderProgress:
        """Figures for a loader that has recorded nothing yet."""
        return cls(loader=loader, status=RunStatus.RUNNING, processed=0, failed=0, skipped=0)

    @property
    def percent(self) -> float | None:
        """Share of ``total`` processed or failed, 0 to 100, when the total is known."""
        if not self.total:
            return None
        return min(100.0, 100.0 * (self.processed + self.failed) / self.total)

    def as_dict(self) -> dict[str, Any]:
        """The stats as a plain dict (the shape ``get_progress_stats()`` returns)."""
        return {
            "loader": self.loader,
            "status": self.status,
            "processed": self.processed,
            "failed": self.failed,
            "skipped": self.skipped,
            "total": self.total,
            "percent": self.percent,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
        }


@dataclass
class LoadResult:
    """What one call of a checkpointed loader did.

    ``processed`` items were loaded now; ``skipped`` had been processed before (or were
    duplicates in the input); ``failed`` are recorded with their error and can be retried.
    """

    loader: str
    run_id: str
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    elapsed: float = 0.0
    failed_ids: list[Any] = field(default_factory=list, repr=False)

    @property
    def seen(self) -> int:
        """Items read from the input."""
        return self.processed + self.skipped + self.failed

    @property
    def rate(self) -> float:
        """Items read per second."""
        return self.seen / self.elapsed if self.elapsed > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"{self.loader}: {self.processed} processed, {self.skipped} skipped,"
            f" {self.failed} failed in {self.elapsed:.2f}s (run {self.run_id})"
        )
