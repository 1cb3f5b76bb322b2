"""The peer: one load of the benchmark run by neo4j-etl-lib's ``CSVLoad2Neo4jTask``.

Runs inside the peer's own virtual environment (made by ``bench/peer.py``), never in the
project's: it imports only the standard library, the neo4j driver and ``etl_lib``.

    etl_peer.py --csv rows.csv --query "UNWIND $batch AS r ..." --batch-size 1000 --items N

Reads the rows from the CSV file the benchmark wrote, runs the benchmark's Cypher on each
batch (``CypherBatchSink`` passes the batch as ``$batch``, in one managed write transaction
per batch) and prints one line, ``RESULT {json}``, with the items, the seconds of
``task.execute()`` (connecting and the driver's start-up are left out, as for the other
variants) and the process's peak RSS. neo4j-etl-lib keeps no progress of its own: a load it
stops part-way starts again from the first row.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any


def driver_description() -> str:
    """The driver this interpreter runs (the same wording as ``bench/common.py``)."""
    try:
        return f"neo4j-rust-ext {importlib.metadata.version('neo4j-rust-ext')}"
    except importlib.metadata.PackageNotFoundError:
        return f"neo4j {importlib.metadata.version('neo4j')} (pure Python)"


def load(csv_file: Path, query: str, batch_size: int) -> tuple[dict[str, Any], float]:
    """Run ``query`` over the rows of ``csv_file`` with ``CSVLoad2Neo4jTask``: its summary
    and the seconds it took."""
    from etl_lib.core.ETLContext import ETLContext
    from etl_lib.task.data_loading.CSVLoad2Neo4jTask import CSVLoad2Neo4jTask

    class BenchLoad(CSVLoad2Neo4jTask):  # type: ignore[misc]
        """The task a user of the library writes: its one method is the Cypher."""

        def _query(self) -> str:
            return query

    # The context reads its connection from this dict, with the same variable names.
    env: dict[str, Any] = {
        key: os.environ.get(key)
        for key in ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE")
    }
    context = ETLContext(env)
    try:
        task = BenchLoad(context, csv_file, batch_size=batch_size)
        started = time.perf_counter()
        result = task.execute()
        seconds = time.perf_counter() - started
    finally:
        context.neo4j.driver.close()
    if not result.success:
        # Task.execute turns an exception into a failed result: say why, fail the variant.
        raise SystemExit(f"CSVLoad2Neo4jTask failed: {result.error}")
    return dict(result.summary), seconds


def main(argv: list[str] | None = None) -> int:
    """Run one load and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--query", required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--items", type=int, required=True, help="rows the CSV file holds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    summary, seconds = load(args.csv, args.query, args.batch_size)
    read = summary.get("csv_lines_read", 0)
    if read != args.items:
        raise SystemExit(f"expected {args.items} rows read, got {read}: {summary}")
    figures = {
        "items": read,
        "seconds": seconds,
        "summary": summary,
        "driver": driver_description(),
        "etl_lib": importlib.metadata.version("neo4j-etl-lib"),
        "python": sys.version.split()[0],
        "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print("RESULT " + json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
