"""Store and transaction-log bytes per processed id, read from the server's own files.

Only possible when the server under test is the project's own (``scripts/neo4j``), on this
machine: the measurement stops it cleanly before each reading and starts it again, with
``scripts/neo4j stop|start``. It finds that server the way the fault tests do, through
``scripts/neo4j_server.py``: the port comes from NEO4J_URI, the home from
GRAPH_CKPT_NEO4J_HOME (default ``.neo4j/``), and a running pid of that instance must be
there. Anything else is skipped with the reason.

The method, for N ids of each kind loaded through graph-checkpoint by a loader that writes
no data of its own (so every byte is the checkpoint's):

1. a fresh database: the server is stopped, the database's store and transaction-log
   folders are removed and the server is started, which creates the database empty. Neo4j
   never shrinks its files and reuses the records a delete frees, so on a database that had
   held (and lost) data before, a load would fill old free records and look free;
2. reading 0 (stop, read, start), N consecutive int ids, reading 1, N 16-character string
   ids (``"p-00000000000123"``), reading 2;
3. if ``graph_checkpoint.admin.compact_run(manager, run_id)`` exists: the string run is
   compacted, reading 3; then the same N string ids are loaded again as a second run,
   reading 4. Store files never shrink, so what the compacted run still occupies is the
   growth the second, identical load could not cover with the records compaction freed:
   store bytes after compaction = (reading 4 - reading 2) / N. This counts as still held
   what Neo4j cannot hand to other data, which errs high: a check whose "compaction"
   deleted the whole string run of the engine before issue 12 (one node per id, 312 B/id)
   still came out at 140 B/id, 130 of them index pages and 9 id files, while the nodes
   and properties were all reused. A range index does not merge the leaves a delete
   empties (and writes a changed page anew after a checkpoint), and the second run's
   keys, which start with another run id, go elsewhere. ``store_by_part`` splits every
   figure into nodes, properties, strings, arrays, indexes and id files, so such a share
   can be told apart.

Every file is measured by what was written to it, not by its size: Neo4j 5 preallocates
its files and fills the tails with zeros. A transaction log file is made at its rotation
size at once (``db.tx_log.preallocate``, 64 MiB on the project's server), so a file's size
says nothing about what was written. Store files grow in steps
(``db.store.files.preallocate``; after a full benchmark the property store was exactly
96 MiB, and an index file 160 MiB of which 73 MB were written), so one load's growth in
apparent size includes room the next load then fills for nothing. The figure is therefore
the bytes up to the last non-zero byte of each file (a record or page that ends in zeros
is off by less than its size), read after a clean shutdown (the page cache has then
written every page). The store is every file of the database's store folder but Neo4j's
scratch file of freed ids (its apparent growth is in the JSON too,
``store_apparent_bytes_per_id``); the log is every ``*.transaction.db.*`` file.

The settings cannot be changed for the measurement (``dbms.setConfigValue`` is
Enterprise-only), and ``db.tx_log.rotation.retention_policy`` deletes old log files at a
checkpoint, the shutdown's included; so the log files are read both before and after each
stop, and the largest size ever seen of each file is kept, which counts a file the shutdown
pruned with what it held. Checkpoint files (``checkpoint.*``) are left out: they grow by
one entry per checkpoint, not per item.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import neo4j
from common import connect, timed

from graph_checkpoint import CheckpointManager, ConnectionSettings, checkpoint_loader

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPT = ROOT / "scripts" / "neo4j"
SERVER_MODULE = ROOT / "scripts" / "neo4j_server.py"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
STRING_ID_WIDTH = 14  # "p-" and 14 digits: the 16-character string ids


def string_id(number: int) -> str:
    """A 16-character string id, zero-padded so the ids sort in input order."""
    return f"p-{number:0{STRING_ID_WIDTH}d}"


# --- reading the files --------------------------------------------------------------------


def store_files(folder: Path) -> dict[str, tuple[int, int]]:
    """Written and apparent bytes of each file of a database's store folder, by path in it.

    ``id-buffer.tmp.*`` is left out: Neo4j keeps the ids freed by deletes there until they
    can be reused, a scratch file and not part of the store.
    """
    sizes = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and ".tmp" not in path.name:
            sizes[str(path.relative_to(folder))] = (used_bytes(path), path.stat().st_size)
    return sizes


def file_group(name: str) -> str:
    """Which part of the store a file is: records, dynamic values, an index or id files."""
    if name.endswith(".id"):
        return "id files"
    if name.startswith("schema/index/"):
        return "indexes"
    for prefix, group in (
        ("neostore.nodestore.db", "nodes"),
        ("neostore.propertystore.db.strings", "strings"),
        ("neostore.propertystore.db.arrays", "arrays"),
        ("neostore.propertystore.db", "properties"),
        ("neostore.relationship", "relationships"),
    ):
        if name.startswith(prefix):
            return group
    return "other"


def used_bytes(path: Path, block: int = 1 << 20) -> int:
    """Bytes up to and including the last non-zero byte: a preallocated log's written part.

    Read backwards a block at a time, so a 64 MiB file holding a few KiB costs one read.
    """
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            data = handle.read(end - start).rstrip(b"\0")
            if data:
                return start + len(data)
            end = start
    return 0


@dataclass
class LogLedger:
    """The largest written size ever seen of each transaction log file of one folder.

    A file pruned by a checkpoint keeps the size it was last seen with, so the total never
    drops when Neo4j deletes a log file it no longer needs.
    """

    folder: Path
    seen: dict[str, int] = field(default_factory=dict)

    def read(self) -> int:
        """Read the folder's log files now; the total of the ledger."""
        for path in self.folder.glob("*.transaction.db.*"):
            try:
                size = used_bytes(path)
            except FileNotFoundError:
                continue  # pruned between the listing and the read: its last size stays
            self.seen[path.name] = max(size, self.seen.get(path.name, 0))
        return self.total

    @property
    def total(self) -> int:
        """Bytes written to every log file seen so far."""
        return sum(self.seen.values())


