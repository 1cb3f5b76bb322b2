"""The manual API: LoaderCheckpoint in loops written by hand."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import neo4j
import pytest

from graph_checkpoint import (
    CheckpointManager,
    GraphCheckpointError,
    ItemAlreadyProcessedError,
    LoaderCheckpoint,
)


def test_the_seed_manual_loop_marks_in_the_callers_transaction(manager, driver):  # type: ignore[no-untyped-def]
    items = [{"id": i} for i in range(20)]
    with manager.run(config={"manual": 1}) as run:
        checkpoint = LoaderCheckpoint(run, "load_items")

        def work(tx: neo4j.ManagedTransaction, item: dict[str, int]) -> None:
            if item["id"] == 13:
                raise ValueError("unlucky")
            tx.run("CREATE (:Item {id: $id})", id=item["id"])
            checkpoint.mark_processed(item["id"], tx=tx)

        with driver.session() as session:
            for item in items:
                if checkpoint.is_processed(item["id"]):
                    continue
                try:
                    session.execute_write(work, item)
                except ValueError as exc:
                    checkpoint.mark_failed(item["id"], exc)

        stats = checkpoint.get_progress_stats()
    assert (stats["processed"], stats["failed"], stats["loader"]) == (19, 1, "load_items")
    assert checkpoint.status(13) == "failed"
    assert checkpoint.is_processed(12)
    assert not checkpoint.is_processed(13)
    records, _, _ = driver.execute_query("MATCH (i:Item) RETURN count(i) AS n")
    assert records[0]["n"] == 19


def test_a_rolled_back_transaction_leaves_no_mark(manager, driver):  # type: ignore[no-untyped-def]
    run = manager.start_run()
    checkpoint = LoaderCheckpoint(run, "rollback")

    def work(tx: neo4j.ManagedTransaction) -> None:
        tx.run("CREATE (:Item {id: 1})")
        checkpoint.mark_processed(1, tx=tx)
        raise RuntimeError("abort after marking")

    with driver.session() as session, pytest.raises(RuntimeError):
        session.execute_write(work)
    assert checkpoint.status(1) is None
    records, _, _ = driver.execute_query("MATCH (i:Item) RETURN count(i) AS n")
    assert records[0]["n"] == 0
    run.complete()


def test_check_and_mark_inside_one_transaction(manager, driver):  # type: ignore[no-untyped-def]
    run = manager.start_run()
    checkpoint = LoaderCheckpoint(run, "atomic")

    def work(tx: neo4j.ManagedTransaction, item_id: str) -> bool:
        if checkpoint.is_processed(item_id, tx=tx):
            return False
        tx.run("CREATE (:Item {id: $id})", id=item_id)
        return checkpoint.mark_processed(item_id, tx=tx)

    with driver.session() as session:
        assert session.execute_write(work, "a") is True
        assert session.execute_write(work, "a") is False
    run.complete()


def test_a_failed_item_marked_processed_later_moves_counters(manager):  # type: ignore[no-untyped-def]
    run = manager.start_run()
    checkpoint = LoaderCheckpoint(run, "recover")
    assert checkpoint.mark_failed("x", "first try") == 1
    assert checkpoint.mark_failed("x", RuntimeError("second try")) == 2
    assert checkpoint.get_progress_stats()["failed"] == 1
    assert checkpoint.mark_processed("x") is True
    assert checkpoint.mark_processed("x") is False
    stats = checkpoint.get_progress_stats()
    assert (stats["processed"], stats["failed"]) == (1, 0)
    # A processed item is never turned back into a failed one.
    checkpoint.mark_failed("x", "late error")
    assert checkpoint.status("x") == "processed"
    run.complete()


def test_with_a_manager_it_uses_or_opens_a_run(manager: CheckpointManager):
    with manager.run(description="open") as run:
        assert LoaderCheckpoint(manager, "inside").run is run
    own = LoaderCheckpoint(manager, "standalone")
    assert own.run.run_id != run.run_id
    own.mark_processed(1)
    own.complete()
    assert manager.get_run(own.run_id).status == "completed"


def test_bad_arguments(manager):  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="needs a Run or a CheckpointManager"):
        LoaderCheckpoint("run_1", "x")  # type: ignore[arg-type]
    run = manager.start_run()
    checkpoint = LoaderCheckpoint(run, "ok")
    with pytest.raises(GraphCheckpointError):
        checkpoint.mark_processed(None)  # type: ignore[arg-type]
    with pytest.raises(GraphCheckpointError):
        LoaderCheckpoint(run, "bad name")
    run.complete()


def _item_counts(driver: neo4j.Driver) -> tuple[int, int]:
    records, _, _ = driver.execute_query(
        "MATCH (i:Item) RETURN count(i) AS n, count(DISTINCT i.id) AS d"
    )
    return records[0]["n"], records[0]["d"]


def _two_threads(work: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_migrating_loop_run_by_two_threads_loads_each_item_once(manager, driver):  # type: ignore[no-untyped-def]
    # The check outside the transaction lets both threads try an item; the second one's
    # mark_processed(tx=tx) raises, so its copy of the data rolls back.
    items = [{"id": i} for i in range(300)]
    with manager.run(config={"threads": "outside"}) as run:
        checkpoint = LoaderCheckpoint(run, "load_items")
        already: list[int] = []

        def process(tx: neo4j.ManagedTransaction, item: dict[str, int]) -> None:
            tx.run("CREATE (:Item {id: $id})", id=item["id"])
            checkpoint.mark_processed(item["id"], tx=tx)

        def loop() -> None:
            with driver.session() as session:
                for item in items:
                    if checkpoint.is_processed(item["id"]):
                        continue
                    try:
                        session.execute_write(process, item)
                    except ItemAlreadyProcessedError:
                        already.append(item["id"])

        _two_threads(loop)
        stats = checkpoint.get_progress_stats()
    assert _item_counts(driver) == (300, 300)
    assert (stats["processed"], stats["failed"]) == (300, 0)


def test_the_in_transaction_check_run_by_two_threads_loads_each_item_once(manager, driver):  # type: ignore[no-untyped-def]
    items = [{"id": i} for i in range(300)]
    with manager.run(config={"threads": "inside"}) as run:
        checkpoint = LoaderCheckpoint(run, "load_items")

        def work(tx: neo4j.ManagedTransaction, item: dict[str, int]) -> None:
            if checkpoint.is_processed(item["id"], tx=tx):
                return
            tx.run("CREATE (:Item {id: $id})", id=item["id"])
            checkpoint.mark_processed(item["id"], tx=tx)

        def loop() -> None:
            with driver.session() as session:
                for item in items:
                    # The other thread loaded it first: this copy rolled back.
                    with contextlib.suppress(ItemAlreadyProcessedError):
                        session.execute_write(work, item)

        _two_threads(loop)
        stats = checkpoint.get_progress_stats()
    assert _item_counts(driver) == (300, 300)
    assert stats["processed"] == 300


def test_marking_an_item_another_transaction_recorded_fails_the_transaction(manager, driver):  # type: ignore[no-untyped-def]
    with manager.run() as run:
        checkpoint = LoaderCheckpoint(run, "once")

        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run("CREATE (:Item {id: 1})")
            checkpoint.mark_processed(1, tx=tx)

        with driver.session() as session:
            session.execute_write(work)
            with pytest.raises(ItemAlreadyProcessedError, match="item 1 of loader once") as info:
                session.execute_write(work)
        assert (info.value.run_id, info.value.item_id) == (run.run_id, 1)
        # Without a transaction there is nothing to roll back: it just says "not new".
        assert checkpoint.mark_processed(1) is False
    assert _item_counts(driver) == (1, 1)


def test_unprocessed_answers_for_a_list_of_ids_in_one_call(manager, driver):  # type: ignore[no-untyped-def]
    with manager.run() as run:
        checkpoint = LoaderCheckpoint(run, "bulk")
        for item_id in (2, 3, 5):
            checkpoint.mark_processed(item_id)
        checkpoint.mark_failed(7, "nope")
        assert checkpoint.unprocessed(range(10)) == [0, 1, 4, 6, 7, 8, 9]
        assert checkpoint.unprocessed([5, 3, 2]) == []
        assert checkpoint.unprocessed(["2", 2, 100]) == ["2", 100]
        assert checkpoint.unprocessed([]) == []
        with driver.session() as session:
            pending = session.execute_read(lambda tx: checkpoint.unprocessed([1, 2, 3], tx=tx))
        assert pending == [1]
