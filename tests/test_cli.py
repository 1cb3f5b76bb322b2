"""The ``graph-ckpt`` command line, against the real server (CliRunner and subprocesses)."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import neo4j
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from graph_checkpoint import CheckpointManager, _cypher, _process, admin, checkpoint_loader
from graph_checkpoint.cli import main, parse_duration, render
from graph_checkpoint.pytest_plugin import Neo4jServer

RUN_KEYS = {
    "run_id",
    "status",
    "display_status",
    "stale",
    "description",
    "config",
    "started_at",
    "updated_at",
    "finished_at",
    "duration_seconds",
    "active_seconds",
    "open",
    "error",
    "host",
    "pid",
    "process_alive",
    "resumes",
    "processed",
    "failed",
    "skipped",
    "throughput_per_second",
    "loaders",
}
LOADER_KEYS = {
    "loader",
    "status",
    "processed",
    "failed",
    "skipped",
    "total",
    "percent",
    "started_at",
    "updated_at",
    "finished_at",
}
FAILURE_KEYS = {"run_id", "loader", "item_id", "attempts", "error_type", "error", "updated_at"}
WRONG_PASSWORD = "not-the-password-7f3a9"


# --------------------------------------------------------------------------------- helpers


@pytest.fixture
def env(neo4j_server: Neo4jServer) -> dict[str, str]:
    """The NEO4J_* environment the commands read, for the test server."""
    return {
        "NEO4J_URI": neo4j_server.uri,
        "NEO4J_USERNAME": neo4j_server.username,
        "NEO4J_PASSWORD": neo4j_server.password,
        "NEO4J_DATABASE": neo4j_server.database or "",
    }


@pytest.fixture
def cli(env: dict[str, str]) -> Any:
    """``cli("list", "--json")`` runs the command through click's CliRunner."""

    def invoke(
        *args: str, input: str | None = None, extra_env: dict[str, str] | None = None
    ) -> Result:
        runner = CliRunner()
        return runner.invoke(main, list(args), env={**env, **(extra_env or {})}, input=input)

    return invoke


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m graph_checkpoint`` in a real subprocess."""
    full_env = {**os.environ, **env, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "graph_checkpoint", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def loader(name: str, fail_on: set[int] | None = None) -> Any:
    """A checkpointed loader writing :Person nodes; ids in ``fail_on`` raise."""
    bad = fail_on or set()

    @checkpoint_loader(name=name, batch_size=50, item_id="id")
    def load(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["id"] in bad:
                raise ValueError(f"row {row['id']} is malformed")
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id, loader: $name})", rows=rows, name=name)

    return load


def rows(n: int) -> list[dict[str, int]]:
    return [{"id": i} for i in range(n)]


def make_run(
    manager: CheckpointManager,
    name: str = "people",
    n: int = 20,
    description: str | None = None,
    fail_on: set[int] | None = None,
) -> str:
    with manager.start_run(
        description=description or f"load {name}", config={"loader": name, "t": time.time_ns()}
    ) as run:
        loader(name, fail_on)(run, rows(n))
    return run.run_id


def count(driver: neo4j.Driver, query: str, **params: Any) -> int:
    records, _, _ = driver.execute_query(query, params)
    return int(records[0][0])


# Items the :ProcessedItem records cover: a range counts its ids, a chunk its list.
RECORDED_ITEMS = (
    "MATCH (p:ProcessedItem) RETURN coalesce(sum(CASE WHEN p:ProcessedChunk"
    " THEN size(p.item_ids) WHEN p.last_item_id IS NOT NULL"
    " THEN p.last_item_id - p.item_id + 1 ELSE 1 END), 0)"
)


def run_ids(driver: neo4j.Driver) -> set[str]:
    records, _, _ = driver.execute_query("MATCH (r:CheckpointRun) RETURN r.run_id AS id")
    return {r["id"] for r in records}


def bulk_run(manager: CheckpointManager, driver: neo4j.Driver, items: int) -> str:
    """A completed run with ``items`` processed items, created by one UNWIND range."""
    run = manager.start_run(description=f"bulk {items}", config={"items": items})
    with driver.session(notifications_min_severity="OFF") as session:
        session.run(
            "UNWIND range(0, $n - 1) AS i CALL (i) {"
            " CREATE (:ProcessedItem {run_id: $run_id, loader: 'bulk', item_id: i,"
            " status: 'processed', attempts: 1, updated_at: datetime()})"
            "} IN TRANSACTIONS OF 50000 ROWS",
            n=items,
            run_id=run.run_id,
        ).consume()
        session.run(
            "CREATE (:CheckpointLoader {run_id: $run_id, loader: 'bulk', status: 'completed',"
            " total: $n, started_at: datetime(), updated_at: datetime()})"
            " CREATE (:CheckpointCounter {run_id: $run_id, loader: 'bulk', shard: 0,"
            " processed: $n, failed: 0, skipped: 0, updated_at: datetime()})",
            n=items,
            run_id=run.run_id,
        ).consume()
    run.complete()
    return run.run_id


def make_stale(driver: neo4j.Driver, run_id: str) -> None:
    """Turn an ended run into one whose process died while it ran."""
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $id}) SET r.status = 'running',"
        " r.finished_at = null, r.updated_at = datetime() - duration('PT5M')",
        id=run_id,
    )


checks_processes = pytest.mark.skipif(
    os.name == "nt" or socket.gethostname() in _process._GENERIC_HOSTS,
    reason="runs' processes are only checked on a POSIX host with a name of its own",
)
"""For tests of runs whose process is gone: process_alive() can tell only there."""


def dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_dead(driver: neo4j.Driver, run_id: str, pid: int, heartbeat_age: int = 0) -> None:
    """Turn an ended run into one still ``running``, with a fresh heartbeat (``heartbeat_age``
    seconds old), recorded as run by ``pid`` on this host: a load killed a moment ago."""
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $id}) SET r.status = 'running', r.finished_at = null,"
        " r.updated_at = datetime() - duration({seconds: $age}),"
        " r.resumed_at = datetime() - duration({seconds: $age}), r.host = $host, r.pid = $pid",
        id=run_id,
        age=heartbeat_age,
        host=socket.gethostname(),
        pid=pid,
    )


def one_error_line(result: Result | subprocess.CompletedProcess[str]) -> str:
    stderr = result.stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --------------------------------------------------------------------------- empty database


def test_empty_database(cli: Any, driver: neo4j.Driver) -> None:
    result = cli("list")
    assert result.exit_code == 0, result.output
    assert "No runs" in result.stdout

    result = cli("list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"runs": []}

    result = cli("show", "--latest")
    assert result.exit_code == 1
    assert "no runs" in one_error_line(result)

    result = cli("cleanup", "--keep", "1")
    assert result.exit_code == 0
    assert "Nothing to delete" in result.stdout


def test_init_applies_schema(cli: Any, driver: neo4j.Driver) -> None:
    result = cli("init")
    assert result.exit_code == 0, result.output
    statements = _cypher.schema_statements()
    constraints = sum(1 for s in statements if s.upper().startswith("CREATE CONSTRAINT"))
    assert f"{constraints} constraints and {len(statements) - constraints} indexes" in result.stdout
    records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS n")
    assert "processed_item_key" in records[0]["n"]


# ------------------------------------------------------------------------------ many runs


def test_list_many_runs_newest_first_with_filters(cli: Any, manager: CheckpointManager) -> None:
    made = [make_run(manager, name=("alpha" if i % 2 else "beta"), n=5) for i in range(12)]
    failed = manager.start_run(description="broken")
    failed.fail(RuntimeError("boom"))

    result = cli("list", "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert [r["run_id"] for r in runs] == [failed.run_id, *reversed(made)]
    assert all(set(r) == RUN_KEYS for r in runs)
    assert all(set(p) == LOADER_KEYS for r in runs for p in r["loaders"])
    first = runs[1]
    assert first["loaders"][0]["processed"] == 5 and first["loaders"][0]["total"] == 5
    assert first["processed"] == 5 and first["status"] == "completed"

    limited = json.loads(cli("list", "--json", "--limit", "3").stdout)["runs"]
    assert len(limited) == 3
    only_failed = json.loads(cli("list", "--json", "--status", "failed").stdout)["runs"]
    assert [r["run_id"] for r in only_failed] == [failed.run_id]
    assert only_failed[0]["error"] == "RuntimeError: boom"
    alpha = json.loads(cli("list", "--json", "--loader", "alpha").stdout)["runs"]
    assert len(alpha) == 6 and all(r["loaders"][0]["loader"] == "alpha" for r in alpha)

    human = cli("list")
    assert human.exit_code == 0
    lines = human.stdout.splitlines()
    assert lines[0].startswith("RUN ID")
    assert all(len(line) <= 100 for line in lines)
    assert failed.run_id in lines[1] and "failed" in lines[1]
    assert "alpha 5/0/5" in human.stdout


def test_list_shows_stale_runs(cli: Any, manager: CheckpointManager, driver: neo4j.Driver) -> None:
    run_id = make_run(manager)
    make_stale(driver, run_id)
    runs = json.loads(cli("list", "--json", "--status", "stale").stdout)["runs"]
    assert [(r["run_id"], r["status"], r["display_status"], r["stale"]) for r in runs] == [
        (run_id, "running", "stale", True)
    ]
    assert run_id in cli("list", "--status", "running").stdout
    assert "stale" in cli("list").stdout


LONG_ID = "nightly_import_of_the_people_register_2026_11_29_1932"
LONG_DESCRIPTION = (
    "Nightly import of the people register, the addresses and the households from the"
    " municipal export,\n  with the corrections of the week applied first  (see ticket 4711)"
)


def make_listed_runs(manager: CheckpointManager) -> tuple[str, str]:
    """A run with a long id, a long description and four loaders, then a run with failures."""
    with manager.start_run(
        run_id=LONG_ID, description=LONG_DESCRIPTION, config={"kind": "long"}
    ) as run:
        for name in ("people", "addresses", "households", "corrections"):
            loader(name)(run, rows(12))
    failing = make_run(manager, n=20, fail_on={4}, description="with failures")
    return run.run_id, failing


def test_list_piped_is_one_line_per_run(cli: Any, manager: CheckpointManager) -> None:
    long_run, failing = make_listed_runs(manager)

    result = cli("list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3  # the header and one line per run, however long
    header, first, second = (re.split(r"  +", line) for line in lines)
    assert header == [
        "RUN ID",
        "STATUS",
        "STARTED (UTC)",
        "ACTIVE",
        "LOADER done/failed/total",
        "DESCRIPTION",
    ]
    assert first[:2] == [failing, "completed_with_failures"]
    assert first[4:] == ["people 19/1/20", "with failures"]
    assert second[:2] == [long_run, "completed"]
    assert second[4] == (
        "people 12/0/12; addresses 12/0/12; households 12/0/12; corrections 12/0/12"
    )
    assert second[5] == " ".join(LONG_DESCRIPTION.split())  # whole, on its line
    assert len(first) == len(second) == 6
    # Aligned: every column starts at the same place on each line.
    assert lines[1].index("completed") == lines[2].index("completed") == lines[0].index("STATUS")
    assert "\x1b[" not in result.stdout


@pytest.mark.parametrize("width", [100, 80, 60])
def test_list_on_a_terminal_never_cuts_ids_or_statuses(
    manager: CheckpointManager, width: int
) -> None:
    _, failing = make_listed_runs(manager)
    everything = admin.list_runs(manager)
    short_ids = [s for s in everything if s.run.run_id == failing]
    for runs in (everything, short_ids):
        out = io.StringIO()
        console = Console(file=out, width=width, force_terminal=True, color_system=None)
        render.print_runs(console, runs)
        text = out.getvalue()
        for summary in runs:
            assert summary.run.run_id in text, (width, text)
        assert "completed_with_failures" in text
        assert "\u2026" not in text  # no ellipsis anywhere
        as_table = render.runs_widths(runs, width) is not None
        assert as_table == ("\u2500" in text)  # the header rule of the table
        if as_table:
            assert all(len(line) <= width for line in text.splitlines())
        else:
            assert len(text.splitlines()) == 1 + len(runs)
    # A short run id and the longest status fit a table on a 100-column terminal.
    assert render.runs_widths(short_ids, 100) is not None


def test_show_run_with_failures(cli: Any, manager: CheckpointManager) -> None:
    run_id = make_run(manager, n=100, fail_on={3, 17, 42, 99}, description="with failures")

    result = cli("show", "--run-id", run_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert run_id in out and "with failures" in out
    assert "Most recent failed items (4 of 4" in out
    assert "ValueError: row 42 is malformed" in out
    assert "96" in out  # processed
    assert all(len(line) <= 100 for line in out.splitlines())

    same = cli("show", run_id, "--failures", "2")
    assert "Most recent failed items (2 of 4" in same.stdout

    doc = json.loads(cli("show", run_id, "--json", "--failures", "3").stdout)
    assert set(doc) == {"run", "participants", "recent_failures", "resume"}
    assert set(doc["run"]) == RUN_KEYS
    [participant] = doc["participants"]
    assert (participant["state"], participant["items"], participant["failed"]) == ("done", 96, 4)
    assert doc["run"]["failed"] == 4 and doc["run"]["processed"] == 96
    assert len(doc["recent_failures"]) == 3
    assert all(set(f) == FAILURE_KEYS for f in doc["recent_failures"])
    # Completed with failures recorded: resuming it by id retries them.
    assert doc["run"]["status"] == "completed_with_failures"
    assert doc["resume"] == f'manager.resume_run("{run_id}")'

    latest = cli("show", "--latest", "--json")
    assert json.loads(latest.stdout)["run"]["run_id"] == run_id


def test_show_incomplete_run_prints_how_to_resume(cli: Any, manager: CheckpointManager) -> None:
    run = manager.start_run(description="cut short", config={"k": 1})
    loader("people")(run, rows(30))
    run.interrupt("stopped by the test")

    result = cli("show", run.run_id)
    assert result.exit_code == 0, result.output
    assert "interrupted" in result.stdout
    assert f'manager.resume_run("{run.run_id}")' in result.stdout
    doc = json.loads(cli("show", run.run_id, "--json").stdout)
    assert doc["resume"] == f'manager.resume_run("{run.run_id}")'
    assert doc["run"]["error"] == "Error: stopped by the test"


@checks_processes
def test_show_a_run_whose_process_is_gone(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    run_id = make_run(manager, n=30, description="killed")
    pid = dead_pid()
    make_dead(driver, run_id, pid)

    result = cli("show", run_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Still running" not in out
    assert f"{run_id}  stale" in out
    assert f"pid {pid} on {socket.gethostname()} (gone)" in out
    assert "The run stopped: its process" in out and "is gone" in out
    assert f'manager.resume_run("{run_id}")' in out

    doc = json.loads(cli("show", run_id, "--json").stdout)
    run = doc["run"]
    assert (run["status"], run["display_status"], run["stale"]) == ("running", "stale", False)
    assert run["process_alive"] is False
    assert doc["resume"] == f'manager.resume_run("{run_id}")'
    stale = json.loads(cli("list", "--status", "stale", "--json").stdout)["runs"]
    assert [r["run_id"] for r in stale] == [run_id]

    # The same run recorded as this (living) process is still running.
    make_dead(driver, run_id, os.getpid())
    alive = cli("show", run_id)
    assert f"Still running as pid {os.getpid()}" in alive.stdout
    assert json.loads(cli("show", run_id, "--json").stdout)["resume"] is None


def test_show_active_and_wall_time(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    run = manager.start_run(description="paused", config={"k": "paused"})
    loader("people")(run, rows(40))
    run.interrupt("killed by the test")
    # As if the first pass had run 25 minutes ago: the pause is wall time, not active time.
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $id}) SET r.started_at = r.started_at - $gap,"
        " r.updated_at = r.updated_at - $gap, r.finished_at = r.finished_at - $gap",
        id=run.run_id,
        gap=timedelta(minutes=25),
    )
    resumed = manager.resume_run(run.run_id)
    loader("people")(resumed, rows(80))
    resumed.complete()

    doc = json.loads(cli("show", run.run_id, "--json").stdout)["run"]
    assert doc["resumes"] == 1 and doc["processed"] == 80
    assert 0 < doc["active_seconds"] < 60
    assert 25 * 60 <= doc["duration_seconds"] < 26 * 60
    expected = doc["processed"] / doc["active_seconds"]  # over the active time
    assert doc["throughput_per_second"] == pytest.approx(expected, rel=0.01, abs=0.1)

    out = cli("show", run.run_id).stdout
    assert re.search(r"duration +active [0-9.]+s, wall 25m 0[0-9]s", out), out
    shown = re.search(r"throughput +([0-9,]+) items/s \(80 items\)", out)
    assert shown, out
    assert abs(int(shown[1].replace(",", "")) - doc["throughput_per_second"]) <= 1


def test_show_completed_with_failures_says_how_to_retry(
    cli: Any, manager: CheckpointManager
) -> None:
    run_id = make_run(manager, n=30, fail_on={5, 6}, description="two bad rows")

    out = cli("show", run_id, "--failures", "0").stdout
    assert f"{run_id}  completed_with_failures" in out
    assert "nothing to resume" not in out
    assert "went through all of its input, but 2 items failed" in out
    assert f'manager.resume_run("{run_id}")' in out
    doc = json.loads(cli("show", run_id, "--json").stdout)
    assert doc["resume"] == f'manager.resume_run("{run_id}")'
    assert doc["run"]["loaders"][0]["status"] == "completed_with_failures"
    listed = json.loads(cli("list", "--status", "completed_with_failures", "--json").stdout)
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    assert json.loads(cli("list", "--status", "completed", "--json").stdout)["runs"] == []

    # What the hint says works: resumed by id, the loader retries the two items.
    with manager.resume_run(run_id) as resumed:
        loader("people")(resumed, rows(30))
    out = cli("show", run_id).stdout
    assert f"{run_id}  completed" in out and "nothing to resume" in out


def test_show_unknown_run_id(cli: Any, manager: CheckpointManager) -> None:
    make_run(manager)
    for args in (
        ("show", "no_such_run"),
        ("show", "--run-id", "no_such_run"),
        ("failures", "no_such_run"),
        ("delete", "no_such_run", "--yes"),
    ):
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "no run with id 'no_such_run'" in one_error_line(result)


def test_show_watch_ends_when_the_run_ends(cli: Any, manager: CheckpointManager) -> None:
    run = manager.start_run(description="watched")
    loader("people")(run, rows(10))
    timer = threading.Timer(1.0, run.complete)
    timer.start()
    try:
        started = time.monotonic()
        result = cli("show", run.run_id, "--watch", "--interval", "0.2")
    finally:
        timer.join()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 30
    assert "Still running" in result.stdout  # the first frame
    assert result.stdout.count("--- ") >= 1  # later frames, one per refresh
    assert result.stdout.rstrip().endswith("nothing to resume.")


def test_show_usage_errors(cli: Any) -> None:
    assert cli("show").exit_code == 2
    assert cli("show", "a", "--run-id", "b").exit_code == 2
    assert cli("show", "a", "--latest").exit_code == 2
    assert cli("show", "a", "--watch", "--json").exit_code == 2


# ------------------------------------------------------------------------------ failures


def test_failures_streams_every_failed_item(cli: Any, manager: CheckpointManager) -> None:
    bad = {1, 5, 8, 13, 21, 34}
    run_id = make_run(manager, n=40, fail_on=bad)

    result = cli("failures", "--run-id", run_id)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(bad)
    fields = [line.split("\t") for line in lines]
    assert {int(f[1]) for f in fields} == bad
    assert all(f[0] == "people" and f[3] == "ValueError" for f in fields)

    doc = json.loads(cli("failures", run_id, "--json").stdout)
    assert doc["run_id"] == run_id
    assert {f["item_id"] for f in doc["failures"]} == bad
    assert all(set(f) == FAILURE_KEYS for f in doc["failures"])

    jsonl = cli("failures", run_id, "--jsonl").stdout.splitlines()
    assert {json.loads(line)["item_id"] for line in jsonl} == bad

    clean = make_run(manager, name="clean", n=5)
    assert cli("failures", clean).stdout == ""
    assert json.loads(cli("failures", clean, "--json").stdout) == {"run_id": clean, "failures": []}


def test_failures_of_the_latest_run_and_one_loader(cli: Any, manager: CheckpointManager) -> None:
    older = make_run(manager, n=10, fail_on={1})
    with manager.start_run(description="two loaders") as run:
        loader("alpha", fail_on={1, 2})(run, rows(10))
        loader("beta", fail_on={3})(run, rows(10))

    latest = cli("failures", "--latest")
    assert latest.exit_code == 0, latest.output
    fields = [line.split("\t") for line in latest.stdout.splitlines()]
    assert sorted((f[0], int(f[1])) for f in fields) == [("alpha", 1), ("alpha", 2), ("beta", 3)]

    alpha = cli("failures", "--latest", "--loader", "alpha").stdout.splitlines()
    assert sorted(int(line.split("\t")[1]) for line in alpha) == [1, 2]
    assert all(line.startswith("alpha\t") for line in alpha)
    beta = json.loads(cli("failures", run.run_id, "--loader", "beta", "--json").stdout)
    assert [(f["loader"], f["item_id"]) for f in beta["failures"]] == [("beta", 3)]
    jsonl = cli("failures", "--run-id", older, "--loader", "people", "--jsonl").stdout
    assert [json.loads(line)["item_id"] for line in jsonl.splitlines()] == [1]

    unknown = cli("failures", "--latest", "--loader", "gamma")
    assert unknown.exit_code == 1
    line = one_error_line(unknown)
    assert "no loader named 'gamma'" in line and "alpha, beta" in line


# ------------------------------------------------------------------------------- cleanup


def test_cleanup_keeps_newest_per_loader(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    made: dict[str, list[str]] = {"alpha": [], "beta": [], "gamma": []}
    for _ in range(3):
        for name in made:
            made[name].append(make_run(manager, name=name, n=10))
    before = run_ids(driver)
    items_before = count(driver, RECORDED_ITEMS)

    dry = cli("cleanup", "--keep", "1", "--per-loader", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    doc = json.loads(dry.stdout)
    assert doc["dry_run"] is True and doc["items"] == 60
    expected_gone = {rid for ids in made.values() for rid in ids[:-1]}
    assert {r["run_id"] for r in doc["runs"]} == expected_gone
    assert set(doc["kept"]) == {ids[-1] for ids in made.values()}
    # --dry-run changed nothing.
    assert run_ids(driver) == before
    assert count(driver, RECORDED_ITEMS) == items_before

    human_dry = cli("cleanup", "--keep", "1", "--per-loader", "--dry-run")
    assert "Would delete 6 runs (60 items)" in human_dry.stdout
    assert run_ids(driver) == before

    result = cli("cleanup", "--keep", "1", "--per-loader")
    assert result.exit_code == 0, result.output
    assert "Deleted 6 runs (60 items)" in result.stdout
    assert run_ids(driver) == {ids[-1] for ids in made.values()}
    assert count(driver, RECORDED_ITEMS) == 30
    for label in ("CheckpointLoader", "CheckpointCounter", "ProcessedItem"):
        orphans = count(
            driver,
            f"MATCH (x:{label}) WHERE NOT x.run_id IN $ids RETURN count(x)",
            ids=sorted(run_ids(driver)),
        )
        assert orphans == 0, label


def test_cleanup_keep_overall_and_older_than(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    made = [make_run(manager, name=f"l{i}", n=3) for i in range(4)]
    assert cli("cleanup", "--older-than", "1h").stdout.startswith("Nothing to delete")
    assert run_ids(driver) == set(made)
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $id}) SET r.finished_at = datetime() - duration('P40D')",
        id=made[0],
    )
    result = cli("cleanup", "--older-than", "30d", "--json")
    assert [r["run_id"] for r in json.loads(result.stdout)["runs"]] == [made[0]]
    result = cli("cleanup", "--keep", "2")
    assert result.exit_code == 0, result.output
    assert run_ids(driver) == set(made[2:])


def test_cleanup_leaves_a_running_run_alone(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    old = make_run(manager, n=5)
    stale = make_run(manager, n=5)
    make_stale(driver, stale)
    live = manager.start_run(description="still loading")
    loader("people")(live, rows(5))

    result = cli("cleanup", "--keep", "0")
    assert result.exit_code == 0, result.output
    assert f"Left running runs alone: {live.run_id}" in result.stdout
    assert run_ids(driver) == {live.run_id}  # the stale one went, the live one stayed

    refused = cli("delete", live.run_id, "--yes")
    assert refused.exit_code == 1
    assert "is running" in one_error_line(refused)
    assert run_ids(driver) == {live.run_id}
    assert old not in run_ids(driver)

    dry = json.loads(
        cli("cleanup", "--keep", "0", "--include-running", "--dry-run", "--json").stdout
    )
    assert [r["run_id"] for r in dry["runs"]] == [live.run_id]
    live.interrupt("the test is done with it")


def test_cleanup_keeps_the_run_a_resume_would_pick(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    replaced = manager.start_run(description="first try", config={"k": "again"})
    loader("people")(replaced, rows(5))
    replaced.interrupt("given up")
    # A new run for the same config takes its place: the old one is no longer resumed.
    with manager.start_run(description="second try", config={"k": "again"}) as second:
        loader("people")(second, rows(5))
    resumable = manager.start_run(description="cut short", config={"k": "resumable"})
    loader("people")(resumable, rows(5))
    resumable.interrupt("killed")
    newest = make_run(manager, n=5)

    dry = json.loads(cli("cleanup", "--keep", "1", "--dry-run", "--json").stdout)
    assert {r["run_id"] for r in dry["runs"]} == {replaced.run_id, second.run_id}
    assert dry["resumable"] == [resumable.run_id]
    assert set(dry["kept"]) == {newest, resumable.run_id}

    result = cli("cleanup", "--keep", "1")
    assert result.exit_code == 0, result.output
    assert "Deleted 2 runs" in result.stdout
    assert (
        f"Left resumable runs alone: {resumable.run_id} (--include-resumable deletes them too)."
        in result.stdout
    )
    assert run_ids(driver) == {newest, resumable.run_id}

    result = cli("cleanup", "--keep", "1", "--include-resumable")
    assert result.exit_code == 0, result.output
    assert "Deleted 1 run" in result.stdout and "Left resumable" not in result.stdout
    assert run_ids(driver) == {newest}


@pytest.mark.slow
def test_cleanup_of_a_100k_item_run(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    big = bulk_run(manager, driver, 100_000)
    small = make_run(manager, n=10)
    assert count(driver, RECORDED_ITEMS) == 100_010

    result = cli("cleanup", "--keep", "1")
    assert result.exit_code == 0, result.output
    assert "Deleted 1 run (100,000 items)" in result.stdout
    assert f"deleted {big}: 100,000 items" in result.stderr  # progress, off a terminal
    assert run_ids(driver) == {small}
    assert count(driver, RECORDED_ITEMS) == 10


def test_cleanup_usage_errors(cli: Any) -> None:
    for args in (
        ("cleanup",),
        ("cleanup", "--per-loader", "--older-than", "1d"),
        ("cleanup", "--older-than", "30 days"),
        ("cleanup", "--keep", "-1"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)


def test_parse_duration() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("1d12h") == timedelta(days=1, hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert parse_duration(" 90M ") == timedelta(minutes=90)
    assert parse_duration("45s") == timedelta(seconds=45)
    for bad in ("", "30", "d", "3x", "1.5h", "-1d"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# -------------------------------------------------------------------------------- delete


def test_delete_asks_for_confirmation(
    cli: Any, manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    keep = make_run(manager, n=5)
    gone = make_run(manager, n=7)

    declined = cli("delete", "--run-id", gone, input="n\n")
    assert declined.exit_code == 1
    assert gone in run_ids(driver)

    accepted = cli("delete", "--run-id", gone, input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert f"Deleted run {gone}: 7 items" in accepted.stdout
    assert run_ids(driver) == {keep}

    doc = json.loads(cli("delete", keep, "--yes", "--json").stdout)
    assert doc["run_id"] == keep and doc["items"] == 5
    assert run_ids(driver) == set()
    assert cli("delete").exit_code == 2


# ------------------------------------------------------------------ connection and errors


def test_wrong_password_is_one_line_and_never_printed(
    cli: Any, env: dict[str, str], driver: neo4j.Driver
) -> None:
    # The real user gets one wrong login only: Neo4j locks a user out for a few seconds
    # after three in a row, which would fail the tests that follow. The other attempts log
    # in as a user that does not exist, which fails the same way.
    result = cli("list", extra_env={"NEO4J_PASSWORD": WRONG_PASSWORD})
    assert result.exit_code == 1
    assert "refused the credentials" in one_error_line(result)
    assert WRONG_PASSWORD not in result.output
    assert cli("list", "--json").exit_code == 0  # resets the failed-login count

    nobody = {"NEO4J_USERNAME": "graph_ckpt_no_such_user", "NEO4J_PASSWORD": WRONG_PASSWORD}
    result = cli("list", "--password", WRONG_PASSWORD, "-u", nobody["NEO4J_USERNAME"])
    assert result.exit_code == 1
    assert WRONG_PASSWORD not in result.output

    proc = run_cli({**env, **nobody}, "show", "--latest")
    assert proc.returncode == 1
    assert "refused the credentials" in one_error_line(proc)
    assert WRONG_PASSWORD not in proc.stdout + proc.stderr

    debug = run_cli({**env, **nobody}, "list", "--debug")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert WRONG_PASSWORD not in debug.stdout + debug.stderr


def test_server_down(cli: Any, env: dict[str, str]) -> None:
    down = {"NEO4J_URI": f"bolt://127.0.0.1:{free_port()}"}
    result = cli("list", extra_env=down)
    assert result.exit_code == 1
    assert "cannot reach Neo4j" in one_error_line(result)

    proc = run_cli({**env, **down}, "list", "--json")
    assert proc.returncode == 1
    assert "cannot reach Neo4j" in one_error_line(proc)
    assert proc.stdout == ""


@pytest.fixture
def not_neo4j() -> Iterator[str]:
    """A TCP server that answers like a web server, not like Neo4j."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(64)
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"bolt://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join()


