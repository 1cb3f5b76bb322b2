"""Administration of checkpoint runs: list, inspect, stream failures, delete, clean up,
compact.

These are the library functions behind the ``graph-ckpt`` command line; scripts can call
them directly with a :class:`~graph_checkpoint.CheckpointManager`::

    from graph_checkpoint import CheckpointManager, RunStatus, admin

    manager = CheckpointManager(driver)
    for summary in admin.list_runs(manager, status=RunStatus.FAILED, limit=10):
        print(summary.run.run_id, summary.processed)
    admin.cleanup(manager, keep=3, per_loader=True, older_than=timedelta(days=30))

Staleness is judged by the server's clock (``datetime()``), never the client's; a running
run recorded on this host is also checked against its process (:func:`process_alive`), so
a load killed a moment ago is not taken for a live one. Times: a run's *active* time is what
processes spent on it, its *wall* time runs from start to finish and includes the pauses
between a kill and a resume; throughput is over the active time. Deleting goes in bounded
transactions (``batch_size`` items each), so a run with millions of items neither holds one
giant transaction nor fills the server's memory. :func:`cleanup` leaves alone the runs that
``manager.run()`` would resume (``RunInfo.open``) unless ``include_resumable``.
:func:`compact_run` and :func:`compact_all` rewrite runs' processed records into ranges and
chunks (``_compaction``), also in bounded transactions, and safely while loads run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import _cypher, _process
from ._compaction import COMPACT_BATCH, CompactStats, compact_loader
from ._connection import translate_error
from ._ops import Op, Read, Write, get_run, participants
from ._sync.manager import CheckpointManager, executor_of
from ._values import native
from .errors import GraphCheckpointError, RunNotFoundError, RunStateError
from .model import STALE_AFTER, LoaderProgress, ParticipantInfo, RunInfo, RunStatus

__all__ = [
    "COMPACT_BATCH",
    "DELETE_BATCH_SIZE",
    "CleanupCandidate",
    "CleanupResult",
    "CompactResult",
    "CompactStats",
    "DeleteProgress",
    "DeleteResult",
    "FailedItemInfo",
    "RunDetails",
    "RunSummary",
    "cleanup",
    "compact_all",
    "compact_run",
    "delete_run",
    "display_status",
    "failures_page",
    "is_live",
    "iter_failures",
    "latest_run_id",
    "list_runs",
    "process_alive",
    "run_details",
]

log = logging.getLogger("graph_checkpoint.admin")

DELETE_BATCH_SIZE = 10_000
"""Items deleted per transaction: few round trips, yet each transaction stays small."""

_NO_LIMIT = 2**62


@dataclass(frozen=True)
class RunSummary:
    """A run with its per-loader progress, as :func:`list_runs` returns it."""

    run: RunInfo
    loaders: tuple[LoaderProgress, ...] = ()

    @property
    def processed(self) -> int:
        """Items processed over all loaders."""
        return sum(p.processed for p in self.loaders)

    @property
    def failed(self) -> int:
        """Items that failed (and were not processed since) over all loaders."""
        return sum(p.failed for p in self.loaders)

    @property
    def skipped(self) -> int:
        """Items skipped because an earlier pass had processed them, over all loaders."""
        return sum(p.skipped for p in self.loaders)

    @property
    def last_activity(self) -> datetime | None:
        """When the run last did something: its finish or, while it is not finished, the
        later of its last heartbeat and its loaders' last batch (a load killed between two
        heartbeats still counts up to its last batch)."""
        run = self.run
        if run.finished_at is not None:
            return run.finished_at
        times = [run.updated_at, *(progress.updated_at for progress in self.loaders)]
        return max((t for t in times if t is not None), default=None)

    @property
    def wall(self) -> timedelta | None:
        """Wall time from the start to :attr:`last_activity`, pauses between passes included."""
        last = self.last_activity
        if self.run.started_at is None or last is None:
            return None
        return max(timedelta(0), last - self.run.started_at)

    @property
    def active(self) -> timedelta | None:
        """Time processes spent on the run (``RunInfo.active``), up to :attr:`last_activity`."""
        run = self.run
        active = run.active
        last = self.last_activity
        if active is None or run.finished_at is not None or last is None:
            return active
        if run.updated_at is None:
            return active
        return active + max(timedelta(0), last - run.updated_at)

    @property
    def throughput(self) -> float | None:
        """Items processed or failed per second of the run's active time, when it is known."""
        active = self.active
        if active is None or active.total_seconds() <= 0:
            return None
        return (self.processed + self.failed) / active.total_seconds()


