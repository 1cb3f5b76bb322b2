"""The @checkpoint_loader decorator against a real Neo4j: exactly-once, resume, failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import neo4j
import pytest
from conftest import failed_records, processed_ids

from graph_checkpoint import (
    CheckpointManager,
    FailureBudgetExceededError,
    GraphCheckpointError,
    InvalidItemError,
    LoadInterruptedError,
    checkpoint_loader,
)
from graph_checkpoint.pytest_plugin import Neo4jServer, SimulatedInterrupt


def people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"person {i}"} for i in range(start, start + n)]


@checkpoint_loader(batch_size=100, item_id="id")
def load_people(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    # CREATE is not idempotent: a second load of a row would show as a duplicate.
    tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id, name: r.name})", rows=rows)


def person_counts(driver: neo4j.Driver) -> tuple[int, int]:
    records, _, _ = driver.execute_query(
        "MATCH (p:Person) RETURN count(p) AS n, count(DISTINCT p.id) AS d"
    )
    return records[0]["n"], records[0]["d"]


def item_counts(driver: neo4j.Driver, run_id: str) -> dict[str, int]:
    """The run's recorded items by status; processed ones once per record covering them."""
    counts = {
        "processed": len(processed_ids(driver, None, run_id)),
        "failed": len(failed_records(driver, None, run_id)),
    }
    return {status: n for status, n in counts.items() if n}


def test_loads_every_item_once_and_records_it(manager: CheckpointManager, driver: neo4j.Driver):
    with manager.run(description="people", config={"source": "test"}) as run:
        result = load_people(run, people(250))
    assert (result.processed, result.skipped, result.failed) == (250, 0, 0)
    assert person_counts(driver) == (250, 250)
    assert item_counts(driver, run.run_id) == {"processed": 250}
    info = manager.get_run(run.run_id)
    assert info.status == "completed"
    assert info.config == {"source": "test"}
    assert info.finished_at is not None
    [progress] = manager.progress(run.run_id)
    assert (progress.loader, progress.processed, progress.total) == ("load_people", 250, 250)
    assert progress.status == "completed"


def test_resume_skips_processed_items_in_any_order(manager: CheckpointManager, driver):  # type: ignore[no-untyped-def]
    rows = people(300)
    with manager.run(config={"k": 1}) as run:
        load_people(run, rows[:120])
        run.interrupt("stopped by the test")
    reordered = list(reversed(rows))
    with manager.run(config={"k": 1}) as resumed:
        result = load_people(resumed, reordered)
    assert resumed.run_id == run.run_id
    assert (result.processed, result.skipped) == (180, 120)
    assert person_counts(driver) == (300, 300)
    assert manager.get_run(run.run_id).resumes == 1


def test_duplicates_in_one_input_are_loaded_once(manager, driver):  # type: ignore[no-untyped-def]
    rows = people(50) + people(50) + [{"id": 7, "name": "again"}]
    with manager.run() as run:
        result = load_people(run, iter(rows))
    assert result.processed == 50
    assert result.skipped == 51
    assert person_counts(driver) == (50, 50)
    [progress] = run.progress()
    assert (progress.processed, progress.skipped) == (50, 51)


def test_generators_are_consumed_lazily(manager):  # type: ignore[no-untyped-def]
    produced = 0
    high_water = 0
    loaded = 0

    @checkpoint_loader(batch_size=10)
    def count_rows(tx, rows):  # type: ignore[no-untyped-def]
        nonlocal loaded, high_water
        loaded += len(rows)
        high_water = max(high_water, produced - loaded)

    def rows():  # type: ignore[no-untyped-def]
        nonlocal produced
        for i in range(200):
            produced += 1
            yield i

    with manager.run() as run:
        assert count_rows(run, rows()).processed == 200
    # Only about one batch is ever read ahead of what was loaded.
    assert high_water <= 10


