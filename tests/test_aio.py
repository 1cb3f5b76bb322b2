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
    ItemAlreadyProcessedError,
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
    assert info.status == "completed_with_failures"
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
        with pytest.raises(TypeError, match="AsyncRun"):
            await load_people(manager, [])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="AsyncDriver"):
            AsyncCheckpointManager(driver)  # type: ignore[arg-type]

    run_async(neo4j_server, scenario)


def test_async_seed_style_loader_drives_its_own_loop(neo4j_server, driver):  # type: ignore[no-untyped-def]
    # A loader taking _checkpoint_context fetches its own items and hands them over, as the
    # JSON-file system's loaders do; the async API used to ignore the parameter.
    @checkpoint_loader(batch_size=25)
    async def load_items(run, items, _checkpoint_context=None):  # type: ignore[no-untyped-def]
        async def process_item(tx: neo4j.AsyncManagedTransaction, item: dict[str, int]) -> None:
            await tx.run("CREATE (:Person {id: $id})", id=item["id"])

        await _checkpoint_context.process_items(rows(60), process_item)

    async def scenario(manager: AsyncCheckpointManager) -> Any:
        async with await manager.run(config={"seed_style": "async"}) as run:
            first = await load_items(run, None)
        async with await manager.resume_run(run.run_id) as again:
            second = await load_items(again, None)
        return first, second

    first, second = run_async(neo4j_server, scenario)
    assert (first.processed, first.skipped) == (60, 0)
    assert (second.processed, second.skipped) == (0, 60)
    assert counts(driver) == (60, 60)


def test_async_manager_run_and_checkpoint_offer_the_sync_apis_methods(neo4j_server, driver):  # type: ignore[no-untyped-def]
    async def scenario(manager: AsyncCheckpointManager) -> Any:
        # A checkpoint made from the manager opens its own run on first use and ends it.
        own = AsyncLoaderCheckpoint(manager, "standalone")
        assert await own.status(7) is None
        assert await own.mark_processed(7)  # in a transaction of its own
        assert await own.status(7) == "processed"
        assert manager.current_run is own.run
        await own.complete()
        assert manager.current_run is None
        finished = await manager.get_run(own.run_id)

        run = await manager.run(description="left open")
        assert (await run.refresh()).description == "left open"
        await manager.close()  # interrupts what is still open, e.g. at shutdown
        return finished, run.closed, await manager.get_run(run.run_id)

    finished, closed, left_open = run_async(neo4j_server, scenario)
    assert finished.status == "completed"
    assert closed
    assert left_open.status == "interrupted"


def test_async_marking_an_item_twice_fails_the_second_transaction(neo4j_server, driver):  # type: ignore[no-untyped-def]
    async def scenario(manager: AsyncCheckpointManager) -> Any:
        async with await manager.run() as run:
            checkpoint = await AsyncLoaderCheckpoint.open(run, "once")

            async def work(tx: neo4j.AsyncManagedTransaction) -> None:
                await tx.run("CREATE (:Person {id: 1})")
                await checkpoint.mark_processed(1, tx=tx)

            async with manager.driver.session(database=manager.database) as session:
                await session.execute_write(work)
                with pytest.raises(ItemAlreadyProcessedError):
                    await session.execute_write(work)
            return await checkpoint.unprocessed([0, 1, 2])

    assert run_async(neo4j_server, scenario) == [0, 2]
    assert counts(driver) == (1, 1)
