"""The batch engine's logic, shared by the sync and the async loaders.

A load is a stream of batches. For each batch one managed write transaction

1. asks which of the batch's ids this run and loader already recorded (``check_items``),
2. hands the items still to do to the user's loader, with the transaction,
3. records those items and moves the progress counters (``commit_batch``),

so the data and the checkpoint commit together or not at all, and a transaction the driver
retries after an unknown commit outcome finds its own items already recorded.

A batch that fails for an item's sake is split in halves until the failing items stand
alone; each is recorded as failed in a transaction of its own and the rest commit. A clash
on the processed-item constraint means another worker recorded some ids first: the batch is
simply tried again and the check finds them.

The logic is written as generators that yield the I/O they need (:class:`TxQuery` and
:class:`CallLoader` inside a transaction; :class:`Commit` and :class:`Fail` between them);
``_sync_io`` and ``_async_io`` perform it.
"""

from __future__ import annotations

import bisect
import inspect
import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import neo4j.exceptions as neo4j_errors

from . import _cypher
from ._items import ItemId
from ._ops import error_text
from ._reporter import Reporter
from .budget import DEFAULT_FAILURE_BUDGET, FailureBudget
from .errors import (
    FailureBudgetExceededError,
    GraphCheckpointError,
    LoadInterruptedError,
    RunStateError,
)
from .model import LoadResult, RunStatus

Entry = tuple[ItemId, Any]
"""An item with its id."""

# Enough retries for a burst of collisions between several workers; each retry makes
# progress because the check then skips what the other worker recorded.
_MAX_COLLISION_RETRIES = 50
# Counter shards per loader: concurrent batches pick different ones so no single node is
# updated by every transaction.
SHARDS = 64
_FAILED_IDS_KEPT = 1000

log = logging.getLogger("graph_checkpoint")


@dataclass(frozen=True)
class LoaderOptions:
    """How a checkpointed loader batches, retries and reports."""

    name: str
    batch_size: int = 1000
    workers: int = 1
    retry_failed: bool = True
    max_attempts: int = 3
    progress: bool | None = None
    on_progress: Callable[[Any], None] | None = None
    transaction_timeout: float | None = None
    failure_budget: FailureBudget | None = DEFAULT_FAILURE_BUDGET
    compact: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size!r}")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be a positive int, got {self.workers!r}")
        if self.transaction_timeout is not None and not self.transaction_timeout > 0:
            raise ValueError(
                f"transaction_timeout must be positive seconds, got {self.transaction_timeout!r}"
            )
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be a positive int, got {self.max_attempts!r}")
        if self.failure_budget is not None and not isinstance(self.failure_budget, FailureBudget):
            raise TypeError(
                f"failure_budget must be a FailureBudget or None, got {self.failure_budget!r}"
            )


@dataclass(frozen=True)
class Scope:
    """Which run and loader a batch belongs to, and the counter shard it updates."""

    run_id: str
    loader: str
    shard: int
    retry_failed: bool
    max_attempts: int


@dataclass
class Tally:
    """Counts of what happened to a load's items."""

    processed: int = 0
    skipped: int = 0
    failed: int = 0
    failed_ids: list[ItemId] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts to this tally."""
        accumulate(self, other)


def accumulate(target: Tally | LoadResult, source: Tally | LoadResult) -> None:
    """Add ``source``'s counts to ``target``, keeping at most 1,000 failed ids."""
    target.processed += source.processed
    target.skipped += source.skipped
    target.failed += source.failed
    room = _FAILED_IDS_KEPT - len(target.failed_ids)
    if room > 0:
        target.failed_ids.extend(source.failed_ids[:room])


# --- inside one transaction -------------------------------------------------------------


@dataclass(frozen=True)
class TxQuery:
    """Run this query in the batch's transaction and send back its records as dicts."""

    text: str
    params: dict[str, Any]


@dataclass(frozen=True)
class CallLoader:
    """Call the user's loader with the transaction and these items."""

    items: list[Any]


