"""Performs the steps of ``_ops`` and ``_engine`` with the synchronous driver."""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import neo4j
import neo4j.exceptions as neo4j_errors

from . import _cypher, _engine, _ops
from ._connection import translate_error
from ._engine import CallLoader, Commit, Entry, Fail, LoaderOptions, Scope, Tally, TxQuery
from ._items import ItemId
from .model import LoadResult

log = logging.getLogger("graph_checkpoint")


def drive(gen: Generator[Any, Any, Any], perform: Callable[[Any], Any]) -> Any:
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
            return stop.value
        try:
            value, error = perform(step), None
        except Exception as exc:
            value, error = None, exc


class SyncIO:
    """Runs checkpoint operations on one driver and database, with causal chaining."""

    def __init__(self, driver: neo4j.Driver, database: str | None) -> None:
        self.driver = driver
        self.database = database
        # One bookmark manager for every session of this manager: a read after a write, in
        # any thread, sees that write even on a cluster.
        self.bookmarks = neo4j.GraphDatabase.bookmark_manager()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def session(self, write: bool = True, quiet: bool = True) -> neo4j.Session:
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

    def run(self, op: Generator[Any, Any, Any]) -> Any:
        """Perform an operation from ``_ops`` and return its result."""
        try:
            return drive(op, self._perform)
        except Exception as exc:
            translated = translate_error(exc, self.database)
            if translated is exc:
                raise
            raise translated from exc

    def ensure_schema(self) -> None:
        """Apply ``cypher/schema.cypher`` once per manager."""
        with self._schema_lock:
            if not self._schema_ready:
                self.run(_ops.ensure_schema())
                self._schema_ready = True

    def _perform(self, step: _ops.Step) -> Any:
        if isinstance(step, _ops.Schema):
            with self.session() as session:
                for statement in _cypher.schema_statements():
                    session.run(statement).consume()
                session.run("CALL db.awaitIndexes(300)").consume()
            return None
        text = _cypher.query(step.name)

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return tx.run(text, step.params).data()

        if isinstance(step, _ops.Read):
            with self.session(write=False) as session:
                return session.execute_read(work)
        try:
            with self.session() as session:
                return session.execute_write(work)
        except neo4j_errors.ConstraintError:
            if step.conflict_ok:
                return None
            raise


def run_loader(
    io: SyncIO,
    run_id: str,
    loader: Callable[..., Any],
    items: Iterable[Any],
    get_id: Callable[[Any], ItemId],
    options: LoaderOptions,
    extra_args: tuple[Any, ...] = (),
    extra_kwargs: dict[str, Any] | None = None,
) -> LoadResult:
    """Load ``items`` through ``loader(tx, batch, *args, **kwargs)``, checkpointed."""
    kwargs = extra_kwargs or {}
    name = options.name
    load = _engine.Load(run_id, options, items)
    io.run(_ops.start_loader(run_id, name, load.total))
    load.begin()
    # Each worker writes through its own session; sessions are not thread-safe.
    sessions = {id(w): io.session(quiet=False) for w in load.workers}
    # A server-side timeout turns a batch that hangs (say, on a lock held by a transaction
    # the loader opened itself) into an error instead of a stalled load.
    work = neo4j.unit_of_work(timeout=options.transaction_timeout)(
        functools.partial(_transaction_work)
    )

    def call_loader(tx: neo4j.ManagedTransaction, batch: list[Any]) -> Any:
        return loader(tx, batch, *extra_args, **kwargs)

    def process(worker: _engine.WorkerState, entries: list[Entry], duplicates: int) -> Tally:
        worker.pending_skipped += duplicates

        def perform(step: Commit | Fail) -> Any:
            if isinstance(step, Fail):
                _engine.log_failure(name, step)
                return io.run(
                    _ops.record_failure(run_id, name, worker.shard, step.entry[0], step.error)
                )
            outcome: _engine.TxOutcome = sessions[id(worker)].execute_write(
                work,
                load.scope(worker),
                step.entries,
                worker.pending_skipped,
                call_loader,
            )
            worker.committed(outcome)
            return outcome

        tally: Tally = drive(_engine.split_until_isolated(entries), perform)
        tally.skipped += duplicates
        return tally

    status = "failed"
    try:
        if options.workers == 1:
            for entries, duplicates in _engine.batches(items, get_id, options.batch_size):
                load.batch_done(process(load.workers[0], entries, duplicates))
        else:
            _run_parallel(load, process, items, get_id)
        for worker in load.workers:
            io.run(_ops.add_skipped(run_id, name, worker.shard, worker.take_pending()))
        status = "completed"
    except BaseException as exc:
        status = _engine.status_after(exc)
        raise
    finally:
        load.close()
        for session in sessions.values():
            session.close()
        try:
            io.run(_ops.finish_loader(run_id, name, status))
        except Exception as exc:  # the load's own error matters more than this one
            log.warning("%s: could not record loader status %s: %s", name, status, exc)
    return load.result


def _transaction_work(
    tx: neo4j.ManagedTransaction,
    scope: Scope,
    entries: list[Entry],
    pending_skipped: int,
    call_loader: Callable[[neo4j.ManagedTransaction, list[Any]], Any],
) -> _engine.TxOutcome:
    def perform(step: TxQuery | CallLoader) -> Any:
        if isinstance(step, TxQuery):
            return tx.run(step.text, step.params).data()
        call_loader(tx, step.items)
        return None

    # Errors are not handled inside the transaction: they fail it whole, and the driver
    # retries it or hands the error to split_until_isolated.
    outcome: _engine.TxOutcome = drive(
        _engine.batch_transaction(scope, entries, pending_skipped), perform
    )
    return outcome


def _run_parallel(
    load: _engine.Load,
    process: Callable[[_engine.WorkerState, list[Entry], int], Tally],
    items: Iterable[Any],
    get_id: Callable[[Any], ItemId],
) -> None:
    idle: queue.SimpleQueue[_engine.WorkerState] = queue.SimpleQueue()
    for worker in load.workers:
        idle.put(worker)

    def task(entries: list[Entry], duplicates: int) -> Tally:
        worker = idle.get()
        try:
            return process(worker, entries, duplicates)
        finally:
            idle.put(worker)

    def collect(done: set[Future[Tally]]) -> None:
        for future in done:
            load.batch_done(future.result())

    workers = len(load.workers)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="graph-ckpt")
    inflight: set[Future[Tally]] = set()
    try:
        # At most two batches per worker are read ahead, so memory stays bounded.
        for entries, duplicates in _engine.batches(items, get_id, load.options.batch_size):
            if len(inflight) >= 2 * workers:
                done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                collect(done)
            inflight.add(pool.submit(task, entries, duplicates))
        done, inflight = wait(inflight)
        collect(done)
    finally:
        # Batches already running finish (each commits whole or not at all) before we return.
        pool.shutdown(wait=True, cancel_futures=True)
