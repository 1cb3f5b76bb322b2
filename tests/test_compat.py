"""graph_checkpoint.compat: the seed project's loaders, ported, run on the real engine.

The loaders of Niekvandam/neo4j-tkapi (its example, persoon, zaal and threaded loaders and
the run management of its main.py) are ported in ``tests/compat/seed_port.py`` the way a
user ports them: other imports, and writes through the ``tx`` they are handed. Their TK API
is an in-memory fake (``tests/compat/fake_tkapi.py``). The tests check what a user sees:
the data, one processed record per item, resumes, failures and their retry, the run
management calls, a load SIGKILLed and resumed, and the errors that say what to port.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest
from compat import fake_tkapi, seed_port
from compat.fake_tkapi import Item
from conftest import processed_ids

from graph_checkpoint import InvalidItemError, admin
from graph_checkpoint.compat import (
    CheckpointManager,
    LoaderCheckpoint,
    TransactionRequiredError,
    checkpoint_loader,
    checkpoint_zaak_loader,
    default_item_id,
)
from graph_checkpoint.pytest_plugin import Neo4jServer, SimulatedInterrupt

ROOT = Path(__file__).resolve().parent.parent
SEED_MAIN = Path(__file__).resolve().parent / "compat" / "seed_main.py"


@pytest.fixture(autouse=True)
def dataset(tmp_path: Path) -> Iterator[None]:
    """The fake TK API's people and rooms; emptied again after the test."""
    fake_tkapi.make_dataset(personen=120, zalen=8)
    seed_port.DEBUG_DIR = tmp_path
    yield
    fake_tkapi.DATA.clear()
    fake_tkapi.DELAY = 0.0
    seed_port.FAIL_COMPLEX.clear()


@pytest.fixture
def conn(driver: neo4j.Driver, neo4j_server: Neo4jServer) -> seed_port.Neo4jConnection:
    """The seed's connection object, on a clean database."""
    return seed_port.Neo4jConnection(driver, neo4j_server.database)


@pytest.fixture
def cm(conn: seed_port.Neo4jConnection) -> Iterator[CheckpointManager]:
    """A compat CheckpointManager; a run the test leaves open is interrupted afterwards."""
    manager = CheckpointManager(conn, heartbeat_interval=1.0)
    yield manager
    manager.close()


