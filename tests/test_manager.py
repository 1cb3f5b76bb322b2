"""Runs: ids, start/resume/complete/fail, config matching, staleness, schema."""

from __future__ import annotations

import re
import socket
import time
from datetime import timedelta

import neo4j
import pytest

from graph_checkpoint import (
    CheckpointManager,
    ConfigMismatchError,
    ConnectionFailedError,
    InvalidConfigError,
    RunInfo,
    RunNotFoundError,
    RunStateError,
    _cypher,
    checkpoint_loader,
)


def test_run_ids_follow_the_seed_format_and_stay_unique(manager: CheckpointManager):
    runs = [manager.start_run(description=f"r{i}") for i in range(3)]
    ids = [run.run_id for run in runs]
    for run in runs:
        run.complete()
    assert all(re.fullmatch(r"run_\d{8}_\d{6}(_\d+)?", run_id) for run_id in ids)
    # Started within the same second or not, the ids never clash.
    assert len(set(ids)) == 3


def test_start_complete_and_fail_are_recorded(manager: CheckpointManager):
    run = manager.start_run(description="explicit", config={"a": 1, "b": [1, 2]})
    info = manager.get_run(run.run_id)
    assert (info.status, info.description, info.config) == (
        "running",
        "explicit",
        {"a": 1, "b": [1, 2]},
    )
    assert info.host and info.pid
    done = run.complete()
    assert done.status == "completed"
    assert done.finished_at is not None and done.started_at is not None
    assert done.duration is not None and done.duration >= timedelta(0)

    other = manager.start_run()
    failed = other.fail(ValueError("disk full"))
    assert failed.status == "failed"
    assert failed.error == "ValueError: disk full"


def test_run_resumes_only_a_matching_incomplete_run(manager: CheckpointManager):
    with manager.run(config={"file": "a.csv"}) as first:
        first.interrupt("stop")
    with manager.run(config={"file": "b.csv"}) as other:
        pass
    assert other.run_id != first.run_id
    with manager.run(config={"file": "a.csv"}) as again:
        pass
    assert again.run_id == first.run_id
    # Completed now: the same config starts a new run.
    with manager.run(config={"file": "a.csv"}) as fresh:
        pass
    assert fresh.run_id not in (first.run_id, other.run_id)


def test_run_with_an_explicit_id_creates_or_joins(manager: CheckpointManager):
    with manager.run(run_id="nightly-2026-11-28", config={"n": 1}) as run:
        assert run.run_id == "nightly-2026-11-28"
    with manager.run(run_id="nightly-2026-11-28", config={"n": 1}) as again:
        assert again.run_id == "nightly-2026-11-28"
    assert manager.get_run("nightly-2026-11-28").resumes == 1


def test_resume_latest_incomplete_without_an_id(manager: CheckpointManager):
    with manager.run(config={"x": 1}) as run:
        run.fail("boom")
    resumed = manager.resume_run()
    assert resumed.run_id == run.run_id
    assert manager.get_run(run.run_id).status == "running"
    resumed.complete()
    with pytest.raises(RunNotFoundError, match="no incomplete run"):
        manager.resume_run()


def test_resume_checks_config_keys(manager: CheckpointManager):
    run = manager.start_run(config={"source": "x", "batch": 10})
    run.interrupt()
    with pytest.raises(ConfigMismatchError, match="missing batch; unexpected limit") as info:
        manager.resume_run(run.run_id, config={"source": "x", "limit": 5})
    assert info.value.missing == ["batch"]
    assert info.value.unexpected == ["limit"]
    # Same keys, other values: refused too, naming them (a changed setting is a changed load).
    with pytest.raises(ConfigMismatchError, match="changed batch, source") as info:
        manager.resume_run(run.run_id, config={"source": "y", "batch": 20})
    assert info.value.changed == ["batch", "source"]
    # Forced: resumed, and the new config is what the run now says it loads.
    forced = manager.resume_run(run.run_id, config={"source": "y", "batch": 20}, force=True)
    assert forced.info.config == {"source": "y", "batch": 20}
    forced.complete()
    assert manager.get_run(run.run_id).config == {"source": "y", "batch": 20}


def test_unknown_run_id(manager: CheckpointManager):
    with pytest.raises(RunNotFoundError, match="no run with id 'run_19990101_000000'"):
        manager.resume_run("run_19990101_000000")
    with pytest.raises(RunNotFoundError):
        manager.get_run("nope")