@dataclass(frozen=True)
class FailedItemInfo:
    """One ``:FailedItem``: an item whose load failed, with the error of its last attempt."""

    run_id: str
    loader: str
    item_id: str | int
    attempts: int
    error_type: str | None
    error: str | None
    updated_at: datetime | None

    @classmethod
    def from_record(cls, run_id: str, record: dict[str, Any]) -> FailedItemInfo:
        """Build from a row of ``recent_failures.cypher`` or ``all_failures.cypher``."""
        return cls(
            run_id=run_id,
            loader=record["loader"],
            item_id=record["item_id"],
            attempts=int(record["attempts"] or 0),
            error_type=record["error_type"],
            error=record["error"],
            updated_at=native(record["updated_at"]),
        )


@dataclass(frozen=True)
class RunDetails(RunSummary):
    """Everything :func:`run_details` knows about one run.

    ``failures`` are the most recently failed items, newest first (at most the number
    asked for); ``RunSummary.failed`` counts all of them. ``participants`` are the processes
    that joined the run, oldest first.
    """

    failures: tuple[FailedItemInfo, ...] = ()
    participants: tuple[ParticipantInfo, ...] = ()


@dataclass(frozen=True)
class DeleteProgress:
    """Passed to ``on_progress`` after each delete transaction.

    ``expected`` is the run's item count from its counters (None when unknown); ``deleted``
    the items deleted so far; ``done`` is True once the run node itself is gone.
    """

    run_id: str
    deleted: int
    expected: int | None
    elapsed: float
    done: bool = False


@dataclass(frozen=True)
class DeleteResult:
    """What :func:`delete_run` removed."""

    run_id: str
    items: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Items deleted per second."""
        return self.items / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class CleanupCandidate:
    """A run :func:`cleanup` considered, with its item count from the counters."""

    run: RunInfo
    loaders: tuple[str, ...]
    items: int
    now: datetime | None = None
    """The server's clock when the candidate was read."""


@dataclass
class CleanupResult:
    """What :func:`cleanup` deleted (or, with ``dry_run``, would delete).

    ``selected`` are the runs that go, newest first; ``kept`` the runs that stay;
    ``protected`` the live running runs left alone that would otherwise go; ``resumable``
    the runs left alone because ``manager.run()`` would resume them (``RunInfo.open``).
    Both are in ``kept`` too.
    """

    dry_run: bool
    selected: list[CleanupCandidate] = field(default_factory=list)
    kept: list[CleanupCandidate] = field(default_factory=list)
    protected: list[CleanupCandidate] = field(default_factory=list)
    resumable: list[CleanupCandidate] = field(default_factory=list)
    deleted: list[DeleteResult] = field(default_factory=list)

    @property
    def items(self) -> int:
        """Items deleted, or with ``dry_run`` the items that would be deleted."""
        if self.dry_run:
            return sum(c.items for c in self.selected)
        return sum(d.items for d in self.deleted)


@dataclass(frozen=True)
class CompactResult:
    """What :func:`compact_run` did to one run: one :class:`CompactStats` per loader."""

    run_id: str
    loaders: tuple[CompactStats, ...]
    elapsed: float

    @property
    def records_before(self) -> int:
        """Records of the run's compacted loaders before, over all of them."""
        return sum(stats.records_before for stats in self.loaders)

    @property
    def records_after(self) -> int:
        """Records of the run's compacted loaders after, over all of them."""
        return sum(stats.records_after for stats in self.loaders)

    @property
    def changed(self) -> bool:
        """Whether any record was rewritten."""
        return any(stats.changed for stats in self.loaders)


ProgressCallback = Callable[[DeleteProgress], Any]