def query(conn: seed_port.Neo4jConnection, text: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = conn.driver.execute_query(text, params, database_=conn.database)
    return [record.data() for record in records]


def loads(conn: seed_port.Neo4jConnection, label: str) -> dict[str, int]:
    """Each node's id with the number of times it was written."""
    rows = query(conn, f"MATCH (n:{label}) RETURN n.id AS id, n.loads AS loads")
    return {row["id"]: row["loads"] for row in rows}


def processed_records(conn: seed_port.Neo4jConnection, run_id: str, loader: str) -> list[Any]:
    """The item ids recorded as processed for a loader of a run, once per record covering it."""
    return sorted(processed_ids(conn.driver, conn.database, run_id, loader))


def assert_exactly_once(
    conn: seed_port.Neo4jConnection, run_id: str, loader: str, label: str, ids: set[str]
) -> None:
    """Every id's node written once, and one processed record per id, in that run."""
    written = loads(conn, label)
    assert set(written) == ids
    assert {i: n for i, n in written.items() if n != 1} == {}, "items written more than once"
    assert processed_records(conn, run_id, loader) == sorted(ids)


def persoon_ids(count: int) -> set[str]:
    return {f"persoon-{n:05d}" for n in range(count)}


# --- examples/example_simple_loader -------------------------------------------------------


def test_simple_loader_resumes_where_it_stopped(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager, interrupt_after: Any
) -> None:
    items = [Item(f"item_{i}", f"Item {i}") for i in range(100)]
    run_id = cm.start_new_run("Example loader run")
    with pytest.raises(SimulatedInterrupt), interrupt_after(2):
        seed_port.load_simple_items(conn, items, checkpoint_manager=cm)
    assert len(loads(conn, "Item")) == 50  # two batches of checkpoint_interval=25
    cm.close()  # the process ends: its run is left interrupted

    with CheckpointManager(conn) as again:  # the next process
        assert again.resume_run() == run_id
        seed_port.load_simple_items(conn, items, checkpoint_manager=again)
        stats = LoaderCheckpoint(again, "load_simple_items").get_progress_stats()
        info = again.complete_run()
    assert_exactly_once(conn, run_id, "load_simple_items", "Item", {i.id for i in items})
    assert stats["processed_count"] == stats["processed"] == 100
    assert (stats["failure_count"], stats["total_items"]) == (0, 100)
    assert stats["completion_percentage"] == 100.0
    assert info is not None and info.status == "completed"


def test_custom_ids_and_the_hand_written_loop(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager, caplog: pytest.LogCaptureFixture
) -> None:
    items = [Item(f"item_{i}", f"Item {i}", nummer=f"N{i}") for i in range(30)]
    run_id = cm.start_new_run()
    seed_port.load_custom_items(conn, items, checkpoint_manager=cm)
    seed_port.load_custom_items(conn, items, checkpoint_manager=cm)  # all skipped
    assert query(conn, "MATCH (c:CustomItem) RETURN count(c) AS n")[0]["n"] == 30
    assert processed_records(conn, run_id, "load_custom_items") == sorted(
        f"custom_N{i}_item_{i}" for i in range(30)
    )

    @checkpoint_zaak_loader(checkpoint_interval=10)
    def load_zaken(conn: Any, items: list[Any], _checkpoint_context: Any = None) -> None:
        _checkpoint_context.process_items(items, lambda tx, item: None)

    load_zaken(conn, items[:3], checkpoint_manager=cm)
    assert processed_records(conn, run_id, "load_zaken") == ["N0_item_0", "N1_item_1", "N2_item_2"]

    seed_port.FAIL_COMPLEX.update({"item_3", "item_7"})
    with caplog.at_level(logging.DEBUG, logger="graph_checkpoint.compat"):
        seed_port.load_complex_items(conn, items, checkpoint_manager=cm)
    no_ops = [r for r in caplog.records if "save_progress_if_needed() does nothing" in r.message]
    assert len(no_ops) == 1  # said once, not once per item
    stats = LoaderCheckpoint(cm, "load_complex_items").get_progress_stats()
    assert (stats["processed_count"], stats["failure_count"]) == (28, 2)
    failures = {f.item_id: f.error for f in admin.iter_failures(cm.core, run_id)}
    assert set(failures) == {"item_3", "item_7"}
    assert "step 1 refused item_3" in (failures["item_3"] or "")

    seed_port.FAIL_COMPLEX.clear()  # the cause is fixed: the next pass retries them
    seed_port.load_complex_items(conn, items, checkpoint_manager=cm)
    rows = query(conn, "MATCH (c:ComplexItem) RETURN c.id AS id, count(*) AS copies")
    assert {row["id"]: row["copies"] for row in rows} == {i.id: 1 for i in items}
    stats = LoaderCheckpoint(cm, "load_complex_items").get_progress_stats()
    assert (stats["processed_count"], stats["failure_count"]) == (30, 0)


# --- loaders/persoon_loader ---------------------------------------------------------------


def test_persoon_loader_records_failures_and_retries_them(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager
) -> None:
    fake_tkapi.make_dataset(personen=120, zalen=0, broken=frozenset({5, 77}))
    run_id = cm.start_new_run("personen", {"start_date": "2024-01-01"})
    # PersoonLoader.load calls it with keywords and no items: it fetches its own.
    seed_port.load_personen(conn=conn, checkpoint_manager=cm)
    assert len(loads(conn, "Persoon")) == 118
    failed = {f.item_id: f.error for f in admin.iter_failures(cm.core, run_id)}
    assert set(failed) == {"persoon-00005", "persoon-00077"}
    assert "month must be in 1..12" in (failed["persoon-00005"] or "")
    loader = cm.get_run_summary()["loaders"]["load_personen"]
    assert loader["status"].startswith("completed")
    assert (loader["progress"]["processed_count"], loader["progress"]["failure_count"]) == (118, 2)
    assert not cm.is_loader_completed("load_personen")  # items are left to retry

    fake_tkapi.make_dataset(personen=120, zalen=0)  # the API serves valid dates again
    seed_port.load_personen(conn=conn, checkpoint_manager=cm)
    seed_port.load_personen(conn=conn, overwrite=True, checkpoint_manager=cm)  # all skipped
    assert_exactly_once(conn, run_id, "load_personen", "Persoon", persoon_ids(120))
    assert list(admin.iter_failures(cm.core, run_id)) == []
    assert cm.is_loader_completed("load_personen")
    seats = query(conn, "MATCH (:Persoon)-[r:LID_VAN]->(:Fractie) RETURN count(r) AS n")
    assert seats[0]["n"] == 120


def test_persoon_loader_without_a_manager_keeps_a_run_of_its_own(
    conn: seed_port.Neo4jConnection, interrupt_after: Any
) -> None:
    with pytest.raises(SimulatedInterrupt), interrupt_after(3):
        seed_port.load_personen(conn, overwrite=True)
    seed_port.load_personen(conn, overwrite=True)  # resumes the interrupted run
    runs = CheckpointManager(conn).list_runs()
    assert [run["status"] for run in runs] == ["completed"]
    assert runs[0]["config"] == {"compat_loader": "load_personen"}
    assert_exactly_once(conn, runs[0]["run_id"], "load_personen", "Persoon", persoon_ids(120))


# --- loaders/zaal_loader and loaders/threading/threaded_loader -----------------------------


def test_zaal_loader_loads_rooms_with_their_activities_once(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager
) -> None:
    run_id = cm.start_new_run()
    seed_port.load_zalen(conn, checkpoint_manager=cm)
    seed_port.load_zalen(conn, checkpoint_manager=cm)
    assert_exactly_once(conn, run_id, "load_zalen", "Zaal", {f"zaal-{n:03d}" for n in range(8)})
    assert set(loads(conn, "Activiteit").values()) == {1}
    rels = query(conn, "MATCH (:Zaal)-[r:GEBRUIKT_DOOR]->(:Activiteit) RETURN count(r) AS n")
    assert rels[0]["n"] == 16


def test_threaded_loader_marks_each_item_in_its_own_transaction(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager
) -> None:
    fake_tkapi.make_dataset(personen=200, zalen=0)
    run_id = cm.start_new_run("threaded")
    first = seed_port.load_personen_threaded(
        conn, batch_size=80, max_workers=4, overwrite=True, checkpoint_manager=cm
    )
    second = seed_port.load_personen_threaded(
        conn, max_workers=4, overwrite=True, checkpoint_manager=cm
    )
    assert (first["processed"], second["processed"], second["skipped"]) == (80, 120, 80)
    assert_exactly_once(conn, run_id, "load_personen_threaded", "Persoon", persoon_ids(200))
    stats = LoaderCheckpoint(cm, "load_personen_threaded").get_progress_stats()
    assert (stats["processed_count"], stats["failure_count"]) == (200, 0)


# --- main.py --------------------------------------------------------------------------------


class BrokenApi(list[Any]):
    """A TK API result that fails when read: the API is down."""

    def __iter__(self) -> Iterator[Any]:
        raise ConnectionError("TK API unreachable")


def test_main_run_management(
    conn: seed_port.Neo4jConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_tkapi.make_dataset(personen=60, zalen=5)
    zalen = fake_tkapi.DATA[fake_tkapi.Zaal]

    def main(*argv: str) -> int:
        return seed_port.main(list(argv), conn.driver, conn.database)

    fake_tkapi.DATA[fake_tkapi.Zaal] = BrokenApi()
    assert main() == 1  # personen load, zalen fail: the run stays incomplete
    first = CheckpointManager(conn).list_runs()
    assert [r["status"] for r in first] == ["interrupted"]
    assert first[0]["config"]["start_date"] == "2024-01-01"
    run_a = first[0]["run_id"]

    fake_tkapi.DATA[fake_tkapi.Zaal] = zalen
    capsys.readouterr()
    assert main("--resume") == 0
    assert "Skipping personen - already completed" in capsys.readouterr().out
    runs = CheckpointManager(conn).list_runs()
    assert [(r["run_id"], r["status"]) for r in runs] == [(run_a, "completed")]
    assert_exactly_once(conn, run_a, "load_personen", "Persoon", persoon_ids(60))
    assert_exactly_once(conn, run_a, "load_zalen", "Zaal", {f"zaal-{n:03d}" for n in range(5)})

    fake_tkapi.DATA[fake_tkapi.Zaal] = BrokenApi()
    assert main("--new-run", "--start-date", "2025-01-01") == 1
    assert main("--resume", "--start-date", "2024-06-01") == 2  # the config does not match
    assert main("--resume-run", "run_19990101_000000") == 1  # unknown: a new run starts

    manager = CheckpointManager(conn)
    runs = manager.list_runs()
    assert [r["status"] for r in runs] == ["interrupted", "interrupted", "completed"]
    run_b = runs[1]["run_id"]
    assert runs[1]["config"]["start_date"] == "2025-01-01"
    assert manager.resume_run("run_19990101_000000") is None
    assert manager.resume_run(run_b) == run_b
    assert manager.get_run_config()["start_date"] == "2025-01-01"
    assert not manager.validate_config_compatibility({"start_date": "2024-06-01"})
    assert manager.validate_config_compatibility({"start_date": "2025-01-01", "new": 1})
    summary = manager.get_run_summary()
    assert (summary["run_id"], summary["status"]) == (run_b, "running")
    assert summary["loaders"]["personen"]["status"] == "completed"
    assert manager.is_loader_completed("personen")
    assert not manager.is_loader_completed("zalen")
    manager.mark_loader_failed("zalen", "TK API unreachable\nTraceback ...")
    assert manager.get_run_summary()["loaders"]["zalen"]["status"] == "failed"
    manager.close()

    capsys.readouterr()
    assert main("--list-runs") == 0
    listed = capsys.readouterr().out
    assert all(r["run_id"] in listed for r in runs), listed
    deleted = manager.cleanup_old_runs(keep_last_n=1)
    left = [r["run_id"] for r in manager.list_runs()]
    assert runs[2]["run_id"] in deleted  # the old completed run goes
    assert runs[0]["run_id"] in left and runs[2]["run_id"] not in left
    assert set(deleted) | set(left) == {r["run_id"] for r in runs}


# --- kill and resume --------------------------------------------------------------------------


def _spawn(server: Neo4jServer, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start the ported main.py; its log goes to ``log`` (a pipe could fill and block it)."""
    env = dict(os.environ)
    env.update(NEO4J_URI=server.uri, NEO4J_USERNAME=server.username, NEO4J_PASSWORD=server.password)
    env["NEO4J_DATABASE"] = server.database or ""
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, str(SEED_MAIN), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the loader exited {process.returncode} early:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail("the loader made no progress within 60s")
        time.sleep(0.01)


@pytest.mark.slow
def test_main_killed_part_way_resumes_exactly_once(
    conn: seed_port.Neo4jConnection, neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    print(f"kill timing seed {seed}")
    log = tmp_path / "seed_main.log"
    count = 900
    args = ["--personen", str(count), "--zalen", "10", "--delay", "0.0005", "--overwrite"]
    args += ["--debug-dir", str(tmp_path)]

    def recorded() -> int:
        return len(processed_ids(conn.driver, conn.database, loader="load_personen"))

    for kill, target in enumerate(sorted(rng.sample(range(100, count - 200), 3))):
        process = _spawn(neo4j_server, log, *args, *(("--resume",) if kill else ()))
        _wait_for(lambda target=target: recorded() >= target, process, log)  # type: ignore[misc]
        time.sleep(rng.uniform(0, 0.03))  # before, inside or after the next batch's commit
        process.kill()
        assert process.wait(timeout=30) == -9, f"seed {seed}: the load ended before its kill"

    final = _spawn(neo4j_server, log, *args, "--resume")
    assert final.wait(timeout=120) == 0, f"seed {seed}:\n{log.read_text()[-4000:]}"

    runs = CheckpointManager(conn).list_runs()
    assert [r["status"] for r in runs] == ["completed"], f"seed {seed}: one run, resumed"
    run_id = runs[0]["run_id"]
    assert_exactly_once(conn, run_id, "load_personen", "Persoon", persoon_ids(count))
    assert_exactly_once(conn, run_id, "load_zalen", "Zaal", {f"zaal-{n:03d}" for n in range(10)})
    counters = query(
        conn,
        "MATCH (c:CheckpointCounter {run_id: $run_id, loader: 'load_personen'})"
        " RETURN sum(c.processed) AS processed, sum(c.failed) AS failed",
        run_id=run_id,
    )
    assert (counters[0]["processed"], counters[0]["failed"]) == (count, 0)


# --- misuse ---------------------------------------------------------------------------------


def test_a_processor_without_tx_is_told_what_to_change(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager
) -> None:
    @checkpoint_loader(checkpoint_interval=25)
    def load_unported(conn: Any, items: list[Any], _checkpoint_context: Any = None) -> None:
        def process_single_item(item: Any) -> None:  # the seed's signature, not ported
            with conn.driver.session() as session:
                session.execute_write(lambda tx: tx.run("CREATE (:Item {id: $id})", id=item.id))

        _checkpoint_context.process_items(items, process_single_item)

    cm.start_new_run()
    with pytest.raises(TypeError, match=r"def process_single_item\(tx, item\)") as error:
        load_unported(conn, [Item("a", "A")], checkpoint_manager=cm)
    assert isinstance(error.value, TransactionRequiredError)
    assert "exactly once" in str(error.value)
    assert loads(conn, "Item") == {}


def test_a_processor_that_uses_tx_as_a_session_is_told_what_to_change(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager
) -> None:
    def process_single_persoon(session: Any, persoon_obj: Any) -> None:  # not ported
        props = {"id": persoon_obj.id, "achternaam": persoon_obj.achternaam}
        session.execute_write(seed_port.merge_node, "Persoon", "id", props)

    @checkpoint_loader(checkpoint_interval=25)
    def load_personen(conn: Any, _checkpoint_context: Any = None) -> None:
        personen = fake_tkapi.TKApi().get_items(fake_tkapi.Persoon)
        _checkpoint_context.process_items(personen, process_single_persoon)

    cm.start_new_run()
    with pytest.raises(TypeError, match=r"process_single_persoon\(\) called tx.execute_write"):
        load_personen(conn, checkpoint_manager=cm)
    assert loads(conn, "Persoon") == {}


def test_other_misuse_is_reported(
    conn: seed_port.Neo4jConnection, cm: CheckpointManager, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(TypeError, match="driver"):
        CheckpointManager("checkpoints")  # type: ignore[arg-type]  # the seed's directory

    @checkpoint_loader()
    def load_items(conn: Any, items: list[Any], _checkpoint_context: Any = None) -> None:
        pass  # the seed's zaal loader never used its context

    with pytest.raises(TypeError, match="connection"):
        load_items(object(), [])
    cm.start_new_run()
    with caplog.at_level(logging.WARNING, logger="graph_checkpoint.compat"):
        load_items(conn, [Item("a", "A")], checkpoint_manager=cm)
    assert "never used its _checkpoint_context" in caplog.text


def test_default_item_id() -> None:
    assert default_item_id(Item("x", "X")) == "x"
    assert default_item_id({"id": 7, "name": "seven"}) == 7
    assert default_item_id("plain") == "plain"
    with pytest.raises(InvalidItemError, match="get_item_id"):
        default_item_id(object())  # its str() would differ in every process
