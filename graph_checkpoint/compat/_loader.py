"""The seed's decorators and the ``_checkpoint_context`` its loaders receive."""

from __future__ import annotations

import functools
import inspect
import traceback
from collections.abc import Callable, Iterable, Sized
from typing import Any, TypeVar

import graph_checkpoint as core

from ._common import (
    SESSION_ONLY,
    WHY_TX,
    TransactionRequiredError,
    default_item_id,
    default_total,
    driver_of,
    id_reader,
    log,
    name_of,
    seed_stats,
)
from ._manager import CheckpointManager, LoaderCheckpoint

__all__ = [
    "CheckpointContext",
    "checkpoint_loader",
    "checkpoint_zaak_loader",
    "with_checkpoint",
]

R = TypeVar("R")


def _process_batch(tx: Any, batch: list[Any], call: Callable[[Any, Any], Any]) -> None:
    for item in batch:
        call(tx, item)


def _require_tx_first(func: Callable[..., Any]) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: trust the caller
        return
    try:
        signature.bind(None, None)
    except TypeError:
        name = name_of(func)
        raise TransactionRequiredError(
            f"{name}() must take the transaction first, def {name}(tx, item), and write"
            f" with tx.run(...): {WHY_TX}"
        ) from None


class CheckpointContext:
    """What a loader's ``_checkpoint_context`` parameter receives (the seed's names).

    :meth:`process_items` runs the checkpointed loop; the item methods serve loops written
    by hand. ``processed_count`` and ``failed_count`` count this call's items.
    """

    def __init__(
        self,
        run: core.Run,
        loader_name: str,
        checkpoint_interval: int,
        get_item_id: Callable[[Any], Any],
        get_total_items: Callable[[Any], int],
    ) -> None:
        self.run = run
        self.loader_name = loader_name
        self.checkpoint_interval = checkpoint_interval
        self.get_item_id = id_reader(get_item_id)
        self.get_total_items = get_total_items
        self.total_items = 0
        self.processed_count = 0
        self.failed_count = 0
        self.used = False
        self._checkpoint: LoaderCheckpoint | None = None
        self._misuse: TransactionRequiredError | None = None
        self._said_no_op = False
        self._loader = core.checkpoint_loader(
            name=loader_name, batch_size=checkpoint_interval, item_id=self.get_item_id
        )(_process_batch)

    @property
    def checkpoint(self) -> LoaderCheckpoint:
        """The per-item checkpoint of this loader in the run (created on first use)."""
        self.used = True
        if self._checkpoint is None:
            self._checkpoint = LoaderCheckpoint(self.run, self.loader_name)
            self._checkpoint.set_total_items(self.total_items)
        return self._checkpoint

    def set_total_items(self, items: Any) -> None:
        """Set the expected number of items: a count, or the items (``get_total_items``)."""
        self.total_items = items if isinstance(items, int) else self.get_total_items(items)
        if self._checkpoint is not None:
            self._checkpoint.set_total_items(self.total_items)

    def is_processed(self, item: Any, tx: Any = None) -> bool:
        """True if the item was processed in this run (read inside ``tx`` when given)."""
        return self.checkpoint.is_processed(self.get_item_id(item), tx=tx)

    def mark_processed(self, item: Any, tx: Any = None) -> None:
        """Record the item as processed, inside ``tx``, the transaction that wrote it."""
        if self.checkpoint.mark_processed(self.get_item_id(item), tx=tx):
            self.processed_count += 1

    def mark_failed(self, item: Any, error_message: BaseException | str) -> None:
        """Record the item as failed with its error; it is retried on the next pass."""
        self.checkpoint.mark_failed(self.get_item_id(item), error_message)
        self.failed_count += 1

    def save_progress_if_needed(self, current_index: int) -> None:
        """Does nothing: progress is committed with each batch, in the data's transaction."""
        if not self._said_no_op:
            self._said_no_op = True
            log.debug(
                "%s: save_progress_if_needed() does nothing: progress is committed with each"
                " batch, in the same transaction as the data",
                self.loader_name,
            )

    def process_items(
        self, items: Iterable[Any], process_func: Callable[[Any, Any], Any]
    ) -> core.LoadResult:
        """Call ``process_func(tx, item)`` for each item not processed yet in this run.

        Items go ``checkpoint_interval`` to a transaction, which also records them. An item
        whose function raises is recorded as failed with its error and retried on the next
        pass; the others commit. Code outside ``tx`` may run more than once for an item.
        """
        _require_tx_first(process_func)
        self.used = True
        self._misuse = None
        if isinstance(items, Sized):
            self.set_total_items(items)
        name = name_of(process_func)

        def call(tx: Any, item: Any) -> Any:
            try:
                return process_func(tx, item)
            except AttributeError as exc:
                if getattr(exc, "obj", None) is not tx or exc.name not in SESSION_ONLY:
                    raise
                self._misuse = TransactionRequiredError(
                    f"{name}() called tx.{exc.name}(), but tx is a transaction, not a"
                    " session: call the work with it directly, helper(tx, ...) instead of"
                    f" session.execute_write(helper, ...): {WHY_TX}"
                )
                raise self._misuse from exc

        result: core.LoadResult = self._loader(self.run, items, call)
        self.processed_count += result.processed
        self.failed_count += result.failed
        if self._misuse is not None:
            raise self._misuse
        return result

    def finish(self) -> None:
        """Log the loader's final figures (and end a hand-driven checkpoint)."""
        if not self.used:
            log.warning(
                "%s never used its _checkpoint_context: nothing was checkpointed; hand the"
                " per-item work to _checkpoint_context.process_items(items, process_item)",
                self.loader_name,
            )
            return
        if self._checkpoint is not None:
            self._checkpoint.complete()
        figures = [p.as_dict() for p in self.run.progress() if p.loader == self.loader_name]
        stats = seed_stats(figures[0] if figures else {}, self.total_items)
        log.info(
            "final progress for %s: %d/%d (%.1f%%), %d failed",
            self.loader_name,
            stats["processed_count"],
            stats["total_items"],
            stats["completion_percentage"],
            stats["failure_count"],
        )


