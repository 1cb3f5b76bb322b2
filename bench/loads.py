"""The light node load and the edge load of the benchmark, with int ids and with string ids.

* light: ``MERGE`` one ``:Person`` by id and set two properties, ``name`` and ``age``;
* edge: ``MATCH`` two persons by id and ``CREATE`` one ``:KNOWS`` relationship between them
  (the persons are loaded first, untimed).

Every variant, bare, graph-checkpoint and the neo4j-etl-lib peer, runs the very same Cypher
text with its rows in ``$batch``. The peer reads its rows from CSV, where every value is a
string, so the Cypher converts numbers with ``toInteger``; for the rows of the other two,
which are already ints, that is a no-op that costs all variants alike.

String ids are ``"p-000123"`` for persons and ``"e-000123"`` for edges, zero-padded to one
width, so they sort in input order like the int ids do.
"""

from __future__ import annotations

import argparse
import csv
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
from common import chunks, connect, peak_rss_mib, timed

from graph_checkpoint import CheckpointManager, checkpoint_loader

LOADS = ("light", "edge")
ID_KINDS = ("int", "str")

SCHEMA = [
    # MERGE and MATCH by id need an index; a constraint is what a user would create.
    "CREATE CONSTRAINT bench_person_id IF NOT EXISTS FOR (p:Person) REQUIRE p.id IS UNIQUE",
]

_LIGHT = """
UNWIND $batch AS r
MERGE (p:Person {id: %s})
SET p.name = r.name, p.age = toInteger(r.age)
"""

_EDGE = """
UNWIND $batch AS r
MATCH (a:Person {id: %s})
MATCH (b:Person {id: %s})
CREATE (a)-[:KNOWS]->(b)
"""

QUERIES: dict[tuple[str, str], str] = {
    ("light", "int"): _LIGHT % "toInteger(r.id)",
    ("light", "str"): _LIGHT % "r.id",
    ("edge", "int"): _EDGE % ("toInteger(r.source)", "toInteger(r.target)"),
    ("edge", "str"): _EDGE % ("r.source", "r.target"),
}

# Which CSV columns each load has, in order.
COLUMNS = {"light": ("id", "name", "age"), "edge": ("id", "source", "target")}


def string_id(prefix: str, number: int, count: int) -> str:
    """``"p-000123"``: zero-padded to the width of the largest id, at least 6 digits."""
    return f"{prefix}-{number:0{max(6, len(str(max(count - 1, 0))))}d}"


def person_id(number: int, ids: str, count: int) -> int | str:
    """The id of person ``number`` of ``count``, as an int or a string."""
    return number if ids == "int" else string_id("p", number, count)


def person_rows(count: int, ids: str) -> Iterator[dict[str, Any]]:
    """``count`` persons in input order, made on the fly."""
    for number in range(count):
        yield {
            "id": person_id(number, ids, count),
            "name": f"person-{number}",
            "age": number % 100,
        }


def edge_rows(count: int, ids: str, persons: int) -> Iterator[dict[str, Any]]:
    """``count`` edges between ``persons`` persons: each person in turn, to a random other.

    The random generator is seeded, so every variant and the peer's CSV get the same edges.
    """
    rng = random.Random(12)
    for number in range(count):
        source = number % persons
        target = (source + 1 + rng.randrange(persons - 1)) % persons if persons > 1 else 0
        yield {
            "id": number if ids == "int" else string_id("e", number, count),
            "source": person_id(source, ids, persons),
            "target": person_id(target, ids, persons),
        }


def rows_for(load: str, ids: str, items: int, persons: int) -> Iterator[dict[str, Any]]:
    """The input rows of one load: ``items`` persons, or ``items`` edges among ``persons``."""
    if load == "light":
        return person_rows(items, ids)
    return edge_rows(items, ids, persons)


def write_csv(path: Path, load: str, ids: str, items: int, persons: int) -> int:
    """Write a load's rows to ``path`` as CSV with a header (the peer's input); their count."""
    written = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS[load])
        writer.writeheader()
        for row in rows_for(load, ids, items, persons):
            writer.writerow(row)
            written += 1
    return written


