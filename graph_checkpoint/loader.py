"""The ``@checkpoint_loader`` decorator.

It wraps a sync loader in a :class:`CheckpointedLoader` and an ``async def`` one in an
:class:`AsyncCheckpointedLoader`; both run the same engine (see docs/architecture.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar, cast, overload

from ._async.loader import AsyncCheckpointContext, AsyncCheckpointedLoader
from ._engine import LoaderOptions
from ._items import IdSpec, validate_loader_name
from ._sync.loader import CheckpointContext, CheckpointedLoader
from .budget import DEFAULT_FAILURE_BUDGET, FailureBudget
from .progress import Progress

__all__ = [
    "AsyncCheckpointContext",
    "AsyncCheckpointedLoader",
    "CheckpointContext",
    "CheckpointedLoader",
    "checkpoint_loader",
]

AsyncF = TypeVar("AsyncF", bound=Callable[..., Coroutine[Any, Any, Any]])
F = TypeVar("F", bound=Callable[..., Any])


class _Decorator(Protocol):
    """What ``checkpoint_loader(...)`` returns: wraps an ``async def`` or a plain function."""

    @overload
    def __call__(self, func: AsyncF, /) -> AsyncCheckpointedLoader: ...

    @overload
    def __call__(self, func: F, /) -> CheckpointedLoader: ...


@overload
def checkpoint_loader(func: AsyncF, /) -> AsyncCheckpointedLoader: ...


@overload
def checkpoint_loader(func: F, /) -> CheckpointedLoader: ...


@overload
def checkpoint_loader(
    loader_name: str | None = None,
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
    failure_budget: FailureBudget | None = DEFAULT_FAILURE_BUDGET,
    compact: bool = True,
) -> _Decorator: ...


def checkpoint_loader(
    func: Callable[..., Any] | str | None = None,
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
    failure_budget: FailureBudget | None = DEFAULT_FAILURE_BUDGET,
    compact: bool = True,
) -> CheckpointedLoader | AsyncCheckpointedLoader | _Decorator:
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

    Options: ``name`` (default: the function's name; ``@checkpoint_loader("people")`` names
    it too), ``batch_size`` (default 1000; the
    seed's ``checkpoint_interval`` is an alias), ``item_id`` (key or attribute name, or a
    callable; default: the item itself if it is a str or int, else its ``"id"``),
    ``workers`` (batches loaded at once, each in its own transaction), ``retry_failed`` and
    ``max_attempts`` (whether and how often failed items are tried again on resume),
    ``progress`` (a bar on a terminal; None means when stderr is a TTY), ``on_progress``
    (called with a :class:`Progress` after each batch) and ``transaction_timeout`` (seconds
    after which the server aborts a batch's transaction: a batch that hangs then stops the
    load with the server's error instead, leaving the run resumable), ``failure_budget``
    (a :class:`FailureBudget`: by default a load whose first 100 tried items all fail stops
    with :class:`FailureBudgetExceededError` and its run ends failed; None tolerates any
    number of failed items), ``compact`` (when a call completes, merge the loader's records
    into the fewest ranges and chunks, in bounded transactions; see docs/graph-model.md).
    """
    if isinstance(func, str):
        if name is not None and name != func:
            raise TypeError(f"give the loader name once, not both {func!r} and name={name!r}")
        name, func = func, None
    if (
        batch_size is not None
        and checkpoint_interval is not None
        and batch_size != checkpoint_interval
    ):
        raise ValueError("give batch_size or checkpoint_interval, not both")
    size = batch_size or checkpoint_interval or 1000

    def decorate(target: Callable[..., Any]) -> Any:
        options = LoaderOptions(
            name=validate_loader_name(name or target.__name__),
            batch_size=size,
            workers=workers,
            retry_failed=retry_failed,
            max_attempts=max_attempts,
            progress=progress,
            on_progress=on_progress,
            transaction_timeout=transaction_timeout,
            failure_budget=failure_budget,
            compact=compact,
        )
        if inspect.iscoroutinefunction(target):
            return AsyncCheckpointedLoader(target, options, item_id)
        return CheckpointedLoader(target, options, item_id)

    if func is not None:
        loader: CheckpointedLoader | AsyncCheckpointedLoader = decorate(func)
        return loader
    return cast(_Decorator, decorate)
