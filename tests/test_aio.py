"""The asyncio API on a real server: same guarantees as the sync one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import neo4j
import pytest

from graph_checkpoint import (
    AsyncCheckpointedLoader,
    AsyncCheckpointManager,
    AsyncLoaderCheckpoint,
    GraphCheckpointError,
    checkpoint_loader,
)
from graph_checkpoint.pytest_plugin import Neo4jServer


@checkpoint_loader(batch_size=40, item_id="id")
async def load_people(tx: neo4j.AsyncManagedTransaction, rows: list[dict[str, Any]]) -> None:
    if any(r["id"] == 99 for r in rows):
        raise ValueError("row 99 is bad")
    await tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows)


async def rows(n: int) -> AsyncIterator[dict[str, int]]:
    for i in range(n):
        yield {"id": i}
        if i % 50 == 0:
            await asyncio.sleep(0)


def run_async(server: Neo4jServer, scenario: Any) -> Any:
    async def main() -> Any:
        async with neo4j.AsyncGraphDatabase.driver(
            server.uri.replace("bolt://", "neo4j://", 1), auth=(server.username, server.password)
        ) as driver:
            manager = AsyncCheckpointManager(driver, server.database, heartbeat_interval=1)
            return await scenario(manager)

    return asyncio.run(main())


def counts(driver: neo4j.Driver) -> tuple[int, int]:
    records, _, _ = driver.execute_query(
        "MATCH (p:Person) RETURN count(p) AS n, count(DISTINCT p.id) AS d"
    )
    return records[0]["n"], records[0]["d"]


def test_the_decorator_returns_an_async_loader():
    assert isinstance(load_people, AsyncCheckpointedLoader)
    assert load_people.name == "load_people"


def test_async_load_resume_and_failures(neo4j_server, driver):  # type: ignore[no-untyped-def]
    async def scenario(manager: AsyncCheckpointManager) -> Any:
        async with await manager.run(config={"async": True}) as run:
            first = await load_people(run, [r async for r in rows(150)])
            await run.interrupt("pause")
        async with await manager.run(config={"async": True}) as again:
            second = await load_people(again, rows(300))
        return run.run_id, again.run_id, first, second, await manager.get_run(run.run_id)

    run_id, again_id, first, second, info = run_async(neo4j_server, scenario)
    assert run_id == again_id
    assert (first.processed, first.failed) == (149, 1)
    # The failed row is retried (and fails again), the loaded ones are skipped.
    assert (second.processed, second.skipped, second.failed) == (150, 149, 1)
    assert info.status == "completed"
    assert counts(driver) == (299, 299)


def test_async_concurrent_batches_are_exactly_once(neo4j_server, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=25, workers=4)
    async def parallel(tx, batch):  # type: ignore[no-untyped-def]
        await tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=batch)

    async def scenario(manager: AsyncCheckpointManager) -> Any:
        items = [{"id": i} for i in range(1000)]
        async with await manager.run() as run:
            result = await parallel(run, items + items[:200])
            return result, await run.progress()

    result, progress = run_async(neo4j_server, scenario)
    assert (result.processed, result.skipped) == (1000, 200)
    assert (progress[0].processed, progress[0].skipped) == (1000, 200)
    assert counts(driver) == (1000, 1000)


def test_async_manual_checkpoint(neo4j_server, driver):  # type: ignore[no-untyped-def]
    async def scenario(manager: AsyncCheckpointManager) -> Any:
        async with await manager.run() as run:
            checkpoint = await AsyncLoaderCheckpoint.open(run, "manual_async")

            async def work(tx: neo4j.AsyncManagedTransaction, item_id: int) -> bool:
                if await checkpoint.is_processed(item_id, tx=tx):
                    return False
                await tx.run("CREATE (:Person {id: $id})", id=item_id)
                return await checkpoint.mark_processed(item_id, tx)

            async with manager.driver.session(database=manager.database) as session:
                marked = [await session.execute_write(work, i) for i in (1, 2, 1)]
            await checkpoint.mark_failed(3, "nope")
            return marked, await checkpoint.get_progress_stats()

    marked, stats = run_async(neo4j_server, scenario)
    assert marked == [True, True, False]
    assert (stats["processed"], stats["failed"]) == (2, 1)
    assert counts(driver) == (2, 2)


def test_async_errors(neo4j_server, driver):  # type: ignore[no-untyped-def]
    async def scenario(manager: AsyncCheckpointManager) -> None:
        with pytest.raises(GraphCheckpointError, match="AsyncRun"):
            await load_people(manager, [])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="AsyncDriver"):
            AsyncCheckpointManager(driver)  # type: ignore[arg-type]

    run_async(neo4j_server, scenario)
