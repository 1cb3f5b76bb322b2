"""The JSON-file checkpoint system's names, on graph-checkpoint's engine.

Code written for the JSON-file checkpoint system (``core.checkpoint`` in the seed project)
ports by changing its imports to ``graph_checkpoint.compat``, giving ``CheckpointManager``
the Neo4j driver instead of a directory, and handing writes the transaction: a processing
function becomes ``process_item(tx, item)`` and writes with ``tx.run(...)`` (or
``helper(tx, ...)`` instead of ``session.execute_write(helper, ...)``). Checkpoints then
commit in the same transaction as the data, ``checkpoint_interval`` items at a time::

    from graph_checkpoint.compat import checkpoint_loader

    @checkpoint_loader(checkpoint_interval=25)
    def load_items(conn, items, _checkpoint_context=None):
        def process_single_item(tx, item):
            tx.run("MERGE (n:Item {id: $id})", id=item.id)

        if _checkpoint_context:
            _checkpoint_context.process_items(items, process_single_item)

    load_items(conn, items, checkpoint_manager=checkpoint_manager)

From there, move loader by loader to the batch API (``graph_checkpoint.checkpoint_loader``
on ``def load(tx, batch)``); ``CheckpointManager.current_run`` is the run to hand it.
"""

from __future__ import annotations

from ._common import Connection, TransactionRequiredError, default_item_id
from ._loader import CheckpointContext, checkpoint_loader, checkpoint_zaak_loader, with_checkpoint
from ._manager import CheckpointManager, LoaderCheckpoint

__all__ = [
    "CheckpointContext",
    "CheckpointManager",
    "Connection",
    "LoaderCheckpoint",
    "TransactionRequiredError",
    "checkpoint_loader",
    "checkpoint_zaak_loader",
    "default_item_id",
    "with_checkpoint",
]
