"""The benchmark's documented command, ``bench/run.py --quick``, run end to end on tiny sizes.

It checks that every variant runs and reports what it loaded, not how fast: the timings of
a shared machine are no test. Issue 16: with two repetitions (``--quick``) the last of the
alternating bare / graph-checkpoint loads is bare, which cleaned away the run the resume
variant then tried to resume.

The light and edge loads run once each (``--load-repeat 1``) at one batch size, and the
neo4j-etl-lib peer runs from its own venv (``bench/.venv-etl``, made on first use, about
15 s). The store and log bytes per id are left out (``--no-storage``): they stop and
restart the server several times, which the test session's server must not suffer; the
file readings they rest on are tested here without a server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import neo4j
import pytest

from graph_checkpoint.pytest_plugin import Neo4jServer, clear_database
from tests.fault._support import server_env

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "run.py"
COMMITTED = ROOT / "bench" / "results" / "latest.json"

ITEMS = 300
SEED_ITEMS = 30
PER_ITEM_ITEMS = 30
MEMORY_SMALL = 200
MEMORY_LARGE = 1000
WORKERS = [1, 2]
PERSONS = 200
EDGES = 400
LOAD_BATCH = 100

# Every row of the flights' table, with the items it must report.
EXPECTED_ITEMS = {
    "1 bare": ITEMS,
    "2 graph-checkpoint": ITEMS,
    "5 resume (skip all)": ITEMS,
    "3 seed-style": SEED_ITEMS,
    "4 per-item checkpoint": PER_ITEM_ITEMS,
    "8 workers=1": ITEMS,
    "8 workers=2": ITEMS,
    f"6 memory {MEMORY_SMALL:,}": MEMORY_SMALL,
    f"6 memory {MEMORY_LARGE:,}": MEMORY_LARGE,
    "7 cleanup": MEMORY_LARGE,
}

# The light load's memory and resume rows.
EXPECTED_LIGHT = {
    f"light memory {MEMORY_SMALL:,}": MEMORY_SMALL,
    f"light memory {MEMORY_LARGE:,}": MEMORY_LARGE,
    "light resume (skip all)": MEMORY_LARGE,
}


def schema_names(driver: neo4j.Driver, database: str | None) -> set[str]:
    """The names of the database's constraints and (non-lookup) indexes."""
    records, _, _ = driver.execute_query(
        "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name", database_=database
    )
    return {record["name"] for record in records}


@pytest.fixture
def scratch_database(clean_neo4j: neo4j.Driver, neo4j_server: Neo4jServer) -> Iterator[None]:
    """An empty database before the benchmark, and again after it: without the reference
    data and the schema it created (a unique :Person id would break later tests' loads)."""
    database = neo4j_server.database
    before = schema_names(clean_neo4j, database)
    yield
    clear_database(clean_neo4j, database)
    records, _, _ = clean_neo4j.execute_query("SHOW CONSTRAINTS YIELD name", database_=database)
    for name in sorted({r["name"] for r in records} - before):
        # Names are the benchmark's own constants, never user input; DDL takes no parameters.
        clean_neo4j.execute_query(f"DROP CONSTRAINT `{name}` IF EXISTS", database_=database)
    for name in sorted(schema_names(clean_neo4j, database) - before):
        clean_neo4j.execute_query(f"DROP INDEX `{name}` IF EXISTS", database_=database)


