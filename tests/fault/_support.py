"""Helpers of the fault tests: the seed, the loader subprocess and the exactly-once check.

The seed of every randomized fault test comes from ``GRAPH_CKPT_FAULT_SEED`` when it is set,
else from the system's randomness; it is printed (pytest shows it with a failing test's output)
and put in every assertion message, so a failure can be replayed with
``GRAPH_CKPT_FAULT_SEED=<seed>``.
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neo4j

from graph_checkpoint import _cypher
from graph_checkpoint.pytest_plugin import Neo4jServer

HERE = Path(__file__).resolve().parent
LOADER_SCRIPT = HERE / "fault_loader.py"
LOADER_NAME = "fault_loader"
SEED_ENV = "GRAPH_CKPT_FAULT_SEED"
APIS = ("sync", "async")
"""The two APIs every fault test that can runs against: ``fault_loader.py --api <api>``."""


@dataclass(frozen=True)
class Seed:
    """The seed of one test and a random generator made from it."""

    value: int
    rng: random.Random
    test: str = ""
    """The pytest node id of the test (with its ``[sync]``/``[async]`` parameter), if known."""

    def __str__(self) -> str:
        where = f" pytest '{self.test}'" if self.test else ""
        return f"seed {self.value} (replay with {SEED_ENV}={self.value}{where})"


def server_env(server: Neo4jServer) -> dict[str, str]:
    """The environment of a loader subprocess that connects to ``server``."""
    env = dict(os.environ)
    env.update(NEO4J_URI=server.uri, NEO4J_USERNAME=server.username, NEO4J_PASSWORD=server.password)
    if server.database:
        env["NEO4J_DATABASE"] = server.database
    else:
        env.pop("NEO4J_DATABASE", None)
    # The child must import this checkout's package even when it is not installed.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def async_driver(server: Neo4jServer, **options: Any) -> neo4j.AsyncDriver:
    """A new async driver for ``server``; open and close it inside one event loop."""
    return neo4j.AsyncGraphDatabase.driver(
        server.uri, auth=(server.username, server.password), **options
    )


@dataclass
class LoaderProcess:
    """A running ``fault_loader.py`` whose stdout lines are read by a thread into a queue."""

    popen: subprocess.Popen[str]
    stderr_file: Any
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    seen: int = 0
    run_id: str | None = None
    done: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)  # end of output: the process exited

    def _take(self, line: str) -> None:
        kind, _, rest = line.partition(" ")
        if kind == "progress":
            self.seen = int(rest)
        elif kind == "run":
            self.run_id = rest
        elif kind == "done":
            processed, skipped, failed = (int(x) for x in rest.split())
            self.done = (processed, skipped, failed)

    def wait_for_progress(self, target: int, timeout: float) -> bool:
        """Read output until the child reports ``seen >= target``; False if it exited first."""
        deadline = time.monotonic() + timeout
        while self.seen < target:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"loader made no progress to {target} within {timeout}s (at {self.seen})"
                    f"\n{self.stderr()}"
                ) from None
            if line is None:
                return False
            self._take(line)
        return True

    def wait_until(self, seconds: float, max_seen: int) -> bool:
        """Read output for ``seconds``, or until the child reports ``seen >= max_seen``.

        False if the child exited meanwhile. The cap keeps a timed kill from landing after a
        fast loader has already finished the input.
        """
        deadline = time.monotonic() + seconds
        while self.seen < max_seen:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return True
            if line is None:
                return False
            self._take(line)
        return True

    def finish(self, timeout: float) -> int:
        """Wait for the process to exit, read the rest of its output, return its exit code."""
        code = self.popen.wait(timeout=timeout)
        while True:
            line = self.lines.get(timeout=30)
            if line is None:
                break
            self._take(line)
        return code

    def kill(self) -> int:
        """SIGKILL the process (the point of the crash test) and reap it."""
        self.popen.kill()
        return self.finish(timeout=60)

    def stderr(self) -> str:
        """What the child wrote to stderr, for failure messages (last 4000 characters)."""
        self.stderr_file.seek(0)
        return str(self.stderr_file.read())[-4000:]


def exactly_once(
    driver: neo4j.Driver,
    database: str | None,
    run_id: str,
    expected_ids: set[int],
    *,
    label: str = "FaultItem",
    loader: str = LOADER_NAME,
    context: str = "",
) -> dict[str, int]:
    """Assert that the data and the checkpoint of ``run_id`` agree, item for item.

    * every expected id has exactly one data node, and no other data node exists;
    * every expected id is covered by exactly one processed ``:ProcessedItem`` record (a
      range, a chunk or its own), and no other item is recorded for the run (so no
      checkpoint without data and no data without checkpoint);
    * the counter shards sum to the number of processed items, with no failures;
    * ``progress()`` reports the same number.

    Returns the counts, for the test's own report.
    """
    with driver.session(database=database) as session:
        data = session.run("MATCH (n:" + label + ") RETURN n.id AS id, count(*) AS copies").data()
        # Each id a processed record covers (ranges and chunks expanded), with how many
        # records cover it: exactly-once means one each.
        items = session.run(
            "CALL () {" + _cypher.query("processed_items") + "}"
            " RETURN item_id AS id, 'processed' AS status, count(*) AS copies",
            run_id=run_id,
            loader=loader,
        ).data()
        items += session.run(
            "MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader})"
            " WHERE p.status IS NOT NULL AND p.status <> 'processed'"
            " RETURN p.item_id AS id, p.status AS status, count(*) AS copies",
            run_id=run_id,
            loader=loader,
        ).data()
        counters = session.run(
            "MATCH (c:CheckpointCounter {run_id: $run_id, loader: $loader})"
            " RETURN coalesce(sum(c.processed), 0) AS processed,"
            "        coalesce(sum(c.failed), 0) AS failed, count(c) AS shards",
            run_id=run_id,
            loader=loader,
        ).single()
    assert counters is not None
    duplicated = sorted(row["id"] for row in data if row["copies"] != 1)[:20]
    data_ids = {row["id"] for row in data}
    recorded = {row["id"] for row in items if row["status"] == "processed"}
    not_processed = [row for row in items if row["status"] != "processed"][:20]
    assert not duplicated, f"{context}: items loaded more than once: {duplicated}"
    assert not sorted(expected_ids - data_ids)[:20], (
        f"{context}: items never loaded: {sorted(expected_ids - data_ids)[:20]}"
    )
    assert not sorted(data_ids - expected_ids)[:20], (
        f"{context}: unexpected data: {sorted(data_ids - expected_ids)[:20]}"
    )
    assert not sorted(data_ids - recorded)[:20], (
        f"{context}: data without its :ProcessedItem: {sorted(data_ids - recorded)[:20]}"
    )
    assert not sorted(recorded - data_ids)[:20], (
        f"{context}: :ProcessedItem without its data: {sorted(recorded - data_ids)[:20]}"
    )
    assert not not_processed, f"{context}: items recorded as not processed: {not_processed}"
    assert all(row["copies"] == 1 for row in items), f"{context}: duplicate :ProcessedItem"
    assert counters["processed"] == len(expected_ids), (
        f"{context}: counter shards say {counters['processed']} processed,"
        f" the graph holds {len(expected_ids)}"
    )
    assert counters["failed"] == 0, f"{context}: counter shards say {counters['failed']} failed"
    return {"items": len(data_ids), "shards": counters["shards"]}