def test_a_bad_row_fails_alone_and_the_rest_commit(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=64, item_id="id")
    def picky(tx, rows):  # type: ignore[no-untyped-def]
        if any(r["id"] == 41 for r in rows):
            raise ValueError("row 41 is malformed")
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows)

    with manager.run() as run:
        result = picky(run, people(128))
    assert (result.processed, result.failed) == (127, 1)
    assert result.failed_ids == [41]
    assert person_counts(driver) == (127, 127)
    records, _, _ = driver.execute_query(
        "MATCH (f:ProcessedItem:FailedItem {run_id: $r}) "
        "RETURN f.item_id AS id, f.error_type AS t, f.error AS e, f.attempts AS a",
        r=run.run_id,
    )
    assert [dict(r) for r in records] == [
        {"id": 41, "t": "ValueError", "e": "row 41 is malformed", "a": 1}
    ]
    # Through all of its input, with an item left failed: a state of its own.
    assert manager.get_run(run.run_id).status == "completed_with_failures"


def test_a_row_neo4j_rejects_is_isolated(manager, driver):  # type: ignore[no-untyped-def]
    driver.execute_query(
        "CREATE CONSTRAINT person_id IF NOT EXISTS FOR (p:Person) REQUIRE p.id IS UNIQUE"
    )
    driver.execute_query("CREATE (:Person {id: 5})")
    try:
        with manager.run() as run:
            result = load_people(run, people(20))
        assert (result.processed, result.failed, result.failed_ids) == (19, 1, [5])
        records, _, _ = driver.execute_query(
            "MATCH (f:FailedItem {run_id: $r}) RETURN f.error_type AS t", r=run.run_id
        )
        # The server's code is stored, not the driver's exception class.
        assert records[0]["t"] == "Neo.ClientError.Schema.ConstraintValidationFailed"
    finally:
        driver.execute_query("DROP CONSTRAINT person_id IF EXISTS")


def test_failed_items_are_retried_on_resume_up_to_max_attempts(manager, driver):  # type: ignore[no-untyped-def]
    broken = {3, 4}

    @checkpoint_loader(batch_size=10, max_attempts=2)
    def flaky(tx, rows):  # type: ignore[no-untyped-def]
        if broken & {r["id"] for r in rows}:
            raise RuntimeError("not yet")
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows)

    with manager.run(config={"c": 1}) as run:
        assert flaky(run, people(10)).failed == 2
        run.fail("two rows failed")
    broken = {4}
    with manager.run(config={"c": 1}) as run:
        result = flaky(run, people(10))
    assert (result.processed, result.skipped, result.failed) == (1, 8, 1)
    # Item 4 has used both attempts: a third pass leaves it alone.
    broken = set()
    with manager.resume_run(run.run_id) as run:
        result = flaky(run, people(10))
    assert (result.processed, result.failed) == (0, 1)
    [progress] = run.progress()
    assert (progress.processed, progress.failed) == (9, 1)
    assert person_counts(driver) == (9, 9)


def test_retry_failed_false_leaves_failures_alone(manager):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=5, retry_failed=False)
    def once(tx, rows):  # type: ignore[no-untyped-def]
        if any(r["id"] == 1 for r in rows):
            raise RuntimeError("bad")

    with manager.run(config={"x": 1}) as run:
        once(run, people(5))
        run.fail("retry later")
    with manager.run(config={"x": 1}) as run:
        result = once(run, people(5))
    assert (result.processed, result.skipped, result.failed) == (0, 4, 1)


def test_an_exception_leaves_the_run_failed_and_resumable(manager, driver):  # type: ignore[no-untyped-def]
    def rows():  # type: ignore[no-untyped-def]
        yield from people(150)
        raise OSError("the input file went away")

    with pytest.raises(OSError), manager.run(config={"f": 1}) as run:
        load_people(run, rows())
    info = manager.get_run(run.run_id)
    assert info.status == "failed"
    assert "the input file went away" in (info.error or "")
    # Everything read before the input broke was committed.
    assert person_counts(driver) == (150, 150)
    with manager.run(config={"f": 1}) as again:
        result = load_people(again, people(200))
    assert again.run_id == run.run_id
    assert (result.processed, result.skipped) == (50, 150)


def test_interrupt_after_batches_leaves_a_resumable_run(manager, interrupt_after):  # type: ignore[no-untyped-def]
    with pytest.raises(SimulatedInterrupt), interrupt_after(2), manager.run() as run:
        load_people(run, people(1000))
    assert manager.get_run(run.run_id).status == "interrupted"
    [progress] = manager.progress(run.run_id)
    assert (progress.status, progress.processed) == ("interrupted", 200)