def test_server_that_is_not_neo4j(cli: Any, not_neo4j: str) -> None:
    result = cli("list", "--uri", not_neo4j)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "Neo4j" in line and "--uri" in line


def test_unknown_database(cli: Any, driver: neo4j.Driver) -> None:
    result = cli("list", "--database", "nosuchdb")
    assert result.exit_code == 1
    assert "'nosuchdb' does not exist" in one_error_line(result)


def test_usage_errors_exit_2(cli: Any) -> None:
    result = cli("list", "--uri", "http://localhost:7474")
    assert result.exit_code == 2
    assert "not a Bolt URI" in result.stderr
    assert cli("list", "--status", "sleeping").exit_code == 2
    assert cli("nonsense").exit_code == 2


def test_debug_lets_the_exception_through(cli: Any) -> None:
    result = cli("list", "--debug", "--uri", f"bolt://127.0.0.1:{free_port()}")
    assert result.exit_code == 1
    assert isinstance(result.exception, neo4j.exceptions.ServiceUnavailable)


def test_password_is_prompted_on_a_terminal(
    cli: Any, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, driver: neo4j.Driver
) -> None:
    monkeypatch.setattr("graph_checkpoint.cli.connection._stdin_is_tty", lambda: True)
    no_password = {k: v for k, v in env.items() if k != "NEO4J_PASSWORD"}
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["list", "--json"],
        env={**no_password, "NEO4J_PASSWORD": None},
        input=env["NEO4J_PASSWORD"] + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Neo4j password for" in result.stderr
    assert env["NEO4J_PASSWORD"] not in result.output
    assert json.loads(result.stdout) == {"runs": []}


