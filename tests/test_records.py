"""Per-batch records on a real server: what a load leaves in the graph, and that lookups,
resumes and concurrent writers stay exactly-once whatever form the records take."""

from __future__ import annotations

import random
import threading
import traceback
from typing import Any

import neo4j
import pytest

from graph_checkpoint import (
    CheckpointManager,
    ItemAlreadyProcessedError,
    LoaderCheckpoint,
    _cypher,
    checkpoint_loader,
)

CREATE = "UNWIND $rows AS r CREATE (:Thing {id: r})"


def records(driver: neo4j.Driver, run_id: str) -> list[tuple[Any, Any, list[str]]]:
    """(item_id, last_item_id, labels) of every record of a run, in key order."""
    rows, _, _ = driver.execute_query(
        "MATCH (p:ProcessedItem {run_id: $run_id})"
        " RETURN p.item_id AS first, p.last_item_id AS last, labels(p) AS labels"
        " ORDER BY valueType(p.item_id), first",
        run_id=run_id,
    )
    return [(r["first"], r["last"], sorted(r["labels"])) for r in rows]


def covered(driver: neo4j.Driver, run_id: str, loader: str) -> list[Any]:
    """Every processed id the records cover, with repeats if two records cover one id."""
    rows, _, _ = driver.execute_query(
        _cypher.query("processed_items"), run_id=run_id, loader=loader
    )
    return [r["item_id"] for r in rows]


def data_ids(driver: neo4j.Driver) -> list[Any]:
    rows, _, _ = driver.execute_query("MATCH (t:Thing) RETURN t.id AS id")
    return [r["id"] for r in rows]


def loader(name: str = "things", **options: Any) -> Any:
    @checkpoint_loader(name=name, **options)
    def load(tx: neo4j.ManagedTransaction, rows: list[Any]) -> None:
        tx.run(CREATE, rows=rows).consume()

    return load


def test_a_sequential_int_load_leaves_one_record(manager: CheckpointManager, driver):  # type: ignore[no-untyped-def]
    with manager.run(run_id="seq") as run:
        result = loader(batch_size=1000)(run, range(10_000))
    assert result.processed == 10_000
    assert records(driver, "seq") == [(0, 9999, ["ProcessedItem"])]
    checkpoint = LoaderCheckpoint(manager.resume_run("seq"), "things")
    assert [checkpoint.status(i) for i in (0, 5_000, 9_999, 10_000, -1)] == [
        "processed",
        "processed",
        "processed",
        None,
        None,
    ]
    assert checkpoint.status("5000") is None  # the str twin is another item


def test_str_ids_in_input_order_leave_one_chunk_per_batch(manager, driver):  # type: ignore[no-untyped-def]
    ids = [f"p-{i:06d}" for i in range(0, 5_000, 2)]  # the odd ones never come
    with manager.run(run_id="strs") as run:
        loader(batch_size=500)(run, ids)
    forms = records(driver, "strs")
    assert [labels for _, _, labels in forms] == [["ProcessedChunk", "ProcessedItem"]] * 5
    assert sorted(covered(driver, "strs", "things")) == ids
    checkpoint = LoaderCheckpoint(manager.resume_run("strs"), "things")
    assert checkpoint.status("p-000002") == "processed"
    assert checkpoint.status("p-000003") is None  # inside a chunk's interval, not listed
    assert checkpoint.unprocessed(["p-000001", "p-004998", "p-009999"]) == [
        "p-000001",
        "p-009999",
    ]
    # Loading them again skips every one: the chunks answer the lookups.
    with manager.run(run_id="strs") as run:
        again = loader(batch_size=500)(run, ids)
    assert (again.processed, again.skipped) == (0, len(ids))
    assert sorted(data_ids(driver)) == ids


def test_shuffled_str_ids_are_recorded_exactly(manager, driver):  # type: ignore[no-untyped-def]
    ids = [f"k{i}" for i in range(3_000)]
    random.Random(7).shuffle(ids)
    with manager.run(run_id="shuffled") as run:
        loader(batch_size=200)(run, ids[:2_000])
    with manager.run(run_id="shuffled") as run:
        result = loader(batch_size=200)(run, ids)
    assert (result.processed, result.skipped) == (1_000, 2_000)
    assert sorted(covered(driver, "shuffled", "things")) == sorted(ids)
    assert sorted(data_ids(driver)) == sorted(ids)