def test_ctrl_c_inside_a_batch_rolls_it_back_and_interrupts(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=10)
    def impatient(tx, rows):  # type: ignore[no-untyped-def]
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows)
        if rows[0]["id"] == 30:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), manager.run() as run:
        impatient(run, people(100))
    assert manager.get_run(run.run_id).status == "interrupted"
    assert person_counts(driver) == (30, 30)
    assert item_counts(driver, run.run_id) == {"processed": 30}


def test_a_bad_id_stops_the_load_with_a_clear_error(manager, driver):  # type: ignore[no-untyped-def]
    rows = [*people(10), {"id": None, "name": "nobody"}]
    with pytest.raises(InvalidItemError, match="got None"), manager.run() as run:
        load_people(run, rows)
    assert person_counts(driver) == (10, 10)
    assert manager.get_run(run.run_id).status == "failed"


def test_int_and_str_ids_are_different_items(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=10)
    def load_keys(tx, keys):  # type: ignore[no-untyped-def]
        tx.run("UNWIND $keys AS k CREATE (:Key {k: k})", keys=keys)

    with manager.run() as run:
        result = load_keys(run, [1, "1", 1, "1"])
    assert (result.processed, result.skipped) == (2, 2)


def test_extra_arguments_reach_the_loader(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=10)
    def tagged(tx, rows, label_value, *, suffix):  # type: ignore[no-untyped-def]
        tx.run(
            "UNWIND $rows AS r CREATE (:Person {id: r.id, tag: $tag})",
            rows=rows,
            tag=label_value + suffix,
        )

    with manager.run() as run:
        tagged(run, people(3), "a", suffix="b")
    records, _, _ = driver.execute_query("MATCH (p:Person) RETURN collect(DISTINCT p.tag) AS t")
    assert records[0]["t"] == ["ab"]


def test_workers_load_concurrently_exactly_once(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=50, workers=4)
    def parallel(tx, rows):  # type: ignore[no-untyped-def]
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows)

    rows = people(2000)
    with manager.run() as run:
        result = parallel(run, rows + rows[:500])
    assert result.processed == 2000
    assert result.skipped == 500
    assert person_counts(driver) == (2000, 2000)
    [progress] = run.progress()
    assert (progress.processed, progress.skipped) == (2000, 500)
    # Counters are striped: the four workers wrote to four different shards.
    records, _, _ = driver.execute_query(
        "MATCH (c:CheckpointCounter {run_id: $r}) RETURN count(c) AS shards", r=run.run_id
    )
    assert records[0]["shards"] == 4


def test_seed_style_context_loader(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(checkpoint_interval=25)
    def load_items(conn, items, _checkpoint_context=None):  # type: ignore[no-untyped-def]
        def process_single_item(tx, item):  # type: ignore[no-untyped-def]
            tx.run("CREATE (:Person {id: $id})", id=item["id"])

        if _checkpoint_context:
            _checkpoint_context.process_items(items, process_single_item)

    with manager.run(config={"seed": True}) as run:
        result = load_items(run, people(60))
    assert (result.processed, result.loader) == (60, "load_items")
    with manager.resume_run(run.run_id) as run:
        assert load_items(run, people(80)).processed == 20
    assert person_counts(driver) == (80, 80)


def test_seed_style_process_function_must_take_the_transaction(manager):  # type: ignore[no-untyped-def]
    @checkpoint_loader
    def load_items(conn, items, _checkpoint_context=None):  # type: ignore[no-untyped-def]
        _checkpoint_context.process_items(items, lambda item: None)

    with pytest.raises(TypeError, match=r"\(tx, item\)"), manager.run() as run:
        load_items(run, people(1))


def test_the_loader_needs_an_open_run(manager):  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="first argument"):
        load_people(manager, people(1))
    with manager.run() as run:
        pass
    with pytest.raises(GraphCheckpointError, match="already completed"):
        load_people(run, people(1))