# --- the project's server -----------------------------------------------------------------


def server_module() -> ModuleType:
    """scripts/neo4j_server.py, loaded from its file (it has no side effects on import)."""
    spec = importlib.util.spec_from_file_location("graph_ckpt_bench_neo4j_server", SERVER_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class OwnServer:
    """The project's own server behind NEO4J_URI, which the measurement may stop and start."""

    env: dict[str, str]
    instance: Path
    store_dir: Path
    log_dir: Path
    database: str

    def _script(self, command: str) -> None:
        out = subprocess.run(
            [str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=600
        )
        if out.returncode != 0:
            raise RuntimeError(f"scripts/neo4j {command} failed: {out.stderr.strip()[-1000:]}")

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM: Neo4j checkpoints and closes its files)."""
        self._script("stop")

    def start(self) -> None:
        """Start it again and wait until Bolt answers."""
        self._script("start")

    def fresh_database(self) -> None:
        """Stop, remove the database's store and logs, start: Neo4j makes it anew, empty."""
        self.stop()
        for folder in (self.store_dir, self.log_dir):
            # Only ever a folder of this instance named after the database.
            if self.instance not in folder.parents or folder.name != self.database:
                raise RuntimeError(f"refusing to remove {folder}: not {self.instance}'s")
            shutil.rmtree(folder, ignore_errors=True)
        self.start()


def find_own_server(driver: neo4j.Driver, database: str | None) -> tuple[OwnServer | None, str]:
    """The project's server behind NEO4J_URI, or None and why the measurement is skipped."""
    settings = ConnectionSettings.from_env()
    if settings is None:
        return None, "NEO4J_URI is not set"
    where = urlsplit(settings.uri)
    if where.hostname not in LOOPBACK or where.port is None:
        return None, f"{settings.uri} is not a server on this machine (stopping it is needed)"
    env = dict(os.environ)
    port = str(where.port)
    if env.get("GRAPH_CKPT_NEO4J_PORT", port) != port:
        return None, (
            f"GRAPH_CKPT_NEO4J_PORT={env['GRAPH_CKPT_NEO4J_PORT']} but NEO4J_URI is on port"
            f" {port}: the server under test is not the one scripts/neo4j manages"
        )
    env["GRAPH_CKPT_NEO4J_PORT"] = port
    try:
        module = server_module()
        instance = Path(module.instance_dir(env)).resolve()
        pid = module.server_pid(env)
    except Exception as exc:  # a bad setting: say so and skip, the timings are still useful
        return None, f"scripts/neo4j settings: {exc}"
    if pid is None:
        return None, (
            f"no server started by scripts/neo4j runs on port {port} with the instance folder"
            f" {instance} (set GRAPH_CKPT_NEO4J_HOME and GRAPH_CKPT_NEO4J_VERSION as when it"
            " was started)"
        )
    records, _, _ = driver.execute_query(
        "SHOW SETTINGS YIELD name, value WHERE name IN"
        " ['server.directories.data', 'server.directories.transaction.logs.root']"
        " RETURN name, value",
        database_=database,
    )
    dirs = {r["name"]: Path(r["value"]).resolve() for r in records}
    if database is None:
        records, _, _ = driver.execute_query("SHOW DEFAULT DATABASE YIELD name RETURN name")
        database = str(records[0]["name"])
    store_dir = dirs["server.directories.data"] / "databases" / database
    log_dir = dirs["server.directories.transaction.logs.root"] / database
    for folder in (store_dir, log_dir):
        if instance not in folder.parents or not folder.is_dir():
            return None, f"{folder} is not a folder of the instance {instance}"
    return OwnServer(env, instance, store_dir, log_dir, database), ""


# --- the children -------------------------------------------------------------------------


def id_stream(kind: str, count: int) -> Iterator[int | str]:
    """``count`` consecutive int ids, or as many 16-character string ids."""
    if kind == "int":
        yield from range(count)
    else:
        for number in range(count):
            yield string_id(number)


def child_storage_load(args: argparse.Namespace) -> dict[str, Any]:
    """Record ``--items`` ids through graph-checkpoint, with a loader that writes no data."""
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)

        @checkpoint_loader(name="storage", batch_size=args.batch_size)
        def load(tx: neo4j.ManagedTransaction, items: list[int | str]) -> None:
            del tx, items  # only the checkpoint is written

        config = {"bench": f"storage-{args.ids}", "nonce": uuid.uuid4().hex}
        with manager.run(description="benchmark: storage", config=config) as run:
            result, seconds = timed(lambda: load(run, id_stream(args.ids, args.items)))
    if result.processed != args.items:
        raise RuntimeError(f"expected {args.items} processed, got {result}")
    return {"items": args.items, "seconds": seconds, "run_id": run.run_id}