@dataclass
class TxOutcome:
    """What a committed batch transaction did; ``skipped_flushed`` were written to counters.

    ``checked``: the batch was looked up first; ``recorded``: what the lookup found;
    ``found``: some of the batch's own ids were recorded already; ``scattered``: the commit
    left records a compaction can merge (several int runs, or str ids one record each).
    """

    tally: Tally
    skipped_flushed: int = 0
    checked: bool = False
    recorded: Recorded | None = None
    found: bool = False
    scattered: bool = False


class RecordConflict(Exception):
    """The commit found ids of the batch recorded by another transaction: roll it back."""


# A batch of int ids spanning at most this many times its size is checked with one range
# seek (``check_items``): the range then holds at most that many records to read. Str ids
# are checked by range too, unless the range holds that many records (ids scattered).
_RANGE_CHECK_SPAN = 4


def check_params(scope: Scope, ids: list[ItemId]) -> dict[str, Any]:
    """Parameters of ``check_items``: the batch's interval, and its ids where needed.

    A batch of ids in input order is checked with a range seek over its interval, instead
    of one seek per id, which is most of what the check costs; the answer is the same.
    """
    params: dict[str, Any] = {"run_id": scope.run_id, "loader": scope.loader}
    if not ids:
        return {**params, "ids": [], "lo": None, "hi": None, "cap": 0}
    cap = _RANGE_CHECK_SPAN * len(ids) + 1
    # type() and not isinstance(): bool is an int subclass (ids never are bools, but be safe).
    if all(type(item_id) is int for item_id in ids):
        low, high = min(ids), max(ids)
        if high - low < _RANGE_CHECK_SPAN * len(ids):  # type: ignore[operator]
            # Every record in the range is read (at most cap - 1): no id needs its own seek.
            return {**params, "ids": [], "lo": low, "hi": high, "cap": cap}
        return {**params, "ids": ids, "lo": None, "hi": None, "cap": 0}
    if all(type(item_id) is str for item_id in ids):
        return {**params, "ids": ids, "lo": min(ids), "hi": max(ids), "cap": cap}
    return {**params, "ids": ids, "lo": None, "hi": None, "cap": 0}


@dataclass
class Recorded:
    """What ``check_items`` found: processed int ranges, processed str ids, failed ids."""

    ranges: list[tuple[int, int]] = field(default_factory=list)
    strs: set[str] = field(default_factory=set)
    failed: dict[ItemId, int | None] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Recorded:
        """Read the one row ``check_items`` answers (none: nothing recorded)."""
        recorded = cls()
        if not rows:
            return recorded
        row = rows[0]
        for first, last in row["ranges"]:
            if type(first) is int:
                recorded.ranges.append((first, last))
            else:
                recorded.strs.add(first)
        recorded.ranges.sort()
        recorded.strs.update(row["in_chunks"])
        recorded.failed = {item_id: attempts for item_id, attempts in row["failed"]}
        return recorded

    def covers(self, low: int, high: int) -> bool:
        """True when one processed range holds every int from ``low`` to ``high``."""
        return any(first <= low and high <= last for first, last in self.ranges)

    def processed(self, item_id: ItemId) -> bool:
        """True when ``item_id`` is recorded as processed."""
        if type(item_id) is not int:
            return item_id in self.strs
        # The last range starting at or below the id is the only one that can hold it.
        index = bisect.bisect_right(self.ranges, (item_id, _MAX_INT)) - 1
        return index >= 0 and self.ranges[index][1] >= item_id


_MAX_INT = 2**63


def int_runs(ids: list[int]) -> list[list[int]]:
    """Sorted distinct ints as runs of consecutive values, each [first, last]."""
    runs: list[list[int]] = []
    for item_id in sorted(ids):
        if runs and item_id == runs[-1][1] + 1:
            runs[-1][1] = item_id
        else:
            runs.append([item_id, item_id])
    return runs