def write_batch(tx: neo4j.ManagedTransaction, query: str, rows: list[dict[str, Any]]) -> None:
    """The one load query of every variant, one batch."""
    tx.run(query, batch=rows).consume()


def preload_persons(driver: neo4j.Driver, database: str | None, ids: str, count: int) -> None:
    """Load the persons an edge load links (untimed, in large batches)."""
    query = QUERIES[("light", ids)]
    with driver.session(database=database) as session:
        for batch in chunks(list(person_rows(count, ids)), 10_000):
            session.execute_write(write_batch, query, batch)


def checkpointed(load: str, ids: str, batch_size: int) -> Any:
    """The graph-checkpoint loader of one load and id kind: the package's default options,
    the same Cypher as bare."""
    query = QUERIES[(load, ids)]

    @checkpoint_loader(name=f"{load}_{ids}", batch_size=batch_size)
    def load_rows(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
        write_batch(tx, query, rows)

    return load_rows


# --- the variants, each run in a child process by run.py ----------------------------------


def child_load_bare(args: argparse.Namespace) -> dict[str, Any]:
    """Bare: one managed write transaction per batch, the way a user writes it without us."""
    rows = list(rows_for(args.load, args.ids, args.items, args.persons))
    query = QUERIES[(args.load, args.ids)]
    driver, database = connect()
    with driver, driver.session(database=database) as session:

        def load() -> None:
            for batch in chunks(rows, args.batch_size):
                session.execute_write(write_batch, query, batch)

        _, seconds = timed(load)
    return {"items": len(rows), "seconds": seconds}


def child_load_checkpoint(args: argparse.Namespace) -> dict[str, Any]:
    """graph-checkpoint: the same query through ``@checkpoint_loader`` in ``manager.run()``."""
    rows = list(rows_for(args.load, args.ids, args.items, args.persons))
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)
        loader = checkpointed(args.load, args.ids, args.batch_size)
        config = {"bench": f"{args.load}-{args.ids}", "nonce": uuid.uuid4().hex}
        with manager.run(description=f"benchmark: {args.load} load", config=config) as run:
            result, seconds = timed(lambda: loader(run, rows))
    if result.processed != len(rows):
        raise RuntimeError(f"expected {len(rows)} processed, got {result}")
    return {"items": len(rows), "seconds": seconds, "run_id": run.run_id}


def child_light_memory(args: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS of the checkpointed light load (int ids) fed from a generator.

    The rows are made on the fly, so the input holds no memory: what grows with the number
    of items is the library's, the driver's or the interpreter's. The run is kept for the
    resume variant.
    """
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)
        loader = checkpointed("light", "int", args.batch_size)
        config = {"bench": "light-memory", "items": args.items, "nonce": uuid.uuid4().hex}
        with manager.run(description="benchmark: light memory", config=config) as run:
            baseline = peak_rss_mib()
            result, seconds = timed(lambda: loader(run, person_rows(args.items, "int")))
    if result.processed != args.items:
        raise RuntimeError(f"expected {args.items} processed, got {result}")
    return {
        "items": args.items,
        "seconds": seconds,
        "run_id": run.run_id,
        "rss_before_load_mib": round(baseline, 1),
    }


def child_light_resume(args: argparse.Namespace) -> dict[str, Any]:
    """Resume the finished light run ``--run-id`` with the same rows: every item is skipped.

    The rows are built before the clock starts, as for the flights' resume, so the figure is
    the library's skipping and not the making of a million dicts.
    """
    rows = list(person_rows(args.items, "int"))
    driver, database = connect()
    with driver:
        manager = CheckpointManager(driver, database)
        loader = checkpointed("light", "int", args.batch_size)
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


CHILDREN = {
    "load-bare": child_load_bare,
    "load-checkpoint": child_load_checkpoint,
    "light-memory": child_light_memory,
    "light-resume": child_light_resume,
}
