"""The library functions behind ``graph-ckpt`` (graph_checkpoint.admin), on the real server."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import neo4j
import pytest

from graph_checkpoint import (
    CheckpointManager,
    GraphCheckpointError,
    RunNotFoundError,
    RunStateError,
    RunStatus,
    admin,
)
from graph_checkpoint._ops import Write
from graph_checkpoint._sync.manager import executor_of
from graph_checkpoint.admin import DeleteProgress
from graph_checkpoint.model import RunInfo
from tests.test_cli import (
    bulk_run,
    checks_processes,
    dead_pid,
    loader,
    make_dead,
    make_run,
    make_stale,
    rows,
    run_ids,
)


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


@checks_processes
def test_process_alive_checks_only_this_host() -> None:
    here = socket.gethostname()
    mine = RunInfo(run_id="r", status=RunStatus.RUNNING, host=here, pid=os.getpid())
    gone = RunInfo(run_id="r", status=RunStatus.RUNNING, host=here, pid=dead_pid())
    assert admin.process_alive(mine) is True
    assert admin.process_alive(gone) is False
    assert admin.process_alive(RunInfo("r", RunStatus.RUNNING, host="elsewhere", pid=1)) is None
    assert admin.process_alive(RunInfo("r", RunStatus.RUNNING, host=here)) is None
    if os.getuid() != 0:  # pid 1 belongs to root: alive, though not ours to signal
        assert admin.process_alive(RunInfo("r", RunStatus.RUNNING, host=here, pid=1)) is True
    assert admin.is_live(mine) and not admin.is_live(gone)
    assert admin.display_status(mine) is RunStatus.RUNNING
    assert admin.display_status(gone) is RunStatus.STALE
    # Only a running run is live, whatever its process does.
    done = RunInfo(run_id="r", status=RunStatus.INTERRUPTED, host=here, pid=os.getpid())
    assert not admin.is_live(done) and admin.display_status(done) is RunStatus.INTERRUPTED


@checks_processes
def test_a_run_whose_process_is_gone_is_deleted_like_a_stale_one(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    by_delete = make_run(manager, n=5)
    by_cleanup = make_run(manager, n=5)
    for run_id in (by_delete, by_cleanup):
        make_dead(driver, run_id, dead_pid())
    summary = admin.list_runs(manager, status="stale")
    assert {s.run.run_id for s in summary} == {by_delete, by_cleanup}
    assert admin.list_runs(manager, status="stale", limit=1)[0].run.run_id == by_cleanup

    assert admin.delete_run(manager, by_delete).items == 5  # no force needed
    result = admin.cleanup(manager, keep=0)
    assert [d.run_id for d in result.deleted] == [by_cleanup] and result.protected == []
    assert run_ids(driver) == set()


@checks_processes
def test_a_dead_run_resumed_during_its_delete_is_not_deleted(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    run_id = make_run(manager, n=5)
    make_dead(driver, run_id, dead_pid(), heartbeat_age=5)
    resumed: list[Any] = []

    def resume_before_marking(op: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
        """The delete's steps, with a load resuming the run just before it is marked."""
        step = op.send(None)
        while True:
            if isinstance(step, Write) and step.name == "mark_run_deleting":
                resumed.append(manager.resume_run(run_id))
            try:
                step = op.send((yield step))
            except StopIteration as stop:
                return stop.value

    try:
        with pytest.raises(RunStateError, match="resumed meanwhile"):
            executor_of(manager).run(
                resume_before_marking(admin._delete_op(run_id, 100, False, None))
            )
        assert manager.get_run(run_id).status is RunStatus.RUNNING
        assert run_ids(driver) == {run_id}
    finally:
        for run in resumed:
            run.interrupt("the test is done with it")


def test_a_killed_run_counts_up_to_its_last_batch(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    run = manager.start_run(description="killed between heartbeats")
    time.sleep(0.3)
    loader("people")(run, rows(50))
    run.interrupt("stand-in for the kill")
    # As a kill leaves it: running, its last heartbeat (and resume) at the start.
    driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $id}) SET r.status = 'running', r.finished_at = null,"
        " r.updated_at = r.started_at, r.resumed_at = r.started_at, r.active_seconds = 0.0",
        id=run.run_id,
    )
    details = admin.run_details(manager, run.run_id)
    assert details.run.duration == timedelta(0)  # what the heartbeat alone says
    assert details.wall is not None and details.wall >= timedelta(seconds=0.3)
    assert details.active == details.wall
    assert details.throughput == pytest.approx(50 / details.wall.total_seconds())


def test_iter_failures_of_one_loader(manager: CheckpointManager) -> None:
    with manager.start_run() as run:
        loader("a", fail_on={1, 2})(run, rows(10))
        loader("b", fail_on={3})(run, rows(10))
    assert sorted(f.item_id for f in admin.iter_failures(manager, run.run_id, "a")) == [1, 2]
    assert [f.loader for f in admin.iter_failures(manager, run.run_id, loader="b")] == ["b"]
    assert len(list(admin.iter_failures(manager, run.run_id))) == 3
    with pytest.raises(GraphCheckpointError, match="no loader named 'c'"):
        admin.iter_failures(manager, run.run_id, "c")
    with pytest.raises(RunNotFoundError):
        admin.iter_failures(manager, "missing", "a")


def test_cleanup_leaves_resumable_runs_unless_asked(
    manager: CheckpointManager, driver: neo4j.Driver
) -> None:
    interrupted = manager.start_run(config={"k": 1})
    interrupted.interrupt("stopped")
    failed = manager.start_run(config={"k": 2})
    failed.fail(RuntimeError("boom"))
    done = make_run(manager, n=3)
    assert [s.run.open for s in admin.list_runs(manager)] == [False, True, True]

    result = admin.cleanup(manager, keep=0)
    assert [d.run_id for d in result.deleted] == [done]
    assert [c.run.run_id for c in result.resumable] == [failed.run_id, interrupted.run_id]
    assert {c.run.run_id for c in result.kept} == {failed.run_id, interrupted.run_id}
    assert run_ids(driver) == {failed.run_id, interrupted.run_id}

    result = admin.cleanup(manager, keep=1, include_resumable=True)
    assert [d.run_id for d in result.deleted] == [interrupted.run_id]
    assert run_ids(driver) == {failed.run_id}
