"""Performs the steps of ``_ops`` and ``_engine`` with the asyncio driver.

The mirror of ``_sync_io``: only the I/O differs (``await``, tasks instead of threads);
what to query, how to split a failing batch and how to count are the shared generators.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterable, Callable, Generator, Iterable
from typing import Any

import neo4j
import neo4j.exceptions as neo4j_errors

from . import _cypher, _engine, _ops
from ._connection import translate_error
from ._engine import CallLoader, Commit, Entry, Fail, LoaderOptions, Scope, Tally, TxQuery
from ._items import ItemId
from .model import LoadResult

log = logging.getLogger("graph_checkpoint")


async def drive(gen: Generator[Any, Any, Any], perform: Callable[[Any], Any]) -> Any:
    """Run a step generator to its end, awaiting each step's result (see ``_sync_io.drive``)."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            value, error = await perform(step), None
        except Exception as exc:
            value, error = None, exc


class AsyncIO:
    """Runs checkpoint operations on one async driver and database, with causal chaining."""

    def __init__(self, driver: neo4j.AsyncDriver, database: str | None) -> None:
        self.driver = driver
        self.database = database
        self.bookmarks = neo4j.AsyncGraphDatabase.bookmark_manager()
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()

    def session(self, write: bool = True, quiet: bool = True) -> neo4j.AsyncSession:
        """A new session on the configured database, sharing this manager's bookmarks."""
        return self.driver.session(
            database=self.database,
            bookmark_manager=self.bookmarks,
            default_access_mode=neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS,
            notifications_min_severity="OFF" if quiet else "WARNING",
            notifications_disabled_classifications=None if quiet else ["UNRECOGNIZED"],
        )

    async def run(self, op: Generator[Any, Any, Any]) -> Any:
        """Perform an operation from ``_ops`` and return its result."""
        try:
            return await drive(op, self._perform)
        except Exception as exc:
            translated = translate_error(exc, self.database)
            if translated is exc:
                raise
            raise translated from exc

    async def ensure_schema(self) -> None:
        """Apply ``cypher/schema.cypher`` once per manager."""
        async with self._schema_lock:
            if not self._schema_ready:
                await self.run(_ops.ensure_schema())
                self._schema_ready = True

    async def _perform(self, step: _ops.Step) -> Any:
        if isinstance(step, _ops.Schema):
            async with self.session() as session:
                for statement in _cypher.schema_statements():
                    await (await session.run(statement)).consume()
                await (await session.run("CALL db.awaitIndexes(300)")).consume()
            return None
        text = _cypher.query(step.name)

        async def work(tx: neo4j.AsyncManagedTransaction) -> list[dict[str, Any]]:
            return await (await tx.run(text, step.params)).data()

        if isinstance(step, _ops.Read):
            async with self.session(write=False) as session:
                return await session.execute_read(work)
        try:
            async with self.session() as session:
                return await session.execute_write(work)
        except neo4j_errors.ConstraintError:
            if step.conflict_ok:
                return None
            raise


async def _aiter_batches(
    items: Iterable[Any] | AsyncIterable[Any], get_id: Callable[[Any], ItemId], batch_size: int
) -> Any:
    """Batches from a sync or an async iterable, cut by the shared ``_engine.batches``."""
    if not isinstance(items, AsyncIterable):
        for batch in _engine.batches(items, get_id, batch_size):
            yield batch
        return
    chunk: list[Any] = []
    try:
        async for item in items:
            chunk.append(item)
            if len(chunk) >= batch_size:
                for batch in _engine.batches(chunk, get_id, batch_size):
                    yield batch
                chunk = []
    except Exception:
        # As in the sync path: what was read before the input broke still gets committed.
        for batch in _engine.batches(chunk, get_id, batch_size):
            yield batch
        raise
    for batch in _engine.batches(chunk, get_id, batch_size):
        yield batch


