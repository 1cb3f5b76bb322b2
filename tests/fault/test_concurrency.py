"""Concurrency test: several loaders on one run, with the same or overlapping input.

Four ``fault_loader.py`` processes join one run with ``manager.run(run_id=...)`` and load
with non-idempotent ``CREATE`` writes. Some of them read the items in a seeded random order,
so their batches overlap in every possible way: two transactions creating the same item,
lock waits, deadlocks. The engine must sort this out by itself (a clash on the
``:ProcessedItem`` key is retried and the check then skips what the other worker wrote; a
deadlock is a transient error the driver retries): no worker may crash, and every item must
be loaded exactly once, by exactly one worker.

Each test runs once per API (``api``): ``sync`` loads through ``CheckpointManager`` and threads,
``async`` through ``AsyncCheckpointManager``, an ``async def`` loader, the async driver, an
async iterable input and, for ``workers=N``, tasks. The same-input test also runs ``mixed``:
two sync and two async processes on one run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import neo4j
import pytest

from graph_checkpoint import (
    AsyncCheckpointManager,
    CheckpointManager,
    LoadInterruptedError,
    LoadResult,
    checkpoint_loader,
)
from graph_checkpoint.pytest_plugin import Neo4jServer

from ._support import APIS, LOADER_NAME, Seed, async_driver, exactly_once

ITEMS = 4_000
WORKERS = 4
CREATE = "UNWIND $rows AS r CREATE (:FaultItem {id: r})"


def worker_api(api: str, index: int) -> str:
    """The API worker ``index`` loads with: ``api``, or in turn sync and async if ``mixed``."""
    if api == "mixed":
        return APIS[index % 2]
    return api


def run_workers(
    spawn_loader, seed: Seed, run_id: str, inputs: list[str], api: str
) -> list[tuple[int, int, int]]:
    """Start one loader per input spec at once, wait for all; return their (processed, ...)."""
    processes = []
    for index, spec in enumerate(inputs):
        args = ["--items", spec, "--run-id", run_id, "--batch-size", "50"]
        if index:  # worker 0 keeps the input order, the others shuffle it
            args += ["--shuffle", str(seed.rng.randrange(2**31))]
        processes.append(spawn_loader(*args, api=worker_api(api, index)))
    results = []
    for index, process in enumerate(processes):
        code = process.finish(timeout=300)
        assert code == 0, f"{seed}: worker {index} crashed ({code})\n{process.stderr()}"
        assert process.done is not None, f"{seed}: worker {index} did not finish its load"
        results.append(process.done)
    return results


def check_run(driver: neo4j.Driver, server: Neo4jServer, run_id: str, seed: Seed) -> None:
    """Exactly-once over all workers, and the shared run completed."""
    exactly_once(driver, server.database, run_id, set(range(ITEMS)), context=str(seed))
    manager = CheckpointManager(driver, server.database)
    info = manager.get_run(run_id)
    assert info.status == "completed", f"{seed}: {info}"
    assert info.resumes == WORKERS - 1, f"{seed}: {info.resumes} joins, expected {WORKERS - 1}"


@pytest.mark.slow
@pytest.mark.parametrize("api", [*APIS, "mixed"])
def test_four_processes_same_input(
    driver: neo4j.Driver, neo4j_server: Neo4jServer, spawn_loader, fault_seed: Seed, api: str
) -> None:
    results = run_workers(spawn_loader, fault_seed, "shared", [f"0:{ITEMS}"] * WORKERS, api)
    for processed, skipped, failed in results:
        assert failed == 0 and processed + skipped == ITEMS, f"{fault_seed}: {results}"
    # Each item was loaded by exactly one worker: the others skipped it.
    assert sum(r[0] for r in results) == ITEMS, f"{fault_seed}: {results}"
    check_run(driver, neo4j_server, "shared", fault_seed)
    print(f"{fault_seed}: processed per worker {[r[0] for r in results]}")


@pytest.mark.slow
@pytest.mark.parametrize("api", APIS)
def test_four_processes_overlapping_halves(
    driver: neo4j.Driver, neo4j_server: Neo4jServer, spawn_loader, fault_seed: Seed, api: str
) -> None:
    # Worker i loads a half of the input starting at its quarter, wrapping around: every
    # item is in the input of exactly two workers.
    quarter, half = ITEMS // 4, ITEMS // 2
    inputs = []
    for i in range(WORKERS):
        start = i * quarter
        stop = start + half
        inputs.append(f"{start}:{stop}" if stop <= ITEMS else f"{start}:{ITEMS},0:{stop - ITEMS}")
    results = run_workers(spawn_loader, fault_seed, "halves", inputs, api)
    for processed, skipped, failed in results:
        assert failed == 0 and processed + skipped == half, f"{fault_seed}: {results}"
    assert sum(r[0] for r in results) == ITEMS, f"{fault_seed}: {results}"
    check_run(driver, neo4j_server, "halves", fault_seed)
    print(f"{fault_seed}: processed per worker {[r[0] for r in results]}")


@pytest.mark.parametrize("api", APIS)
def test_in_process_workers_interrupted_and_resumed(
    manager: CheckpointManager,
    driver: neo4j.Driver,
    neo4j_server: Neo4jServer,
    interrupt_after,
    fault_seed: Seed,
    api: str,
) -> None:
    """``checkpoint_loader(workers=4)``: threads or tasks share one run; stopped, resumed."""
    items = list(range(ITEMS))
    fault_seed.rng.shuffle(items)
    items += items[: ITEMS // 10]  # duplicates across batches: found by the in-database check
    stop_after = fault_seed.rng.randrange(5, 40)
    # interrupt_after raises SimulatedInterrupt, a LoadInterruptedError, after that many batches.
    interruption = interrupt_after(stop_after)
    if api == "sync":
        run_id, status, result = load_twice_sync(manager, interruption, items)
    else:
        run_id, status, result = load_twice_async(neo4j_server, interruption, items)
    assert status == "interrupted", f"{fault_seed}: the interrupted run is {status}"
    assert result.failed == 0 and result.seen == len(items), f"{fault_seed}: {result}"
    assert 0 < result.processed < ITEMS, f"{fault_seed}: the interruption loaded nothing"
    exactly_once(driver, neo4j_server.database, run_id, set(range(ITEMS)), context=str(fault_seed))
    assert manager.get_run(run_id).status == "completed"
    print(
        f"{fault_seed}: interrupted after {stop_after} batches,"
        f" the resume loaded {result.processed} and skipped {result.skipped}"
    )


def load_twice_sync(
    manager: CheckpointManager, interruption, items: list[int]
) -> tuple[str, str, LoadResult]:
    """Load with 4 threads until interrupted, then resume: (run id, its status, resume's result).

    The status is the run's after the interruption.
    """

    @checkpoint_loader(name=LOADER_NAME, batch_size=40, workers=WORKERS, progress=False)
    def load(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run(CREATE, rows=rows).consume()

    with (
        pytest.raises(LoadInterruptedError),
        interruption,
        manager.run(config={"tag": "workers"}) as run,
    ):
        load(run, items)
    status = manager.get_run(run.run_id).status
    with manager.run(config={"tag": "workers"}) as resumed:
        assert resumed.run_id == run.run_id
        result = load(resumed, items)
    return run.run_id, status, result


def load_twice_async(
    server: Neo4jServer, interruption, items: list[int]
) -> tuple[str, str, LoadResult]:
    """The same as :func:`load_twice_sync` with the async API: 4 tasks, async input."""

    @checkpoint_loader(name=LOADER_NAME, batch_size=40, workers=WORKERS, progress=False)
    async def load(tx: neo4j.AsyncManagedTransaction, rows: list[int]) -> None:
        result = await tx.run(CREATE, rows=rows)
        await result.consume()

    async def source() -> AsyncIterator[int]:
        for index, item in enumerate(items):
            yield item
            if index % 64 == 0:
                await asyncio.sleep(0)

    async def main() -> tuple[str, str, LoadResult]:
        async with async_driver(server) as driver:
            manager = AsyncCheckpointManager(driver, server.database, heartbeat_interval=1.0)
            with pytest.raises(LoadInterruptedError), interruption:
                async with await manager.run(config={"tag": "workers"}) as run:
                    await load(run, source())
            status = (await manager.get_run(run.run_id)).status
            async with await manager.run(config={"tag": "workers"}) as resumed:
                assert resumed.run_id == run.run_id
                result = await load(resumed, source())
            return run.run_id, status, result

    return asyncio.run(main())
