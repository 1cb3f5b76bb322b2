"""The demo behind scripts/demo: a crash with SIGKILL, a resume, every flight once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "flights_demo.py"


def test_demo_crashes_resumes_and_loads_each_flight_once(neo4j_server, driver):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "NEO4J_URI": neo4j_server.uri,
        "NEO4J_USERNAME": neo4j_server.username,
        "NEO4J_PASSWORD": neo4j_server.password,
        "NEO4J_DATABASE": neo4j_server.database or "",
    }
    proc = subprocess.run(
        [sys.executable, str(DEMO), "--limit", "6000", "--batch-size", "200", "--kill-at", "0.3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every flight loaded exactly once" in proc.stdout
    records, _, _ = driver.execute_query(
        "MATCH (f:Flight) RETURN count(f) AS n, count(DISTINCT f.id) AS d"
    )
    assert (records[0]["n"], records[0]["d"]) == (6000, 6000)
    # The first load really was killed part-way (it never reported), and the second one
    # skipped what the first had committed and loaded the rest.
    [resumed] = re.findall(r"flights: (\d+) processed, (\d+) skipped", proc.stdout)
    processed, skipped = map(int, resumed)
    assert processed > 0 and skipped > 0
    assert processed + skipped == 6000