def commit_params(
    scope: Scope, ids: list[ItemId], retried: list[ItemId], skipped: int
) -> dict[str, Any]:
    """Parameters of ``commit_batch``: ``ids`` as runs of ints and sorted strs.

    ``retried`` are the ids among ``ids`` whose failed records the commit replaces.
    """
    ints = [item_id for item_id in ids if isinstance(item_id, int)]
    return {
        "run_id": scope.run_id,
        "loader": scope.loader,
        "shard": scope.shard,
        "ranges": int_runs(ints),
        "strs": sorted(item_id for item_id in ids if type(item_id) is not int),
        "retried": retried,
        "count": len(ids),
        "skipped": skipped,
    }


def committed(rows: list[dict[str, Any]], scope: Scope) -> None:
    """Read ``commit_batch``'s answer: raise unless the batch's records were written."""
    if not rows:
        raise RunStateError(
            f"run {scope.run_id} has no loader {scope.loader!r} any more: it was deleted"
            " while loading"
        )
    if rows[0]["conflict"]:
        raise RecordConflict(
            f"{scope.loader}: another transaction recorded ids of this batch first"
        )


def batch_transaction(
    scope: Scope, entries: list[Entry], pending_skipped: int, verify: bool = True
) -> Generator[TxQuery | CallLoader, Any, TxOutcome]:
    """The work of one batch transaction: check, load what is left, record it.

    Without ``verify`` the check is left out (a fresh stretch of the input: nothing to
    skip), and the commit alone guards exactly-once: it refuses ids recorded meanwhile.
    """
    recorded = Recorded()
    if verify:
        ids = [item_id for item_id, _ in entries]
        rows = yield TxQuery(_cypher.query("check_items"), check_params(scope, ids))
        recorded = Recorded.from_rows(rows)
    tally = Tally()
    new_ids: list[ItemId] = []
    retried_ids: list[ItemId] = []
    todo: list[Any] = []
    ints = [item_id for item_id, _ in entries if isinstance(item_id, int)]
    whole = bool(recorded.ranges and ints and len(ints) == len(entries))
    if whole and recorded.covers(min(ints), max(ints)):
        # Every id is processed (the usual resume): no per-id work at all.
        tally.skipped = len(entries)
        entries = []
    for item_id, item in entries:
        if recorded.processed(item_id):
            tally.skipped += 1
        elif item_id not in recorded.failed:
            new_ids.append(item_id)
            todo.append(item)
        elif scope.retry_failed and (recorded.failed[item_id] or 0) < scope.max_attempts:
            retried_ids.append(item_id)
            todo.append(item)
        else:
            # Failed before and out of attempts: it stays recorded as failed.
            tally.failed += 1
            if len(tally.failed_ids) < _FAILED_IDS_KEPT:
                tally.failed_ids.append(item_id)
    # A record met just below the batch (the previous batch's range) is no sign of a resume.
    found = bool(tally.skipped or tally.failed or retried_ids)
    if not todo:
        # Nothing to write: the transaction stays read-only and cheap, and the skips are
        # counted with the next batch that writes.
        return TxOutcome(tally, checked=verify, recorded=recorded, found=found)
    yield CallLoader(todo)
    skipped = tally.skipped + pending_skipped
    params = commit_params(scope, new_ids + retried_ids, retried_ids, skipped)
    rows = yield TxQuery(_cypher.query("commit_batch"), params)
    committed(rows, scope)
    tally.processed = len(todo)
    return TxOutcome(
        tally,
        skipped_flushed=skipped,
        checked=verify,
        recorded=recorded,
        found=found,
        scattered=len(params["ranges"]) > 1 or bool(rows[0]["singles"]),
    )


