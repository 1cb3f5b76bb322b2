"""Performs the steps of ``_ops`` and ``_engine`` with the driver.

What to query, how to split a failing batch and how to count are the shared generators of
``_ops`` and ``_engine``; this module only carries their steps out, in managed transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import neo4j
import neo4j.exceptions as neo4j_errors

from .. import _compaction, _cypher, _engine, _ops
from .._compat import AsyncItems, AsyncLock, AsyncUtil, AsyncWorkerPool
from .._connection import translate_error
from .._engine import (
    CallLoader,
    Commit,
    Entry,
    Fail,
    LoaderOptions,
    Scope,
    Tally,
    TxOutcome,
    TxQuery,
    WorkerState,
)
from .._items import ItemId
from ..model import LoadResult, RunStatus

T = TypeVar("T")

log = logging.getLogger("graph_checkpoint")


async def drive(gen: Generator[Any, Any, T], perform: Callable[[Any], Any]) -> T:
    """Run a step generator to its end, performing each step and sending back the result.

    An exception raised while performing a step is thrown into the generator, which may
    handle it (the engine's split-on-failure does) or let it propagate.
    """
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result
        try:
            value, error = await perform(step), None
        except Exception as exc:
            value, error = None, exc


# The driver (6.x) may fail a transaction's clean-up after the work function raised: when it
# rolls back before the server's reset came through, it reads the failed result again and
# raises ResultFailedError from the original error, which its own retry loop then gives up on.
_CLEANUP_TRIES = 5


async def execute(
    session: neo4j.AsyncSession, write: bool, work: Callable[..., Any], *args: Any
) -> Any:
    """``session.execute_write(work, *args)`` (or ``execute_read``), with the driver's
    clean-up failure undone: the original error is raised instead, and a transient one is
    tried again, as the driver would have."""
    for attempt in range(1, _CLEANUP_TRIES + 1):
        try:
            if write:
                return await session.execute_write(work, *args)
            return await session.execute_read(work, *args)
        except neo4j_errors.ResultFailedError as exc:
            original = exc.__cause__
            if not isinstance(original, (neo4j_errors.Neo4jError, neo4j_errors.DriverError)):
                raise
            if not original.is_retryable() or attempt == _CLEANUP_TRIES:
                raise original from None
            log.debug("transaction failed (%s); trying it again", original)
    raise AssertionError("unreachable")  # pragma: no cover


class AsyncExecutor:
    """Runs checkpoint operations on one driver and database, with causal chaining."""

    def __init__(self, driver: neo4j.AsyncDriver, database: str | None) -> None:
        self.driver = driver
        self.database = database
        # One bookmark manager for every session of this manager: a read after a write, in
        # any thread or task, sees that write even on a cluster.
        self.bookmarks = neo4j.AsyncGraphDatabase.bookmark_manager()
        self._schema_ready = False
        self._schema_lock = AsyncLock()

    def session(self, write: bool = True, quiet: bool = True) -> neo4j.AsyncSession:
        """A new session on the configured database, sharing this manager's bookmarks.

        ``quiet`` silences the server's notifications, which for graph-checkpoint's own
        queries are only noise (such as "property key does not exist" on an empty graph);
        sessions that also run the user's queries keep the warnings.
        """
        return self.driver.session(
            database=self.database,
            bookmark_manager=self.bookmarks,
            default_access_mode=neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS,
            notifications_min_severity="OFF" if quiet else "WARNING",
            notifications_disabled_classifications=None if quiet else ["UNRECOGNIZED"],
        )

    async def run(self, op: _ops.Op[T], *, retry: bool = True) -> T:
        """Perform an operation from ``_ops`` and return its result.

        ``retry=False`` tries each query once, in an auto-commit transaction: for the last
        words of a load the server just failed, so a dead server costs one retry window
        (the batch's), not one more per step.
        """
        perform = self._perform if retry else self._perform_once
        try:
            return await drive(op, perform)
        except Exception as exc:
            translated = translate_error(exc, self.database)
            if translated is exc:
                raise
            raise translated from exc

    async def ensure_schema(self, again: bool = False) -> None:
        """Apply ``cypher/schema.cypher``: once per manager, or ``again`` if asked."""
        async with self._schema_lock:
            if again or not self._schema_ready:
                await self.run(_ops.ensure_schema())
                self._schema_ready = True

    async def _perform_once(self, step: _ops.Step) -> Any:
        if isinstance(step, _ops.Schema):
            return await self._perform(step)
        async with self.session(write=isinstance(step, _ops.Write)) as session:
            result = await session.run(_cypher.query(step.name), step.params)
            return await result.data()

    async def _perform(self, step: _ops.Step) -> Any:
        if isinstance(step, _ops.Schema):
            async with self.session() as session:
                for statement in (*_cypher.schema_statements(), "CALL db.awaitIndexes(300)"):
                    result = await session.run(statement)
                    await result.consume()
            return None
        text = _cypher.query(step.name)

        async def work(tx: neo4j.AsyncManagedTransaction) -> list[dict[str, Any]]:
            result = await tx.run(text, step.params)
            return await result.data()

        if isinstance(step, _ops.Read):
            async with self.session(write=False) as session:
                return await execute(session, False, work)
        try:
            async with self.session() as session:
                return await execute(session, True, work)
        except neo4j_errors.ConstraintError:
            if step.conflict_ok:
                return None
            raise


async def run_loader(
    executor: AsyncExecutor,
    run_id: str,
    loader: Callable[..., Any],
    items: AsyncItems,
    get_id: Callable[[Any], ItemId],
    options: LoaderOptions,
    extra_args: tuple[Any, ...] = (),
    extra_kwargs: dict[str, Any] | None = None,
    track: Callable[[LoadResult, bool], None] | None = None,
) -> LoadResult:
    """Load ``items`` through ``loader(tx, batch, *args, **kwargs)``, checkpointed.

    ``track(result, running)`` is handed the load's result as it starts (``running``) and as
    it ends, to follow its counts while it runs.
    """
    kwargs = extra_kwargs or {}
    name = options.name
    load = _engine.Load(run_id, options, items)
    if track is not None:
        track(load.result, True)
    await executor.run(_ops.start_loader(run_id, name, load.total))
    load.begin()
    # Each worker writes through its own session: sessions are not safe to share.
    sessions = {id(w): executor.session(quiet=False) for w in load.workers}
    # A server-side timeout turns a batch that hangs (say, on a lock held by a transaction
    # the loader opened itself) into an error instead of a stalled load.
    work = neo4j.unit_of_work(timeout=options.transaction_timeout)(_transaction_work)

    async def call_loader(tx: neo4j.AsyncManagedTransaction, batch: list[Any]) -> None:
        await AsyncUtil.call(loader, tx, batch, *extra_args, **kwargs)

    async def process(worker: WorkerState, entries: list[Entry], duplicates: int) -> Tally:
        worker.pending_skipped += duplicates
        known = worker.skip_known(entries)
        if known is not None:
            known.skipped += duplicates
            return known

        async def perform(step: Commit | Fail) -> Any:
            if isinstance(step, Fail):
                _engine.log_failure(name, step)
                return await executor.run(
                    _ops.record_failure(run_id, name, worker.shard, step.entry[0], step.error)
                )
            outcome: TxOutcome = await execute(
                sessions[id(worker)],
                True,
                work,
                load.scope(worker),
                step.entries,
                worker.pending_skipped,
                step.verify,
                call_loader,
            )
            worker.committed(outcome)
            return outcome

        steps = _engine.split_until_isolated(entries, load.failures, worker.verify)
        tally = await drive(steps, perform)
        tally.skipped += duplicates
        return tally

    status = RunStatus.FAILED
    try:
        batches = AsyncUtil.iter_batches(items, get_id, options.batch_size)
        if options.workers == 1:
            async for entries, duplicates in batches:
                load.batch_done(await process(load.workers[0], entries, duplicates))
        else:
            pool: AsyncWorkerPool[WorkerState, Tally] = AsyncWorkerPool(load.workers, process)
            try:
                async for entries, duplicates in batches:
                    for tally in await pool.submit(entries, duplicates):
                        load.batch_done(tally)
                for tally in await pool.drain():
                    load.batch_done(tally)
            finally:
                await pool.close()
        for worker in load.workers:
            await executor.run(_ops.add_skipped(run_id, name, worker.shard, worker.take_pending()))
        status = RunStatus.COMPLETED
        # Records this call wrote as single ranges and chunks are already as compact as
        # they get: only a call that scattered some pays for a compaction.
        if options.compact and any(worker.scattered for worker in load.workers):
            await _compact(executor, run_id, name)
    except BaseException as exc:
        status = _engine.status_after(exc)
        raise
    finally:
        load.close()
        if track is not None:
            track(load.result, False)
        for session in sessions.values():
            await session.close()
        try:
            # After an interruption the server is likely gone: one try, not another window.
            await executor.run(
                _ops.finish_loader(run_id, name, status),
                retry=status is not RunStatus.INTERRUPTED,
            )
        except Exception as exc:  # the load's own error matters more than this one
            log.warning("%s: could not record loader status %s: %s", name, status, exc)
    return load.result


async def _compact(executor: AsyncExecutor, run_id: str, loader: str) -> None:
    """Merge the loader's records after a completed call; a failure only costs store space."""
    try:
        stats = await executor.run(_compaction.compact_loader(run_id, loader))
    except Exception as exc:  # the load itself succeeded: say so, and carry on
        log.warning(
            "%s: could not compact its records (%s); 'graph-ckpt compact %s' does it later",
            loader,
            exc,
            run_id,
        )
        return
    log.debug("%s: compacted its records: %s", loader, stats)


async def _transaction_work(
    tx: neo4j.AsyncManagedTransaction,
    scope: Scope,
    entries: list[Entry],
    pending_skipped: int,
    verify: bool,
    call_loader: Callable[[neo4j.AsyncManagedTransaction, list[Any]], Any],
) -> TxOutcome:
    async def perform(step: TxQuery | CallLoader) -> Any:
        if isinstance(step, TxQuery):
            result = await tx.run(step.text, step.params)
            return await result.data()
        await call_loader(tx, step.items)
        return None

    # Errors are not handled inside the transaction: they fail it whole, and the driver
    # retries it or hands the error to split_until_isolated.
    return await drive(_engine.batch_transaction(scope, entries, pending_skipped, verify), perform)
