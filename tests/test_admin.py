"""The library functions behind ``graph-ckpt`` (graph_checkpoint.admin), on the real server."""

from __future__ import annotations

from datetime import timedelta

import neo4j
import pytest

from graph_checkpoint import CheckpointManager, RunNotFoundError, admin
from graph_checkpoint.admin import DeleteProgress
from tests.test_cli import bulk_run, make_run, make_stale, run_ids


def test_delete_run_goes_in_bounded_batches(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    run_id = bulk_run(manager, driver, 5_000)
    events: list[DeleteProgress] = []
    result = admin.delete_run(manager, run_id, batch_size=1_000, on_progress=events.append)
    assert result.items == 5_000
    steps = [e.deleted for e in events if not e.done]
    assert steps == [1_000, 2_000, 3_000, 4_000, 5_000, 5_000]  # the last one finds none
    assert events[-1].done and events[-1].expected == 5_000
    assert run_ids(driver) == set()
    with pytest.raises(RunNotFoundError):
        admin.delete_run(manager, run_id)


def test_an_interrupted_delete_is_finished_by_cleanup(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    run_id = bulk_run(manager, driver, 3_000)

    def stop(event: DeleteProgress) -> None:
        if event.deleted >= 1_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        admin.delete_run(manager, run_id, batch_size=1_000, on_progress=stop)
    summary = admin.list_runs(manager)[0]
    assert summary.run.status == "deleting"
    # A half-deleted run is never picked up again by manager.run().
    with manager.run(config={"items": 3_000}) as fresh:
        assert fresh.run_id != run_id
    result = admin.cleanup(manager, keep=5)
    assert [d.run_id for d in result.deleted] == [run_id]
    assert run_ids(driver) == {fresh.run_id}


def test_list_runs_details_and_failures(manager: CheckpointManager, driver: neo4j.Driver) -> None:
    first = make_run(manager, name="a", n=60, fail_on={10, 20})
    second = make_run(manager, name="b", n=5)
    make_stale(driver, second)

    runs = admin.list_runs(manager)
    assert [s.run.run_id for s in runs] == [second, first]
    assert runs[0].run.stale and runs[0].run.display_status == "stale"
    assert not admin.is_live(runs[0].run)
    assert (runs[1].processed, runs[1].failed) == (58, 2)
    assert admin.list_runs(manager, limit=0) == []
    assert admin.latest_run_id(manager) == second

    details = admin.run_details(manager, first, failures=1)
    assert len(details.failures) == 1 and details.failed == 2
    items = admin.iter_failures(manager, first)
    assert sorted(f.item_id for f in items) == [10, 20]
    with pytest.raises(RunNotFoundError):
        admin.iter_failures(manager, "missing")


def test_cleanup_needs_a_rule(manager: CheckpointManager) -> None:
    with pytest.raises(ValueError, match="keep or older_than"):
        admin.cleanup(manager)
    with pytest.raises(ValueError):
        admin.cleanup(manager, keep=-1)


def test_cleanup_dry_run_and_running_runs(manager: CheckpointManager, driver: neo4j.Driver) -> None:
    done = make_run(manager, n=3)
    live = manager.start_run(description="live")
    result = admin.cleanup(manager, keep=0, dry_run=True)
    assert [c.run.run_id for c in result.selected] == [done]
    assert [c.run.run_id for c in result.protected] == [live.run_id]
    assert result.items == 3 and result.deleted == []
    assert run_ids(driver) == {done, live.run_id}
    result = admin.cleanup(manager, keep=0, older_than=timedelta(days=1))
    assert result.selected == []
    live.complete()