def test_progress_callback_gets_figures(manager):  # type: ignore[no-untyped-def]
    seen = []

    @checkpoint_loader(batch_size=40, on_progress=seen.append, progress=False)
    def quiet(tx, rows):  # type: ignore[no-untyped-def]
        pass

    with manager.run() as run:
        quiet(run, people(100))
    assert [p.seen for p in seen] == [40, 80, 100]
    assert seen[-1].total == 100
    assert seen[-1].eta == 0
    assert seen[-1].rate > 0


def test_routing_uri_works_against_a_single_server(neo4j_server: Neo4jServer, driver):  # type: ignore[no-untyped-def]
    routing_uri = neo4j_server.uri.replace("bolt://", "neo4j://", 1)
    with neo4j.GraphDatabase.driver(
        routing_uri, auth=(neo4j_server.username, neo4j_server.password)
    ) as routed:
        manager = CheckpointManager(routed, neo4j_server.database)
        with manager.run(config={"routing": True}) as run:
            load_people(run, people(120))
        # A resume right after the commit sees it (bookmarks are carried).
        with manager.resume_run(run.run_id) as again:
            assert load_people(again, people(120)).skipped == 120
    assert person_counts(driver) == (120, 120)


def test_a_transient_error_that_outlasts_retries_interrupts_the_run(neo4j_server, driver):  # type: ignore[no-untyped-def]
    with neo4j.GraphDatabase.driver(
        neo4j_server.uri,
        auth=(neo4j_server.username, neo4j_server.password),
        max_transaction_retry_time=0.5,
    ) as short_retry:
        manager = CheckpointManager(short_retry, neo4j_server.database)

        @checkpoint_loader(batch_size=10)
        def always_transient(tx, rows):  # type: ignore[no-untyped-def]
            raise neo4j.exceptions.TransientError("simulated deadlock")

        with pytest.raises(LoadInterruptedError, match="resumable"), manager.run() as run:
            always_transient(run, people(10))
        assert manager.get_run(run.run_id).status == "interrupted"
    assert person_counts(driver) == (0, 0)


