"""The checkpoint operations, written once for the sync and the async API.

Each operation is a generator that yields the database work it needs (a :class:`Read`, a
:class:`Write` or a :class:`Schema` step) and receives the records back. The sync and the
async managers only execute those steps (``_sync_io`` and ``_async_io``), so the logic of
what to query and how to read the answer lives here alone, the way the driver itself keeps
one source for both APIs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, TypeVar

import neo4j.exceptions as neo4j_errors

from ._items import ItemId, validate_loader_name
from ._process import abandoned, process_alive, reclaim, this_process
from .errors import (
    ConfigMismatchError,
    GraphCheckpointError,
    InvalidConfigError,
    LoadInterruptedError,
    RunNotFoundError,
    RunStateError,
)
from .model import STALE_AFTER, LoaderProgress, ParticipantInfo, RunInfo, RunStatus

T = TypeVar("T")

log = logging.getLogger("graph_checkpoint")


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
    elif isinstance(exc, neo4j_errors.Neo4jError) and exc.code:
        # The server's code and the message a person reads, without the driver's framing
        # ("{code: ...} {message: ...}", GQL status fields).
        kind, message = exc.code, exc.message or str(exc)
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


def open_key(payload: str | None) -> str:
    """The open key of a config: at most one incomplete run holds it (see create_run.cypher)."""
    return "config:" + hashlib.sha256((payload or "null").encode("utf-8")).hexdigest()


def config_differences(
    stored: Mapping[str, Any] | None, given: Mapping[str, Any] | None
) -> tuple[list[str], list[str], list[str]]:
    """Keys stored but not given, given but not stored, and in both with other values."""
    stored, given = stored or {}, given or {}
    missing = sorted(set(stored) - set(given))
    unexpected = sorted(set(given) - set(stored))
    changed = sorted(key for key in set(stored) & set(given) if stored[key] != given[key])
    return missing, unexpected, changed


def _check_description(description: object) -> None:
    if description is not None and not isinstance(description, str):
        raise InvalidConfigError(f"description must be a str, got {type(description).__name__}")
    check_text("description", description)


def _create(
    description: str | None,
    payload: str | None,
    run_id: str,
    key: str | None,
    take_key: bool,
) -> Op[RunInfo | None]:
    """One try at creating a run; None when its id or open key is taken."""
    params = {
        "run_id": run_id,
        "description": description,
        "config": payload,
        "open_key": key,
        "take_key": take_key,
        **this_process(),
    }
    records = yield Write("create_run", params, conflict_ok=True)
    return RunInfo.from_record(records[0]["run"]) if records else None


def create_run(
    description: str | None, config: Mapping[str, Any] | None, run_id: str | None = None
) -> Op[RunInfo]:
    """Start a new run (``start_run``); a generated id that clashes gets a ``_2``, ``_3`` suffix.

    Without ``run_id`` the new run becomes the one ``manager.run()`` resumes for its config,
    taking over from an older incomplete run with the same config.
    """
    payload = config_json(config)
    check_run_id(run_id)
    _check_description(description)
    key = None if run_id is not None else open_key(payload)
    base = run_id or new_run_id()
    for attempt in range(1, 1000):
        candidate = base if attempt == 1 else f"{base}_{attempt}"
        info = yield from _create(description, payload, candidate, key, take_key=True)
        if info is not None:
            return info
        if run_id is not None:
            break
    raise GraphCheckpointError(
        f"could not create run {base!r}: the id is taken; choose another run_id"
    )


def resume_run(
    run_id: str | None,
    config: Mapping[str, Any] | None,
    force: bool,
    *,
    adopt_key: str | None = None,
) -> Op[RunInfo]:
    """Mark an existing run running again in this process.

    Without ``run_id``: the run ``manager.run(config)`` would resume, or with no config
    either, the newest incomplete run. A ``config`` that differs from the stored one (keys or
    values) raises :class:`ConfigMismatchError`, unless ``force``: then the run is resumed
    and the new config stored.
    """
    payload = config_json(config)
    if run_id is None:
        if payload is None:
            records = yield Read("latest_incomplete_run", {})
        else:
            records = yield Read(
                "find_incomplete_run", {"open_key": open_key(payload), "config": payload}
            )
            records = [r for r in records if r["run"] is not None]
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
    new_config: str | None = None
    if payload is not None and payload != config_json(info.config):
        missing, unexpected, changed = config_differences(info.config, config)
        if not force:
            raise ConfigMismatchError(info.run_id, missing, unexpected, changed)
        log.warning(
            "run %s resumed with a changed config (%s): the new config is stored",
            info.run_id,
            ConfigMismatchError.describe(missing, unexpected, changed),
        )
        new_config = payload
    records = yield Write(
        "resume_run",
        {
            "run_id": info.run_id,
            "stale_seconds": int(STALE_AFTER.total_seconds()),
            "adopt_key": adopt_key,
            "config": new_config,
            "config_key": open_key(new_config),
            **this_process(),
        },
        conflict_ok=True,
    )
    if records is None:
        raise RunStateError(
            f"run {info.run_id} cannot take this config: another incomplete run already has"
            " it; resume that one, or finish it first"
        )
    if not records:
        raise RunStateError(f"run {info.run_id} is being deleted; start a new run instead")
    return RunInfo.from_record(records[0]["run"])


# Creating a run for a config can clash with another process doing the same: each clash
# means the other process's run exists now and the next try joins it.
_OPEN_TRIES = 20


def open_run(
    description: str | None,
    config: Mapping[str, Any] | None,
    run_id: str | None,
    force: bool,
) -> Op[RunInfo]:
    """What ``manager.run()`` does: resume the incomplete run of this config, or start one.

    Without ``run_id`` the run is found by its config's open key, which at most one
    incomplete run holds: processes starting the same load at the same moment end up in one
    run. A run without a config only resumes a run without a config. With ``run_id``, that
    run is resumed if it exists (whatever its status) and created otherwise, so several
    processes given the same id share one run.
    """
    payload = config_json(config)
    check_run_id(run_id)
    _check_description(description)
    if run_id is not None:
        records = yield Read("get_run", {"run_id": run_id})
        if not records:
            created = yield from _create(description, payload, run_id, None, take_key=False)
            if created is not None:
                return created
        # It exists, or another process created it a moment ago: join it.
        return (yield from resume_run(run_id, config, force))
    key = open_key(payload)
    base = new_run_id()
    for attempt in range(1, _OPEN_TRIES + 1):
        records = yield Read("find_incomplete_run", {"open_key": key, "config": payload})
        found = records[0]["run"] if records else None
        if found is not None:
            return (yield from resume_run(found["run_id"], config, force, adopt_key=key))
        if attempt == 1:  # once: a retry after a clash would only repeat it
            _report_other_configs(config, records[0]["others"] if records else [])
        candidate = base if attempt == 1 else f"{base}_{attempt}"
        created = yield from _create(description, payload, candidate, key, take_key=False)
        if created is not None:
            return created
    raise LoadInterruptedError(
        f"could not open a run for this config: {_OPEN_TRIES} tries clashed with other"
        " processes; try again"
    )


def _report_other_configs(config: Mapping[str, Any] | None, others: list[dict[str, Any]]) -> None:
    """Warn when a new run starts while an incomplete run has a related but other config."""
    given = config or {}
    for other in others:
        stored = json.loads(other["config"]) if other.get("config") else {}
        if not set(stored) & set(given):
            continue  # nothing in common: another load, not this one with changes
        missing, unexpected, changed = config_differences(stored, given)
        log.warning(
            "starting a new run: incomplete run %s has a different config (%s) and is not"
            " resumed; to continue it with this config: manager.resume_run(%r, config,"
            " force=True); if it is another load, ignore this",
            other["run_id"],
            ConfigMismatchError.describe(missing, unexpected, changed),
            other["run_id"],
        )
        return


COORDINATOR = "coordinator"
PARTICIPANT = "participant"


def participants(run_id: str) -> Op[list[ParticipantInfo]]:
    """Every process that joined ``run_id``, oldest first.

    A running participant of this host whose process is gone is stale at once, without
    waiting for its heartbeat to age.
    """
    records = yield Read("participants", {"run_id": run_id})
    parts = [ParticipantInfo.from_record(r["participant"], now=r["now"]) for r in records]
    return [
        replace(p, state="stale") if p.live and process_alive(p.host, p.pid) is False else p
        for p in parts
    ]


def _dead(parts: list[ParticipantInfo]) -> list[str]:
    """Running participants that are not live any more: passed to the queries that would
    otherwise wait for their heartbeat to go stale."""
    names = {p.name for p in parts if p.state == "stale"}
    if parts:
        names.update(abandoned(parts[0].run_id))
    return sorted(names)


def check_participant_name(name: object) -> None:
    """Refuse a participant name given by the caller that is not a non-empty str."""
    if name is None:
        return
    if not isinstance(name, str) or not name.strip():
        raise InvalidConfigError(f"participant must be a non-empty str, got {name!r}")
    check_text("participant name", name)


def join_run(
    run_id: str, name: str | None, fresh: str, role: str
) -> Op[tuple[ParticipantInfo, RunInfo]]:
    """Register this process as a participant (or the coordinator) of ``run_id``.

    ``name`` None takes the place of an anonymous participant of the same role that stopped
    without finishing, or registers as ``fresh``. A named place still held by a live
    process is refused with :class:`RunStateError`.
    """
    dead = _dead((yield from participants(run_id)))
    records = yield Write(
        "join_run",
        {
            "run_id": run_id,
            "name": name,
            "fresh": fresh,
            "role": role,
            "stale_seconds": int(STALE_AFTER.total_seconds()),
            "dead": dead,
            **this_process(),
        },
    )
    if not records:
        raise RunStateError(f"run {run_id} is being deleted; start a new run instead")
    joined = ParticipantInfo.from_record(records[0]["participant"], now=records[0]["now"])
    if records[0]["busy"]:
        raise RunStateError(
            f"participant {joined.name!r} of run {run_id} is live in pid {joined.pid} on"
            f" {joined.host}: give each process its own participant name (or none), or wait"
            f" for that process to end (one that died shows stale after"
            f" {int(STALE_AFTER.total_seconds())} s)"
        )
    reclaim(run_id, joined.name)
    return joined, RunInfo.from_record(records[0]["run"], now=records[0]["now"])


def end_participation(
    run_id: str,
    name: str,
    status: RunStatus,
    error: BaseException | str | None,
    counts: tuple[int, int],
    coordinator: bool,
) -> Op[tuple[RunInfo, list[str]]]:
    """End this process's part in ``run_id`` with ``status`` and settle the run.

    The run ends when no other participant is live (completed when every participant is
    done), or when the coordinator ends; see ``cypher/queries/end_participant.cypher``.
    Returns the run and the names of the participants still loading.
    """
    message = None if error is None else ": ".join(error_text(error))
    dead = _dead((yield from participants(run_id)))
    records = yield Write(
        "end_participant",
        {
            "run_id": run_id,
            "name": name,
            "status": status.value,
            "error": message,
            "items": counts[0],
            "failed": counts[1],
            "coordinator": coordinator,
            "stale_seconds": int(STALE_AFTER.total_seconds()),
            "dead": dead,
            **this_process(),
        },
    )
    if not records:
        raise RunNotFoundError(f"run {run_id!r} was deleted while it ran")
    return RunInfo.from_record(records[0]["run"]), list(records[0]["live"])


def heartbeat(run_id: str, name: str | None = None, counts: tuple[int, int] = (0, 0)) -> Op[None]:
    """Refresh the run's updated_at, and participant ``name``'s with its counts."""
    yield Write(
        "heartbeat",
        {
            "run_id": run_id,
            "name": name,
            "items": counts[0],
            "failed": counts[1],
            **this_process(),
        },
    )


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


def check_items(params: dict[str, Any]) -> Op[list[dict[str, Any]]]:
    """The ``check_items`` answer for ``_engine.check_params``' parameters, read on its own."""
    records: list[dict[str, Any]] = yield Read("check_items", params)
    return records


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