# ------------------------------------------------------------------------ real subprocess


def test_every_command_in_a_subprocess(
    env: dict[str, str], manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    failing = make_run(manager, n=30, fail_on={7})
    other = make_run(manager, name="other", n=5)

    assert run_cli(env, "--help").returncode == 0
    assert "graph-ckpt" in run_cli(env, "--version").stdout
    assert run_cli(env, "init").returncode == 0

    listed = run_cli(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)["runs"]] == [other, failing]
    human = run_cli(env, "list")
    assert human.returncode == 0 and failing in human.stdout
    assert "\x1b[" not in human.stdout  # plain text off a terminal

    shown = run_cli(env, "show", failing)
    assert shown.returncode == 0 and "row 7 is malformed" in shown.stdout

    failures = run_cli(env, "failures", "--run-id", failing)
    assert failures.returncode == 0
    assert failures.stdout.split("\t")[1] == "7"

    dry = run_cli(env, "cleanup", "--keep", "1", "--dry-run")
    assert dry.returncode == 0 and "Would delete 1 run" in dry.stdout
    assert run_ids(driver) == {failing, other}

    deleted = run_cli(env, "delete", failing, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    cleaned = run_cli(env, "cleanup", "--keep", "0", "--json")
    assert json.loads(cleaned.stdout)["runs"][0]["run_id"] == other
    assert run_ids(driver) == set()

    missing = run_cli(env, "show", "nope")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    usage = run_cli(env, "show")
    assert usage.returncode == 2