def compaction() -> Callable[..., Any] | None:
    """``graph_checkpoint.admin.compact_run`` if this version of the package has it."""
    from graph_checkpoint import admin

    found = getattr(admin, "compact_run", None)
    return found if callable(found) else None


def child_storage_compact(args: argparse.Namespace) -> dict[str, Any]:
    """Compact the run ``--run-id`` with ``admin.compact_run(manager, run_id)``."""
    compact = compaction()
    if compact is None:
        raise RuntimeError("graph_checkpoint.admin.compact_run is not available")
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)
        outcome, seconds = timed(lambda: compact(manager, args.run_id))
    return {"items": args.items, "seconds": seconds, "outcome": repr(outcome)[:300]}


CHILDREN = {
    "storage-load": child_storage_load,
    "storage-compact": child_storage_compact,
}


# --- the parent's sequence ----------------------------------------------------------------


@dataclass
class Reading:
    """Sizes at one clean stop of the server: per store file (written, apparent), and the
    log ledger's total."""

    files: dict[str, tuple[int, int]]
    log: int

    @property
    def store(self) -> int:
        """Bytes written to the store's files (up to the last non-zero byte of each)."""
        return sum(used for used, _ in self.files.values())

    @property
    def store_apparent(self) -> int:
        """The store files' sizes, preallocated tails included."""
        return sum(size for _, size in self.files.values())

    def growth_by_group(self, earlier: Reading, items: int) -> dict[str, float]:
        """Written bytes per item each part of the store grew by since ``earlier``."""
        groups: dict[str, int] = {}
        for name in self.files.keys() | earlier.files.keys():
            grown = self.files.get(name, (0, 0))[0] - earlier.files.get(name, (0, 0))[0]
            groups[file_group(name)] = groups.get(file_group(name), 0) + grown
        return {k: round(v / items, 2) for k, v in sorted(groups.items()) if v}