def process_alive(run: RunInfo) -> bool | None:
    """Whether the process recorded on ``run`` still exists; None when that cannot be told.

    Only a process on this host can be checked (the run's ``host`` is
    ``socket.gethostname()``): True when it exists (also when it belongs to another user),
    False when it is gone. None for a run of another host, without a pid, from a host with a
    generic name (``localhost``: other machines may have it too), or on Windows, where there
    is no harmless way to probe a pid. A pid the system gave to a new process since counts as
    alive: the heartbeat still tells in the end. None as well while several participants
    run: the run's pid is only the last one to join, and the others keep its heartbeat.
    """
    if run.running_participants > 1:
        return None
    return _process.process_alive(run.host, run.pid)


def is_live(run: RunInfo) -> bool:
    """True for a run whose process is still working on it: running, with a fresh heartbeat,
    and (when the run is from this host) its process still there."""
    return run.status is RunStatus.RUNNING and not run.stale and process_alive(run) is not False


def display_status(run: RunInfo) -> RunStatus:
    """``run.display_status``, and ``stale`` also for a running run whose process is gone."""
    if run.status is RunStatus.RUNNING and not is_live(run):
        return RunStatus.STALE
    return run.display_status


# ----------------------------------------------------------------------------- operations
# Generators in the style of ``_ops``: they yield Read/Write steps that the manager's IO
# layer performs (in managed transactions, with retries and error translation).


def _list_runs_op(
    status: RunStatus | None, loader: str | None, limit: int | None, offset: int = 0
) -> Op[list[RunSummary]]:
    records = yield Read(
        "list_runs",
        {
            "status": None if status is None else status.value,
            "loader": loader,
            "skip": offset,
            "limit": _NO_LIMIT if limit is None else limit,
            "stale_seconds": int(STALE_AFTER.total_seconds()),
        },
    )
    return [
        RunSummary(
            run=RunInfo.from_record(r["run"], now=r["now"]),
            loaders=tuple(LoaderProgress.from_record(p) for p in r["loaders"]),
        )
        for r in records
    ]


def _latest_run_op() -> Op[str]:
    records = yield Read("latest_run", {})
    if not records:
        raise RunNotFoundError("there are no runs in this database yet")
    run_id: str = records[0]["run_id"]
    return run_id


def _details_op(run_id: str, failures: int) -> Op[RunDetails]:
    info = yield from get_run(run_id)
    progress = yield Read("loader_progress", {"run_id": run_id})
    recent: list[dict[str, Any]] = []
    if failures > 0:
        recent = yield Read("recent_failures", {"run_id": run_id, "limit": failures})
    joined = yield from participants(run_id)
    return RunDetails(
        run=info,
        loaders=tuple(LoaderProgress.from_record(p) for p in progress),
        failures=tuple(FailedItemInfo.from_record(run_id, r) for r in recent),
        participants=tuple(joined),
    )


def _candidates_op() -> Op[list[CleanupCandidate]]:
    records = yield Read("cleanup_candidates", {})
    return [
        CleanupCandidate(
            run=RunInfo.from_record(r["run"], now=r["now"]),
            loaders=tuple(sorted(set(r["loaders"]))),
            items=int(r["items"]),
            now=native(r["now"]),
        )
        for r in records
    ]


def _delete_op(
    run_id: str, batch_size: int, force: bool, on_progress: ProgressCallback | None
) -> Op[DeleteResult]:
    info = yield from get_run(run_id)
    if is_live(info) and not force:
        raise RunStateError(
            f"run {run_id} is running (last heartbeat at {info.updated_at:%Y-%m-%d %H:%M:%S}"
            " UTC): stop its load first, or"
            " force the delete (--force / force=True)"
        )
    stale_seconds = int(STALE_AFTER.total_seconds())
    if not force and info.status is RunStatus.RUNNING and not info.stale:
        # Its process is gone (is_live said so) but its heartbeat is still fresh: count it
        # as stale from the heartbeat read here, so the write still refuses the run if a
        # load resumed it meanwhile (a resume moves updated_at on).
        stale_seconds = yield from _seconds_since_heartbeat(info)
    progress = yield Read("loader_progress", {"run_id": run_id})
    expected = sum(int(p["processed"]) + int(p["failed"]) for p in progress) or None
    started = time.monotonic()
    marked = yield Write(
        "mark_run_deleting",
        {"run_id": run_id, "force": force, "stale_seconds": stale_seconds},
    )
    if not marked:
        raise RunStateError(f"run {run_id} was resumed meanwhile: stop its load first")
    deleted = 0
    while True:
        records = yield Write("delete_run_items", {"run_id": run_id, "batch": batch_size})
        count = int(records[0]["deleted"]) if records else 0
        deleted += count
        if on_progress is not None:
            on_progress(DeleteProgress(run_id, deleted, expected, time.monotonic() - started))
        if count == 0:
            break
    yield Write("delete_run_node", {"run_id": run_id})
    elapsed = time.monotonic() - started
    if on_progress is not None:
        on_progress(DeleteProgress(run_id, deleted, expected, elapsed, done=True))
    log.info("deleted run %s with %d items in %.2fs", run_id, deleted, elapsed)
    return DeleteResult(run_id=run_id, items=deleted, elapsed=elapsed)


