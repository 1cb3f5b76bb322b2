"""The JSON documents of the dashboard's API, built on the ``graph-ckpt --json`` shapes."""

from __future__ import annotations

from typing import Any

from .. import admin
from .._sync.manager import CheckpointManager
from ..cli import shapes
from ..model import RunStatus

PAGE_SIZE = 20
"""Runs per page of ``/api/runs``."""
FAILURES_PAGE_SIZE = 25
"""Failed items per page of ``/api/runs/{id}/failures``."""


def _with_eta(summary: admin.RunSummary, document: Any) -> dict[str, Any]:
    """Add each loader's ``eta_seconds``: what is left of its known total at the run's
    throughput, while it runs (None when the total or the throughput is unknown)."""
    throughput = summary.throughput
    live = admin.display_status(summary.run) is RunStatus.RUNNING
    loaders = []
    for loader in document["loaders"]:
        eta = None
        if live and loader["status"] == "running" and loader["total"] and throughput:
            left = loader["total"] - loader["processed"] - loader["failed"]
            eta = round(max(0, left) / throughput, 1)
        loaders.append({**loader, "eta_seconds": eta})
    return {**document, "loaders": loaders}


def runs_page(
    manager: CheckpointManager, *, page: int, status: str | None, loader: str | None
) -> dict[str, Any]:
    """``/api/runs``: one page of runs, newest first, filtered by status and loader."""
    offset = (page - 1) * PAGE_SIZE
    found = admin.list_runs(
        manager, status=status, loader=loader, limit=PAGE_SIZE + 1, offset=offset
    )
    return {
        "runs": [_with_eta(s, shapes.run_json(s)) for s in found[:PAGE_SIZE]],
        "page": page,
        "page_size": PAGE_SIZE,
        "has_more": len(found) > PAGE_SIZE,
    }


def run_page(manager: CheckpointManager, run_id: str) -> dict[str, Any]:
    """``/api/runs/{run_id}``: the run, its loaders and participants (``show --json``)."""
    details = admin.run_details(manager, run_id, failures=0)
    document = dict(shapes.show_json(details))
    document["run"] = _with_eta(details, document["run"])
    del document["recent_failures"]  # paged at /api/runs/{run_id}/failures
    return document


def failures_page(
    manager: CheckpointManager, run_id: str, *, page: int, search: str | None
) -> dict[str, Any]:
    """``/api/runs/{run_id}/failures``: one page of failed items, newest first."""
    items, total = admin.failures_page(
        manager,
        run_id,
        offset=(page - 1) * FAILURES_PAGE_SIZE,
        limit=FAILURES_PAGE_SIZE,
        search=search,
    )
    return {
        "run_id": run_id,
        "failures": [shapes.failure_json(item) for item in items],
        "total": total,
        "page": page,
        "page_size": FAILURES_PAGE_SIZE,
        "search": search,
    }