def test_runs_around_a_recorded_id_in_one_batch(manager, driver):  # type: ignore[no-untyped-def]
    # One batch of 0..49 with 34 recorded before: two runs, 0..33 and 35..49, whose records
    # touch the record of 34 from both sides in one commit.
    with manager.run(run_id="gap") as run:
        LoaderCheckpoint(run, "things").mark_processed(34)
        result = loader(batch_size=50)(run, range(50))
    assert (result.processed, result.skipped) == (49, 1)
    assert sorted(covered(driver, "gap", "things")) == list(range(50))
    assert sorted(data_ids(driver)) == [i for i in range(50) if i != 34]


def test_a_failed_id_splits_the_range_and_joins_it_when_retried(manager, driver):  # type: ignore[no-untyped-def]
    flaky = {"fail": True}

    @checkpoint_loader(name="things", batch_size=100)
    def load(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        if flaky["fail"] and 42 in rows:
            raise ValueError("bad row 42")
        tx.run(CREATE, rows=rows).consume()

    with manager.run(run_id="retry") as run:
        first = load(run, range(100))
    assert (first.processed, first.failed) == (99, 1)
    assert LoaderCheckpoint(manager.resume_run("retry"), "things").status(42) == "failed"
    assert 42 not in covered(driver, "retry", "things")
    flaky["fail"] = False
    with manager.run(run_id="retry") as run:
        second = load(run, range(100))
        assert LoaderCheckpoint(run, "things").status(42) == "processed"
    assert (second.processed, second.skipped) == (1, 99)
    assert sorted(covered(driver, "retry", "things")) == list(range(100))
    assert not driver.execute_query("MATCH (f:FailedItem) RETURN f").records
    assert sorted(data_ids(driver)) == list(range(100))


def test_marking_an_id_inside_a_range_is_refused(manager, driver):  # type: ignore[no-untyped-def]
    with manager.run(run_id="manual") as run:
        loader(batch_size=100)(run, range(100))
        checkpoint = LoaderCheckpoint(run, "things")
        assert checkpoint.mark_processed(50) is False  # own transaction: already there
        assert checkpoint.mark_processed(100) is True  # extends the range
        with pytest.raises(ItemAlreadyProcessedError), driver.session() as session:
            session.execute_write(lambda tx: checkpoint.mark_processed(7, tx=tx))
    assert records(driver, "manual") == [(0, 100, ["ProcessedItem"])]


def test_records_made_before_per_batch_records_are_still_read(manager, driver):  # type: ignore[no-untyped-def]
    # The 0.1 shape: one node per item with status, attempts and a timestamp.
    with manager.run(run_id="legacy") as run:
        LoaderCheckpoint(run, "things")  # registers the loader
    driver.execute_query(
        "UNWIND range(0, 59) AS i CREATE (:ProcessedItem {run_id: 'legacy', loader: 'things',"
        " item_id: i, status: 'processed', attempts: 1, updated_at: datetime()})"
    )
    with manager.run(run_id="legacy") as run:
        result = loader(batch_size=25)(run, range(100))
    assert (result.processed, result.skipped) == (40, 60)
    assert sorted(covered(driver, "legacy", "things")) == list(range(100))
    assert LoaderCheckpoint(manager.resume_run("legacy"), "things").status(30) == "processed"


@pytest.mark.parametrize("workers", [1, 3])
def test_threads_with_shuffled_overlapping_inputs_load_each_id_once(manager, driver, workers):  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []
    totals: list[int] = []

    def worker(seed: int) -> None:
        items = list(range(2_000))
        if seed:
            random.Random(seed).shuffle(items)
        try:
            with CheckpointManager(driver).run(run_id="shared") as run:
                totals.append(loader(batch_size=50, workers=workers)(run, items).processed)
        except BaseException as exc:  # reported below, with the other threads' results
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, ["".join(traceback.format_exception(e)) for e in errors]
    assert sum(totals) == 2_000
    assert sorted(data_ids(driver)) == list(range(2_000))
    assert sorted(covered(driver, "shared", "things")) == list(range(2_000))
