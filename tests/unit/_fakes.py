"""In-memory stand-ins for Neo4j that perform the steps the sans-IO core yields.

:class:`FakeGraph` keeps what the checkpoint queries read and write (runs, loaders,
processed and failed items, counter shards) and answers each step the way the query in
``cypher/queries`` would. Batch transactions are all-or-nothing: the items the user's loader
"wrote" (:attr:`FakeGraph.loaded`) and the checkpoint records are applied only when the
whole transaction got through. Errors can be injected for chosen items or chosen calls.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import neo4j.exceptions as neo4j_errors
from neo4j.exceptions import Neo4jError

from graph_checkpoint import _ops
from graph_checkpoint._engine import (
    CallLoader,
    Commit,
    Entry,
    Fail,
    Scope,
    Tally,
    TxOutcome,
    TxQuery,
    WorkerState,
    batch_transaction,
    batches,
    split_until_isolated,
)
from graph_checkpoint._items import ItemId, id_getter
from graph_checkpoint._sync.io import drive

RUN = "run_1"
LOADER = "people"


def neo4j_error(code: str, message: str = "boom") -> Neo4jError:
    """A Neo4jError as the server would send it: the driver picks the subclass from ``code``.

    This is how the driver's own unit tests build server errors (there is no public
    constructor that sets a code); neo4j 5.x before the GQL errors called it ``hydrate``.
    """
    hydrate = getattr(Neo4jError, "_hydrate_neo4j", None) or Neo4jError.hydrate  # type: ignore[attr-defined]
    error: Neo4jError = hydrate(code=code, message=message)
    return error


def collision(label: str = "ProcessedItem", item_id: ItemId = 1) -> Neo4jError:
    """The ConstraintError Neo4j raises when another worker created the same node first."""
    return neo4j_error(
        "Neo.ClientError.Schema.ConstraintValidationFailed",
        f"Node(42) already exists with label `{label}` and properties `run_id` = '{RUN}',"
        f" `loader` = '{LOADER}', `item_id` = {item_id!r}",
    )


def make_scope(
    retry_failed: bool = True, max_attempts: int = 3, shard: int = 0, loader: str = LOADER
) -> Scope:
    return Scope(RUN, loader, shard, retry_failed, max_attempts)


def entries(ids: Iterable[ItemId]) -> list[Entry]:
    """Entries whose items are their own ids (plain items)."""
    return [(item_id, item_id) for item_id in ids]


def _fresh(error: BaseException) -> BaseException:
    """``error`` ready to raise again: each raise of one object would grow its traceback."""
    return error.with_traceback(None)


def _key(item_id: ItemId) -> tuple[type, ItemId]:
    # 1 and "1" are different ids, as they are for Neo4j.
    return (type(item_id), item_id)


@dataclass
class ItemRecord:
    """A ``ProcessedItem`` node."""

    item_id: ItemId
    status: str
    attempts: int
    error_type: str | None = None
    error: str | None = None


@dataclass
class Counter:
    """A ``CheckpointCounter`` shard."""

    processed: int = 0
    failed: int = 0
    skipped: int = 0


class FakeGraph:
    """The checkpoint part of a Neo4j database, in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[tuple[type, ItemId], ItemRecord]] = defaultdict(dict)
        self.counters: dict[tuple[str, str, int], Counter] = defaultdict(Counter)
        self.runs: dict[str, dict[str, Any]] = {}
        self.loaders: dict[tuple[str, str], dict[str, Any]] = {}
        #: Ids of the items the user's loader wrote in committed transactions, in order.
        self.loaded: list[ItemId] = []
        #: Every step performed: Read/Write/Schema, Commit/Fail.
        self.steps: list[Any] = []
        #: Every step performed inside batch transactions: TxQuery/CallLoader.
        self.tx_steps: list[TxQuery | CallLoader] = []
        #: item id -> the error the user's loader raises for a batch holding that item.
        self.bad_items: dict[ItemId, BaseException] = {}
        #: Called inside a batch transaction with the ids being loaded, after the check.
        self.during_load: Callable[[list[ItemId]], None] | None = None
        self._errors: dict[str, deque[BaseException]] = defaultdict(deque)
        self._always: dict[str, BaseException] = {}
        self._tick = 0

    # --- set-up and inspection ------------------------------------------------------

    def fail_next(self, name: str, *errors: BaseException) -> None:
        """The next performs of ``name`` ("Commit", "Fail" or a query name) raise these."""
        self._errors[name].extend(errors)

    def fail_always(self, name: str, error: BaseException) -> None:
        """Every perform of ``name`` raises ``error``."""
        self._always[name] = error

    def seed(
        self,
        processed: Iterable[ItemId] = (),
        failed: dict[ItemId, int] | None = None,
        run_id: str = RUN,
        loader: str = LOADER,
    ) -> None:
        """Record items as an earlier pass (or another worker) did."""
        records = self.items[(run_id, loader)]
        for item_id in processed:
            records[_key(item_id)] = ItemRecord(item_id, "processed", 1)
        for item_id, attempts in (failed or {}).items():
            records[_key(item_id)] = ItemRecord(item_id, "failed", attempts, "ValueError", "x")

    def record(self, item_id: ItemId, run_id: str = RUN, loader: str = LOADER) -> ItemRecord | None:
        return self.items[(run_id, loader)].get(_key(item_id))

    def status_of(self, item_id: ItemId) -> str | None:
        record = self.record(item_id)
        return None if record is None else record.status

    def ids_with_status(self, status: str, run_id: str = RUN, loader: str = LOADER) -> set[Any]:
        return {r.item_id for r in self.items[(run_id, loader)].values() if r.status == status}

    def counter(self, run_id: str = RUN, loader: str = LOADER) -> Counter:
        """The loader's counters summed over shards."""
        total = Counter()
        for (run, name, _), shard in self.counters.items():
            if (run, name) == (run_id, loader):
                total.processed += shard.processed
                total.failed += shard.failed
                total.skipped += shard.skipped
        return total

    def add_run(
        self,
        run_id: str,
        status: str = "running",
        config: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """A run created earlier (by this or another process)."""
        now = self.now()
        node = {
            "run_id": run_id,
            "status": status,
            "description": description,
            "config": _ops.config_json(config),
            "started_at": now,
            "updated_at": now,
            "host": "elsewhere",
            "pid": 1,
            "resumes": 0,
        }
        self.runs[run_id] = node
        return node

    def count(self, kind: type) -> int:
        return sum(isinstance(step, kind) for step in self.steps)

    def writes(self, name: str) -> list[_ops.Write]:
        return [s for s in self.steps if isinstance(s, _ops.Write) and s.name == name]

    def now(self) -> datetime:
        self._tick += 1
        return datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=self._tick)

    def _maybe_raise(self, name: str) -> None:
        if self._errors[name]:
            raise _fresh(self._errors[name].popleft())
        if name in self._always:
            raise _fresh(self._always[name])

    # --- the batch engine's steps ---------------------------------------------------

    def batch_performer(
        self, scope: Scope, worker: WorkerState | None = None
    ) -> Callable[[Commit | Fail], Any]:
        """What an executor does with ``split_until_isolated``'s steps, for one worker."""
        state = worker or WorkerState(scope.shard)

        def perform(step: Commit | Fail) -> Any:
            self.steps.append(step)
            if isinstance(step, Fail):
                self._maybe_raise("Fail")
                return drive(
                    _ops.record_failure(
                        scope.run_id, scope.loader, scope.shard, step.entry[0], step.error
                    ),
                    self.perform,
                )
            outcome = self.transaction(scope, step.entries, state.pending_skipped, step.verify)
            state.committed(outcome)
            return outcome

        return perform

    def transaction(
        self, scope: Scope, entries: list[Entry], pending_skipped: int, verify: bool = True
    ) -> TxOutcome:
        """One batch transaction: everything it did is applied only if it gets through."""
        self._maybe_raise("Commit")
        ids_of = {id(item): item_id for item_id, item in entries}
        staged_loaded: list[ItemId] = []
        staged_commits: list[dict[str, Any]] = []

        def perform(step: TxQuery | CallLoader) -> Any:
            self.tx_steps.append(step)
            if isinstance(step, CallLoader):
                ids = [ids_of[id(item)] for item in step.items]
                for item_id in ids:
                    if item_id in self.bad_items:
                        raise _fresh(self.bad_items[item_id])
                if self.during_load is not None:
                    self.during_load(ids)
                staged_loaded.extend(ids)
                return None
            if "lo" in step.params:
                return self._check_items(step.params)
            if "strs" in step.params:
                if self._conflicts(step.params):
                    return [{"conflict": True, "singles": 0}]
                staged_commits.append(step.params)
                return [{"conflict": False, "singles": len(step.params["strs"])}]
            raise AssertionError(f"unexpected query in a batch transaction: {step.params}")

        outcome: TxOutcome = drive(
            batch_transaction(scope, entries, pending_skipped, verify), perform
        )
        for params in staged_commits:
            self._commit_batch(params)
        self.loaded.extend(staged_loaded)
        return outcome

    def _check_items(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        # The per-item form of what check_items answers: every record is its own range.
        records = self.items[(p["run_id"], p["loader"])]
        lo, hi = p["lo"], p["hi"]
        found: list[ItemRecord] = []
        if lo is not None and hi is not None:
            # Cypher compares an int with a string as null: a range finds int ids only.
            # An int range finds int ids only, a str range str ids only.
            found += [
                r for r in records.values() if type(r.item_id) is type(lo) and lo <= r.item_id <= hi
            ]
        for item_id in p["ids"]:
            if _key(item_id) in records:
                found.append(records[_key(item_id)])
        return [
            {
                "ranges": [[r.item_id, r.item_id] for r in found if r.status == "processed"],
                "in_chunks": [],
                "failed": [[r.item_id, r.attempts] for r in found if r.status != "processed"],
            }
        ]

    @staticmethod
    def _commit_ids(p: dict[str, Any]) -> list[ItemId]:
        ids: list[ItemId] = [i for first, last in p["ranges"] for i in range(first, last + 1)]
        return ids + list(p["strs"])

    def _conflicts(self, p: dict[str, Any]) -> bool:
        """What commit_batch finds under the loader lock: an id recorded by someone else."""
        records = self.items[(p["run_id"], p["loader"])]
        retried = {_key(i) for i in p["retried"]}
        for item_id in self._commit_ids(p):
            record = records.get(_key(item_id))
            if record is None:
                continue
            if record.status == "failed" and _key(item_id) in retried:
                continue
            return True
        return False

    def _commit_batch(self, p: dict[str, Any]) -> None:
        records = self.items[(p["run_id"], p["loader"])]
        fixed = 0
        for item_id in p["retried"]:
            record = records.get(_key(item_id))
            if record is not None and record.status == "failed":
                del records[_key(item_id)]
                fixed += 1
        for item_id in self._commit_ids(p):
            records[_key(item_id)] = ItemRecord(item_id, "processed", 1)
        counter = self.counters[(p["run_id"], p["loader"], p["shard"])]
        counter.processed += p["count"]
        counter.failed -= fixed
        counter.skipped += p["skipped"]

    # --- the operations' steps ------------------------------------------------------

    def perform(self, step: _ops.Step) -> Any:
        """Perform a Read, Write or Schema step of ``_ops``."""
        self.steps.append(step)
        if isinstance(step, _ops.Schema):
            self._maybe_raise("Schema")
            return None
        self._maybe_raise(step.name)
        handler = getattr(self, f"_q_{step.name}", None)
        if handler is None:
            raise AssertionError(f"FakeGraph does not answer {step.name!r}")
        try:
            return handler(**step.params)
        except neo4j_errors.ConstraintError:
            if isinstance(step, _ops.Write) and step.conflict_ok:
                return None  # the executor turns the uniqueness clash into None
            raise

    def _holder(self, open_key: str | None) -> dict[str, Any] | None:
        if open_key is None:
            return None
        return next((n for n in self.runs.values() if n.get("open_key") == open_key), None)

    def _failed_total(self, run_id: str, loader: str | None = None) -> int:
        return sum(
            shard.failed
            for (run, name, _), shard in self.counters.items()
            if run == run_id and (loader is None or name == loader)
        )

    def _run_row(self, node: dict[str, Any]) -> dict[str, Any]:
        # r {.*} leaves out null properties.
        return {"run": {k: v for k, v in node.items() if v is not None}}

    def _q_get_run(self, run_id: str) -> list[dict[str, Any]]:
        if run_id not in self.runs:
            return []
        return [{**self._run_row(self.runs[run_id]), "now": self.now()}]

    def _q_create_run(
        self,
        run_id: str,
        description: str | None,
        config: str | None,
        open_key: str | None,
        take_key: bool,
        host: str,
        pid: int,
    ) -> list[dict[str, Any]]:
        holder = self._holder(open_key)
        if run_id in self.runs or (holder is not None and not take_key):
            prop, value = ("run_id", run_id) if run_id in self.runs else ("open_key", open_key)
            raise neo4j_error(
                "Neo.ClientError.Schema.ConstraintValidationFailed",
                f"Node(1) already exists with label `CheckpointRun` and property"
                f" `{prop}` = '{value}'",
            )
        if holder is not None:
            holder["open_key"] = None
        now = self.now()
        self.runs[run_id] = {
            "open_key": open_key,
            "resumed_at": now,
            "active_seconds": 0.0,
            "run_id": run_id,
            "status": "running",
            "description": description,
            "config": config,
            "started_at": now,
            "updated_at": now,
            "host": host,
            "pid": pid,
            "resumes": 0,
        }
        return [self._run_row(self.runs[run_id])]

    def _incomplete(self) -> list[dict[str, Any]]:
        candidates = [
            node
            for node in self.runs.values()
            if node["status"] in ("running", "interrupted", "failed")
        ]
        return sorted(candidates, key=lambda node: node["started_at"], reverse=True)

    def _q_find_incomplete_run(self, open_key: str, config: str | None) -> list[dict[str, Any]]:
        found = self._holder(open_key)
        if found is None:
            # Runs recorded before open keys existed: the newest with exactly this config.
            legacy = [
                n for n in self._incomplete() if n.get("open_key") is None and n["config"] == config
            ]
            found = legacy[0] if legacy else None
        others = [
            {"run_id": n["run_id"], "config": n["config"]}
            for n in self._incomplete()
            if n["config"] != config
        ][:5]
        return [{"run": None if found is None else self._run_row(found)["run"], "others": others}]

    def _q_latest_incomplete_run(self) -> list[dict[str, Any]]:
        return [self._run_row(node) for node in self._incomplete()[:1]]

    def _q_resume_run(
        self,
        run_id: str,
        host: str,
        pid: int,
        stale_seconds: int,
        adopt_key: str | None,
        config: str | None,
        config_key: str | None,
    ) -> list[dict[str, Any]]:
        node = self.runs.get(run_id)
        if node is None or node["status"] == "deleting":
            return []
        key = node.get("open_key")
        key = config_key if config is not None and key is not None else key or adopt_key
        holder = self._holder(key)
        if holder is not None and holder is not node:
            raise neo4j_error(
                "Neo.ClientError.Schema.ConstraintValidationFailed",
                "Node(1) already exists with label `CheckpointRun` and property"
                f" `open_key` = '{key}'",
            )
        node.update(open_key=key, config=config if config is not None else node["config"])
        node.update(
            status="running",
            updated_at=self.now(),
            finished_at=None,
            error=None,
            host=host,
            pid=pid,
            resumes=(node.get("resumes") or 0) + 1,
        )
        return [self._run_row(node)]

    def _q_participants(self, run_id: str) -> list[dict[str, Any]]:
        return []  # the fake's runs have one process: the one ending them

    def _q_end_participant(
        self, run_id: str, status: str, error: str | None, **_: Any
    ) -> list[dict[str, Any]]:
        # The one participant ends: the run ends with it (end_participant.cypher's last case).
        rows = self._end_run(run_id, status, error)
        return [{**row, "live": []} for row in rows]

    def _end_run(self, run_id: str, status: str, error: str | None) -> list[dict[str, Any]]:
        node = self.runs.get(run_id)
        if node is None:
            return []
        now = self.now()
        if status == "completed" and self._failed_total(run_id) > 0:
            status = "completed_with_failures"
        if status.startswith("completed"):
            node["open_key"] = None
        node.update(status=status, error=error, updated_at=now, finished_at=now)
        for (run, _), loader in self.loaders.items():
            if run == run_id and loader["status"] == "running":
                loader.update(status=status, finished_at=now)
        return [self._run_row(node)]

    def _q_start_loader(self, run_id: str, loader: str, total: int | None) -> list[dict[str, Any]]:
        now = self.now()
        node = self.loaders.setdefault((run_id, loader), {"started_at": now, "total": None})
        node.update(status="running", updated_at=now, finished_at=None)
        if total is not None:
            node["total"] = total
        return []

    def _q_finish_loader(self, run_id: str, loader: str, status: str) -> list[dict[str, Any]]:
        node = self.loaders.get((run_id, loader))
        if status == "completed" and self._failed_total(run_id, loader) > 0:
            status = "completed_with_failures"
        if node is not None:
            node.update(status=status, finished_at=self.now())
        return []

    def _q_loader_progress(self, run_id: str) -> list[dict[str, Any]]:
        rows = []
        for (run, name), node in self.loaders.items():
            if run != run_id:
                continue
            counts = self.counter(run_id, name)
            rows.append(
                {
                    "loader": name,
                    "status": node["status"],
                    "total": node["total"],
                    "processed": counts.processed,
                    "failed": counts.failed,
                    "skipped": counts.skipped,
                    "started_at": node["started_at"],
                    "finished_at": node.get("finished_at"),
                    "updated_at": node["updated_at"],
                }
            )
        return rows

    def _q_item_status(self, run_id: str, loader: str, item_id: ItemId) -> list[dict[str, Any]]:
        record = self.record(item_id, run_id, loader)
        if record is None:
            return []
        return [{"status": record.status, "attempts": record.attempts, "error": record.error}]

    def _q_record_failure(
        self,
        run_id: str,
        loader: str,
        shard: int,
        item_id: ItemId,
        error_type: str,
        error: str,
    ) -> list[dict[str, Any]]:
        records = self.items[(run_id, loader)]
        old = records.get(_key(item_id))
        if old is not None and old.status != "failed":
            return []  # another worker processed it meanwhile: it stays processed
        record = old or ItemRecord(item_id, "failed", 0)
        record.status, record.error_type, record.error = "failed", error_type, error
        record.attempts += 1
        records[_key(item_id)] = record
        if old is None:
            self.counters[(run_id, loader, shard)].failed += 1
        return [{"attempts": record.attempts}]

    def _q_add_skipped(self, run_id: str, loader: str, shard: int, skipped: int) -> list[Any]:
        self.counters[(run_id, loader, shard)].skipped += skipped
        return []

    def run_config(self, run_id: str) -> dict[str, Any] | None:
        text = self.runs[run_id]["config"]
        return None if text is None else json.loads(text)


def load(
    graph: FakeGraph,
    items: Iterable[Any],
    *,
    batch_size: int = 4,
    get_id: Callable[[Any], ItemId] | None = None,
    scope: Scope | None = None,
) -> Tally:
    """One call of a checkpointed loader with one worker, as the executors run it."""
    scope = scope or make_scope()
    worker = WorkerState(scope.shard)
    perform = graph.batch_performer(scope, worker)
    total = Tally()
    for batch, duplicates in batches(items, get_id or id_getter(None), batch_size):
        worker.pending_skipped += duplicates
        known = worker.skip_known(batch)
        if known is None:
            tally: Tally = drive(split_until_isolated(batch, None, worker.verify), perform)
        else:
            tally = known
        tally.skipped += duplicates
        total.add(tally)
    drive(
        _ops.add_skipped(scope.run_id, scope.loader, scope.shard, worker.take_pending()),
        graph.perform,
    )
    return total
