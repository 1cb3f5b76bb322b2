"""The asyncio API: the same runs, loaders and guarantees on ``neo4j.AsyncDriver``.

>>> manager = AsyncCheckpointManager(async_driver)                    # doctest: +SKIP
>>> @checkpoint_loader(batch_size=500, item_id="id")                  # doctest: +SKIP
... async def load_people(tx, rows):
...     await tx.run("UNWIND $rows AS r MERGE (p:Person {id: r.id})", rows=rows)
>>> async with await manager.run(config={"source": "people.csv"}) as run:  # doctest: +SKIP
...     print(await load_people(run, rows))

``checkpoint_loader`` recognises ``async def`` functions and returns an
:class:`AsyncCheckpointedLoader`. Items may be a plain or an async iterable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import neo4j

from . import _cypher, _engine, _ops
from ._async_io import AsyncIO, run_loader
from ._engine import LoaderOptions
from ._items import IdSpec, ItemId, check_item_id, id_getter, validate_loader_name
from .errors import GraphCheckpointError, RunStateError
from .model import LoaderProgress, LoadResult, RunInfo

__all__ = ["AsyncCheckpointManager", "AsyncCheckpointedLoader", "AsyncLoaderCheckpoint", "AsyncRun"]

log = logging.getLogger("graph_checkpoint")


class AsyncRun:
    """The asyncio twin of :class:`~graph_checkpoint.Run`; use with ``async with``."""

    def __init__(self, manager: AsyncCheckpointManager, info: RunInfo) -> None:
        self.manager = manager
        self.info = info
        self._closed = False
        self._heartbeat = asyncio.ensure_future(self._beat())

    def __repr__(self) -> str:
        return f"<AsyncRun {self.run_id} {self.info.status}>"

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.info.run_id

    @property
    def closed(self) -> bool:
        """True once the run was ended in this process."""
        return self._closed

    def check_open(self) -> None:
        """Raise :class:`RunStateError` if the run was already ended in this process."""
        if self._closed:
            raise RunStateError(
                f"run {self.run_id} is already {self.info.status}: resume it with"
                " await manager.resume_run(run_id) to load more"
            )

    async def progress(self) -> list[LoaderProgress]:
        """Per-loader progress, read from the database."""
        result: list[LoaderProgress] = await self.manager._io.run(_ops.loader_progress(self.run_id))
        return result

    async def complete(self) -> RunInfo:
        """Mark the run completed."""
        return await self._finish("completed", None)

    async def fail(self, error: BaseException | str) -> RunInfo:
        """Mark the run failed with ``error``; it can be resumed later."""
        return await self._finish("failed", error)

    async def interrupt(self, error: BaseException | str | None = None) -> RunInfo:
        """Mark the run interrupted; it can be resumed later."""
        return await self._finish("interrupted", error)

    async def _finish(self, status: str, error: BaseException | str | None) -> RunInfo:
        self.check_open()
        await self._stop_heartbeat()
        self.info = await self.manager._io.run(_ops.finish_run(self.run_id, status, error))
        self._closed = True
        log.info("run %s %s", self.run_id, status)
        return self.info

    async def _stop_heartbeat(self) -> None:
        self._heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._heartbeat

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.manager.heartbeat_interval)
            try:
                await self.manager._io.run(_ops.heartbeat(self.run_id))
            except Exception as exc:  # a missed beat is harmless; the next one may pass
                log.debug("heartbeat of run %s failed: %s", self.run_id, exc)

    async def __aenter__(self) -> AsyncRun:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        status = _engine.status_after(exc)
        try:
            await self._finish(status, exc)
        except Exception as finish_error:
            await self._stop_heartbeat()
            if exc is None:
                raise
            log.warning("could not mark run %s %s: %s", self.run_id, status, finish_error)


class AsyncCheckpointManager:
    """The asyncio twin of :class:`~graph_checkpoint.CheckpointManager`, on an AsyncDriver."""

    def __init__(
        self,
        driver: neo4j.AsyncDriver,
        database: str | None = None,
        *,
        heartbeat_interval: float = 15.0,
    ) -> None:
        if not isinstance(driver, neo4j.AsyncDriver):
            raise TypeError(
                f"AsyncCheckpointManager needs a neo4j.AsyncDriver, got {type(driver).__name__}"
            )
        self.driver = driver
        self.database = database
        self.heartbeat_interval = heartbeat_interval
        self._io = AsyncIO(driver, database)

    def __repr__(self) -> str:
        return f"<AsyncCheckpointManager database={self.database or '(default)'}>"

    async def ensure_schema(self) -> None:
        """Create the checkpoint constraints and indexes if they are missing."""
        await self._io.run(_ops.ensure_schema())

    async def run(
        self,
        description: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        force: bool = False,
    ) -> AsyncRun:
        """Resume the newest incomplete run with this config, else start one (see the sync API)."""
        await self._io.ensure_schema()
        info = await self._io.run(_ops.open_run(description, config, run_id, force))
        return AsyncRun(self, info)

    async def start_run(
        self,
        description: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
    ) -> AsyncRun:
        """Start a new run."""
        await self._io.ensure_schema()
        return AsyncRun(self, await self._io.run(_ops.create_run(description, config, run_id)))

    async def resume_run(
        self,
        run_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
    ) -> AsyncRun:
        """Resume ``run_id``, or the newest incomplete run when it is None."""
        await self._io.ensure_schema()
        return AsyncRun(self, await self._io.run(_ops.resume_run(run_id, config, force)))

    async def get_run(self, run_id: str) -> RunInfo:
        """Read one run. Raises :class:`RunNotFoundError` for an unknown id."""
        info: RunInfo = await self._io.run(_ops.get_run(run_id))
        return info

    async def progress(self, run_id: str) -> list[LoaderProgress]:
        """Per-loader progress of a run."""
        result: list[LoaderProgress] = await self._io.run(_ops.loader_progress(run_id))
        return result


class AsyncCheckpointedLoader:
    """An ``async def`` loader wrapped by :func:`~graph_checkpoint.checkpoint_loader`.

    Call it as ``await loader(run, items, *args, **kwargs)`` with an :class:`AsyncRun`;
    ``items`` may be an iterable or an async iterable.
    """

    def __init__(self, func: Callable[..., Any], options: LoaderOptions, item_id: IdSpec) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.options = options
        self._get_id = id_getter(item_id)

    @property
    def name(self) -> str:
        """The loader name recorded in the graph."""
        return self.options.name

    def __repr__(self) -> str:
        return f"<checkpoint_loader async {self.name} batch_size={self.options.batch_size}>"

    async def __call__(
        self, run: AsyncRun, items: Iterable[Any] | AsyncIterable[Any], *args: Any, **kwargs: Any
    ) -> LoadResult:
        if not isinstance(run, AsyncRun):
            raise GraphCheckpointError(
                f"{self.name}() takes an AsyncRun as its first argument, got"
                f" {type(run).__name__}: call it inside 'async with await manager.run() as run:'"
            )
        run.check_open()
        return await run_loader(
            run.manager._io,
            run.run_id,
            self.func,
            items,
            self._get_id,
            self.options,
            args,
            kwargs,
        )


class AsyncLoaderCheckpoint:
    """The asyncio twin of :class:`~graph_checkpoint.LoaderCheckpoint` (manual API).

    Create it with ``await AsyncLoaderCheckpoint.open(run, "load_items")``.
    """

    def __init__(self, run: AsyncRun, loader_name: str) -> None:
        self.loader = validate_loader_name(loader_name)
        run.check_open()
        self.run = run
        self._io = run.manager._io
        self._shard = _engine.shard_base()

    @classmethod
    async def open(cls, run: AsyncRun, loader_name: str) -> AsyncLoaderCheckpoint:
        """Register the loader in the run and return its checkpoint."""
        checkpoint = cls(run, loader_name)
        await checkpoint._io.run(_ops.start_loader(run.run_id, checkpoint.loader, None))
        return checkpoint

    async def is_processed(self, item_id: ItemId, tx: Any = None) -> bool:
        """True if the item was processed in this run (pass ``tx`` to check inside it)."""
        check_item_id(item_id, item_id)
        if tx is not None:
            params = {"run_id": self.run.run_id, "loader": self.loader, "item_id": item_id}
            rows = await (await tx.run(_cypher.query("item_status"), params)).data()
            return bool(rows) and rows[0]["status"] == "processed"
        status = await self._io.run(_ops.item_status(self.run.run_id, self.loader, item_id))
        return bool(status == "processed")

    async def mark_processed(self, item_id: ItemId, tx: Any) -> bool:
        """Record the item as processed inside ``tx``, the transaction that wrote its data."""
        check_item_id(item_id, item_id)
        text, params = _ops.mark_processed_params(
            self.run.run_id, self.loader, self._shard, item_id
        )
        rows = await (await tx.run(text, params)).data()
        return bool(rows and rows[0]["marked"])

    async def mark_failed(self, item_id: ItemId, error: BaseException | str) -> int:
        """Record the item as failed with ``error``; returns its attempt count."""
        check_item_id(item_id, item_id)
        attempts: int = await self._io.run(
            _ops.record_failure(self.run.run_id, self.loader, self._shard, item_id, error)
        )
        return attempts

    async def get_progress_stats(self) -> dict[str, Any]:
        """This loader's figures, as in the sync API."""
        for progress in await self.run.progress():
            if progress.loader == self.loader:
                return progress.as_dict()
        return LoaderProgress.not_started(self.loader).as_dict()