def _compact_op(run_id: str, loader: str | None, batch_size: int) -> Op[CompactResult]:
    info = yield from get_run(run_id)
    if info.status is RunStatus.DELETING:
        raise RunStateError(
            f"run {run_id} is being deleted: finish deleting it ('graph-ckpt delete')"
            " rather than compacting it"
        )
    started = time.monotonic()
    progress = yield Read("loader_progress", {"run_id": run_id})
    names = [str(p["loader"]) for p in progress]
    if loader is not None:
        if loader not in names:
            raise GraphCheckpointError(
                f"run {run_id} has no loader named {loader!r}; its loaders:"
                f" {', '.join(names) or 'none'}"
            )
        names = [loader]
    done: list[CompactStats] = []
    for name in names:
        done.append((yield from compact_loader(run_id, name, batch=batch_size)))
    return CompactResult(run_id=run_id, loaders=tuple(done), elapsed=time.monotonic() - started)


def _seconds_since_heartbeat(info: RunInfo) -> Op[int]:
    """Whole seconds from ``info``'s last heartbeat to now, by the server's clock."""
    records = yield Read("get_run", {"run_id": info.run_id})
    if not records:
        raise RunNotFoundError(f"run {info.run_id} was deleted meanwhile")
    now = native(records[0]["now"])
    if info.updated_at is None or now is None:
        return 0
    return max(0, int((now - info.updated_at).total_seconds()))


# ------------------------------------------------------------------------------ public API


