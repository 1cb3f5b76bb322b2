"""The manual API, for loops written by hand: ask, load, mark, in your own transaction."""

from __future__ import annotations

import logging
from typing import Any

from . import _cypher, _engine, _ops
from ._items import ItemId, check_item_id, validate_loader_name
from .errors import GraphCheckpointError
from .manager import CheckpointManager
from .model import LoaderProgress
from .run import Run

__all__ = ["LoaderCheckpoint"]

log = logging.getLogger("graph_checkpoint")


class LoaderCheckpoint:
    """Checkpoint state of one loader within a run, driven item by item.

    ``target`` is a :class:`Run`, or a :class:`CheckpointManager`, in which case the
    manager's open run is used, else the newest incomplete run is resumed, else a new one
    starts (ended by :meth:`complete`).

    For exactly-once, check and mark inside the transaction that writes the item::

        checkpoint = LoaderCheckpoint(run, "load_items")

        def work(tx, item):
            if checkpoint.is_processed(item["id"], tx=tx):
                return
            tx.run("CREATE (:Item {id: $id})", id=item["id"])
            checkpoint.mark_processed(item["id"], tx=tx)

        with driver.session() as session:
            for item in items:
                try:
                    session.execute_write(work, item)
                except Exception as exc:
                    checkpoint.mark_failed(item["id"], exc)
    """

    def __init__(self, target: Run | CheckpointManager, loader_name: str) -> None:
        self.loader = validate_loader_name(loader_name)
        self._owns_run = False
        if isinstance(target, Run):
            target.check_open()
            self.run = target
        elif isinstance(target, CheckpointManager):
            current = target.current_run
            if current is None:
                current = target.run(description=f"{loader_name} (manual checkpoint)")
                self._owns_run = True
            self.run = current
        else:
            raise GraphCheckpointError(
                f"LoaderCheckpoint needs a Run or a CheckpointManager, got {type(target).__name__}"
            )
        self._io = self.run.manager._io
        self._shard = _engine.shard_base()
        self._io.run(_ops.start_loader(self.run.run_id, self.loader, None))

    def __repr__(self) -> str:
        return f"<LoaderCheckpoint {self.loader} run={self.run.run_id}>"

    @property
    def run_id(self) -> str:
        """The id of the run this checkpoint records into."""
        return self.run.run_id

    def status(self, item_id: ItemId, tx: Any = None) -> str | None:
        """'processed', 'failed', or None if the item was never recorded."""
        check_item_id(item_id, item_id)
        if tx is not None:
            rows = tx.run(
                _cypher.query("item_status"),
                {"run_id": self.run_id, "loader": self.loader, "item_id": item_id},
            ).data()
            return rows[0]["status"] if rows else None
        result: str | None = self._io.run(_ops.item_status(self.run_id, self.loader, item_id))
        return result

    def is_processed(self, item_id: ItemId, tx: Any = None) -> bool:
        """True if the item was processed in this run. Failed items count as not processed.

        Pass the transaction that will write the item to make the check and the write one
        atomic step.
        """
        return self.status(item_id, tx) == "processed"

    def mark_processed(self, item_id: ItemId, tx: Any = None) -> bool:
        """Record the item as processed; True if it was not recorded as processed before.

        With ``tx`` the record is written in that transaction, so it commits (or rolls back)
        with the item's data. Without it, it commits on its own, which is not atomic with
        your data: prefer passing ``tx``.
        """
        check_item_id(item_id, item_id)
        text, params = _ops.mark_processed_params(self.run_id, self.loader, self._shard, item_id)
        if tx is not None:
            rows = tx.run(text, params).data()
            return bool(rows and rows[0]["marked"])

        def work(own_tx: Any) -> bool:
            rows = own_tx.run(text, params).data()
            return bool(rows and rows[0]["marked"])

        with self._io.session() as session:
            marked: bool = session.execute_write(work)
        return marked

    def mark_failed(self, item_id: ItemId, error: BaseException | str) -> int:
        """Record the item as failed with ``error`` (in a transaction of its own).

        Returns the item's attempt count. An item processed meanwhile stays processed.
        """
        check_item_id(item_id, item_id)
        attempts: int = self._io.run(
            _ops.record_failure(self.run_id, self.loader, self._shard, item_id, error)
        )
        return attempts

    def get_progress_stats(self) -> dict[str, Any]:
        """This loader's figures: processed, failed, skipped, total, percent, status, times."""
        for progress in self.run.progress():
            if progress.loader == self.loader:
                return progress.as_dict()
        return LoaderProgress.not_started(self.loader).as_dict()

    def complete(self) -> None:
        """Mark this loader completed (and the run, if this checkpoint opened it)."""
        self._io.run(_ops.finish_loader(self.run_id, self.loader, "completed"))
        if self._owns_run and not self.run.closed:
            self.run.complete()