# --- between transactions ---------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    """Run :func:`batch_transaction` for these entries in a managed write transaction.

    ``verify``: look the ids up first (see :func:`batch_transaction`).
    """

    entries: list[Entry]
    verify: bool = True


@dataclass(frozen=True)
class Fail:
    """Record this entry as failed with ``error``, in a transaction of its own."""

    entry: Entry
    error: BaseException


# A Statement.SyntaxError is not among them: Neo4j also reports a parameter of the wrong type
# in one row ("Type mismatch for parameter") that way. It is isolated like any item's error;
# a query that fails for every item is stopped by the failure budget instead.
_FATAL_CODES = (
    "Neo.ClientError.Statement.ParameterMissing",
    "Neo.ClientError.Database.DatabaseNotFound",
    "Neo.ClientError.Security.",
    "Neo.ClientError.Transaction.",
    "Neo.ClientError.Request.",
)


def log_failure(loader: str, step: Fail) -> None:
    """Report an item that failed and is about to be recorded."""
    log.warning(
        "%s: item %r failed: %s: %s", loader, step.entry[0], type(step.error).__name__, step.error
    )


_OWN_UNIQUE_LABELS = ("label `ProcessedItem`", "label `CheckpointCounter`")


def is_collision(exc: BaseException) -> bool:
    """True when another worker recorded ids of the batch first: a conflict our commit found,
    or a clash on graph-checkpoint's own uniqueness constraints."""
    if isinstance(exc, RecordConflict):
        return True
    if not isinstance(exc, neo4j_errors.ConstraintError):
        return False
    # "Node(42) already exists with label `ProcessedItem` and properties ...": the label is
    # read before the properties, since a user's own clash may quote any text as a value.
    head = str(exc).split(" and propert", 1)[0]
    return head.endswith(_OWN_UNIQUE_LABELS)


def is_interruption(exc: BaseException) -> bool:
    """True for a transient failure (lost server, leader switch, deadlock) past the retries."""
    if isinstance(exc, (neo4j_errors.Neo4jError, neo4j_errors.DriverError)):
        return bool(exc.is_retryable())
    return isinstance(exc, (ConnectionError, TimeoutError))


def is_fatal(exc: BaseException) -> bool:
    """True for errors no item is to blame for: bad credentials, a broken query, our own errors."""
    if isinstance(exc, GraphCheckpointError):
        return True
    if isinstance(exc, neo4j_errors.DriverError) and not exc.is_retryable():
        return True
    if isinstance(exc, neo4j_errors.Neo4jError):
        code = exc.code or ""
        return any(code.startswith(prefix) for prefix in _FATAL_CODES)
    return False


class FailureTracker:
    """Counts a load's tried items across its batches and stops it past its failure budget."""

    def __init__(self, budget: FailureBudget | None) -> None:
        self.budget = budget
        self.processed = 0
        self.failed = 0
        self._lock = threading.Lock()

    def succeeded(self, count: int) -> None:
        """Account for ``count`` items loaded."""
        with self._lock:
            self.processed += count

    def failed_item(self, error: BaseException) -> None:
        """Account for one failed item; raise FailureBudgetExceededError past the budget."""
        with self._lock:
            self.failed += 1
            tried = self.processed + self.failed
            budget = self.budget
            if budget is None or budget.first is None:
                return
            if self.processed == 0 and self.failed >= budget.first:
                reason = f"the first {self.failed} items tried all failed"
            elif (
                budget.max_rate is not None
                and tried >= budget.first
                and self.failed / tried > budget.max_rate
            ):
                reason = f"{self.failed} of {tried} items tried failed (over {budget.max_rate:.0%})"
            else:
                return
        kind, message = error_text(error)
        first_line = message.strip().split("\n", 1)[0][:500]
        raise FailureBudgetExceededError(
            f"{reason}, last with {kind}: {first_line}. The loader or its query is"
            " likely broken: fix it and resume the run (failed items are retried), or raise"
            " the limit with checkpoint_loader(failure_budget=...)"
        ) from error


