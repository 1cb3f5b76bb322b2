"""What differs between threads and asyncio tasks, in one place.

The modules in ``_async/`` are the source of both APIs; ``scripts/unasync.py`` generates their
sync twins in ``_sync/`` by token substitution (``AsyncX`` becomes ``X``; ``async`` and
``await`` are dropped). Where the two worlds really differ, the async source uses an
``AsyncX`` from this module and its generated twin the ``X`` written beside it:

- ``AsyncUtil`` / ``Util``: calling a user function that may be a coroutine function, cutting
  a sync or async iterable into batches, and the one step only the sync API takes eagerly;
- ``AsyncLock`` / ``Lock``;
- ``AsyncHeartbeat`` / ``Heartbeat``: a task or a daemon thread that beats every N seconds;
- ``AsyncWorkerPool`` / ``WorkerPool``: concurrent batches as tasks or as threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import queue
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

from ._engine import Entry, batches
from ._items import ItemId

log = logging.getLogger("graph_checkpoint")

W = TypeVar("W")
R = TypeVar("R")

AsyncItems = Iterable[Any] | AsyncIterable[Any]
"""What an async loader accepts as its input: a plain or an async iterable."""
Items = Iterable[Any]
"""What a sync loader accepts as its input."""

AsyncLock = asyncio.Lock
Lock = threading.Lock

Batches = tuple[list[Entry], int]


class AsyncUtil:
    """Helpers of the async API; :class:`Util` is the sync twin."""

    is_async_code = True

    @staticmethod
    async def call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a user function, awaiting its result if it is awaitable."""
        result = func(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    @staticmethod
    async def iter_batches(
        items: AsyncItems, get_id: Callable[[Any], ItemId], batch_size: int
    ) -> AsyncIterator[Batches]:
        """Batches of a plain or an async iterable, cut by the shared ``_engine.batches``."""
        if not isinstance(items, AsyncIterable):
            for batch in batches(items, get_id, batch_size):
                yield batch
            return
        chunk: list[Any] = []
        try:
            async for item in items:
                chunk.append(item)
                if len(chunk) >= batch_size:
                    for batch in batches(chunk, get_id, batch_size):
                        yield batch
                    chunk = []
        except Exception:
            # As in the sync path: what was read before the input broke still gets committed.
            for batch in batches(chunk, get_id, batch_size):
                yield batch
            raise
        for batch in batches(chunk, get_id, batch_size):
            yield batch

    @staticmethod
    def sync_only(func: Callable[[], object]) -> None:
        """Nothing: async code cannot await in a constructor (see :meth:`Util.sync_only`)."""

    @staticmethod
    def twin(name: str) -> str:
        """The name of ``name``'s twin in the other API (``AsyncRun`` -> ``Run``), for messages."""
        return name.removeprefix("Async")


class Util:
    """Helpers of the sync API, the twins of :class:`AsyncUtil`'s."""

    is_async_code = False

    @staticmethod
    def call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a user function."""
        return func(*args, **kwargs)

    @staticmethod
    def iter_batches(
        items: Items, get_id: Callable[[Any], ItemId], batch_size: int
    ) -> Iterator[Batches]:
        """Batches of ``items``, cut by the shared ``_engine.batches``."""
        return batches(items, get_id, batch_size)

    @staticmethod
    def sync_only(func: Callable[[], object]) -> None:
        """Call ``func`` now: a step the sync API takes in a constructor, the async one later."""
        func()

    @staticmethod
    def twin(name: str) -> str:
        """The name of ``name``'s twin in the other API (``Run`` -> ``AsyncRun``), for messages."""
        return "Async" + name


class AsyncHeartbeat:
    """Awaits ``beat()`` every ``interval`` seconds in a task until :meth:`stop`."""

    def __init__(self, interval: float, beat: Callable[[], Awaitable[Any]], name: str) -> None:
        self._task = asyncio.ensure_future(self._loop(interval, beat, name))

    @staticmethod
    async def _loop(interval: float, beat: Callable[[], Awaitable[Any]], name: str) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await beat()
            except Exception as exc:  # a missed beat is harmless; the next one may pass
                log.debug("%s failed: %s", name, exc)

    async def stop(self) -> None:
        """Stop beating; returns once the task has ended."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Heartbeat:
    """Calls ``beat()`` every ``interval`` seconds in a daemon thread until :meth:`stop`."""

    def __init__(self, interval: float, beat: Callable[[], Any], name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(interval, beat, name), name=name, daemon=True
        )
        self._thread.start()

    def _loop(self, interval: float, beat: Callable[[], Any], name: str) -> None:
        while not self._stop.wait(interval):
            try:
                beat()
            except Exception as exc:  # a missed beat is harmless; the next one may pass
                log.debug("%s failed: %s", name, exc)

    def stop(self) -> None:
        """Stop beating; returns once the thread has ended (at most a few seconds)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class AsyncWorkerPool(Generic[W, R]):
    """Runs ``await process(worker, *args)`` as tasks, each worker busy with one call at a time.

    At most two calls per worker are in flight, so the input is read at most that far ahead.
    """

    def __init__(self, workers: list[W], process: Callable[..., Awaitable[R]]) -> None:
        self._idle: asyncio.Queue[W] = asyncio.Queue()
        for worker in workers:
            self._idle.put_nowait(worker)
        self._process = process
        self._limit = 2 * len(workers)
        self._inflight: set[asyncio.Future[R]] = set()

    async def _call(self, *args: Any) -> R:
        worker = await self._idle.get()
        try:
            return await self._process(worker, *args)
        finally:
            self._idle.put_nowait(worker)

    async def submit(self, *args: Any) -> list[R]:
        """Start a call; returns the results of calls that ended while waiting for room."""
        results: list[R] = []
        while len(self._inflight) >= self._limit:
            done, self._inflight = await asyncio.wait(
                self._inflight, return_when=asyncio.FIRST_COMPLETED
            )
            results.extend(task.result() for task in done)
        self._inflight.add(asyncio.ensure_future(self._call(*args)))
        return results

    async def drain(self) -> list[R]:
        """Wait for every call; their results (the first error is raised)."""
        if not self._inflight:
            return []
        done, self._inflight = await asyncio.wait(self._inflight)
        return [task.result() for task in done]

    async def close(self) -> None:
        """Let the calls still running finish: each batch commits whole or not at all."""
        if self._inflight:
            done, _ = await asyncio.wait(self._inflight)
            for task in done:
                # Retrieved so asyncio does not log them: the load's first error is raised.
                if not task.cancelled():
                    task.exception()


class WorkerPool(Generic[W, R]):
    """Runs ``process(worker, *args)`` in threads, each worker busy with one call at a time.

    At most two calls per worker are in flight, so the input is read at most that far ahead.
    """

    def __init__(self, workers: list[W], process: Callable[..., R]) -> None:
        self._idle: queue.SimpleQueue[W] = queue.SimpleQueue()
        for worker in workers:
            self._idle.put(worker)
        self._process = process
        self._limit = 2 * len(workers)
        self._inflight: set[Future[R]] = set()
        self._threads = ThreadPoolExecutor(
            max_workers=len(workers), thread_name_prefix="graph-ckpt"
        )

    def _call(self, *args: Any) -> R:
        worker = self._idle.get()
        try:
            return self._process(worker, *args)
        finally:
            self._idle.put(worker)

    def submit(self, *args: Any) -> list[R]:
        """Start a call; returns the results of calls that ended while waiting for room."""
        results: list[R] = []
        if len(self._inflight) >= self._limit:
            done, self._inflight = wait(self._inflight, return_when=FIRST_COMPLETED)
            results.extend(future.result() for future in done)
        self._inflight.add(self._threads.submit(self._call, *args))
        return results

    def drain(self) -> list[R]:
        """Wait for every call; their results (the first error is raised)."""
        done, self._inflight = wait(self._inflight)
        return [future.result() for future in done]

    def close(self) -> None:
        """Let the calls still running finish: each batch commits whole or not at all."""
        self._threads.shutdown(wait=True, cancel_futures=True)
