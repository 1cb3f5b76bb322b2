"""Where a checkpointed batch spends its time: PROFILE db hits and per-transaction timings.

    python bench/profile_batch.py [--batches 40] [--batch-size 1000]

Complements ``bench/run.py``: instead of whole loads it times single batch transactions,
alternating bare and checkpointed ones transaction by transaction, so that the load of a
shared machine weighs on both alike, and it PROFILEs each query of a checkpointed batch to
count its db hits, beside the per-item queries of version 0.1 ("before"), for int ids and
for str ids. A checkpointed batch is timed in both shapes the engine uses: looked up first
(the start of a load, a resume) and committed blind (a fresh stretch of input). It writes
flights and checkpoint nodes with ids far above the real ones into the database named by
NEO4J_*, and deletes them again at the end.
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
SCOPE = _engine.Scope(RUN_ID, LOADER, 0, True, 3)

# The per-item queries of version 0.1, kept here only to PROFILE them beside today's.
BEFORE_CHECK = """CALL () {
  MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader})
  WHERE p.item_id >= $lo AND p.item_id <= $hi
  RETURN p
  UNION ALL
  UNWIND $ids AS id
  MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
  RETURN p
}
WITH collect(CASE WHEN p.status = 'processed' THEN p.item_id END) AS processed,
     collect(CASE WHEN p.status <> 'processed' THEN [p.item_id, p.attempts] END) AS others