def split_until_isolated(
    entries: list[Entry], tracker: FailureTracker | None = None, verify: bool = True
) -> Generator[Commit | Fail, Any, Tally]:
    """Commit a batch; on an item's error, split it until the failing items stand alone.

    ``verify=False`` commits without looking the ids up first; after a collision the batch
    is always looked up again, so what the other worker recorded is skipped.
    """
    tally = Tally()
    stack = [entries]
    collisions = 0
    while stack:
        chunk = stack.pop()
        try:
            outcome = yield Commit(chunk, verify)
        except Exception as exc:
            if is_collision(exc):
                collisions += 1
                if collisions > _MAX_COLLISION_RETRIES:
                    raise LoadInterruptedError(
                        f"a batch kept clashing with other workers ({collisions} times): {exc}"
                    ) from exc
                stack.append(chunk)
                verify = True
                continue
            if is_interruption(exc):
                raise LoadInterruptedError(
                    f"the load stopped on a transient error that outlasted the retries"
                    f" ({type(exc).__name__}: {exc}); the run is resumable: run it again"
                ) from exc
            if is_fatal(exc):
                raise
            if len(chunk) > 1:
                middle = len(chunk) // 2
                # Pushed in reverse so the first half is tried first: input order is kept.
                stack.append(chunk[middle:])
                stack.append(chunk[:middle])
                continue
            yield Fail(chunk[0], exc)
            tally.failed += 1
            tally.failed_ids.append(chunk[0][0])
            if tracker is not None:
                tracker.failed_item(exc)
            continue
        tally.add(outcome.tally)
        if tracker is not None:
            tracker.succeeded(outcome.tally.processed)
    return tally


# --- reading the input ------------------------------------------------------------------


def batches(
    items: Iterable[Any], get_id: Callable[[Any], ItemId], batch_size: int
) -> Iterator[tuple[list[Entry], int]]:
    """Lazily cut ``items`` into batches of distinct ids, with the count of in-batch duplicates.

    Only one batch is held at a time; duplicates across batches are found by the in-database
    check, so memory does not grow with the input.
    """
    batch: dict[ItemId, Any] = {}
    duplicates = 0
    try:
        for item in items:
            item_id = get_id(item)
            # 1 and "1" must stay distinct keys; a plain dict already keeps int and str apart.
            if item_id in batch:
                duplicates += 1
                continue
            batch[item_id] = item
            if len(batch) >= batch_size:
                yield list(batch.items()), duplicates
                batch = {}
                duplicates = 0
    except Exception:
        # The input broke (or held a bad id): what was read before it still gets committed,
        # so a resume starts after it.
        if batch:
            yield list(batch.items()), duplicates
        raise
    if batch or duplicates:
        yield list(batch.items()), duplicates


def shard_base() -> int:
    """A random first shard for this process, so separate processes spread over shards."""
    return random.randrange(SHARDS)


# --- one call of a loader ---------------------------------------------------------------


# Lookups that found nothing before a worker stops looking batches up first: past them the
# input is fresh, and the commit alone guards exactly-once (a clash turns lookups back on).
_CLEAN_LOOKUPS = 2
# Processed int ranges a worker remembers from its last lookup, to skip batches they cover.
_KNOWN_RANGES = 64


class WorkerState:
    """A concurrent batch writer's counter shard, the skips it has not written yet, and
    what its lookups told it: whether to look the next batch up, and which int ranges are
    processed (records are never unprocessed, so that knowledge does not go stale)."""

    def __init__(self, shard: int) -> None:
        self.shard = shard
        self.pending_skipped = 0
        self.clean_lookups = 0
        self.known: list[tuple[int, int]] = []
        #: A commit of this worker left records that compaction can merge.
        self.scattered = False

    @property
    def verify(self) -> bool:
        """True while batches are to be looked up before they are loaded."""
        return self.clean_lookups < _CLEAN_LOOKUPS

    def committed(self, outcome: TxOutcome) -> None:
        """Account for a committed batch: its skips are either written or still pending."""
        if outcome.skipped_flushed:
            self.pending_skipped = 0
        else:
            self.pending_skipped += outcome.tally.skipped
        self.scattered = self.scattered or outcome.scattered
        recorded = outcome.recorded
        if outcome.checked and recorded is not None:
            self.clean_lookups = 0 if outcome.found else self.clean_lookups + 1
            wide = [r for r in recorded.ranges if r[1] > r[0]]
            if wide:
                self.known = wide[-_KNOWN_RANGES:]

    def skip_known(self, entries: list[Entry]) -> Tally | None:
        """A tally of skips if a remembered range holds every id of the batch, else None.

        A resume then skips what is already loaded without a transaction per batch.
        """
        if not self.known or not entries:
            return None
        ids = [item_id for item_id, _ in entries]
        if not all(type(item_id) is int for item_id in ids):
            return None
        low, high = min(ids), max(ids)
        if not any(first <= low and high <= last for first, last in self.known):  # type: ignore[operator]
            return None
        self.pending_skipped += len(entries)
        return Tally(skipped=len(entries))

    def take_pending(self) -> int:
        """The skips still to write, resetting them."""
        pending, self.pending_skipped = self.pending_skipped, 0
        return pending


