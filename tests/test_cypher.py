"""The Cypher files: each documented, its parameters declared, and the schema idempotent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graph_checkpoint import _cypher

ROOT = Path(__file__).resolve().parent.parent
QUERIES = sorted((ROOT / "cypher" / "queries").glob("*.cypher"))
GRAPH_MODEL = (ROOT / "docs" / "graph-model.md").read_text()


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.name)
def test_every_query_is_documented_with_its_parameters(path: Path):
    header = [line for line in path.read_text().splitlines() if line.startswith("//")]
    declared = next((line for line in header if "Parameters:" in line), None)
    assert declared, f"{path.name} has no '// Parameters:' line"
    used = set(re.findall(r"\$(\w+)", _cypher.query(path.stem)))
    named = set(re.findall(r"\$(\w+)", declared))
    assert used == named, f"{path.name}: uses {sorted(used)}, declares {sorted(named)}"
    assert f"`{path.name}`" in GRAPH_MODEL, f"{path.name} is missing from docs/graph-model.md"


def test_schema_statements_are_idempotent():
    statements = _cypher.schema_statements()
    assert len(statements) >= 6
    assert all("IF NOT EXISTS" in statement for statement in statements)


def test_applying_the_schema_twice_is_harmless(manager):  # type: ignore[no-untyped-def]
    manager.ensure_schema()
    manager.ensure_schema()
    records, _, _ = manager.driver.execute_query("SHOW CONSTRAINTS YIELD name")
    assert {"processed_item_key", "checkpoint_run_id"} <= {r["name"] for r in records}
