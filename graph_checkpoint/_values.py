"""Values read from Neo4j, turned into standard-library ones."""

from __future__ import annotations

from typing import Any


def native(value: Any) -> Any:
    """Neo4j temporal values (``neo4j.time.DateTime``...) as ``datetime`` ones; others as is."""
    to_native = getattr(value, "to_native", None)
    return to_native() if to_native is not None else value
