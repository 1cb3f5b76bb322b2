# Generated from graph_checkpoint/_async/checkpoint.py by scripts/unasync.py: do not edit.
# Change the async source, then run `python scripts/unasync.py`.
"""The manual API, for loops written by hand: ask, load, mark, in your own transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import neo4j.exceptions as neo4j_errors

from .. import _cypher, _engine, _ops
from .._compat import Lock, Util
from .._items import ItemId, check_item_id, validate_loader_name
from ..errors import ItemAlreadyProcessedError, RunStateError
from ..model import LoaderProgress, RunStatus
from .io import execute
from .manager import CheckpointManager, executor_of
from .run import Run

__all__ = ["LoaderCheckpoint"]


class LoaderCheckpoint:
    """Checkpoint state of one loader within a run, driven item by item.

    ``target`` is a run, or a manager, in which case the manager's open run is used, else
    the newest incomplete run is resumed, else a new one starts (ended by :meth:`complete`).
    The sync API registers the loader (and opens that run) in the constructor; the async
    API on the first call, or in ``LoaderCheckpoint.open(target, name)``.

    For exactly-once, check and mark inside the transaction that writes the item::

        checkpoint = LoaderCheckpoint(run, "load_items")

        def work(tx, item):
            if checkpoint.is_processed(item["id"], tx=tx):
                return
            tx.run("CREATE (:Item {id: $id})", id=item["id"])
            checkpoint.mark_processed(item["id"], tx=tx)
    """

    def __init__(self, target: Run | CheckpointManager, loader_name: str) -> None:
        self.loader = validate_loader_name(loader_name)
        if isinstance(target, Run):
            target.check_open()
            self._manager = target.manager
            self._run: Run | None = target
        elif isinstance(target, CheckpointManager):
            self._manager = target
            self._run = target.current_run
        else:
            raise TypeError(
                f"{type(self).__name__} needs a {Run.__name__} or a"
                f" {CheckpointManager.__name__}, got {type(target).__name__}"
            )
        self._executor = executor_of(self._manager)
        self._shard = _engine.shard_base()
        self._owns_run = False
        self._started = False
        self._start_lock = Lock()
        Util.sync_only(self._start)

    @classmethod
    def open(cls, target: Run | CheckpointManager, loader_name: str) -> LoaderCheckpoint:
        """Register the loader in the run (opening the run first, given a manager)."""
        checkpoint = cls(target, loader_name)
        checkpoint._start()
        return checkpoint

    def __repr__(self) -> str:
        run = self._run.run_id if self._run is not None else "(opened on first use)"
        return f"<{type(self).__name__} {self.loader} run={run}>"

    @property
    def run(self) -> Run:
        """The run this checkpoint records into."""
        if self._run is None:
            raise RunStateError(
                f"the checkpoint of {self.loader} opens its run on first use: one of"
                " its methods first, or create it with open()"
            )
        return self._run

    @property
    def run_id(self) -> str:
        """The id of the run this checkpoint records into."""
        return self.run.run_id

    def _start(self) -> Run:
        with self._start_lock:
            if self._run is None:
                self._run = self._manager.run(description=f"{self.loader} (manual checkpoint)")
                self._owns_run = True
            if not self._started:
                self._executor.run(_ops.start_loader(self._run.run_id, self.loader, None))
                self._started = True
            return self._run

    def status(self, item_id: ItemId, tx: Any = None) -> str | None:
        """'processed', 'failed', or None if the item was never recorded.

        Pass the transaction that will write the item to read inside it.
        """
        check_item_id(item_id, item_id)
        run = self._start()
        if tx is None:
            return self._executor.run(_ops.item_status(run.run_id, self.loader, item_id))
        params = {"run_id": run.run_id, "loader": self.loader, "item_id": item_id}
        result = tx.run(_cypher.query("item_status"), params)
        rows = result.data()
        status: str | None = rows[0]["status"] if rows else None
        return status

    def is_processed(self, item_id: ItemId, tx: Any = None) -> bool:
        """True if the item was processed in this run. Failed items count as not processed.

        Pass the transaction that will write the item to make the check and the write one
        atomic step.
        """
        return self.status(item_id, tx) == "processed"

    def mark_processed(self, item_id: ItemId, tx: Any = None) -> bool:
        """Record the item as processed; True if it was not recorded as processed before.

        With ``tx`` the record is written in that transaction, so it commits (or rolls back)
        with the item's data; if another transaction recorded the item first, this raises
        :class:`ItemAlreadyProcessedError` so that ``tx`` rolls back instead of committing a
        second copy of the data. Without ``tx`` the record commits on its own (not atomic
        with your data) and an item already processed just returns False.
        """
        check_item_id(item_id, item_id)
        run = self._start()
        scope = self._scope(run)
        # The batch commit with one id: it replaces a failed record of the item, and takes the
        # loader lock, so marks in concurrent transactions never both count.
        params = _engine.commit_params(scope, [item_id], [item_id], 0)
        text = _cypher.query("commit_batch")

        def work(own_tx: Any) -> None:
            result = own_tx.run(text, params)
            _engine.committed(result.data(), scope)

        if tx is None:
            try:
                with self._executor.session() as session:
                    execute(session, True, work)
            except _engine.RecordConflict:
                return False
            run._mark(processed=1)  # noqa: SLF001
            return True
        try:
            work(tx)
        except (_engine.RecordConflict, neo4j_errors.ConstraintError) as exc:
            # Recorded by another transaction: ``tx`` must not commit a second copy.
            raise ItemAlreadyProcessedError(run.run_id, self.loader, item_id) from exc
        run._mark(processed=1)  # noqa: SLF001
        return True

    def _scope(self, run: Run) -> _engine.Scope:
        return _engine.Scope(run.run_id, self.loader, self._shard, True, 1)

    def unprocessed(self, item_ids: Iterable[ItemId], tx: Any = None) -> list[ItemId]:
        """The ids among ``item_ids`` not processed in this run yet, in their order.

        One query for the whole list (failed items count as not processed). Pass the
        transaction that will write them to read inside it.
        """
        ids = [check_item_id(item_id, item_id) for item_id in item_ids]
        if not ids:
            return []
        run = self._start()
        params = _engine.check_params(self._scope(run), ids)
        if tx is None:
            rows = self._executor.run(_ops.check_items(params))
        else:
            result = tx.run(_cypher.query("check_items"), params)
            rows = result.data()
        recorded = _engine.Recorded.from_rows(rows)
        return [item_id for item_id in ids if not recorded.processed(item_id)]

    def mark_failed(self, item_id: ItemId, error: BaseException | str) -> int:
        """Record the item as failed with ``error`` (in a transaction of its own).

        Returns the item's attempt count. An item processed meanwhile stays processed.
        """
        check_item_id(item_id, item_id)
        run = self._start()
        attempts = self._executor.run(
            _ops.record_failure(run.run_id, self.loader, self._shard, item_id, error)
        )
        run._mark(failed=1)  # noqa: SLF001
        return attempts

    def get_progress_stats(self) -> dict[str, Any]:
        """This loader's figures: processed, failed, skipped, total, percent, status, times."""
        run = self._start()
        for progress in run.progress():
            if progress.loader == self.loader:
                return progress.as_dict()
        return LoaderProgress.not_started(self.loader).as_dict()

    def complete(self) -> None:
        """Mark this loader completed (and the run, if this checkpoint opened it)."""
        run = self._start()
        self._executor.run(_ops.finish_loader(run.run_id, self.loader, RunStatus.COMPLETED))
        if self._owns_run and not run.closed:
            run.complete()