WITH processed, others, coalesce(size(processed) = $hi - $lo + 1, false) AS whole_range
RETURN CASE WHEN whole_range THEN [] ELSE processed END AS processed, others, whole_range"""
BEFORE_COMMIT = """WITH datetime() AS now
CALL (now) {
  UNWIND $new_ids AS id
  CREATE (:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id,
                          status: 'processed', attempts: 1, updated_at: now})
}
CALL (now) {
  UNWIND $retried_ids AS id
  MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
  REMOVE p:FailedItem
  SET p.status = 'processed', p.attempts = p.attempts + 1,
      p.error = null, p.error_type = null, p.updated_at = now
}
MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
SET c.processed = c.processed + size($new_ids) + size($retried_ids),
    c.failed = c.failed - size($retried_ids),
    c.skipped = c.skipped + $skipped,
    c.updated_at = now"""

Work = Callable[[neo4j.ManagedTransaction, list[dict[str, Any]]], dict[str, float]]


def db_hits(plan: dict[str, Any]) -> int:
    """Total db hits of a profiled plan."""
    return int(plan.get("dbHits", 0)) + sum(db_hits(c) for c in plan.get("children", []))


def bare(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> dict[str, float]:
    """The bare batch: the load query alone."""
    started = time.perf_counter()
    tx.run(flights.LOAD_FLIGHTS, rows=rows).consume()
    return {"load": time.perf_counter() - started}


def checkpointed(verify: bool) -> Work:
    """What ``batch_transaction`` sends for a fresh batch: [check,] load, commit_batch."""

    def work(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> dict[str, float]:
        ids = [row["id"] for row in rows]
        parts: dict[str, float] = {}
        if verify:
            started = time.perf_counter()
            tx.run(_cypher.query("check_items"), _engine.check_params(SCOPE, ids)).data()
            parts["check_items"] = time.perf_counter() - started
        started = time.perf_counter()
        tx.run(flights.LOAD_FLIGHTS, rows=rows).consume()
        parts["load"] = time.perf_counter() - started
        started = time.perf_counter()
        answer = tx.run(
            _cypher.query("commit_batch"), _engine.commit_params(SCOPE, ids, [], 0)
        ).data()
        _engine.committed(answer, SCOPE)
        parts["commit_batch"] = time.perf_counter() - started
        return parts

    return work


def profile(session: neo4j.Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """db hits of each query of one fresh checkpointed batch, now and before (rolled back)."""
    ids = [row["id"] for row in rows]
    strs = [f"f-{item_id:016d}" for item_id in ids]
    before = {"run_id": RUN_ID, "loader": LOADER, "shard": 0, "retried_ids": [], "skipped": 0}
    queries = {
        "load (LOAD_FLIGHTS)": (flights.LOAD_FLIGHTS, {"rows": rows}),
        "int ids: check_items": (_cypher.query("check_items"), _engine.check_params(SCOPE, ids)),
        "int ids: commit_batch": (
            _cypher.query("commit_batch"),
            _engine.commit_params(SCOPE, ids, [], 0),
        ),
        "str ids: check_items": (
            _cypher.query("check_items"),
            _engine.check_params(SCOPE, strs),
        ),
        "str ids: commit_batch": (
            _cypher.query("commit_batch"),
            _engine.commit_params(SCOPE, strs, [], 0),
        ),
        "before, int ids: check_items": (
            BEFORE_CHECK,
            {"run_id": RUN_ID, "loader": LOADER, "ids": [], "lo": min(ids), "hi": max(ids)},
        ),
        "before, int ids: commit_batch": (BEFORE_COMMIT, {**before, "new_ids": ids}),
        "before, str ids: check_items": (
            BEFORE_CHECK,
            {"run_id": RUN_ID, "loader": LOADER, "ids": strs, "lo": None, "hi": None},
        ),
        "before, str ids: commit_batch": (BEFORE_COMMIT, {**before, "new_ids": strs}),
    }
    hits: dict[str, int] = {}
    for name, (text, params) in queries.items():
        # Each in a transaction of its own, rolled back: "before" and "now" see the same graph.
        tx = session.begin_transaction()
        try:
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
            # The commit takes the loader's lock: its node must exist, as in a real load.
            session.run(
                "MERGE (:CheckpointLoader {run_id: $run, loader: $loader})",
                run=RUN_ID,
                loader=LOADER,
            ).consume()
            print("PROFILE db hits of one fresh batch:")
            for name, count in profile(session, template).items():
                print(f"  {name:<32} {count:>8,}")
            timings: dict[str, list[float]] = {"bare": [], "looked up": [], "blind": []}
            parts: dict[str, dict[str, list[float]]] = {"looked up": {}, "blind": {}}
            kinds: list[tuple[str, Work]] = [
                ("bare", bare),
                ("looked up", checkpointed(verify=True)),
                ("blind", checkpointed(verify=False)),
            ]
            for number in range(args.batches * len(kinds)):
                name, work = kinds[number % len(kinds)]
                offset = ID_BASE + number * args.batch_size
                rows = [dict(row, id=row["id"] + offset) for row in template]
                started = time.perf_counter()
                split = session.execute_write(work, rows)
                timings[name].append(time.perf_counter() - started)
                if name in parts:
                    for part, seconds in split.items():
                        parts[name].setdefault(part, []).append(seconds)
            print(f"\nmedian of {args.batches} transactions each (ms), alternating:")
            for name, values in timings.items():
                print(f"  {name:<28} {statistics.median(values) * 1000:8.1f}")
                for part, part_values in parts.get(name, {}).items():
                    print(f"    {part:<26} {statistics.median(part_values) * 1000:8.1f}")
            bare_median = statistics.median(timings["bare"])
            for name in ("looked up", "blind"):
                ratio = bare_median / statistics.median(timings[name])
                print(f"  bare / {name:<21} {ratio:8.3f}")
            # Leave nothing behind.
            session.run(
                "MATCH (f:Flight) WHERE f.id >= $base "
                "CALL (f) { DETACH DELETE f } IN TRANSACTIONS OF 10000 ROWS",
                base=ID_BASE,
            ).consume()
            session.run(
                "MATCH (x) WHERE (x:ProcessedItem OR x:CheckpointCounter OR x:CheckpointLoader)"
                " AND x.run_id = $run CALL (x) { DELETE x } IN TRANSACTIONS OF 10000 ROWS",
                run=RUN_ID,
            ).consume()
    return 0


if __name__ == "__main__":
    sys.exit(main())
