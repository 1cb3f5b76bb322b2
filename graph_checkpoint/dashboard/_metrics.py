"""``/metrics``: the run nodes in the Prometheus text format, read at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timezone

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import admin
from .._sync.manager import CheckpointManager
from ..model import RunStatus

log = logging.getLogger("graph_checkpoint")

FINISHED_RUNS = 20
"""Finished runs exported besides the running ones: the newest, so labels stay bounded."""

_STATES = [str(status) for status in RunStatus]


class RunCollector(Collector):
    """Reads the running runs and the newest finished ones on every scrape.

    Each scrape costs two listing queries (run, loader and counter nodes); a graph that
    does not answer shows as ``graph_checkpoint_up 0`` instead of a failed scrape.
    """

    def __init__(self, manager: CheckpointManager, finished: int = FINISHED_RUNS) -> None:
        self.manager = manager
        self.finished = finished

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "graph_checkpoint_up", "1 when the checkpoint graph answered this scrape"
        )
        try:
            running = admin.list_runs(self.manager, status=RunStatus.RUNNING)
            newest = admin.list_runs(self.manager, limit=self.finished + len(running))
        except Exception as exc:  # a scrape must answer even when Neo4j does not
            log.warning("metrics: could not read the runs: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        seen = {s.run.run_id for s in running}
        finished = [s for s in newest if s.run.run_id not in seen][: self.finished]
        yield from _run_metrics([*running, *finished])


def _run_metrics(summaries: list[admin.RunSummary]) -> Iterator[Metric]:
    now = datetime.now(timezone.utc)
    status = GaugeMetricFamily(
        "graph_checkpoint_run_status",
        "1 for the run's status (stale: running, but its heartbeat stopped), 0 for the others",
        labels=["run_id", "status"],
    )
    heartbeat = GaugeMetricFamily(
        "graph_checkpoint_run_heartbeat_age_seconds",
        "seconds since the run's last heartbeat or batch (the dashboard's clock)",
        labels=["run_id"],
    )
    duration = GaugeMetricFamily(
        "graph_checkpoint_run_duration_seconds",
        "wall time of the run, from its start to its end or last heartbeat",
        labels=["run_id"],
    )
    active = GaugeMetricFamily(
        "graph_checkpoint_run_active_seconds",
        "time processes spent on the run (pauses between a crash and a resume left out)",
        labels=["run_id"],
    )
    processed = CounterMetricFamily(
        "graph_checkpoint_items_processed",
        "items a loader of the run loaded",
        labels=["run_id", "loader"],
    )
    skipped = CounterMetricFamily(
        "graph_checkpoint_items_skipped",
        "items a loader of the run skipped: processed before, or repeated in its input",
        labels=["run_id", "loader"],
    )
    failed = GaugeMetricFamily(
        "graph_checkpoint_items_failed",
        "items of a loader of the run recorded as failed now (retried ones that passed leave)",
        labels=["run_id", "loader"],
    )
    expected = GaugeMetricFamily(
        "graph_checkpoint_items_expected",
        "the length of a loader's input, when it had one (lists do, generators do not)",
        labels=["run_id", "loader"],
    )
    for summary in summaries:
        run = summary.run
        shown = str(admin.display_status(run))
        for state in _STATES:
            status.add_metric([run.run_id, state], 1 if state == shown else 0)
        last = summary.last_activity
        if last is not None:
            heartbeat.add_metric([run.run_id], max(0.0, (now - last).total_seconds()))
        if summary.wall is not None:
            duration.add_metric([run.run_id], summary.wall.total_seconds())
        if summary.active is not None:
            active.add_metric([run.run_id], summary.active.total_seconds())
        for loader in summary.loaders:
            labels = [run.run_id, loader.loader]
            processed.add_metric(labels, loader.processed)
            skipped.add_metric(labels, loader.skipped)
            failed.add_metric(labels, loader.failed)
            if loader.total is not None:
                expected.add_metric(labels, loader.total)
    yield from (status, heartbeat, duration, active, processed, skipped, failed, expected)
