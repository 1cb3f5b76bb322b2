"""Which run a load resumes: by its config, one run however many start it, changed configs."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time

import neo4j
import pytest

from graph_checkpoint import (
    CheckpointManager,
    ConfigMismatchError,
    LoaderCheckpoint,
    RunStatus,
    checkpoint_loader,
)
from graph_checkpoint.pytest_plugin import Neo4jServer
from tests.fault._support import server_env


@checkpoint_loader(batch_size=100)
def load_items(tx: neo4j.ManagedTransaction, ids: list[int]) -> None:
    tx.run("UNWIND $ids AS id CREATE (:Item {id: id})", ids=ids)


def item_count(driver: neo4j.Driver) -> int:
    records, _, _ = driver.execute_query("MATCH (i:Item) RETURN count(i) AS n")
    return int(records[0]["n"])


def test_a_run_without_config_does_not_adopt_a_run_with_one(manager, driver):  # type: ignore[no-untyped-def]
    with manager.run(config={"file": "items.csv"}) as configured:
        load_items(configured, range(500))
        configured.interrupt("paused")
    # An ad hoc run (no config) is another load: it must not complete the paused one.
    with manager.run() as adhoc:
        assert adhoc.run_id != configured.run_id
    own = LoaderCheckpoint(manager, "manual")
    assert own.run_id not in (configured.run_id, adhoc.run_id)
    own.complete()
    assert manager.get_run(configured.run_id).status is RunStatus.INTERRUPTED
    # The configured load resumes its own run and loads nothing twice.
    with manager.run(config={"file": "items.csv"}) as again:
        assert again.run_id == configured.run_id
        result = load_items(again, range(1000))
    assert (result.processed, result.skipped) == (500, 500)
    assert item_count(driver) == 1000


def test_a_run_without_config_resumes_the_run_without_config(manager):  # type: ignore[no-untyped-def]
    with manager.run() as first:
        first.interrupt()
    with manager.run() as second:
        assert second.run_id == first.run_id


def test_start_run_replaces_the_run_that_run_resumes(manager):  # type: ignore[no-untyped-def]
    old = manager.start_run(config={"k": 1})
    old.interrupt()
    new = manager.start_run(config={"k": 1})
    new.interrupt()
    assert not manager.get_run(old.run_id).open
    with manager.run(config={"k": 1}) as resumed:
        assert resumed.run_id == new.run_id


def test_a_completed_run_is_not_resumed(manager):  # type: ignore[no-untyped-def]
    with manager.run(config={"k": 2}) as first:
        pass
    assert not manager.get_run(first.run_id).open
    with manager.run(config={"k": 2}) as second:
        assert second.run_id != first.run_id


RACER = textwrap.dedent(
    """
    import sys, time
    from graph_checkpoint import CheckpointManager, ConnectionSettings
    settings = ConnectionSettings.from_env()
    with settings.driver() as driver:
        manager = CheckpointManager(driver, settings.database)
        manager.ensure_schema()
        time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
        run = manager.run(config={"load": "race"})
        print(run.run_id, flush=True)
        run.interrupt()
    """
)


@pytest.mark.slow
def test_eight_processes_starting_the_same_load_at_once_share_one_run(
    manager: CheckpointManager, neo4j_server: Neo4jServer
) -> None:
    manager.ensure_schema()
    start_at = time.time() + 6  # every process connected and waiting by then
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(start_at)],
            env=server_env(neo4j_server),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0] * 8, [err for _, err in outputs]
    run_ids = {out.strip() for out, _ in outputs}
    assert len(run_ids) == 1, run_ids
    records, _, _ = manager.driver.execute_query("MATCH (r:CheckpointRun) RETURN count(r) AS n")
    assert records[0]["n"] == 1


def test_a_changed_config_value_starts_a_new_run_and_says_so(manager, caplog):  # type: ignore[no-untyped-def]
    with manager.run(config={"file": "items.csv", "batch": 100}) as first:
        first.interrupt()
    with (
        caplog.at_level(logging.WARNING, logger="graph_checkpoint"),
        manager.run(config={"file": "items.csv", "batch": 200}) as second,
    ):
        pass
    assert second.run_id != first.run_id
    warning = next(r.getMessage() for r in caplog.records if first.run_id in r.getMessage())
    assert "changed batch" in warning
    assert f"manager.resume_run('{first.run_id}', config, force=True)" in warning


def test_a_dropped_key_is_reported_too(manager, caplog):  # type: ignore[no-untyped-def]
    with manager.run(config={"file": "items.csv", "limit": 10}) as first:
        first.interrupt()
    with (
        caplog.at_level(logging.WARNING, logger="graph_checkpoint"),
        manager.run(config={"file": "items.csv"}),
    ):
        pass
    assert any("missing limit" in r.getMessage() for r in caplog.records)


def test_another_load_with_nothing_in_common_is_not_reported(manager, caplog):  # type: ignore[no-untyped-def]
    with manager.run(config={"file": "items.csv"}) as first:
        first.interrupt()
    with (
        caplog.at_level(logging.WARNING, logger="graph_checkpoint"),
        manager.run(config={"table": "people"}),
    ):
        pass
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_resuming_by_id_with_new_values_is_refused_unless_forced(manager):  # type: ignore[no-untyped-def]
    with manager.run(config={"file": "a.csv"}) as first:
        first.interrupt()
    with pytest.raises(ConfigMismatchError, match="changed file"):
        manager.run(run_id=first.run_id, config={"file": "b.csv"})
    with manager.run(run_id=first.run_id, config={"file": "b.csv"}, force=True) as forced:
        assert forced.info.config == {"file": "b.csv"}
        forced.interrupt()
    # It now answers for its new config.
    with manager.run(config={"file": "b.csv"}) as again:
        assert again.run_id == first.run_id