@pytest.mark.slow
@pytest.mark.usefixtures("scratch_database")
def test_quick_benchmark_runs_every_variant(neo4j_server: Neo4jServer, tmp_path: Path) -> None:
    committed = COMMITTED.read_bytes() if COMMITTED.exists() else None
    output = tmp_path / "bench.json"
    command = [
        sys.executable,
        str(BENCH),
        "--quick",  # two repetitions, ending on bare: the order of issue 16
        "--items",
        str(ITEMS),
        "--seed-items",
        str(SEED_ITEMS),
        "--per-item-items",
        str(PER_ITEM_ITEMS),
        "--memory-small",
        str(MEMORY_SMALL),
        "--memory-large",
        str(MEMORY_LARGE),
        "--workers",
        ",".join(map(str, WORKERS)),
        "--persons",
        str(PERSONS),
        "--edges",
        str(EDGES),
        "--load-batch-sizes",
        str(LOAD_BATCH),
        "--load-repeat",
        "1",
        "--no-storage",
        "--warmup",
        "100",
        "--output",
        str(output),
    ]
    proc = subprocess.run(
        command, env=server_env(neo4j_server), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["mode"] == "quick"
    assert report["sizes"]["repeat"] == 2
    rows = {row["variant"]: row for row in report["results"]}
    assert list(rows) == list(EXPECTED_ITEMS)
    assert {name: row["items"] for name, row in rows.items()} == EXPECTED_ITEMS

    # The resume found every item of its run processed and loaded none again.
    resume = rows["5 resume (skip all)"]["details"]
    assert (resume["skipped"], resume["processed"]) == (ITEMS, 0)
    # Both repetitions of bare and graph-checkpoint ran, and the extra workers' load too.
    assert len(rows["1 bare"]["details"]["all_seconds"]) == 2
    assert len(rows["2 graph-checkpoint"]["details"]["all_seconds"]) == 2
    assert (
        rows["8 workers=2"]["details"]["run_id"] != rows["2 graph-checkpoint"]["details"]["run_id"]
    )
    assert set(report["targets"]) >= {"resume_skip_rate", "cleanup_rate"}

    # Which driver ran, said once for the whole run.
    assert report["driver"].startswith("neo4j-rust-ext ") or report["driver"].endswith(
        "(pure Python)"
    )

    # Every light and edge variant, int and str ids, with the items it was given. The peer
    # runs whenever a Python >= 3.11 is there (this one, at least) and its install worked.
    peer = report["peer"]
    if sys.version_info >= (3, 11):
        assert peer["available"], peer
    variants = ["bare", "graph-checkpoint"] + (["neo4j-etl-lib"] if peer["available"] else [])
    if not peer["available"]:
        assert peer["reason"], peer
    loads = {(r["load"], r["ids"], r["batch_size"], r["variant"]): r for r in report["loads"]}
    expected_loads = {
        (load, ids, LOAD_BATCH, variant): PERSONS if load == "light" else EDGES
        for load in ("light", "edge")
        for ids in ("int", "str")
        for variant in variants
    }
    assert {key: row["items"] for key, row in loads.items()} == expected_loads
    for (load, ids, _, variant), row in loads.items():
        assert row["ratio_to_bare"] > 0
        if variant == "bare":
            assert row["ratio_to_bare"] == 1.0
        if variant == "neo4j-etl-lib":
            # It wrote what the Cypher says: one node per person, one relationship per edge.
            summary = row["details"]["summary"]
            created = "nodes_created" if load == "light" else "relationships_created"
            assert summary[created] == row["items"], (load, ids, summary)
            assert loads[(load, ids, LOAD_BATCH, "graph-checkpoint")]["ratio_to_peer"] > 0
    for load, ids in (("light", "int"), ("edge", "int"), ("light", "str")):
        assert f"{load}_{ids}_vs_bare_b{LOAD_BATCH}" in report["targets"]

    # The checkpointed light load's memory at two sizes, then the resume of the larger run.
    light = {row["variant"]: row for row in report["light"]}
    assert {name: row["items"] for name, row in light.items()} == EXPECTED_LIGHT
    resumed = light["light resume (skip all)"]["details"]
    assert (resumed["skipped"], resumed["processed"]) == (MEMORY_LARGE, 0)
    assert {"light_resume_skip_rate", "light_rss_growth"} <= set(report["targets"])

    # Left out on request, and said so; its targets are listed as not measured.
    assert report["storage"] == {"skipped": "left out with --no-storage"}
    assert report["targets"]["int_store_bytes_per_id"]["met"] is None

    # The printed tables have the same rows, and the committed figures were left alone.
    for name, items in {**EXPECTED_ITEMS, **EXPECTED_LIGHT}.items():
        assert f"| {name} | {items:,} |" in proc.stdout, proc.stdout
    assert f"| light | int | {LOAD_BATCH:,} | graph-checkpoint | {PERSONS:,} |" in proc.stdout
    assert f"written to {output}" in proc.stdout
    assert (COMMITTED.read_bytes() if COMMITTED.exists() else None) == committed


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/storage.py, imported the way bench/run.py imports it."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import storage as module  # type: ignore[import-not-found]

    return module  # type: ignore[no-any-return]


def test_log_bytes_count_the_written_part_of_a_preallocated_file(
    storage: ModuleType, tmp_path: Path
) -> None:
    log = tmp_path / "neostore.transaction.db.0"
    # 3 MiB preallocated with zeros, 1,000,001 bytes written: a zero inside still counts.
    log.write_bytes(b"\x01" * 500_000 + b"\0" + b"\x02" * 500_000 + b"\0" * (3 * 2**20 - 1_000_001))
    assert storage.used_bytes(log) == 1_000_001
    (tmp_path / "empty").write_bytes(b"\0" * 4096)
    assert storage.used_bytes(tmp_path / "empty") == 0


def test_log_ledger_keeps_a_pruned_file(storage: ModuleType, tmp_path: Path) -> None:
    first = tmp_path / "neostore.transaction.db.0"
    first.write_bytes(b"\x01" * 100 + b"\0" * 900)
    (tmp_path / "checkpoint.0").write_bytes(b"\x01" * 50)  # not a transaction log
    ledger = storage.LogLedger(tmp_path)
    assert ledger.read() == 100
    first.write_bytes(b"\x01" * 300 + b"\0" * 700)
    (tmp_path / "neostore.transaction.db.1").write_bytes(b"\x01" * 40)
    assert ledger.read() == 340
    first.unlink()  # pruned by a checkpoint: what it held stays counted
    assert ledger.read() == 340


def test_storage_is_skipped_for_a_server_elsewhere(
    storage: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEO4J_URI", "neo4j+s://db.example.invalid:7687")
    server, reason = storage.find_own_server(None, None)
    assert server is None
    assert "not a server on this machine" in reason
