"""The JSON documents the commands print, declared once (they are described in docs/cli.md).

Keys are stable: new keys may be added, existing ones keep their name and meaning. Every
time is ISO 8601 text with a UTC offset, or null: :func:`iso` is the one place that turns
a datetime into JSON, :func:`seconds` a duration. A run has both its wall time
(``duration_seconds``) and its active time (``active_seconds``, what throughput is over).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, TypedDict

from .. import admin
from ..admin import (
    CleanupCandidate,
    CleanupResult,
    CompactResult,
    CompactStats,
    DeleteResult,
    FailedItemInfo,
    RunDetails,
    RunSummary,
)
from ..model import LoaderProgress, ParticipantInfo, RunInfo, RunStatus

__all__ = [
    "CleanupCandidateJSON",
    "CleanupJSON",
    "CompactJSON",
    "CompactLoaderJSON",
    "CompactRunJSON",
    "DeleteJSON",
    "FailureJSON",
    "ListJSON",
    "LoaderJSON",
    "RunJSON",
    "ShowJSON",
    "candidate_json",
    "cleanup_json",
    "compact_json",
    "delete_json",
    "dumps",
    "failure_json",
    "failures_json_chunks",
    "iso",
    "list_json",
    "loader_json",
    "resume_hint",
    "run_json",
    "seconds",
    "show_json",
]


class LoaderJSON(TypedDict):
    """One loader's progress: the keys of ``LoaderProgress.as_dict()``."""

    loader: str
    status: str
    processed: int
    failed: int
    skipped: int
    total: int | None
    percent: float | None
    started_at: str | None
    updated_at: str | None
    finished_at: str | None


class RunJSON(TypedDict):
    """One run with its loaders (``list``, ``show``)."""

    run_id: str
    status: str
    display_status: str
    stale: bool
    description: str | None
    config: dict[str, Any] | None
    started_at: str | None
    updated_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    active_seconds: float | None
    open: bool
    error: str | None
    host: str | None
    pid: int | None
    process_alive: bool | None
    resumes: int
    processed: int
    failed: int
    skipped: int
    throughput_per_second: float | None
    loaders: list[LoaderJSON]


class FailureJSON(TypedDict):
    """One failed item (``show``'s recent failures, ``failures --json``/``--jsonl``)."""

    run_id: str
    loader: str
    item_id: str | int
    attempts: int
    error_type: str | None
    error: str | None
    updated_at: str | None


class CleanupCandidateJSON(TypedDict):
    """A run ``cleanup`` deleted, or would delete with ``--dry-run``."""

    run_id: str
    status: str
    display_status: str
    description: str | None
    started_at: str | None
    finished_at: str | None
    loaders: list[str]
    items: int


class ListJSON(TypedDict):
    """``list --json``: the runs, newest first."""

    runs: list[RunJSON]


class ParticipantJSON(TypedDict):
    """One process that joined a run, in ``show --json``."""

    name: str
    role: str
    state: str
    host: str | None
    pid: int | None
    items: int
    failed: int
    joins: int
    joined_at: str | None
    heartbeat_at: str | None
    finished_at: str | None
    error: str | None


class ShowJSON(TypedDict):
    """``show --json``: the run, its participants, its most recent failures and the Python
    that resumes it."""

    run: RunJSON
    participants: list[ParticipantJSON]
    recent_failures: list[FailureJSON]
    resume: str | None


class CleanupJSON(TypedDict):
    """``cleanup --json``: what went (or would go) and what stayed."""

    dry_run: bool
    runs: list[CleanupCandidateJSON]
    items: int
    kept: list[str]
    protected: list[str]
    resumable: list[str]
    elapsed_seconds: float | None


class DeleteJSON(TypedDict):
    """``delete --json``: the run deleted, its item count and the time taken."""

    run_id: str
    items: int
    elapsed_seconds: float


class CompactLoaderJSON(TypedDict):
    """What ``compact`` did to one loader: the fields of ``CompactStats`` (records, not
    items)."""

    loader: str
    records_before: int
    records_after: int
    ints_merged: int
    strings_packed: int
    chunks_written: int
    chunks_replaced: int
    transactions: int


class CompactRunJSON(TypedDict):
    """What ``compact`` did to one run."""

    run_id: str
    records_before: int
    records_after: int
    elapsed_seconds: float
    loaders: list[CompactLoaderJSON]


class CompactJSON(TypedDict):
    """``compact --json``: the runs compacted, one for a run id, every run with ``--all``."""

    runs: list[CompactRunJSON]


def iso(value: datetime | None) -> str | None:
    """A time as JSON: ISO 8601 text (with the offset it carries), or None."""
    return None if value is None else value.isoformat()


def seconds(value: timedelta | None) -> float | None:
    """A duration as JSON: seconds, to the millisecond, or None."""
    return None if value is None else round(value.total_seconds(), 3)


def dumps(document: Mapping[str, Any], *, indent: int | None = None) -> str:
    """A document as JSON text, non-ASCII characters kept as they are."""
    return json.dumps(document, indent=indent, ensure_ascii=False)


def loader_json(progress: LoaderProgress) -> LoaderJSON:
    """The JSON object of one loader's progress."""
    return {
        "loader": progress.loader,
        "status": str(progress.status),
        "processed": progress.processed,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "total": progress.total,
        "percent": progress.percent,
        "started_at": iso(progress.started_at),
        "updated_at": iso(progress.updated_at),
        "finished_at": iso(progress.finished_at),
    }