LOADER_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import neo4j
    from graph_checkpoint import CheckpointManager, checkpoint_loader

    @checkpoint_loader(batch_size=50, item_id="id")
    def slow_people(tx, rows):
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rows)
        time.sleep(float(os.environ.get("DELAY", "0")))

    driver = neo4j.GraphDatabase.driver(
        os.environ["NEO4J_URI"], auth=(os.environ["NEO4J_USERNAME"], os.environ["NEO4J_PASSWORD"])
    )
    manager = CheckpointManager(driver, os.environ.get("NEO4J_DATABASE") or None)
    rows = [{"id": i} for i in range(int(os.environ["COUNT"]))]
    with manager.run(run_id=os.environ["RUN_ID"], config={"script": 1}) as run:
        result = slow_people(run, rows)
    print(result.processed, result.skipped, flush=True)
    """
)


def _script_env(server: Neo4jServer, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEO4J_URI=server.uri,
        NEO4J_USERNAME=server.username,
        NEO4J_PASSWORD=server.password,
        NEO4J_DATABASE=server.database or "",
        **extra,
    )
    return env


def test_sigkill_mid_load_then_resume_is_exactly_once(  # type: ignore[no-untyped-def]
    tmp_path: Path, neo4j_server, driver, manager
):
    script = tmp_path / "loader.py"
    script.write_text(LOADER_SCRIPT)
    env = _script_env(neo4j_server, COUNT="2000", DELAY="0.05", RUN_ID="killed_run")
    child = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while person_counts(driver)[0] < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    loaded_before, _ = person_counts(driver)
    assert 0 < loaded_before < 2000
    # Data and checkpoint agree even after kill -9: both committed, or neither.
    assert len(processed_ids(driver, None, "killed_run")) == loaded_before
    info = manager.get_run("killed_run")
    assert info.status == "running"

    done = subprocess.run(
        [sys.executable, str(script)],
        env={**env, "DELAY": "0"},
        capture_output=True,
        text=True,
        check=True,
    )
    processed, skipped = map(int, done.stdout.split())
    assert processed + skipped == 2000
    assert skipped == loaded_before
    assert person_counts(driver) == (2000, 2000)
    assert manager.get_run("killed_run").status == "completed"


def test_two_processes_on_one_run_process_each_item_once(  # type: ignore[no-untyped-def]
    tmp_path: Path, neo4j_server, driver
):
    script = tmp_path / "loader.py"
    script.write_text(LOADER_SCRIPT)
    env = _script_env(neo4j_server, COUNT="3000", RUN_ID="shared_run")
    procs = [
        subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    processed = [int(out.split()[0]) for out in outputs]
    assert sum(processed) == 3000
    assert person_counts(driver) == (3000, 3000)


def test_transaction_timeout_turns_a_self_deadlock_into_an_error(manager, driver):  # type: ignore[no-untyped-def]
    driver.execute_query("CREATE (:Counter {name: 'c', n: 0})")

    @checkpoint_loader(batch_size=5, transaction_timeout=2)
    def own_transaction(tx, rows):  # type: ignore[no-untyped-def]
        tx.run("MATCH (c:Counter) SET c.n = c.n + 1")
        # A second transaction on the node the batch holds locked: it waits for the batch,
        # which waits for it. Only the server-side timeout can end that.
        driver.execute_query(neo4j.Query("MATCH (c:Counter) SET c.n = c.n + 10", timeout=30))

    started = time.monotonic()
    with pytest.raises(neo4j.exceptions.Neo4jError), manager.run() as run:
        own_transaction(run, people(5))
    assert time.monotonic() - started < 25
    assert manager.get_run(run.run_id).status == "failed"
    records, _, _ = driver.execute_query("MATCH (c:Counter) RETURN c.n AS n")
    # The batch rolled back whole; only the loader's own side transaction may have landed.
    assert records[0]["n"] in (0, 10)


@checkpoint_loader(batch_size=50, item_id="id")
def load_ages(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id, age: toInteger(r.age)})", rows=rows)


def test_a_row_with_a_wrongly_typed_value_fails_alone_and_resumes_go_on(manager, driver):  # type: ignore[no-untyped-def]
    # Neo4j answers toInteger(<a map>) with Neo.ClientError.Statement.SyntaxError: it must be
    # isolated as that row's failure, not stop the load (and every resume) at that row.
    rows = [{"id": i, "age": str(20 + i % 50)} for i in range(200)]
    rows[77]["age"] = {"years": 30}
    with manager.run(config={"ages": 1}) as run:
        result = load_ages(run, rows)
    assert (result.processed, result.failed, result.failed_ids) == (199, 1, [77])
    assert person_counts(driver) == (199, 199)
    assert manager.get_run(run.run_id).status == "completed_with_failures"
    records, _, _ = driver.execute_query(
        "MATCH (f:FailedItem {run_id: $r}) RETURN f.error_type AS t, f.error AS e", r=run.run_id
    )
    assert records[0]["t"].startswith("Neo.ClientError.Statement.")
    assert "{gql_status" not in records[0]["e"]  # the message a person reads, no driver noise
    # Fixed at the source, the row loads on resume; nothing else is loaded again.
    rows[77]["age"] = "30"
    with manager.resume_run(run.run_id) as again:
        second = load_ages(again, rows)
    assert (second.processed, second.skipped) == (1, 199)
    assert manager.get_run(run.run_id).status == "completed"


def test_a_loader_that_fails_for_every_row_stops_and_fails_the_run(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=100, item_id="id")
    def typo(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id})", rows=rowz)  # type: ignore[name-defined]  # noqa: F821

    with (
        pytest.raises(FailureBudgetExceededError, match="first 100 items tried all failed"),
        manager.run(config={"typo": 1}) as run,
    ):
        typo(run, people(2000))
    info = manager.get_run(run.run_id)
    assert info.status == "failed"
    assert "NameError" in (info.error or "")
    progress = {p.loader: p for p in manager.progress(run.run_id)}["typo"]
    assert (progress.status, progress.processed, progress.failed) == ("failed", 0, 100)
    assert person_counts(driver) == (0, 0)


def test_the_failure_budget_can_be_turned_off(manager, driver):  # type: ignore[no-untyped-def]
    @checkpoint_loader(batch_size=20, item_id="id", failure_budget=None)
    def always_fails(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
        raise ValueError("not today")

    with manager.run() as run:
        result = always_fails(run, people(150))
    assert (result.processed, result.failed) == (0, 150)
    assert manager.get_run(run.run_id).status == "completed_with_failures"
