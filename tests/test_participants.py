"""Runs shared by several participants: each one's end ends its own part only.

Two run objects opened on one run in this process stand for two processes (each takes part
under its own name); other processes are stood for by participant nodes whose host is not
this one. The fault tests kill real processes (tests/fault/test_participants.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import Any

import neo4j
import pytest
from click.testing import CliRunner

from graph_checkpoint import (
    CheckpointManager,
    RunStateError,
    RunStatus,
    admin,
    checkpoint_loader,
)
from graph_checkpoint.cli import main
from graph_checkpoint.pytest_plugin import Neo4jServer


@checkpoint_loader("people", batch_size=10)
def load_people(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
    tx.run("UNWIND $rows AS r CREATE (:Person {id: r})", rows=rows).consume()


def other_process_holds(driver: neo4j.Driver, run_id: str, name: str, age_seconds: int) -> None:
    """Make participant ``name`` look held by a process of another host, last seen then."""
    driver.execute_query(
        "MATCH (p:CheckpointParticipant {run_id: $run_id, name: $name})"
        " SET p.host = 'elsewhere', p.pid = 4242, p.status = 'running',"
        "     p.updated_at = datetime() - duration({seconds: $age})",
        run_id=run_id,
        name=name,
        age=age_seconds,
    )


def test_one_process_alone_completes_the_run_as_before(manager: CheckpointManager) -> None:
    with manager.run(config={"source": "a"}) as run:
        result = load_people(run, range(25))
    assert result.processed == 25
    assert manager.get_run(run.run_id).status is RunStatus.COMPLETED
    [part] = manager.participants(run.run_id)
    assert (part.state, part.items, part.joins, part.role) == ("done", 25, 1, "participant")


def test_the_run_completes_when_the_last_participant_is_done(manager: CheckpointManager) -> None:
    first = manager.run(run_id="shared")
    second = manager.run(run_id="shared")
    assert first.participant.name != second.participant.name
    load_people(first, range(0, 30))
    load_people(second, range(30, 50))

    after_first = first.complete()
    assert after_first.status is RunStatus.RUNNING, "the other participant still loads"
    states = {p.name: p.state for p in manager.participants("shared")}
    assert states == {first.participant.name: "done", second.participant.name: "running"}

    assert second.complete().status is RunStatus.COMPLETED
    items = {p.name: p.items for p in manager.participants("shared")}
    assert items == {first.participant.name: 30, second.participant.name: 20}


def test_a_failed_participant_leaves_the_run_failed_once_the_others_end(
    manager: CheckpointManager,
) -> None:
    first = manager.run(run_id="shared")
    second = manager.run(run_id="shared")
    assert first.fail(ValueError("bad file")).status is RunStatus.RUNNING
    info = second.complete()
    assert info.status is RunStatus.FAILED
    assert info.error == f"participants that did not finish: {first.participant.name} (failed)"
    [failed] = [p for p in manager.participants("shared") if p.state == "failed"]
    assert failed.error == "ValueError: bad file"


def test_a_participant_whose_heartbeat_stopped_leaves_the_run_resumable(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    with manager.run(run_id="shared", participant="shard-1"):
        pass
    crashed = manager.run(run_id="shared", participant="shard-2")
    other_process_holds(driver, "shared", "shard-2", age_seconds=600)
    finisher = manager.run(run_id="shared", participant="shard-3")
    info = finisher.complete()
    assert info.status is RunStatus.INTERRUPTED
    assert info.error == "participants that did not finish: shard-2 (stale)"
    states = {p.name: p.state for p in manager.participants("shared")}
    assert states == {"shard-1": "done", "shard-2": "stale", "shard-3": "done"}

    # The shard started again takes its place back and ends the run.
    del crashed
    with manager.run(run_id="shared", participant="shard-2") as again:
        assert again.participant.joins == 2
    assert manager.get_run("shared").status is RunStatus.COMPLETED


def test_a_live_participant_still_loading_keeps_the_run_running(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    manager.run(run_id="shared", participant="shard-1")
    other_process_holds(driver, "shared", "shard-1", age_seconds=1)
    with manager.run(run_id="shared", participant="shard-2"):
        pass
    assert manager.get_run("shared").status is RunStatus.RUNNING


def test_a_name_held_by_a_live_process_is_refused(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    manager.run(run_id="shared", participant="shard-1")
    other_process_holds(driver, "shared", "shard-1", age_seconds=1)
    with pytest.raises(RunStateError, match="participant 'shard-1' of run shared is live in pid"):
        manager.run(run_id="shared", participant="shard-1")


def test_an_anonymous_process_takes_the_place_of_one_that_died(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    gone = manager.run(config={"source": "a"})
    name = gone.participant.name
    other_process_holds(driver, gone.run_id, name, age_seconds=600)
    with manager.run(config={"source": "a"}) as resumed:
        assert resumed.run_id == gone.run_id
        assert resumed.participant.name == name and resumed.participant.joins == 2
    assert manager.get_run(gone.run_id).status is RunStatus.COMPLETED
    assert len(manager.participants(gone.run_id)) == 1


def test_the_coordinator_completes_the_run_whatever_the_participants_did(
    manager: CheckpointManager,
) -> None:
    coordinator = manager.run(config={"job": "spark"}, coordinator=True)
    assert coordinator.coordinator
    attempt = manager.run(run_id=coordinator.run_id, participant="task-0-attempt-0")
    load_people(attempt, range(10))
    attempt.fail(RuntimeError("executor lost"))
    retry = manager.run(run_id=coordinator.run_id, participant="task-0-attempt-1")
    load_people(retry, range(20))
    # The coordinator is live: the participants' ends leave the run to it.
    assert retry.complete().status is RunStatus.RUNNING

    assert coordinator.complete().status is RunStatus.COMPLETED
    roles = {p.name: (p.role, p.state) for p in manager.participants(coordinator.run_id)}
    assert roles == {
        next(iter(roles)): ("coordinator", "done"),
        "task-0-attempt-0": ("participant", "failed"),
        "task-0-attempt-1": ("participant", "done"),
    }


def test_a_bad_participant_name_is_refused(manager: CheckpointManager) -> None:
    for bad in ("", "  ", 7):
        with pytest.raises(Exception, match="participant must be a non-empty str"):
            manager.run(run_id="shared", participant=bad)  # type: ignore[arg-type]


def test_show_lists_the_participants(manager: CheckpointManager, neo4j_server: Neo4jServer) -> None:
    first = manager.run(run_id="shared", participant="shard-1")
    load_people(first, range(12))
    first.complete()
    manager.run(run_id="shared", participant="shard-2")
    env = {
        "NEO4J_URI": neo4j_server.uri,
        "NEO4J_USERNAME": neo4j_server.username,
        "NEO4J_PASSWORD": neo4j_server.password,
        "NEO4J_DATABASE": neo4j_server.database or "",
        "COLUMNS": "200",
    }
    shown = CliRunner().invoke(main, ["show", "shared"], env=env)
    assert shown.exit_code == 0, shown.output
    lines = [line.split() for line in shown.output.splitlines()]
    rows = {line[0]: line[1:4] for line in lines if line and line[0].startswith("shard-")}
    host = socket.gethostname()
    assert rows == {
        "shard-1": ["participant", "done", host],
        "shard-2": ["participant", "running", host],
    }
    doc: dict[str, Any] = json.loads(
        CliRunner().invoke(main, ["show", "shared", "--json"], env=env).output
    )
    parts = {p["name"]: (p["state"], p["items"]) for p in doc["participants"]}
    assert parts == {"shard-1": ("done", 12), "shard-2": ("running", 0)}


def test_a_run_is_live_while_another_participant_loads_though_the_last_one_died(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    first = manager.run(run_id="shared", participant="shard-1")
    manager.run(run_id="shared", participant="shard-2")
    # The run's pid is its last joiner's; make it a process of this host that is gone.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: 'shared'}) SET r.pid = $pid", pid=dead_pid
    )
    assert admin.is_live(manager.get_run("shared")), "shard-1 still loads"
    first.complete()  # one participant left running: now its pid decides
    assert not admin.is_live(manager.get_run("shared"))


def test_without_a_live_coordinator_the_participants_settle_the_run(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    coordinator = manager.run(run_id="shared", coordinator=True)
    other_process_holds(driver, "shared", coordinator.participant.name, age_seconds=600)
    task = manager.run(run_id="shared", participant="task-0")
    assert task.complete().status is RunStatus.COMPLETED