@pytest.mark.parametrize(
    "config", [{"when": object()}, {"nan": float("nan")}, {1: "int key"}, ["not", "a", "dict"]]
)
def test_config_must_be_a_json_object(manager: CheckpointManager, config):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidConfigError):
        manager.start_run(config=config)


def test_a_run_whose_heartbeat_stopped_is_stale(manager: CheckpointManager, driver):  # type: ignore[no-untyped-def]
    run = manager.start_run()
    # Simulate a process that died a while ago: its heartbeat is old.
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $r}) SET r.updated_at = datetime() - duration('PT5M')",
        r=run.run_id,
    )
    run._heartbeat.stop()
    assert manager.get_run(run.run_id).stale
    assert manager.get_run(run.run_id).display_status == "stale"
    run.interrupt()
    assert not manager.get_run(run.run_id).stale


def test_the_heartbeat_keeps_a_running_run_fresh(manager: CheckpointManager, driver):  # type: ignore[no-untyped-def]
    run = manager.start_run()  # the test manager beats every second
    first = manager.get_run(run.run_id).updated_at
    time.sleep(2.5)
    assert manager.get_run(run.run_id).updated_at > first
    run.complete()


def test_schema_is_applied_on_first_use_and_recreated_when_dropped(  # type: ignore[no-untyped-def]
    neo4j_server, driver
):
    def constraint_names() -> set[str]:
        records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name")
        return {r["name"] for r in records}

    for name in constraint_names() & {"processed_item_key", "checkpoint_run_id"}:
        # Schema commands take no parameters; the names are our own schema's constants.
        driver.execute_query(f"DROP CONSTRAINT {name}")
    assert "processed_item_key" not in constraint_names()
    manager = CheckpointManager(driver, neo4j_server.database)
    with manager.run() as run:
        pass
    assert {"processed_item_key", "checkpoint_run_id"} <= constraint_names()
    assert isinstance(manager.get_run(run.run_id), RunInfo)


def test_a_database_that_does_not_exist(neo4j_server, driver):  # type: ignore[no-untyped-def]
    manager = CheckpointManager(driver, "nosuchdb")
    with pytest.raises(ConnectionFailedError, match="'nosuchdb' does not exist"):
        manager.start_run()


def test_wrong_password_is_a_clear_error_without_the_password(neo4j_server):  # type: ignore[no-untyped-def]
    secret = "wrong-horse-battery-staple"
    with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=("neo4j", secret)) as bad:
        manager = CheckpointManager(bad, neo4j_server.database)
        with pytest.raises(ConnectionFailedError, match="refused the credentials") as info:
            manager.start_run()
    assert secret not in str(info.value)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_is_down():  # type: ignore[no-untyped-def]
    with (
        neo4j.GraphDatabase.driver(
            f"bolt://127.0.0.1:{_unused_port()}", auth=("neo4j", "x"), connection_timeout=2
        ) as down,
        pytest.raises(ConnectionFailedError, match="cannot reach Neo4j"),
    ):
        CheckpointManager(down).start_run()


def test_the_manager_wants_a_sync_driver():
    with pytest.raises(TypeError, match="AsyncCheckpointManager"):
        CheckpointManager("bolt://localhost")  # type: ignore[arg-type]


def test_loader_progress_is_one_cheap_read(manager: CheckpointManager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=1000, workers=2)
    def many(tx, rows):  # type: ignore[no-untyped-def]
        pass

    with manager.run() as run:
        many(run, range(20_000))
    summary = driver.execute_query(
        "PROFILE " + _cypher.query("loader_progress"), run_id=run.run_id
    ).summary
    hits = 0
    stack = [summary.profile]
    while stack:
        plan = stack.pop()
        hits += plan.get("dbHits", 0)
        stack.extend(plan.get("children", []))
    # Reading progress touches the loader and counter nodes, not the 20,000 items.
    assert hits < 500
    [progress] = run.progress()
    assert progress.processed == 20_000


def test_a_run_being_deleted_cannot_be_resumed(manager: CheckpointManager, driver):  # type: ignore[no-untyped-def]
    run = manager.start_run()
    run.interrupt()
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $r}) SET r.status = 'deleting'", r=run.run_id
    )
    with pytest.raises(RunStateError, match="being deleted"):
        manager.resume_run(run.run_id)