async def run_loader(
    io: AsyncIO,
    run_id: str,
    loader: Callable[..., Any],
    items: Iterable[Any] | AsyncIterable[Any],
    get_id: Callable[[Any], ItemId],
    options: LoaderOptions,
    extra_args: tuple[Any, ...] = (),
    extra_kwargs: dict[str, Any] | None = None,
) -> LoadResult:
    """Load ``items`` through ``await loader(tx, batch, ...)`` with checkpoints."""
    kwargs = extra_kwargs or {}
    name = options.name
    load = _engine.Load(run_id, options, items)
    await io.run(_ops.start_loader(run_id, name, load.total))
    load.begin()
    sessions = {id(w): io.session(quiet=False) for w in load.workers}
    # A server-side timeout turns a batch that hangs (say, on a lock held by a transaction
    # the loader opened itself) into an error instead of a stalled load.
    work = neo4j.unit_of_work(timeout=options.transaction_timeout)(
        functools.partial(_transaction_work)
    )

    async def call_loader(tx: neo4j.AsyncManagedTransaction, batch: list[Any]) -> Any:
        returned = loader(tx, batch, *extra_args, **kwargs)
        if inspect.isawaitable(returned):
            returned = await returned
        return returned

    async def process(worker: _engine.WorkerState, entries: list[Entry], duplicates: int) -> Tally:
        worker.pending_skipped += duplicates

        async def perform(step: Commit | Fail) -> Any:
            if isinstance(step, Fail):
                _engine.log_failure(name, step)
                return await io.run(
                    _ops.record_failure(run_id, name, worker.shard, step.entry[0], step.error)
                )
            outcome: _engine.TxOutcome = await sessions[id(worker)].execute_write(
                work,
                load.scope(worker),
                step.entries,
                worker.pending_skipped,
                call_loader,
            )
            worker.committed(outcome)
            return outcome

        tally: Tally = await drive(_engine.split_until_isolated(entries), perform)
        tally.skipped += duplicates
        return tally

    status = "failed"
    try:
        idle: asyncio.Queue[_engine.WorkerState] = asyncio.Queue()
        for worker in load.workers:
            idle.put_nowait(worker)

        async def task(entries: list[Entry], duplicates: int) -> Tally:
            worker = await idle.get()
            try:
                return await process(worker, entries, duplicates)
            finally:
                idle.put_nowait(worker)

        inflight: set[asyncio.Task[Tally]] = set()
        try:
            async for entries, duplicates in _aiter_batches(items, get_id, options.batch_size):
                # At most two batches per worker are read ahead, so memory stays bounded.
                while len(inflight) >= 2 * options.workers:
                    done, inflight = await asyncio.wait(
                        inflight, return_when=asyncio.FIRST_COMPLETED
                    )
                    for finished in done:
                        load.batch_done(finished.result())
                inflight.add(asyncio.ensure_future(task(entries, duplicates)))
            if inflight:
                done, inflight = await asyncio.wait(inflight)
                for finished in done:
                    load.batch_done(finished.result())
        finally:
            if inflight:
                # Let running batches finish: each commits whole or not at all.
                await asyncio.wait(inflight)
        for worker in load.workers:
            await io.run(_ops.add_skipped(run_id, name, worker.shard, worker.take_pending()))
        status = "completed"
    except BaseException as exc:
        status = _engine.status_after(exc)
        raise
    finally:
        load.close()
        for session in sessions.values():
            await session.close()
        try:
            await io.run(_ops.finish_loader(run_id, name, status))
        except Exception as exc:  # the load's own error matters more than this one
            log.warning("%s: could not record loader status %s: %s", name, status, exc)
    return load.result


async def _transaction_work(
    tx: neo4j.AsyncManagedTransaction,
    scope: Scope,
    entries: list[Entry],
    pending_skipped: int,
    call_loader: Callable[[neo4j.AsyncManagedTransaction, list[Any]], Any],
) -> _engine.TxOutcome:
    async def perform(step: TxQuery | CallLoader) -> Any:
        if isinstance(step, TxQuery):
            return await (await tx.run(step.text, step.params)).data()
        await call_loader(tx, step.items)
        return None

    outcome: _engine.TxOutcome = await drive(
        _engine.batch_transaction(scope, entries, pending_skipped), perform
    )
    return outcome