def _first_argument(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args:
        return args[0]
    params = list(inspect.signature(func).parameters)
    return kwargs.get(params[0]) if params else None


def with_checkpoint(
    checkpoint_interval: int = 25,
    get_item_id: Callable[[Any], Any] | None = None,
    get_total_items: Callable[[Any], int] | None = None,
    *,
    name: str | None = None,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Checkpoint a seed-style loader ``load(conn, ..., _checkpoint_context=None)``.

    The loader is called as before, with the connection first (positionally or as
    ``conn=``), with or without its items, and with ``checkpoint_manager=`` as the seed's
    ``main.py`` passes it; the function receives a :class:`CheckpointContext`. The run is
    the manager's current run (one is resumed or started when it has none); without a
    manager, the call opens a run of its own on the connection's driver, resumes it after a
    crash, and ends it when the call returns. ``get_item_id`` defaults to
    :func:`default_item_id`; ``name`` (the recorded loader name) to the function's name.
    """
    if isinstance(checkpoint_interval, bool) or not isinstance(checkpoint_interval, int):
        raise TypeError(f"checkpoint_interval must be an int, got {checkpoint_interval!r}")
    if checkpoint_interval < 1:
        raise ValueError(f"checkpoint_interval must be at least 1, got {checkpoint_interval}")
    id_of = get_item_id or default_item_id
    total_of = get_total_items or default_total

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        if inspect.iscoroutinefunction(func):
            raise TypeError(
                f"{name_of(func)} is async: use graph_checkpoint.checkpoint_loader with an"
                " AsyncCheckpointManager; graph_checkpoint.compat is for sync loaders"
            )
        loader_name = name or name_of(func)
        parameters = inspect.signature(func).parameters
        takes_context = "_checkpoint_context" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

        def call(run: core.Run, args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
            context = CheckpointContext(run, loader_name, checkpoint_interval, id_of, total_of)
            if takes_context:
                kwargs["_checkpoint_context"] = context
            result = func(*args, **kwargs)
            context.finish()
            return result

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            manager = kwargs.pop("checkpoint_manager", None)
            if manager is not None and "checkpoint_manager" in parameters:
                kwargs["checkpoint_manager"] = manager
            if isinstance(manager, core.CheckpointManager):
                manager = CheckpointManager(manager)
            if isinstance(manager, CheckpointManager):
                try:
                    result = call(manager.ensure_run(f"{loader_name} (compat)"), args, kwargs)
                except Exception as exc:
                    manager.mark_loader_failed(loader_name, f"{exc}\n{traceback.format_exc()}")
                    raise
                manager.forget_failure(loader_name)
                return result
            if manager is not None:
                raise TypeError(
                    f"checkpoint_manager must be a CheckpointManager, got {type(manager).__name__}"
                )
            conn = _first_argument(func, args, kwargs)
            if isinstance(conn, core.Run):
                return call(conn, args, kwargs)
            found = driver_of(conn)
            if found is None:
                raise TypeError(
                    f"{loader_name}() takes the connection (with .driver) or the neo4j driver"
                    f" first, or checkpoint_manager=; got {type(conn).__name__}"
                )
            own = core.CheckpointManager(*found)
            with own.run(
                description=f"{loader_name} (compat)", config={"compat_loader": loader_name}
            ) as run:
                return call(run, args, kwargs)

        return wrapper

    return decorate


def checkpoint_loader(
    checkpoint_interval: int = 25,
    get_item_id: Callable[[Any], Any] | None = None,
    get_total_items: Callable[[Any], int] | None = None,
    *,
    name: str | None = None,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The seed's ``@checkpoint_loader(checkpoint_interval=25)``: see :func:`with_checkpoint`.

    Items are identified by ``item.id`` unless ``get_item_id`` says otherwise.
    """
    return with_checkpoint(checkpoint_interval, get_item_id, get_total_items, name=name)


def _zaak_id(item: Any) -> str:
    return f"{item.nummer}_{item.id}"


def checkpoint_zaak_loader(
    checkpoint_interval: int = 25,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The seed's decorator for items identified by ``f"{item.nummer}_{item.id}"``."""
    return with_checkpoint(checkpoint_interval, _zaak_id)
