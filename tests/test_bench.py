"""The benchmark's documented command, ``bench/run.py --quick``, run end to end on tiny sizes.

It checks that every variant runs and reports what it loaded, not how fast: the timings of
a shared machine are no test. Issue 16: with two repetitions (``--quick``) the last of the
alternating bare / graph-checkpoint loads is bare, which cleaned away the run the resume
variant then tried to resume.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

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

# Every row of the table, with the items it must report.
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


@pytest.fixture
def scratch_database(clean_neo4j: neo4j.Driver, neo4j_server: Neo4jServer) -> Iterator[None]:
    """An empty database before the benchmark, and again after it (it leaves reference data)."""
    yield
    clear_database(clean_neo4j, neo4j_server.database)


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

    # The printed table has the same rows, and the committed figures were left alone.
    for name, items in EXPECTED_ITEMS.items():
        assert f"| {name} | {items:,} |" in proc.stdout, proc.stdout
    assert f"written to {output}" in proc.stdout
    assert (COMMITTED.read_bytes() if COMMITTED.exists() else None) == committed
