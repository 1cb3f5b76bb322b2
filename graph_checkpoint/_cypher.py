"""Loads the Cypher text that graph-checkpoint runs from the ``cypher/`` folder.

The files are the single source of every query, so what users read in ``cypher/`` is what
the library executes. In a wheel they live at ``graph_checkpoint/cypher``; in a source
checkout, beside the package.
"""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _cypher_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "cypher", _PACKAGE_DIR.parent / "cypher"):
        if (candidate / "schema.cypher").is_file():
            return candidate
    raise FileNotFoundError(  # pragma: no cover - a broken installation
        "graph-checkpoint's cypher/ folder is missing: reinstall the package"
    )


def _strip_comments(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    return "\n".join(lines).strip()


@functools.cache
def query(name: str) -> str:
    """The text of ``cypher/queries/<name>.cypher``, without its comment header."""
    return _strip_comments((_cypher_dir() / "queries" / f"{name}.cypher").read_text("utf-8"))


@functools.cache
def schema_statements() -> tuple[str, ...]:
    """The statements of ``cypher/schema.cypher``, one per ';'."""
    text = _strip_comments((_cypher_dir() / "schema.cypher").read_text("utf-8"))
    return tuple(s.strip() for s in text.split(";") if s.strip())
