"""Cleanup under load: ``graph-ckpt cleanup`` while another run is loading.

A ``fault_loader.py`` process loads a run (non-idempotent ``CREATE`` writes) while the test
runs ``python -m graph_checkpoint cleanup --keep 0`` against the same database, several times.
Cleanup must delete the old, finished runs and leave the loading run, its items and its
counters alone: afterwards that run passes the same exactly-once check as the crash test.

A second test covers the other side of the race: a run that is being deleted (status
``deleting``, as a cleanup leaves it while its items go, or after an interrupted delete)
must not be resumed by a loader, or the delete would remove the checkpoints of data that
loader has just written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import neo4j
import pytest

from graph_checkpoint import CheckpointManager, GraphCheckpointError, checkpoint_loader
from graph_checkpoint.pytest_plugin import Neo4jServer

from ._support import LOADER_NAME, exactly_once, server_env

ITEMS = 3_000
OLD_RUNS = 3
SWEEPS = 3


def cli(server: Neo4jServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m graph_checkpoint`` with the connection given as options."""
    connection = ["--uri", server.uri, "--username", server.username, "--password", server.password]
    if server.database:
        connection += ["--database", server.database]
    return subprocess.run(
        [sys.executable, "-m", "graph_checkpoint", *args, *connection],
        capture_output=True,
        text=True,
        timeout=300,
        env=server_env(server),
    )


def make_old_runs(manager: CheckpointManager) -> list[str]:
    """Finished runs (completed and interrupted) with items, for cleanup to delete."""

    @checkpoint_loader(name="old_loader", batch_size=100, progress=False)
    def load(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:OldItem {id: r})", rows=rows).consume()

    run_ids = []
    for index in range(OLD_RUNS):
        run = manager.start_run(description=f"old {index}")
        load(run, range(500))
        if index % 2:
            run.interrupt("left unfinished on purpose")
        else:
            run.complete()
        run_ids.append(run.run_id)
    return run_ids


@pytest.mark.slow
def test_cleanup_while_another_run_loads(
    manager: CheckpointManager,
    driver: neo4j.Driver,
    neo4j_server: Neo4jServer,
    spawn_loader,
    tmp_path: Path,
) -> None:
    old = make_old_runs(manager)
    # The loader keeps its run open until the hold file exists, so every cleanup below meets
    # the run while it is running, even if the items happen to load quickly.
    hold = tmp_path / "release"
    loader = spawn_loader(
        "--items",
        f"0:{ITEMS}",
        "--run-id",
        "live",
        "--batch-size",
        "50",
        "--sleep",
        "0.05",
        "--hold",
        str(hold),
    )
    assert loader.wait_for_progress(ITEMS // 10, timeout=120), loader.stderr()
    deleted: set[str] = set()
    for _ in range(SWEEPS):
        proc = cli(neo4j_server, "cleanup", "--keep", "0", "--json")
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        deleted.update(run["run_id"] for run in report["runs"])
        assert "live" not in deleted, f"cleanup deleted the running run: {report}"
        assert "live" in report["protected"], report
        assert loader.popen.poll() is None, f"the load broke under cleanup\n{loader.stderr()}"
    hold.touch()
    code = loader.finish(timeout=300)
    assert code == 0, f"the load broke under cleanup ({code})\n{loader.stderr()}"
    assert deleted == set(old), f"cleanup deleted {sorted(deleted)}, expected {sorted(old)}"

    # The loading run is whole: every item once, with its checkpoint and its counters.
    exactly_once(driver, neo4j_server.database, "live", set(range(ITEMS)))
    assert manager.get_run("live").status == "completed"
    # The old runs' checkpoint state is gone (their data is the user's and stays).
    with driver.session(database=neo4j_server.database) as session:
        left = session.run(
            "MATCH (n) WHERE n.run_id IN $old RETURN count(n) AS n", old=old
        ).single()
        old_data = session.run("MATCH (n:OldItem) RETURN count(n) AS n").single()
    assert left is not None and left["n"] == 0
    assert old_data is not None and old_data["n"] == OLD_RUNS * 500
    print(f"{SWEEPS} cleanups during the load deleted {len(deleted)} old runs")


def test_a_run_being_deleted_is_not_resumed(
    manager: CheckpointManager, driver: neo4j.Driver, neo4j_server: Neo4jServer
) -> None:
    from graph_checkpoint import admin

    @checkpoint_loader(name=LOADER_NAME, batch_size=100, progress=False)
    def load(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:FaultItem {id: r})", rows=rows).consume()

    with manager.run(run_id="doomed") as run:
        load(run, range(1000))
    attempts: list[BaseException | None] = []

    def resume_meanwhile(progress: admin.DeleteProgress) -> None:
        # A loader that joins the run by id while its items are being deleted.
        if attempts or progress.done:
            return
        try:
            with manager.run(run_id="doomed") as again:
                load(again, range(1000, 1200))
        except GraphCheckpointError as exc:
            attempts.append(exc)
        else:
            attempts.append(None)

    admin.delete_run(manager, "doomed", batch_size=100, on_progress=resume_meanwhile)
    assert attempts, "the delete never reported progress"
    assert attempts[0] is not None, (
        "a loader resumed a run while it was being deleted: its new checkpoints were deleted"
        " under it, leaving its data without :ProcessedItem"
    )
    with driver.session(database=neo4j_server.database) as session:
        orphans = session.run(
            "MATCH (n:FaultItem) WHERE n.id >= 1000 RETURN count(n) AS n"
        ).single()
    assert orphans is not None and orphans["n"] == 0
