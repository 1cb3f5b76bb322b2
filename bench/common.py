"""Helpers every benchmark module shares: the connection, the clock, RSS, the driver's name.

Kept apart from ``run.py`` so the load variants (``loads.py``) and the storage measurement
(``storage.py``) can use them without importing the orchestration; ``run.py`` re-exports
``connect`` for ``profile_batch.py``.
"""

from __future__ import annotations

import importlib.metadata
import resource
import time
from collections.abc import Callable, Iterator
from typing import Any

import neo4j

from graph_checkpoint import ConnectionSettings

MIB = 1024 * 1024


def connect() -> tuple[neo4j.Driver, str | None]:
    """A driver for the server named by the NEO4J_* environment variables."""
    settings = ConnectionSettings.from_env()
    if settings is None:
        raise SystemExit('set NEO4J_URI first, e.g. eval "$(scripts/neo4j env)"')
    return settings.driver(), settings.database


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive slices of ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """``work()``'s result and its wall-clock seconds."""
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def driver_description() -> str:
    """Which Bolt driver this interpreter runs: the Rust extension if installed, else pure Python.

    ``neo4j-rust-ext`` replaces the driver's PackStream code when it is installed next to
    ``neo4j``, with no switch to turn it off, so its presence is what decides.
    """
    try:
        return f"neo4j-rust-ext {importlib.metadata.version('neo4j-rust-ext')}"
    except importlib.metadata.PackageNotFoundError:
        return f"neo4j {neo4j.__version__} (pure Python)"
