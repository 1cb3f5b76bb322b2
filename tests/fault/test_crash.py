"""Crash test: a loader with non-idempotent writes is SIGKILLed again and again, then resumed.

One load of ``ITEMS`` integer items runs through ``fault_loader.py`` subprocesses whose data
writes are plain ``CREATE``. The test kills the loader with SIGKILL ``KILLS`` times: most
kills land a random few milliseconds after the loader reported a randomly chosen point of
the input (so inside a batch transaction, or between one and the next), the others a random
time after the process started (so during start-up, schema setup, opening or resuming the
run, or re-reading what is already loaded). Every new process resumes the run through
``manager.run(config=...)``. The last one runs to completion, and then the graph must hold
every item exactly once, each with its ``:ProcessedItem``, and counters that agree.

The test runs once per API (``api`` is ``sync`` or ``async``, see ``fault_loader.py --api``):
the async variant loads through ``AsyncCheckpointManager``, an ``async def`` loader, the async
driver and an async iterable input, is killed as many times, and must pass the same checks.

Replay a failure with the seed it printed: ``GRAPH_CKPT_FAULT_SEED=<seed> scripts/test
tests/fault/test_crash.py`` (add ``-k async`` or ``-k sync`` for one variant).
"""

from __future__ import annotations

import time

import neo4j
import pytest

from graph_checkpoint import CheckpointManager
from graph_checkpoint.pytest_plugin import Neo4jServer

from ._support import APIS, LOADER_NAME, Seed, exactly_once

ITEMS = 20_000
KILLS = 20  # at least 10, as the reliability promise requires (per API)
TIMED_KILLS = 5  # of KILLS, those that land at a random time after start-up
BATCH_SIZE = 100


def kill_plan(seed: Seed) -> list[tuple[str, float]]:
    """The kills, in order: ("progress", item position) or ("time", seconds after start).

    Progress targets are spread over the whole input (sorted, so each resumed process has
    something left to load); timed kills are mixed in at random places.
    """
    rng = seed.rng
    targets = sorted(rng.sample(range(BATCH_SIZE, ITEMS - 20 * BATCH_SIZE), KILLS - TIMED_KILLS))
    plan: list[tuple[str, float]] = [("progress", float(t)) for t in targets]
    for _ in range(TIMED_KILLS):
        plan.insert(rng.randrange(1, len(plan) + 1), ("time", rng.uniform(0.05, 1.2)))
    return plan


@pytest.mark.slow
@pytest.mark.parametrize("api", APIS)
def test_sigkill_many_times_then_resume(
    driver: neo4j.Driver, neo4j_server: Neo4jServer, spawn_loader, fault_seed: Seed, api: str
) -> None:
    config_tag = f"crash-{api}-{fault_seed.value}"
    args = ("--items", f"0:{ITEMS}", "--batch-size", str(BATCH_SIZE), "--config-tag", config_tag)
    plan = kill_plan(fault_seed)
    killed = 0
    opened = 0  # processes that got as far as opening (creating or resuming) the run
    run_id = None
    reached_before = 0  # the furthest point of the input a killed process had reported
    for kind, value in plan:
        process = spawn_loader(*args, api=api)
        if kind == "progress":
            reached = process.wait_for_progress(int(value), timeout=300)
            assert reached, (
                f"{fault_seed}: loader exited before reaching item {value:.0f}"
                f" (exit {process.popen.wait()})\n{process.stderr()}"
            )
            # A random moment of the next batch: before, inside or after its transaction.
            time.sleep(fault_seed.rng.uniform(0, 0.04))
        else:
            # At a random time, but before the process gets more than a few batches past
            # where the last one was killed: a fast load must not finish before the kill.
            cap = reached_before + fault_seed.rng.randrange(1, 4) * BATCH_SIZE
            process.wait_until(value, max_seen=cap)
        code = process.kill()
        reached_before = max(reached_before, process.seen)
        # -9 is our kill; anything else means the loader broke on its own.
        assert code in (-9, 0), f"{fault_seed}: loader exited {code}\n{process.stderr()}"
        assert code == -9, f"{fault_seed}: the load finished before kill {killed + 1} of {KILLS}"
        killed += 1
        if process.run_id:
            opened += 1
            run_id = process.run_id

    final = spawn_loader(*args, api=api)
    code = final.finish(timeout=600)
    assert code == 0, f"{fault_seed}: the resumed load failed ({code})\n{final.stderr()}"
    assert final.done is not None and final.run_id is not None
    assert run_id is None or final.run_id == run_id, (
        f"{fault_seed}: the last process opened {final.run_id}, not the killed run {run_id}"
    )
    processed, skipped, failed = final.done
    assert failed == 0 and processed + skipped == ITEMS, f"{fault_seed}: {final.done}"

    counts = exactly_once(
        driver, neo4j_server.database, final.run_id, set(range(ITEMS)), context=str(fault_seed)
    )
    manager = CheckpointManager(driver, neo4j_server.database)
    info = manager.get_run(final.run_id)
    assert info.status == "completed", f"{fault_seed}: run ended {info.status}: {info.error}"
    # Every process that opened the run before being killed, and the last one, resumed it.
    assert info.resumes >= opened, f"{fault_seed}: {info.resumes} resumes, {opened} opened"
    (progress,) = manager.progress(final.run_id)
    assert (progress.loader, progress.status) == (LOADER_NAME, "completed")
    assert (progress.processed, progress.failed) == (ITEMS, 0), f"{fault_seed}: {progress}"
    with driver.session(database=neo4j_server.database) as session:
        runs = session.run("MATCH (r:CheckpointRun) RETURN count(r) AS n").single()
    assert runs is not None and runs["n"] == 1, f"{fault_seed}: a kill left a second run"
    assert killed >= 10
    timed = sum(kind == "time" for kind, _ in plan)
    print(
        f"{api} API, {fault_seed}: {killed} kills ({killed - timed} at input positions,"
        f" {timed} at random times), {opened} after opening the run, {counts}"
    )
