"""Where a checkpointed batch spends its time: PROFILE db hits and per-transaction timings.

    python bench/profile_batch.py [--batches 40] [--batch-size 1000]

Complements ``bench/run.py``: instead of whole loads it times single batch transactions,
alternating bare and checkpointed ones transaction by transaction, so that the load of a
shared machine weighs on both alike, and it PROFILEs each query of a checkpointed batch
to count its db hits. It writes flights and checkpoint nodes with ids far above the real
ones into the database named by NEO4J_*, and deletes them again at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import neo4j

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))
sys.path.insert(0, str(HERE))
import flights  # noqa: E402
from run import connect  # noqa: E402

from graph_checkpoint import CheckpointManager, _cypher, _engine  # noqa: E402

RUN_ID = "profile_batch"
LOADER = "flights"
# Far above the 336,776 real flight ids, so profiling never collides with a real load.
ID_BASE = 10**12

Work = Callable[[neo4j.ManagedTransaction, list[dict[str, Any]]], dict[str, float]]


def db_hits(plan: dict[str, Any]) -> int:
    """Total db hits of a profiled plan."""
    return int(plan.get("dbHits", 0)) + sum(db_hits(c) for c in plan.get("children", []))


def bare(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> dict[str, float]:
    """The bare batch: the load query alone."""
    started = time.perf_counter()
    tx.run(flights.LOAD_FLIGHTS, rows=rows).consume()
    return {"load": time.perf_counter() - started}


def checkpointed(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> dict[str, float]:
    """What ``batch_transaction`` sends for a fresh batch: check, load, commit_batch."""
    scope = _engine.Scope(RUN_ID, LOADER, 0, True, 3)
    ids = [row["id"] for row in rows]
    parts: dict[str, float] = {}
    started = time.perf_counter()
    tx.run(_cypher.query("check_items"), _engine.check_params(scope, ids)).data()
    parts["check_items"] = time.perf_counter() - started
    started = time.perf_counter()
    tx.run(flights.LOAD_FLIGHTS, rows=rows).consume()
    parts["load"] = time.perf_counter() - started
    started = time.perf_counter()
    tx.run(
        _cypher.query("commit_batch"),
        {
            "run_id": RUN_ID,
            "loader": LOADER,
            "shard": 0,
            "new_ids": ids,
            "retried_ids": [],
            "skipped": 0,
        },
    ).consume()
    parts["commit_batch"] = time.perf_counter() - started
    return parts


def profile(session: neo4j.Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """db hits of each query of one checkpointed batch (rolled back)."""
    ids = [row["id"] for row in rows]
    scope = _engine.Scope(RUN_ID, LOADER, 0, True, 3)
    queries = {
        "check_items (range form)": (
            _cypher.query("check_items"),
            _engine.check_params(scope, ids),
        ),
        "check_items (id list form)": (
            _cypher.query("check_items"),
            {"run_id": RUN_ID, "loader": LOADER, "ids": ids, "lo": None, "hi": None},
        ),
        "load (LOAD_FLIGHTS)": (flights.LOAD_FLIGHTS, {"rows": rows}),
        "commit_batch": (
            _cypher.query("commit_batch"),
            {
                "run_id": RUN_ID,
                "loader": LOADER,
                "shard": 0,
                "new_ids": ids,
                "retried_ids": [],
                "skipped": 0,
            },
        ),
    }
    hits: dict[str, int] = {}
    tx = session.begin_transaction()
    try:
        for name, (text, params) in queries.items():
            summary = tx.run("PROFILE " + text, params).consume()
            hits[name] = db_hits(summary.profile or {})
    finally:
        tx.rollback()
    return hits


def main() -> int:
    """Profile one batch, then time alternating bare and checkpointed batch transactions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="batches of each kind")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    template = list(flights.flights(args.batch_size))
    driver, database = connect()
    with driver:
        CheckpointManager(driver, database).ensure_schema()
        with driver.session(database=database) as session:
            print("PROFILE db hits of one fresh batch:")
            for name, count in profile(session, template).items():
                print(f"  {name:<28} {count:>8,}")
            timings: dict[str, list[float]] = {"bare": [], "checkpointed": []}
            parts: dict[str, list[float]] = {}
            kinds: list[tuple[str, Work]] = [("bare", bare), ("checkpointed", checkpointed)]
            for number in range(args.batches * 2):
                name, work = kinds[number % 2]
                offset = ID_BASE + number * args.batch_size
                rows = [dict(row, id=row["id"] + offset) for row in template]
                started = time.perf_counter()
                split = session.execute_write(work, rows)
                timings[name].append(time.perf_counter() - started)
                if name == "checkpointed":
                    for part, seconds in split.items():
                        parts.setdefault(part, []).append(seconds)
            print(f"\nmedian of {args.batches} transactions each (ms), alternating:")
            for name, values in timings.items():
                print(f"  {name:<28} {statistics.median(values) * 1000:8.1f}")
            for part, values in parts.items():
                print(f"    {part:<26} {statistics.median(values) * 1000:8.1f}")
            ratio = statistics.median(timings["bare"]) / statistics.median(timings["checkpointed"])
            print(f"  bare / checkpointed          {ratio:8.3f}")
            # Leave nothing behind.
            session.run(
                "MATCH (f:Flight) WHERE f.id >= $base "
                "CALL (f) { DETACH DELETE f } IN TRANSACTIONS OF 10000 ROWS",
                base=ID_BASE,
            ).consume()
            session.run(
                "MATCH (x) WHERE (x:ProcessedItem OR x:CheckpointCounter) AND x.run_id = $run "
                "CALL (x) { DELETE x } IN TRANSACTIONS OF 10000 ROWS",
                run=RUN_ID,
            ).consume()
    return 0


if __name__ == "__main__":
    sys.exit(main())