def measure(
    server: OwnServer,
    reconnect: Callable[[], tuple[neo4j.Driver, str | None]],
    items: int,
    run_child: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """The whole sequence of the module docstring; the figures per id.

    ``reconnect()`` renews the parent's driver after each restart and returns it;
    ``run_child(kind, items, **extra)`` runs a child variant (``Bench.child``).
    """
    server.fresh_database()
    driver, database = reconnect()
    # The schema before the first reading: its indexes are not the items' cost.
    CheckpointManager(driver, database).ensure_schema()
    ledger = LogLedger(server.log_dir)

    def reading() -> Reading:
        ledger.read()  # before the stop: the shutdown's checkpoint may prune a log file
        server.stop()
        try:
            return Reading(store_files(server.store_dir), ledger.read())
        finally:
            server.start()
            reconnect()

    figures: dict[str, Any] = {"items": items}
    start = reading()
    per_kind: dict[str, Reading] = {}
    before = start
    for kind in ("int", "str"):
        loaded = run_child("storage-load", items, ids=kind)
        after = reading()
        per_kind[kind] = after
        store = (after.store - before.store) / items
        log = (after.log - before.log) / items
        figures[kind] = {
            "store_bytes_per_id": round(store, 2),
            "log_bytes_per_id": round(log, 2),
            "store_plus_log_bytes_per_id": round(store + log, 2),
            "store_by_part": after.growth_by_group(before, items),
            "store_apparent_bytes_per_id": round(
                (after.store_apparent - before.store_apparent) / items, 2
            ),
            "load_seconds": round(loaded["seconds"], 3),
            "run_id": loaded["run_id"],
        }
        print(
            f"  storage {kind:<4} {items:>9,} ids  store {store:>8.1f} B/id  log {log:>8.1f} B/id",
            flush=True,
        )
        before = after
    if compaction() is None:
        figures["compaction"] = {"available": False, "reason": "compaction not available"}
        print("  storage: compaction not available (graph_checkpoint.admin.compact_run)")
        return figures
    compacted = run_child("storage-compact", items, run_id=figures["str"]["run_id"])
    after_compaction = reading()
    run_child("storage-load", items, ids="str")  # a second run of the same ids
    probe = reading()
    kept = (probe.store - per_kind["str"].store) / items
    figures["compaction"] = {
        "available": True,
        "seconds": round(compacted["seconds"], 3),
        "outcome": compacted.get("outcome"),
        # What the compacted run still holds (see the module docstring).
        "store_bytes_per_id": round(kept, 2),
        "store_by_part": probe.growth_by_group(per_kind["str"], items),
        # The files as they stand right after compaction: they never shrink.
        "store_files_growth_per_id": round(
            (after_compaction.store - per_kind["str"].store) / items, 2
        ),
        "log_bytes_per_id": round((after_compaction.log - per_kind["str"].log) / items, 2),
    }
    print(f"  storage str after compaction: store {kept:.1f} B/id", flush=True)
    return figures