def run_json(summary: RunSummary) -> RunJSON:
    """The JSON object of one run with its loaders."""
    run = summary.run
    throughput = summary.throughput
    return {
        "run_id": run.run_id,
        "status": str(run.status),
        "display_status": str(admin.display_status(run)),
        "stale": run.stale,
        "description": run.description,
        "config": run.config,
        "started_at": iso(run.started_at),
        "updated_at": iso(run.updated_at),
        "finished_at": iso(run.finished_at),
        "duration_seconds": seconds(summary.wall),
        "active_seconds": seconds(summary.active),
        "open": run.open,
        "error": run.error,
        "host": run.host,
        "pid": run.pid,
        "process_alive": admin.process_alive(run) if run.status is RunStatus.RUNNING else None,
        "resumes": run.resumes,
        "processed": summary.processed,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "throughput_per_second": None if throughput is None else round(throughput, 1),
        "loaders": [loader_json(progress) for progress in summary.loaders],
    }


def participant_json(part: ParticipantInfo) -> ParticipantJSON:
    """One participant as JSON."""
    return {
        "name": part.name,
        "role": part.role,
        "state": part.state,
        "host": part.host,
        "pid": part.pid,
        "items": part.items,
        "failed": part.failed,
        "joins": part.joins,
        "joined_at": iso(part.joined_at),
        "heartbeat_at": iso(part.updated_at),
        "finished_at": iso(part.finished_at),
        "error": part.error,
    }


def failure_json(item: FailedItemInfo) -> FailureJSON:
    """The JSON object of one failed item."""
    return {
        "run_id": item.run_id,
        "loader": item.loader,
        "item_id": item.item_id,
        "attempts": item.attempts,
        "error_type": item.error_type,
        "error": item.error,
        "updated_at": iso(item.updated_at),
    }


def candidate_json(candidate: CleanupCandidate) -> CleanupCandidateJSON:
    """The JSON object of one run that cleanup selected."""
    run = candidate.run
    return {
        "run_id": run.run_id,
        "status": str(run.status),
        "display_status": str(admin.display_status(run)),
        "description": run.description,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "loaders": list(candidate.loaders),
        "items": candidate.items,
    }


def resume_hint(run: RunInfo) -> str | None:
    """The Python that resumes ``run``, or None when it needs no resuming (completed, live,
    being deleted). A run completed with failures gets one: resuming it retries them."""
    if run.status in (RunStatus.COMPLETED, RunStatus.DELETING) or admin.is_live(run):
        return None
    return f"manager.resume_run({json.dumps(run.run_id)})"


def list_json(runs: Iterable[RunSummary]) -> ListJSON:
    """The ``list --json`` document."""
    return {"runs": [run_json(summary) for summary in runs]}


def show_json(details: RunDetails) -> ShowJSON:
    """The ``show --json`` document."""
    return {
        "run": run_json(details),
        "participants": [participant_json(part) for part in details.participants],
        "recent_failures": [failure_json(item) for item in details.failures],
        "resume": resume_hint(details.run),
    }


def cleanup_json(result: CleanupResult, elapsed: float | None) -> CleanupJSON:
    """The ``cleanup --json`` document; ``elapsed`` is None for a dry run."""
    return {
        "dry_run": result.dry_run,
        "runs": [candidate_json(candidate) for candidate in result.selected],
        "items": result.items,
        "kept": [candidate.run.run_id for candidate in result.kept],
        "protected": [candidate.run.run_id for candidate in result.protected],
        "resumable": [candidate.run.run_id for candidate in result.resumable],
        "elapsed_seconds": None if elapsed is None else round(elapsed, 3),
    }


def delete_json(result: DeleteResult) -> DeleteJSON:
    """The ``delete --json`` document."""
    return {
        "run_id": result.run_id,
        "items": result.items,
        "elapsed_seconds": round(result.elapsed, 3),
    }


def _compact_loader_json(stats: CompactStats) -> CompactLoaderJSON:
    return {
        "loader": stats.loader,
        "records_before": stats.records_before,
        "records_after": stats.records_after,
        "ints_merged": stats.ints_merged,
        "strings_packed": stats.strings_packed,
        "chunks_written": stats.chunks_written,
        "chunks_replaced": stats.chunks_replaced,
        "transactions": stats.transactions,
    }


def compact_json(results: Iterable[CompactResult]) -> CompactJSON:
    """The ``compact --json`` document."""
    return {
        "runs": [
            {
                "run_id": result.run_id,
                "records_before": result.records_before,
                "records_after": result.records_after,
                "elapsed_seconds": round(result.elapsed, 3),
                "loaders": [_compact_loader_json(stats) for stats in result.loaders],
            }
            for result in results
        ]
    }


def failures_json_chunks(run_id: str, items: Iterable[FailedItemInfo]) -> Iterator[str]:
    """The ``failures --json`` document, ``{"run_id": ..., "failures": [...]}``, in pieces.

    One piece per failure, so printing them never needs every failure in memory at once.
    """
    yield f'{{"run_id": {json.dumps(run_id)}, "failures": ['
    first = True
    for item in items:
        yield ("\n  " if first else ",\n  ") + dumps(failure_json(item))
        first = False
    yield "]}" if first else "\n]}"
