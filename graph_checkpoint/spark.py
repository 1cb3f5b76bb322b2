"""Exactly-once loads from Apache Spark: each partition joins the driver's run.

The driver program opens the run as its coordinator; every Spark task joins it as a
participant of its own (``spark-s<stage>-p<partition>-a<attempt>``) and loads its rows through
a checkpointed loader, so a retried or speculative attempt skips what an earlier attempt
committed. The driver completes the run when the job succeeded::

    from graph_checkpoint import CheckpointManager, ConnectionSettings, checkpoint_loader
    from graph_checkpoint.spark import partition_loader

    @checkpoint_loader("people", batch_size=1000, item_id="id")
    def load_people(tx, rows):
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id, name: r.name})", rows=rows)

    settings = ConnectionSettings(uri, username, password)
    with settings.driver() as driver:
        manager = CheckpointManager(driver, settings.database)
        with manager.run(config={"job": "people"}, coordinator=True) as run:
            counts = df.rdd.mapPartitions(partition_loader(run, load_people, settings)).collect()

Each executor process keeps one Neo4j driver per connection and reuses it across its tasks.
Rows reach the loader as dicts (``Row.asDict(recursive=True)``). Needs the ``[spark]`` extra
(``pyspark``) on the executors only for :class:`pyspark.TaskContext`; without one (called
outside a Spark task) the partition joins as an anonymous participant.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import neo4j

from ._connection import ConnectionSettings
from ._sync.loader import CheckpointedLoader
from ._sync.manager import CheckpointManager
from ._sync.run import Run

__all__ = ["PartitionLoader", "partition_loader"]

log = logging.getLogger("graph_checkpoint")

_drivers: dict[tuple[str, str, str, str | None], tuple[neo4j.Driver, CheckpointManager]] = {}
_drivers_lock = threading.Lock()


def _close_drivers() -> None:
    with _drivers_lock:
        for driver, _ in _drivers.values():
            driver.close()
        _drivers.clear()


atexit.register(_close_drivers)


def _manager(settings: ConnectionSettings) -> CheckpointManager:
    """This executor process's manager for ``settings``: one driver per process, reused."""
    key = (settings.uri, settings.username, settings.password, settings.database)
    with _drivers_lock:
        if key not in _drivers:
            driver = settings.driver()
            _drivers[key] = (driver, CheckpointManager(driver, settings.database))
        return _drivers[key][1]


def _task_name() -> str | None:
    """The participant name of the Spark task this runs in, or None outside of one."""
    try:
        from pyspark import TaskContext
    except ImportError:  # not on a Spark executor
        return None
    context = TaskContext.get()
    if context is None:
        return None
    return f"spark-s{context.stageId()}-p{context.partitionId()}-a{context.attemptNumber()}"


def _as_dict(row: Any) -> Any:
    as_dict = getattr(row, "asDict", None)
    return as_dict(recursive=True) if callable(as_dict) else row


@dataclass(frozen=True)
class PartitionLoader:
    """Loads one Spark partition into the run ``run_id``; made by :func:`partition_loader`.

    Call it with a partition's rows (``mapPartitions`` and ``foreachPartition`` do): it
    joins the run as this task's participant, loads the rows through ``loader``, ends its
    participation, and returns an iterator over one dict of counts (``partition``,
    ``attempt``, ``processed``, ``skipped``, ``failed``). A failure ends the participation
    failed and is raised again, so Spark retries the task; the retry skips what this attempt
    committed.
    """

    run_id: str
    loader: CheckpointedLoader
    settings: ConnectionSettings

    def __call__(self, rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
        name = _task_name()
        manager = _manager(self.settings)
        with manager.resume_run(self.run_id, participant=name) as run:
            result = self.loader(run, (_as_dict(row) for row in rows))
        log.info("%s: %s", name or run.participant.name, result)
        return iter(
            [
                {
                    "participant": run.participant.name,
                    "processed": result.processed,
                    "skipped": result.skipped,
                    "failed": result.failed,
                }
            ]
        )


def partition_loader(
    run: Run, loader: CheckpointedLoader, settings: ConnectionSettings
) -> PartitionLoader:
    """A function for ``rdd.mapPartitions`` or ``DataFrame.foreachPartition`` that loads each
    partition through ``loader`` into ``run``, exactly once.

    ``run`` is the driver's open run (opened with ``coordinator=True``, so that its
    completion, when the job succeeded, completes the run); ``settings`` say how executors
    reach Neo4j (the password travels to the executors with the function, as Spark ships
    any closure).
    """
    if not isinstance(loader, CheckpointedLoader):
        raise TypeError(
            "partition_loader() needs a sync loader made by @checkpoint_loader, got"
            f" {type(loader).__name__}"
        )
    if not isinstance(settings, ConnectionSettings):
        raise TypeError(
            f"settings must be a graph_checkpoint.ConnectionSettings, got {type(settings).__name__}"
        )
    run.check_open()
    if not run.coordinator:
        log.warning(
            "run %s was not opened with coordinator=True: it completes when its last"
            " participant is done, and a failed task attempt then leaves it failed",
            run.run_id,
        )
    return PartitionLoader(run.run_id, loader, settings)