class Load:
    """The state of one loader call, shared by the sync and the async runner."""

    def __init__(self, run_id: str, options: LoaderOptions, items: object) -> None:
        self.run_id = run_id
        self.options = options
        try:
            self.total: int | None = len(items)  # type: ignore[arg-type]
        except TypeError:
            self.total = None  # a generator: the total stays unknown
        base = shard_base()
        self.workers = [WorkerState((base + i) % SHARDS) for i in range(options.workers)]
        self.result = LoadResult(loader=options.name, run_id=run_id)
        self.failures = FailureTracker(options.failure_budget)
        self._started = time.monotonic()
        self._reporter: Reporter | None = None

    def begin(self) -> None:
        """Start reporting progress (after the loader node exists)."""
        self._reporter = Reporter(
            self.options.name,
            self.run_id,
            self.total,
            self.options.progress,
            self.options.on_progress,
        )

    def scope(self, worker: WorkerState) -> Scope:
        """The run, loader and shard a worker's batches write to."""
        return Scope(
            self.run_id,
            self.options.name,
            worker.shard,
            self.options.retry_failed,
            self.options.max_attempts,
        )

    def batch_done(self, tally: Tally) -> None:
        """Add a finished batch to the result and the progress display."""
        accumulate(self.result, tally)
        if self._reporter is not None:
            self._reporter.update(tally)

    def close(self) -> LoadResult:
        """Stop the progress display and fix the elapsed time."""
        self.result.elapsed = time.monotonic() - self._started
        if self._reporter is not None:
            self._reporter.close()
            self._reporter = None
        return self.result


def status_after(exc: BaseException | None) -> RunStatus:
    """The status a loader or run ends with after ``exc`` (None: it finished)."""
    if exc is None:
        return RunStatus.COMPLETED
    if isinstance(exc, KeyboardInterrupt) or is_interruption(exc):
        return RunStatus.INTERRUPTED
    if isinstance(exc, GraphCheckpointError) and exc.is_retryable():
        # LoadInterruptedError, or a server lost while recording a failed item.
        return RunStatus.INTERRUPTED
    return RunStatus.FAILED


CONTEXT_PARAM = "_checkpoint_context"
"""A loader with a parameter of this name drives the checkpointed loop itself (seed style)."""


def wants_context(func: Callable[..., Any]) -> bool:
    """True for a loader that takes ``_checkpoint_context`` (the seed project's pattern)."""
    try:
        return CONTEXT_PARAM in inspect.signature(func).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


def check_arity(func: Callable[..., Any], count: int, shape: str) -> None:
    """Raise TypeError unless ``func`` can be called with ``count`` positional arguments."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # builtins without a signature: trust the caller
        return
    try:
        signature.bind(*([None] * count))
    except TypeError:
        raise TypeError(
            f"{getattr(func, '__name__', func)!s} must accept {shape}: the transaction comes"
            " first so its writes commit together with the checkpoint"
        ) from None


def add_result(total: LoadResult, part: LoadResult) -> None:
    """Add one load's counts and time to a running total."""
    accumulate(total, part)
    total.elapsed += part.elapsed
