"""Participants: processes that share one run, and one of them killed part-way.

Four ``fault_loader.py`` processes join one run and load with non-idempotent ``CREATE``
writes; one is SIGKILLed part-way. The three others end done, but the run must not be
completed: it is left resumable, with the killed participant shown stale. A process started
again takes the killed one's place and completes the run, every item exactly once.

``named``: each process loads its own quarter of the items under its own participant name
(``shard-N``), as a job that splits its input does; the killed quarter is missing until its
shard is started again. ``anonymous``: the processes have no names and each goes through the
whole input (skipping what the others loaded); the restarted process takes the place of the
one that died.
"""

from __future__ import annotations

import neo4j
import pytest

from graph_checkpoint import CheckpointManager, RunStatus
from graph_checkpoint.pytest_plugin import Neo4jServer

from ._support import Seed, exactly_once

PROCESSES = 4
PER_SHARD = 1_500
TOTAL = PROCESSES * PER_SHARD


@pytest.mark.slow
@pytest.mark.parametrize("naming", ["named", "anonymous"])
def test_a_killed_participant_keeps_the_run_open_until_a_resume_finishes_it(
    driver: neo4j.Driver, neo4j_server: Neo4jServer, spawn_loader, fault_seed: Seed, naming: str
) -> None:
    run_id = f"participants-{naming}"
    victim = fault_seed.rng.randrange(PROCESSES)
    named = naming == "named"

    def args(index: int) -> list[str]:
        items = f"{index * PER_SHARD}:{(index + 1) * PER_SHARD}" if named else f"0:{TOTAL}"
        spec = ["--items", items, "--run-id", run_id, "--batch-size", "50", "--sleep", "0.01"]
        if named:
            spec += ["--participant", f"shard-{index}"]
        else:  # the same input in other orders: every process meets every item
            spec += ["--shuffle", str(fault_seed.rng.randrange(2**31))]
        return spec

    processes = [spawn_loader(*args(index)) for index in range(PROCESSES)]
    assert processes[victim].wait_for_progress(PER_SHARD // 3, timeout=120), (
        f"{fault_seed}: process {victim} ended before it could be killed"
    )
    processes[victim].kill()
    for index, process in enumerate(processes):
        if index != victim:
            code = process.finish(timeout=300)
            assert code == 0, f"{fault_seed}: process {index} crashed\n{process.stderr()}"

    manager = CheckpointManager(driver, neo4j_server.database)
    info = manager.get_run(run_id)
    assert info.status is RunStatus.INTERRUPTED, f"{fault_seed}: {info}"
    assert info.error and "did not finish" in info.error, info.error
    states = sorted(p.state for p in manager.participants(run_id))
    assert states == ["done", "done", "done", "stale"], f"{fault_seed}: {states}"

    again = spawn_loader(*args(victim))
    assert again.finish(timeout=300) == 0, f"{fault_seed}: the resume crashed\n{again.stderr()}"
    assert again.done is not None
    processed, skipped, _ = again.done
    if named:  # the killed shard had committed part of its quarter: the rest is loaded now
        assert processed + skipped == PER_SHARD and 0 < skipped < PER_SHARD, again.done
    else:  # the others went through the whole input
        assert (processed, skipped) == (0, TOTAL), again.done

    info = manager.get_run(run_id)
    assert info.status is RunStatus.COMPLETED, f"{fault_seed}: {info}"
    parts = manager.participants(run_id)
    assert len(parts) == PROCESSES, [p.name for p in parts]
    assert all(p.state == "done" for p in parts), parts
    assert sorted(p.joins for p in parts) == [1, 1, 1, 2], parts
    if named:
        # The killed process's items count up to its last heartbeat only.
        taken_over = next(p for p in parts if p.joins == 2)
        assert taken_over.items >= processed, parts
        others = [p.items for p in parts if p is not taken_over]
        assert others == [PER_SHARD] * (PROCESSES - 1), parts
    exactly_once(driver, neo4j_server.database, run_id, set(range(TOTAL)), context=str(fault_seed))
