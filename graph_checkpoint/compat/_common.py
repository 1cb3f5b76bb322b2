"""What the compat modules share: the logger, the misuse error, ids, figures and drivers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sized
from datetime import datetime
from typing import Any, Protocol

import neo4j

import graph_checkpoint as core

log = logging.getLogger("graph_checkpoint.compat")

ItemId = str | int

# What a session has and a managed transaction lacks: calling one of these on the ``tx`` a
# processing function is handed means it still treats it as a session.
SESSION_ONLY = frozenset(
    {
        "begin_transaction",
        "close",
        "closed",
        "execute_read",
        "execute_write",
        "last_bookmark",
        "last_bookmarks",
        "read_transaction",
        "write_transaction",
    }
)
WHY_TX = (
    "graph-checkpoint calls it inside the transaction that records the item as processed, so"
    " the item's writes and its checkpoint commit together, exactly once; writes through a"
    " session of its own would commit apart from the checkpoint"
)


class TransactionRequiredError(core.GraphCheckpointError, TypeError):
    """A processing function that does not write through the transaction it is handed.

    Raised before anything is loaded for a function that takes only the item, and during the
    load for one that calls session methods (``execute_write``...) on its ``tx``. It is a
    ``TypeError``: the code must change, and retrying will not help.
    """


class Connection(Protocol):
    """Anything with a ``driver`` attribute, such as the seed's ``Neo4jConnection``.

    A ``database`` attribute, when it has one, names the database to use.
    """

    @property
    def driver(self) -> neo4j.Driver:
        """The Neo4j driver the connection holds."""
        ...


Target = neo4j.Driver | core.CheckpointManager | Connection


def name_of(func: object) -> str:
    """A function's name, for messages."""
    return str(getattr(func, "__name__", func))


def iso(value: datetime | None) -> str | None:
    """A time as the ISO text the JSON files held, or None."""
    return value.isoformat() if value is not None else None


def status_text(status: object) -> str:
    """A status as its stored text (``"running"``...), whatever type holds it."""
    return str(getattr(status, "value", status))


def finished(status: object) -> bool:
    """True for completed (with or without failed items): it went through all its input."""
    return status_text(status).startswith("completed")


def driver_of(target: object) -> tuple[neo4j.Driver, str | None] | None:
    """The driver (and database) of a driver or a connection object; None for anything else."""
    if isinstance(target, neo4j.Driver):
        return target, None
    driver = getattr(target, "driver", None)
    if isinstance(driver, neo4j.Driver):
        database = getattr(target, "database", None)
        return driver, database if isinstance(database, str) and database else None
    return None


def default_item_id(item: Any) -> Any:
    """The seed's default item id: ``item.id``, else ``item["id"]``, else ``str(item)``.

    An object with neither and no ``__str__`` of its own is refused: its text is a memory
    address, a different id in every process, so a resume would load it again.
    """
    if hasattr(item, "id"):
        return item.id
    if isinstance(item, Mapping) and "id" in item:
        return item["id"]
    kind = type(item)
    own_str: object = kind.__str__
    own_repr: object = kind.__repr__
    if own_str is object.__str__ and own_repr is object.__repr__:
        raise core.InvalidItemError(
            f"{kind.__name__} item has no id (no .id, no ['id'], no __str__ of its own):"
            " pass get_item_id= to say what identifies an item",
            item,
        )
    return str(item)


def id_reader(get_item_id: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap an id function so ids that are neither str nor int (a UUID...) become str."""

    def read(item: Any) -> Any:
        value = get_item_id(item)
        if value is None or (isinstance(value, (str, int)) and not isinstance(value, bool)):
            return value  # None is reported by the engine as an item without an id
        return str(value)

    return read


def default_total(items: Any) -> int:
    """The seed's default ``get_total_items``: ``len(items)``, or 0 when it has no length."""
    return len(items) if isinstance(items, Sized) else 0


def seed_stats(progress: Mapping[str, Any], total_items: int) -> dict[str, Any]:
    """graph-checkpoint's loader figures with the seed's keys added."""
    processed = int(progress.get("processed") or 0)
    total = int(progress.get("total") or 0) or total_items
    return {
        **progress,
        "processed_count": processed,
        "failure_count": int(progress.get("failed") or 0),
        "total_items": total,
        "completion_percentage": processed / total * 100 if total > 0 else 0.0,
    }
