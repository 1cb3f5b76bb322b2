"""The ``@checkpoint_loader`` decorator and the context it hands to seed-style loaders."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from ._engine import LoaderOptions, accumulate
from ._items import IdSpec, id_getter, validate_loader_name
from ._sync_io import run_loader
from .errors import GraphCheckpointError
from .model import LoadResult
from .progress import Progress
from .run import Run

__all__ = ["CheckpointContext", "CheckpointedLoader", "checkpoint_loader"]

F = TypeVar("F", bound=Callable[..., Any])

_CONTEXT_PARAM = "_checkpoint_context"


def _require_run(target: Any, name: str) -> Run:
    if isinstance(target, Run):
        target.check_open()
        return target
    raise GraphCheckpointError(
        f"{name}() takes the run as its first argument, got {type(target).__name__}: call it"
        f" inside 'with manager.run() as run:' as {name}(run, items)"
    )


class CheckpointContext:
    """Handed to loaders that declare a ``_checkpoint_context`` parameter.

    It runs the checkpointed loop for them: :meth:`process_items` calls a function per
    item, :meth:`process_batches` per batch, each inside the transaction that records it.
    """

    def __init__(self, run: Run, options: LoaderOptions, get_id: Callable[[Any], Any]) -> None:
        self.run = run
        self.options = options
        self._get_id = get_id
        self.result = LoadResult(loader=options.name, run_id=run.run_id)

    @property
    def run_id(self) -> str:
        """The id of the run being loaded."""
        return self.run.run_id

    def process_items(
        self, items: Iterable[Any], process_item: Callable[[Any, Any], Any]
    ) -> LoadResult:
        """Call ``process_item(tx, item)`` for each item not processed yet, in batches."""
        _check_arity(process_item, 2, "process_item(tx, item)")

        def per_batch(tx: Any, batch: list[Any]) -> None:
            for item in batch:
                process_item(tx, item)

        return self.process_batches(items, per_batch)

    def process_batches(
        self, items: Iterable[Any], process_batch: Callable[[Any, list[Any]], Any]
    ) -> LoadResult:
        """Call ``process_batch(tx, batch)`` for each batch of items not processed yet."""
        result = run_loader(
            self.run.manager._io,
            self.run.run_id,
            process_batch,
            items,
            self._get_id,
            self.options,
        )
        _merge(self.result, result)
        return result


def _merge(total: LoadResult, part: LoadResult) -> None:
    accumulate(total, part)
    total.elapsed += part.elapsed


def _check_arity(func: Callable[..., Any], count: int, shape: str) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # builtins without a signature: trust the caller
        return
    try:
        signature.bind(*([None] * count))
    except TypeError:
        raise GraphCheckpointError(
            f"{getattr(func, '__name__', func)!s} must accept {shape}: the transaction comes"
            " first so its writes commit together with the checkpoint"
        ) from None


class CheckpointedLoader:
    """A loader function wrapped by :func:`checkpoint_loader`.

    Call it as ``loader(run, items, *args, **kwargs)``. It returns a :class:`LoadResult`
    (for seed-style loaders that take ``_checkpoint_context``, the function's own return
    value when it is not None).
    """

    def __init__(self, func: Callable[..., Any], options: LoaderOptions, item_id: IdSpec) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.options = options
        self.item_id = item_id
        self._get_id = id_getter(item_id)
        self._wants_context = _CONTEXT_PARAM in inspect.signature(func).parameters

    @property
    def name(self) -> str:
        """The loader name recorded in the graph."""
        return self.options.name

    def __repr__(self) -> str:
        return f"<checkpoint_loader {self.name} batch_size={self.options.batch_size}>"

    def __call__(self, run: Run, items: Iterable[Any], *args: Any, **kwargs: Any) -> Any:
        run = _require_run(run, self.name)
        if self._wants_context:
            context = CheckpointContext(run, self.options, self._get_id)
            returned = self.func(run, items, *args, **{_CONTEXT_PARAM: context, **kwargs})
            return context.result if returned is None else returned
        return run_loader(
            run.manager._io,
            run.run_id,
            self.func,
            items,
            self._get_id,
            self.options,
            args,
            kwargs,
        )


@overload
def checkpoint_loader(func: F, /) -> CheckpointedLoader: ...


@overload
def checkpoint_loader(
    *,
    name: str | None = None,
    batch_size: int | None = None,
    item_id: IdSpec = None,
    workers: int = 1,
    retry_failed: bool = True,
    max_attempts: int = 3,
    checkpoint_interval: int | None = None,
    progress: bool | None = None,
    on_progress: Callable[[Progress], Any] | None = None,
    transaction_timeout: float | None = None,
) -> Callable[[F], CheckpointedLoader]: ...


def checkpoint_loader(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    batch_size: int | None = None,
    item_id: IdSpec = None,
    workers: int = 1,
    retry_failed: bool = True,
    max_attempts: int = 3,
    checkpoint_interval: int | None = None,
    progress: bool | None = None,
    on_progress: Callable[[Progress], Any] | None = None,
    transaction_timeout: float | None = None,
) -> CheckpointedLoader | Callable[[F], CheckpointedLoader]:
    """Make a Neo4j loader function resumable and exactly-once.

    The function is called as ``func(tx, batch)`` for each batch of items that this run has
    not processed yet, inside the managed write transaction that also records them::

        @checkpoint_loader(batch_size=500, item_id="id")
        def load_people(tx, rows):
            tx.run("UNWIND $rows AS r MERGE (p:Person {id: r.id}) SET p += r", rows=rows)

        with manager.run(config={"source": "people.csv"}) as run:
            print(load_people(run, rows))

    A function with a ``_checkpoint_context`` parameter is instead called once, as
    ``func(run, items, _checkpoint_context=ctx)``, and drives the loop itself with
    ``ctx.process_items(items, process_item)`` (the seed project's pattern).

    Options: ``name`` (default: the function's name), ``batch_size`` (default 1000; the
    seed's ``checkpoint_interval`` is an alias), ``item_id`` (key or attribute name, or a
    callable; default: the item itself if it is a str or int, else its ``"id"``),
    ``workers`` (batches loaded at once, each in its own transaction), ``retry_failed`` and
    ``max_attempts`` (whether and how often failed items are tried again on resume),
    ``progress`` (a bar on a terminal; None means when stderr is a TTY), ``on_progress``
    (called with a :class:`Progress` after each batch) and ``transaction_timeout`` (seconds
    after which the server aborts a batch's transaction: a batch that hangs then stops the
    load with the server's error instead, leaving the run resumable).
    """
    if (
        batch_size is not None
        and checkpoint_interval is not None
        and batch_size != (checkpoint_interval)
    ):
        raise ValueError("give batch_size or checkpoint_interval, not both")
    size = batch_size or checkpoint_interval or 1000

    def decorate(target: Callable[..., Any]) -> CheckpointedLoader:
        options = LoaderOptions(
            name=validate_loader_name(name or target.__name__),
            batch_size=size,
            workers=workers,
            retry_failed=retry_failed,
            max_attempts=max_attempts,
            progress=progress,
            on_progress=on_progress,
            transaction_timeout=transaction_timeout,
        )
        if inspect.iscoroutinefunction(target):
            from .aio import AsyncCheckpointedLoader

            # Typed as the sync wrapper for the overloads' sake; awaiting it is the async API.
            return AsyncCheckpointedLoader(target, options, item_id)  # type: ignore[return-value]
        return CheckpointedLoader(target, options, item_id)

    if func is not None:
        return decorate(func)
    return decorate
