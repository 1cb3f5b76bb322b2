"""A loader function wrapped by ``@checkpoint_loader``, and the context seed-style loaders get."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._compat import AsyncItems, AsyncUtil
from .._engine import CONTEXT_PARAM, LoaderOptions, add_result, check_arity, wants_context
from .._items import IdSpec, id_getter
from ..model import LoadResult
from .io import run_loader
from .manager import executor_of
from .run import AsyncRun

__all__ = ["AsyncCheckpointContext", "AsyncCheckpointedLoader"]


class AsyncCheckpointContext:
    """Handed to loaders that declare a ``_checkpoint_context`` parameter.

    It runs the checkpointed loop for them: :meth:`process_items` calls a function per
    item, :meth:`process_batches` per batch, each inside the transaction that records it.
    ``result`` adds up what every call did.
    """

    def __init__(self, run: AsyncRun, options: LoaderOptions, get_id: Callable[[Any], Any]) -> None:
        self.run = run
        self.options = options
        self._get_id = get_id
        self.result = LoadResult(loader=options.name, run_id=run.run_id)

    @property
    def run_id(self) -> str:
        """The id of the run being loaded."""
        return self.run.run_id

    async def process_items(
        self, items: AsyncItems, process_item: Callable[[Any, Any], Any]
    ) -> LoadResult:
        """Call ``process_item(tx, item)`` for each item not processed yet, in batches."""
        check_arity(process_item, 2, "process_item(tx, item)")

        async def per_batch(tx: Any, batch: list[Any]) -> None:
            for item in batch:
                await AsyncUtil.call(process_item, tx, item)

        return await self.process_batches(items, per_batch)

    async def process_batches(
        self, items: AsyncItems, process_batch: Callable[[Any, list[Any]], Any]
    ) -> LoadResult:
        """Call ``process_batch(tx, batch)`` for each batch of items not processed yet."""
        result = await run_loader(
            executor_of(self.run.manager),
            self.run.run_id,
            process_batch,
            items,
            self._get_id,
            self.options,
            track=self.run._track,  # noqa: SLF001
        )
        add_result(self.result, result)
        return result


class AsyncCheckpointedLoader:
    """A loader function wrapped by :func:`~graph_checkpoint.checkpoint_loader`.

    Call it as ``loader(run, items, *args, **kwargs)`` with the open run. It returns a
    :class:`LoadResult` (for seed-style loaders that take ``_checkpoint_context``, the
    function's own return value when it is not None).
    """

    def __init__(self, func: Callable[..., Any], options: LoaderOptions, item_id: IdSpec) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.options = options
        self.item_id = item_id
        self._get_id = id_getter(item_id)
        self._wants_context = wants_context(func)

    @property
    def name(self) -> str:
        """The loader name recorded in the graph."""
        return self.options.name

    def __repr__(self) -> str:
        return f"<checkpoint_loader {self.name} batch_size={self.options.batch_size}>"

    async def __call__(self, run: AsyncRun, items: AsyncItems, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(run, AsyncRun):
            raise TypeError(
                f"{self.name}() takes the run ({AsyncRun.__name__}) as its first argument,"
                f" got {type(run).__name__}: call it inside 'async with await manager.run()"
                f" as run:' as await {self.name}(run, items)"
            )
        run.check_open()
        if self._wants_context:
            context = AsyncCheckpointContext(run, self.options, self._get_id)
            returned = await AsyncUtil.call(
                self.func, run, items, *args, **{CONTEXT_PARAM: context, **kwargs}
            )
            return context.result if returned is None else returned
        return await run_loader(
            executor_of(run.manager),
            run.run_id,
            self.func,
            items,
            self._get_id,
            self.options,
            args,
            kwargs,
            track=run._track,  # noqa: SLF001
        )
