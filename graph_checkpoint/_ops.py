"""The checkpoint operations, written once for the sync and the async API.

Each operation is a generator that yields the database work it needs (a :class:`Read`, a
:class:`Write` or a :class:`Schema` step) and receives the records back. The sync and the
async managers only execute those steps (``_sync_io`` and ``_async_io``), so the logic of
what to query and how to read the answer lives here alone, the way the driver itself keeps
one source for both APIs.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from . import _cypher
from ._items import ItemId, validate_loader_name
from .errors import (
    ConfigMismatchError,
    GraphCheckpointError,
    InvalidConfigError,
    RunNotFoundError,
    RunStateError,
)
from .model import LoaderProgress, RunInfo, RunStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Read:
    """Run query ``name`` from ``cypher/queries`` in a managed read transaction."""

    name: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Write:
    """Run query ``name`` from ``cypher/queries`` in a managed write transaction.

    ``conflict_ok`` turns a uniqueness clash into ``None`` instead of an exception.
    """

    name: str
    params: dict[str, Any]
    conflict_ok: bool = False


@dataclass(frozen=True)
class Schema:
    """Apply ``cypher/schema.cypher``, statement by statement, in auto-commit transactions."""


Step = Read | Write | Schema
Op = Generator[Step, Any, T]
"""An operation: yields steps, is sent their records, and returns a ``T``."""

_ERROR_LIMIT = 2000


def _host_and_pid() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def config_json(config: Mapping[str, Any] | None) -> str | None:
    """The canonical JSON text stored for a run's config (sorted keys), or None."""
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise InvalidConfigError(
            f"config must be a dict of JSON values, got {type(config).__name__}"
        )
    for key in config:
        if not isinstance(key, str):
            raise InvalidConfigError(f"config keys must be strings, got {key!r}")
    try:
        # dict(): json.dumps takes dicts only, the API any read-only mapping too.
        text = json.dumps(dict(config), sort_keys=True, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidConfigError(
            f"config is not JSON-serializable ({exc}): use str, int, float, bool, None,"
            " lists and dicts only"
        ) from None
    check_text("config", text)
    return text


def check_text(what: str, value: object) -> None:
    """Refuse a string Neo4j cannot store: one holding a lone surrogate (not valid UTF-8)."""
    if not isinstance(value, str):  # None, or a wrong type that is reported elsewhere
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # The driver would fail later with a bare UnicodeEncodeError; say what to fix instead.
        raise InvalidConfigError(
            f"{what} is not valid Unicode (it holds a lone surrogate, e.g. from a badly"
            " decoded file), so Neo4j cannot store it: decode it properly"
        ) from None


def check_run_id(run_id: object) -> None:
    """Refuse a run id given by the caller that is not a non-empty str (None: generate one)."""
    if run_id is None:
        return
    if not isinstance(run_id, str) or not run_id:
        raise InvalidConfigError(f"run_id must be a non-empty str, got {run_id!r}")
    check_text("run id", run_id)


def error_text(exc: BaseException | str) -> tuple[str, str]:
    """(type, message) of an error, the message bounded so a huge error cannot bloat the graph."""
    if isinstance(exc, str):
        kind, message = "Error", exc
    else:
        kind, message = type(exc).__name__, str(exc)
    if len(message) > _ERROR_LIMIT:
        message = message[: _ERROR_LIMIT - 20] + "... [truncated]"
    return kind, message


def new_run_id(now: datetime | None = None) -> str:
    """A run id in the form ``run_YYYYMMDD_HHMMSS`` (UTC); clashes get a numeric suffix."""
    now = now or datetime.now(timezone.utc)
    return now.strftime("run_%Y%m%d_%H%M%S")


def ensure_schema() -> Op[None]:
    """Create the constraints and indexes if they do not exist yet."""
    yield Schema()


def get_run(run_id: str) -> Op[RunInfo]:
    """The :class:`RunInfo` of ``run_id``; raises RunNotFoundError."""
    if not isinstance(run_id, str) or not run_id:
        raise RunNotFoundError(f"run id must be a non-empty string, got {run_id!r}")
    records = yield Read("get_run", {"run_id": run_id})
    if not records:
        raise RunNotFoundError(
            f"no run with id {run_id!r}: list the existing ones with 'graph-ckpt list'"
        )
    return RunInfo.from_record(records[0]["run"], now=records[0]["now"])


def create_run(
    description: str | None, config: Mapping[str, Any] | None, run_id: str | None = None
) -> Op[RunInfo]:
    """Create a new running run; a generated id that clashes gets a ``_2``, ``_3`` suffix."""
    payload = config_json(config)
    if description is not None and not isinstance(description, str):
        raise InvalidConfigError(f"description must be a str, got {type(description).__name__}")
    check_run_id(run_id)
    check_text("description", description)
    base = run_id or new_run_id()
    for attempt in range(1, 1000):
        candidate = base if attempt == 1 else f"{base}_{attempt}"
        records = yield Write(
            "create_run",
            {"run_id": candidate, "description": description, "config": payload, **_host_and_pid()},
            conflict_ok=True,
        )
        if records:
            return RunInfo.from_record(records[0]["run"])
        if run_id is not None:
            break
    raise GraphCheckpointError(
        f"could not create run {base!r}: the id is taken; choose another run_id"
    )


def resume_run(run_id: str | None, config: Mapping[str, Any] | None, force: bool) -> Op[RunInfo]:
    """Mark an existing run (or the newest incomplete one) running again in this process."""
    payload = config_json(config)
    if run_id is None:
        records = yield Read("find_incomplete_run", {"config": None})
        if not records:
            raise RunNotFoundError(
                "there is no incomplete run to resume: start a new one with start_run()"
            )
        run_id = records[0]["run"]["run_id"]
    info = yield from get_run(run_id)
    if info.status is RunStatus.DELETING:
        raise RunStateError(
            f"run {info.run_id} is being deleted ('graph-ckpt delete'); start a new run instead"
        )
    if payload is not None and not force:
        stored = set(info.config) if info.config is not None else set()
        given = set(config or {})
        if stored != given:
            raise ConfigMismatchError(info.run_id, sorted(stored - given), sorted(given - stored))
    records = yield Write("resume_run", {"run_id": info.run_id, **_host_and_pid()})
    if not records:
        raise RunStateError(f"run {info.run_id} is being deleted; start a new run instead")
    return RunInfo.from_record(records[0]["run"])


def open_run(
    description: str | None,
    config: Mapping[str, Any] | None,
    run_id: str | None,
    force: bool,
) -> Op[RunInfo]:
    """What ``manager.run()`` does: resume a matching incomplete run, or start a new one.

    With ``run_id``, that run is resumed if it exists (whatever its status) and created
    otherwise, so several processes given the same id share one run.
    """
    payload = config_json(config)
    check_run_id(run_id)
    check_text("description", description)
    if run_id is not None:
        records = yield Read("get_run", {"run_id": run_id})
        if not records:
            created = yield Write(
                "create_run",
                {
                    "run_id": run_id,
                    "description": description,
                    "config": payload,
                    **_host_and_pid(),
                },
                conflict_ok=True,
            )
            if created:
                return RunInfo.from_record(created[0]["run"])
        # It exists, or another process created it a moment ago: join it.
        return (yield from resume_run(run_id, config, force))
    records = yield Read("find_incomplete_run", {"config": payload})
    if records:
        return (yield from resume_run(records[0]["run"]["run_id"], config, force))
    return (yield from create_run(description, config))


def finish_run(run_id: str, status: RunStatus, error: BaseException | str | None) -> Op[RunInfo]:
    """End a run with ``status``: completed, failed or interrupted."""
    message = None if error is None else ": ".join(error_text(error))
    records = yield Write(
        "finish_run", {"run_id": run_id, "status": status.value, "error": message}
    )
    if not records:
        raise RunNotFoundError(f"run {run_id!r} was deleted while it ran")
    return RunInfo.from_record(records[0]["run"])


def heartbeat(run_id: str) -> Op[None]:
    """Refresh the run's updated_at."""
    yield Write("heartbeat", {"run_id": run_id})


def start_loader(run_id: str, loader: str, total: int | None) -> Op[None]:
    """Register a loader of the run (or re-open it on resume)."""
    validate_loader_name(loader)
    yield Write("start_loader", {"run_id": run_id, "loader": loader, "total": total})


def finish_loader(run_id: str, loader: str, status: RunStatus) -> Op[None]:
    """End a loader with ``status``."""
    yield Write("finish_loader", {"run_id": run_id, "loader": loader, "status": status.value})


def loader_progress(run_id: str) -> Op[list[LoaderProgress]]:
    """Per-loader progress of a run, from the loader nodes and their counter shards."""
    records = yield Read("loader_progress", {"run_id": run_id})
    return [LoaderProgress.from_record(r) for r in records]


def item_status(run_id: str, loader: str, item_id: ItemId) -> Op[str | None]:
    """'processed', 'failed' or None for one item."""
    records = yield Read("item_status", {"run_id": run_id, "loader": loader, "item_id": item_id})
    status: str | None = records[0]["status"] if records else None
    return status


def record_failure(
    run_id: str, loader: str, shard: int, item_id: ItemId, error: BaseException | str
) -> Op[int]:
    """Record one failed item with its error and return its attempt count."""
    kind, message = error_text(error)
    records = yield Write(
        "record_failure",
        {
            "run_id": run_id,
            "loader": loader,
            "shard": shard,
            "item_id": item_id,
            "error_type": kind,
            "error": message,
        },
    )
    return int(records[0]["attempts"]) if records else 0


def add_skipped(run_id: str, loader: str, shard: int, skipped: int) -> Op[None]:
    """Add to the loader's skipped counter."""
    if skipped:
        yield Write(
            "add_skipped",
            {"run_id": run_id, "loader": loader, "shard": shard, "skipped": skipped},
        )


def mark_processed_params(
    run_id: str, loader: str, shard: int, item_id: ItemId
) -> tuple[str, dict[str, Any]]:
    """Query text and parameters that mark one item processed inside a caller's transaction."""
    return _cypher.query("mark_processed"), {
        "run_id": run_id,
        "loader": loader,
        "shard": shard,
        "item_id": item_id,
    }