def list_runs(
    manager: CheckpointManager,
    *,
    status: RunStatus | str | None = None,
    loader: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RunSummary]:
    """Runs newest first, each with its per-loader progress.

    ``status`` keeps runs with that stored status (running, completed,
    completed_with_failures, failed, interrupted, deleting) or, for ``"stale"``, running runs
    whose heartbeat stopped or whose process is gone (:func:`display_status`); ``"running"``
    includes the stale ones. ``loader`` keeps runs that have a loader of that name;
    ``offset`` passes over that many runs first and ``limit`` caps the number of runs.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be 0 or more, got {offset}")
    wanted = None if status is None else RunStatus(status)
    executor = executor_of(manager)
    if wanted is not RunStatus.STALE:
        return executor.run(_list_runs_op(wanted, loader, limit, offset))
    # The query knows stale heartbeats only; dead processes are found here, among the
    # running runs (few, whatever the size of the database).
    running = executor.run(_list_runs_op(RunStatus.RUNNING, loader, None))
    stale = [s for s in running if display_status(s.run) is RunStatus.STALE][offset:]
    return stale if limit is None else stale[:limit]


def failures_page(
    manager: CheckpointManager,
    run_id: str,
    *,
    offset: int = 0,
    limit: int = 50,
    search: str | None = None,
) -> tuple[list[FailedItemInfo], int]:
    """One page of ``run_id``'s failed items, newest first, and how many match in all.

    ``search`` keeps the items whose id, loader, error type or message contains it (case
    insensitive). Reads the run's failed records only, never its processed ones.
    """
    if offset < 0 or limit < 0:
        raise ValueError(f"offset and limit must be 0 or more, got {offset} and {limit}")
    return executor_of(manager).run(_failures_page_op(run_id, offset, limit, search or None))


def _failures_page_op(
    run_id: str, offset: int, limit: int, search: str | None
) -> Op[tuple[list[FailedItemInfo], int]]:
    yield from get_run(run_id)  # RunNotFoundError for an unknown id
    records = yield Read(
        "failures_page", {"run_id": run_id, "search": search, "skip": offset, "limit": limit}
    )
    row = records[0]
    return [FailedItemInfo.from_record(run_id, item) for item in row["items"]], int(row["total"])


def latest_run_id(manager: CheckpointManager) -> str:
    """The id of the newest run; raises :class:`RunNotFoundError` when there is none."""
    return executor_of(manager).run(_latest_run_op())


def run_details(manager: CheckpointManager, run_id: str, *, failures: int = 10) -> RunDetails:
    """One run with its per-loader progress and its ``failures`` most recent failed items.

    Raises :class:`RunNotFoundError` for an unknown id.
    """
    if failures < 0:
        raise ValueError(f"failures must be 0 or more, got {failures}")
    return executor_of(manager).run(_details_op(run_id, failures))


def iter_failures(
    manager: CheckpointManager, run_id: str, loader: str | None = None
) -> Generator[FailedItemInfo, None, None]:
    """Every failed item of ``run_id`` (only ``loader``'s, when given), in no particular
    order, streamed from the server.

    Records are fetched in batches as the iterator is consumed, so memory stays bounded
    however many items failed. Raises :class:`RunNotFoundError` for an unknown id, and
    :class:`GraphCheckpointError` for a ``loader`` the run does not have (both checked
    before the first item is yielded). Close the iterator (or consume it) to end the query.
    """
    manager.get_run(run_id)
    if loader is not None:
        names = [progress.loader for progress in manager.progress(run_id)]
        if loader not in names:
            raise GraphCheckpointError(
                f"run {run_id} has no loader named {loader!r}; its loaders:"
                f" {', '.join(names) or 'none'}"
            )
    return _stream_failures(manager, run_id, loader)


def _stream_failures(
    manager: CheckpointManager, run_id: str, loader: str | None
) -> Generator[FailedItemInfo, None, None]:
    executor = executor_of(manager)
    try:
        # An auto-commit query streams its records (fetch_size at a time) instead of the
        # managed transactions' list, which would hold every failure in memory.
        with executor.session(write=False) as session:
            result = session.run(_cypher.query("all_failures"), {"run_id": run_id})
            for record in result:
                # all_failures.cypher has no loader parameter: filtered here, as streamed.
                if loader is None or record["loader"] == loader:
                    yield FailedItemInfo.from_record(run_id, record.data())
    except Exception as exc:
        translated = translate_error(exc, executor.database)
        if translated is exc:
            raise
        raise translated from exc


def delete_run(
    manager: CheckpointManager,
    run_id: str,
    *,
    batch_size: int = DELETE_BATCH_SIZE,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> DeleteResult:
    """Delete a run with its processed and failed items, loaders and counters.

    Items go ``batch_size`` per transaction; ``on_progress`` is called after each one. The
    run is first marked ``deleting`` so no load resumes it meanwhile; if the delete is
    interrupted, delete it again to finish. A running run with a fresh heartbeat is refused
    with :class:`RunStateError` unless ``force``. Raises :class:`RunNotFoundError` for an
    unknown id.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return executor_of(manager).run(_delete_op(run_id, batch_size, force, on_progress))


def cleanup(
    manager: CheckpointManager,
    *,
    keep: int | None = None,
    per_loader: bool = False,
    older_than: timedelta | None = None,
    include_running: bool = False,
    include_resumable: bool = False,
    dry_run: bool = False,
    batch_size: int = DELETE_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> CleanupResult:
    """Delete old runs with their items.

    ``keep`` keeps the newest N runs (by start time); with ``per_loader`` the newest N of
    each loader name, so a run stays if it is among the newest N for any of its loaders
    (runs without loaders form one group). ``older_than`` deletes only runs whose last
    activity (finish, else last heartbeat, else start) is older than that; given both, a run
    goes only if it is outside the kept N *and* older. Live runs (:func:`is_live`) are never
    deleted unless ``include_running``; runs that ``manager.run()`` would resume for their
    config (``RunInfo.open``: interrupted, failed or stale, and not replaced by a newer run)
    are kept unless ``include_resumable``. Runs left ``deleting`` by an interrupted delete
    always go. ``dry_run`` deletes nothing and returns what would go.
    """
    if keep is None and older_than is None:
        raise ValueError("cleanup needs keep or older_than (or both): it will not delete every run")
    if keep is not None and keep < 0:
        raise ValueError(f"keep must be 0 or more, got {keep}")
    candidates = executor_of(manager).run(_candidates_op())
    result = CleanupResult(dry_run=dry_run)
    kept_ids = _kept_by_rank(candidates, keep, per_loader)
    for candidate in candidates:
        run = candidate.run
        goes = run.status is RunStatus.DELETING or (
            run.run_id not in kept_ids and _older(candidate, older_than)
        )
        if not goes:
            result.kept.append(candidate)
        elif is_live(run):
            if include_running:
                result.selected.append(candidate)
            else:
                result.protected.append(candidate)
                result.kept.append(candidate)
        elif run.open and not include_resumable and run.status is not RunStatus.DELETING:
            result.resumable.append(candidate)
            result.kept.append(candidate)
        else:
            result.selected.append(candidate)
    if dry_run:
        return result
    for candidate in result.selected:
        try:
            result.deleted.append(
                delete_run(
                    manager,
                    candidate.run.run_id,
                    batch_size=batch_size,
                    force=include_running,
                    on_progress=on_progress,
                )
            )
        except RunNotFoundError:
            # Another cleanup got there first: the run is gone, which is what we wanted.
            log.info("run %s was already deleted", candidate.run.run_id)
    return result


def compact_run(
    manager: CheckpointManager,
    run_id: str,
    *,
    loader: str | None = None,
    batch_size: int = COMPACT_BATCH,
) -> CompactResult:
    """Compact the processed records of every loader of ``run_id`` (only ``loader``'s, when
    given), ``batch_size`` records per transaction.

    Adjacent int ids are merged into ranges and string ids packed into sorted chunks; failed
    items stay as they are. The set of processed ids does not change, so lookups, resumes,
    ``graph-ckpt show`` and ``failures`` answer as before, also between two of its
    transactions; it is safe while loads still write to the run, and compacting a compact
    run changes nothing. Raises :class:`RunNotFoundError` for an unknown id,
    :class:`RunStateError` for a run being deleted, and :class:`GraphCheckpointError` for a
    ``loader`` the run does not have.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    result = executor_of(manager).run(_compact_op(run_id, loader, batch_size))
    log.info(
        "compacted run %s: %d records -> %d in %.2fs",
        run_id,
        result.records_before,
        result.records_after,
        result.elapsed,
    )
    return result


def compact_all(
    manager: CheckpointManager, *, batch_size: int = COMPACT_BATCH
) -> list[CompactResult]:
    """Compact every run (:func:`compact_run`), newest first, and return what was done.

    Runs being deleted are left out, and so is a run deleted while the others compact.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    results: list[CompactResult] = []
    for candidate in executor_of(manager).run(_candidates_op()):
        run_id = candidate.run.run_id
        if candidate.run.status is RunStatus.DELETING:
            log.info("run %s is being deleted: not compacted", run_id)
            continue
        try:
            results.append(compact_run(manager, run_id, batch_size=batch_size))
        except (RunNotFoundError, RunStateError):
            # A delete got there first: the run's records go, there is nothing to compact.
            log.info("run %s was deleted meanwhile: not compacted", run_id)
    return results


def _kept_by_rank(
    candidates: list[CleanupCandidate], keep: int | None, per_loader: bool
) -> set[str]:
    """Ids of the runs within the newest ``keep`` (overall or per loader); none when None."""
    if keep is None:
        return set()
    # Candidates arrive newest first, so ranking is counting in order.
    ranked = [c for c in candidates if c.run.status is not RunStatus.DELETING]
    if not per_loader:
        return {c.run.run_id for c in ranked[:keep]}
    seen: dict[str, int] = {}
    kept: set[str] = set()
    for candidate in ranked:
        for name in candidate.loaders or ("",):
            seen[name] = seen.get(name, 0) + 1
            if seen[name] <= keep:
                kept.add(candidate.run.run_id)
    return kept


def _older(candidate: CleanupCandidate, older_than: timedelta | None) -> bool:
    if older_than is None:
        return True
    run = candidate.run
    last = run.finished_at or run.updated_at or run.started_at
    now = candidate.now
    if last is None or now is None:
        return False
    return now - last > older_than
