"""Bad input, against a real Neo4j: every case fails with a clear error, and nothing is lost.

"Nothing lost" means: what was committed before the bad input stays committed, no partial
batch is left behind, the run is left resumable (failed or interrupted, never stuck), and a
resume with good input completes it exactly once. Each case counts the data nodes and the
item ids the ``:ProcessedItem`` records cover, since a count is what a duplicate or a lost
item would change.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import neo4j
import pytest
from conftest import processed_ids

from graph_checkpoint import (
    CheckpointManager,
    ConfigMismatchError,
    ConnectionFailedError,
    GraphCheckpointError,
    InvalidConfigError,
    InvalidItemError,
    InvalidNameError,
    RunNotFoundError,
    RunStateError,
    checkpoint_loader,
)
from graph_checkpoint.pytest_plugin import Neo4jServer

INJECTION = "x'}) MATCH (n) DETACH DELETE n //"
"""Would empty the database if it were ever spliced into query text."""
INJECTIONS = [
    INJECTION,
    'x"}) MATCH (n) DETACH DELETE n //',
    "x`) DETACH DELETE n; MATCH (m) DETACH DELETE m //",
    "$run_id} ) RETURN 1 UNION MATCH (n) DETACH DELETE n //",
    "\\'; CALL db.clearQueryCaches(); //",
]


@checkpoint_loader(name="bad_input", batch_size=10, progress=False)
def load(tx: neo4j.ManagedTransaction, rows: list[Any]) -> None:
    # CREATE, not MERGE: an item loaded twice would show as a second node.
    tx.run("UNWIND $rows AS r CREATE (:Thing {key: r})", rows=rows).consume()


@checkpoint_loader(name="bad_input_dicts", batch_size=10, item_id="id", progress=False)
def load_dicts(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run("UNWIND $rows AS r CREATE (:Thing {key: r.id})", rows=rows).consume()


def counts(driver: neo4j.Driver, database: str | None) -> tuple[int, int, int]:
    """(data nodes, distinct data keys, processed items) in the database.

    Processed items are counted per covering record, so an item recorded twice counts twice.
    """
    records, _, _ = driver.execute_query(
        "MATCH (t:Thing) RETURN count(t) AS n, count(DISTINCT t.key) AS d", database_=database
    )
    row = records[0]
    return row["n"], row["d"], len(processed_ids(driver, database))


def node_count(driver: neo4j.Driver, database: str | None) -> int:
    records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n", database_=database)
    return int(records[0]["n"])


@pytest.fixture
def db(neo4j_server: Neo4jServer) -> str | None:
    return neo4j_server.database


# --- item ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (None, "None"),
        (1.5, "float"),
        (math.nan, "float"),
        ([1, 2], "list"),
        ({"a": 1}, "dict"),
        (True, "bool"),
        (b"bytes", "bytes"),
        (2**64, "64 bits"),
        ("", "empty"),
        ("x" * 1_000_000, "longer than"),
    ],
    ids=["None", "float", "nan", "list", "dict", "bool", "bytes", "int>64bit", "empty", "1MB"],
)
def test_bad_item_id_stops_the_load_and_keeps_what_came_before(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None, bad: Any, words: str
) -> None:
    items = [{"id": i} for i in range(25)] + [{"id": bad}] + [{"id": i} for i in range(25, 40)]
    with (
        pytest.raises(InvalidItemError, match=words) as caught,
        manager.run(config={"case": "bad id"}) as run,
    ):
        load_dicts(run, items)
    assert caught.value.item == {"id": bad}  # the offending item travels with the error
    assert len(str(caught.value)) < 1000  # a 1 MB id is not echoed back whole
    # Everything read before the bad item is committed: two full batches and the partial one.
    assert counts(driver, db) == (25, 25, 25)
    assert manager.get_run(run.run_id).status == "failed"
    # Resumable: the same config picks the run up, with the input fixed.
    with manager.run(config={"case": "bad id"}) as again:
        assert again.run_id == run.run_id
        result = load_dicts(again, [{"id": i} for i in range(40)])
    assert (result.processed, result.skipped) == (15, 25)
    assert counts(driver, db) == (40, 40, 40)


def test_item_without_its_id_key(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    with pytest.raises(InvalidItemError, match="no 'id' key"), manager.run() as run:
        load_dicts(run, [{"id": 1}, {"name": "no id"}])
    assert counts(driver, db) == (1, 1, 1)
    with pytest.raises(InvalidItemError, match="no 'id' key or attribute"), manager.run() as run:
        load_dicts(run, [object()])


def test_lone_surrogate_id_is_an_invalid_item(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    """A str Neo4j cannot store (half a UTF-16 pair, from a badly decoded file)."""
    with pytest.raises(InvalidItemError, match=r"surrogate|Unicode|UTF-8"), manager.run() as run:
        load(run, ["fine", "\ud800"])
    assert counts(driver, db) == (1, 1, 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"description": "bad \udc80"},
        {"config": {"k": "bad \udc80"}},
        {"config": {"bad \udc80": 1}},
        {"run_id": "run-\udc80"},
    ],
    ids=["description", "config-value", "config-key", "run-id"],
)
def test_lone_surrogate_in_run_strings_is_a_clear_error(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None, kwargs: dict[str, Any]
) -> None:
    """Strings Neo4j cannot store are refused as bad config, not as a driver UnicodeError."""
    with pytest.raises(GraphCheckpointError, match=r"surrogate|Unicode|UTF-8"):
        manager.run(**kwargs)
    assert node_count(driver, db) == 0


def test_int_and_str_ids_are_different_items(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    """Documented: ``1`` and ``"1"`` are two items, the type is part of the key."""
    with manager.run() as run:
        first = load(run, [1, "1", 2, "2"])
        second = load(run, ["1", 1, "2", 2, 3])
    assert (first.processed, second.processed, second.skipped) == (4, 1, 4)
    assert sorted((type(i).__name__, str(i)) for i in processed_ids(driver, db)) == [
        ("int", "1"),
        ("int", "2"),
        ("int", "3"),
        ("str", "1"),
        ("str", "2"),
    ]


UNICODE_IDS = [
    "café",
    "日本語",
    "🚀🚀",
    "Ω≈ç√",
    "\u200b",
    "a\x00b",
    "line\nbreak",
    "tab\tx",
    "\x1b[31m",
    "\u202eRTL",
    "x" * 4000,
    " leading space",
    "é",  # NFC
    "e\u0301",  # the same letter as NFD: a different id, as Python compares them
]


def test_unicode_and_control_characters_in_ids_round_trip(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    with manager.run(run_id="unicode") as run:
        result = load(run, UNICODE_IDS)
    assert result.processed == len(UNICODE_IDS)
    # The in-database check finds every one of them again: nothing is loaded twice.
    with manager.run(run_id="unicode") as again:
        result = load(again, list(reversed(UNICODE_IDS)))
    assert (result.processed, result.skipped) == (0, len(UNICODE_IDS))
    records, _, _ = driver.execute_query("MATCH (t:Thing) RETURN t.key AS key", database_=db)
    assert sorted(r["key"] for r in records) == sorted(UNICODE_IDS)
    assert sorted(processed_ids(driver, db)) == sorted(UNICODE_IDS)


@pytest.mark.parametrize(
    "name", ["", "has space", "tab\there", "nul\x00", "new\nline", "x" * 201, INJECTION, "é\x1b"]
)
def test_bad_loader_names_are_refused_before_anything_runs(name: str) -> None:
    with pytest.raises(InvalidNameError):
        checkpoint_loader(name=name)(lambda tx, rows: None)


def test_unicode_loader_name_and_description(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    @checkpoint_loader(name="加载器_Ladung-1.0", progress=False)
    def loader(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:Thing {key: r})", rows=rows).consume()

    description = "import «people» 🚀\n\ttab, \x00nul, \u202eRTL"
    with manager.run(description=description) as run:
        loader(run, range(5))
    assert manager.get_run(run.run_id).description == description
    assert [p.loader for p in manager.progress(run.run_id)] == ["加载器_Ladung-1.0"]


# --- injection ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_in_run_id_description_and_config_is_stored_verbatim(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None, text: str
) -> None:
    driver.execute_query("CREATE (:Bystander)", database_=db)
    config = {text: text, "nested": {text: [text]}}
    with manager.run(description=text, config=config, run_id=text) as run:
        load(run, [text, "plain"])
    info = manager.get_run(text)
    assert (info.run_id, info.description, info.config) == (text, text, config)
    assert counts(driver, db) == (2, 2, 2)
    records, _, _ = driver.execute_query("MATCH (b:Bystander) RETURN count(b) AS n", database_=db)
    assert records[0]["n"] == 1, "an injected query deleted nodes"
    # Resuming by the same strings finds the same run, with nothing loaded twice.
    with manager.run(config=config, run_id=text) as again:
        assert load(again, [text, "plain"]).skipped == 2
    with pytest.raises(RunNotFoundError):
        manager.get_run(text + "'")


# --- config --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"f": object()},
        {"when": time},
        {"x": math.nan},
        {"x": math.inf},
        {1: "int key"},
        {"s": {1, 2}},
        ["not", "a", "dict"],
        "a string",
    ],
    ids=["object", "module", "nan", "inf", "int-key", "set", "list", "str"],
)
def test_config_that_is_not_json(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None, config: Any
) -> None:
    with pytest.raises(InvalidConfigError):
        manager.run(config=config)
    assert node_count(driver, db) == 0  # refused before any run was written


def test_description_of_the_wrong_type(manager: CheckpointManager) -> None:
    with pytest.raises(InvalidConfigError, match="description"):
        manager.start_run(description=5)  # type: ignore[arg-type]


def test_resume_with_other_config_keys(manager: CheckpointManager) -> None:
    run = manager.start_run(config={"source": "a.csv"}, run_id="keys")
    run.interrupt()
    with pytest.raises(ConfigMismatchError, match="missing source"):
        manager.resume_run("keys", config={"other": 1})
    assert manager.get_run("keys").status == "interrupted"


def test_unknown_run_id(manager: CheckpointManager) -> None:
    with pytest.raises(RunNotFoundError):
        manager.resume_run("no-such-run")
    with pytest.raises(RunNotFoundError):
        manager.get_run("")


# --- what the loader does ------------------------------------------------------------------


def test_loader_return_value_is_ignored(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    """Whatever a loader returns (garbage included) is not interpreted: its writes count."""
    garbage: list[Any] = [object(), "text", 42, None, iter([1]), Exception("not raised")]

    @checkpoint_loader(name="garbage", batch_size=2, progress=False)
    def returns_garbage(tx: neo4j.ManagedTransaction, rows: list[int]) -> Any:
        tx.run("UNWIND $rows AS r CREATE (:Thing {key: r})", rows=rows).consume()
        return garbage[rows[0] % len(garbage)]

    with manager.run() as run:
        result = returns_garbage(run, range(12))
    assert (result.processed, result.failed) == (12, 0)
    assert counts(driver, db) == (12, 12, 12)


def test_loader_passed_something_that_is_not_a_run(manager: CheckpointManager) -> None:
    with pytest.raises(TypeError, match="takes the run"):
        load(manager, [1, 2])  # type: ignore[arg-type]


def test_closed_run_is_not_reused(manager: CheckpointManager) -> None:
    with manager.run() as run:
        load(run, [1])
    with pytest.raises(RunStateError, match="already completed"):
        load(run, [2])


@pytest.mark.parametrize(
    ("exc", "status"), [(KeyboardInterrupt, "interrupted"), (SystemExit, "failed")]
)
def test_loader_raising_base_exception(
    manager: CheckpointManager,
    driver: neo4j.Driver,
    db: str | None,
    exc: type[BaseException],
    status: str,
) -> None:
    """Ctrl-C or sys.exit() inside a batch: that batch rolls back, earlier ones stay."""

    @checkpoint_loader(name="bad_input", batch_size=10, progress=False)
    def stops(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:Thing {key: r})", rows=rows).consume()
        if 25 in rows:
            raise exc()

    with pytest.raises(exc), manager.run(config={"case": exc.__name__}) as run:
        stops(run, range(50))
    assert counts(driver, db) == (20, 20, 20)  # two batches committed, the third rolled back
    assert manager.get_run(run.run_id).status == status
    (progress,) = manager.progress(run.run_id)
    assert progress.status == status and progress.processed == 20
    with manager.run(config={"case": exc.__name__}) as again:
        assert again.run_id == run.run_id
        result = load(again, range(50))
    assert (result.processed, result.skipped) == (30, 20)
    assert counts(driver, db) == (50, 50, 50)


def test_item_the_loader_rejects_is_isolated(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    """An ordinary exception for one item fails that item alone; the rest commit."""

    @checkpoint_loader(name="bad_input", batch_size=10, progress=False)
    def picky(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        if 13 in rows:
            raise ValueError("13 is unlucky")
        tx.run("UNWIND $rows AS r CREATE (:Thing {key: r})", rows=rows).consume()

    with manager.run() as run:
        result = picky(run, range(30))
    assert (result.processed, result.failed, result.failed_ids) == (29, 1, [13])
    records, _, _ = driver.execute_query(
        "MATCH (f:FailedItem) RETURN f.item_id AS id, f.error AS error", database_=db
    )
    assert [(r["id"], r["error"]) for r in records] == [(13, "13 is unlucky")]
    assert counts(driver, db) == (29, 29, 29)


def test_empty_input(manager: CheckpointManager, driver: neo4j.Driver, db: str | None) -> None:
    with manager.run() as run:
        result = load(run, [])
        generated = load(run, iter(()))
    assert (result.seen, generated.seen) == (0, 0)
    assert manager.get_run(run.run_id).status == "completed"
    (progress,) = manager.progress(run.run_id)
    assert (progress.processed, progress.status) == (0, "completed")
    assert counts(driver, db) == (0, 0, 0)


def test_generator_raising_half_way(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    def source(fail_at: int | None) -> Iterator[int]:
        for i in range(100):
            if i == fail_at:
                raise OSError("the input file went away")
            yield i

    with pytest.raises(OSError, match="went away"), manager.run(config={"case": "gen"}) as run:
        load(run, source(fail_at=47))
    # 4 full batches and the 7 items read since: all committed before the error surfaced.
    assert counts(driver, db) == (47, 47, 47)
    assert manager.get_run(run.run_id).status == "failed"
    with manager.run(config={"case": "gen"}) as again:
        assert again.run_id == run.run_id
        result = load(again, source(fail_at=None))
    assert (result.processed, result.skipped) == (53, 47)
    assert counts(driver, db) == (100, 100, 100)


# --- a loader that opens its own transaction ------------------------------------------------


def test_own_transaction_on_other_nodes_works_but_is_not_atomic(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    """Documented: a write in a separate transaction commits on its own.

    It does not deadlock when it writes other nodes, but it is outside the exactly-once
    guarantee: when the batch rolls back (here: it fails once), the side write stays, and the
    retry writes it again.
    """
    failed_once: set[int] = set()

    @checkpoint_loader(name="side_writer", batch_size=5, progress=False)
    def side_writer(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:Thing {key: r})", rows=rows).consume()
        with driver.session(database=db) as own:
            own.execute_write(
                lambda tx2: tx2.run("CREATE (:SideEffect {batch: $b})", b=rows[0]).consume()
            )
        if rows[0] == 5 and 5 not in failed_once:
            failed_once.add(5)
            raise ValueError("fails once, after the side write")

    with manager.run() as run:
        result = side_writer(run, range(20))
    assert (result.processed, result.failed) == (20, 0)
    assert counts(driver, db) == (20, 20, 20)  # the checkpointed data: exactly once
    records, _, _ = driver.execute_query(
        "MATCH (s:SideEffect) RETURN s.batch AS b, count(*) AS n ORDER BY b", database_=db
    )
    side = {r["b"]: r["n"] for r in records}
    # Batch 5..9 failed once and was retried as 5..6 and 7..9: its side write for 5 is doubled.
    assert side == {0: 1, 5: 2, 7: 1, 10: 1, 15: 1}


def test_own_transaction_on_the_same_node_is_bounded_by_a_timeout(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None
) -> None:
    """The loader's own transaction waits for a lock the batch transaction holds.

    The batch cannot commit until the loader returns, and the loader waits for the batch:
    a deadlock Neo4j cannot see (the wait goes through the client). Without a timeout it
    hangs; with a transaction timeout on the inner query (the guard the docs recommend) it
    fails in seconds with a clear error, and the batch rolls back whole.
    """
    driver.execute_query("CREATE (:Hot {id: 1, n: 0})", database_=db)

    @checkpoint_loader(name="self_locker", batch_size=5, progress=False)
    def self_locker(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:Thing {key: r})", rows=rows).consume()
        if 7 in rows:
            tx.run("MATCH (h:Hot {id: 1}) SET h.n = h.n + 1").consume()
            with driver.session(database=db) as own:
                own.run(
                    neo4j.Query("MATCH (h:Hot {id: 1}) SET h.n = h.n + 10", timeout=2.0)
                ).consume()

    started = time.monotonic()
    with pytest.raises(neo4j.exceptions.ClientError) as caught, manager.run() as run:
        self_locker(run, range(20))
    assert time.monotonic() - started < 60
    assert caught.value.code.startswith("Neo.ClientError.Transaction.")
    assert counts(driver, db) == (5, 5, 5)  # the first batch; the second rolled back whole
    assert manager.get_run(run.run_id).status == "failed"
    records, _, _ = driver.execute_query("MATCH (h:Hot) RETURN h.n AS n", database_=db)
    assert records[0]["n"] == 0


# --- the database ---------------------------------------------------------------------------


def test_database_that_does_not_exist(neo4j_driver: neo4j.Driver) -> None:
    manager = CheckpointManager(neo4j_driver, "no-such-database")
    with pytest.raises(ConnectionFailedError, match="does not exist"):
        manager.run(description="nowhere")
    with pytest.raises(ConnectionFailedError, match="does not exist"):
        manager.get_run("anything")


def test_schema_dropped_by_hand_between_runs(
    manager: CheckpointManager, driver: neo4j.Driver, db: str | None, neo4j_server: Neo4jServer
) -> None:
    with manager.run(config={"case": "schema"}) as run:
        load(run, range(15))
    run_id = run.run_id
    records, _, _ = driver.execute_query(
        "SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH 'checkpoint_'"
        " OR name = 'processed_item_key' RETURN name",
        database_=db,
    )
    names = [r["name"] for r in records]
    assert "processed_item_key" in names
    for name in names:
        driver.execute_query("DROP CONSTRAINT $name", {"name": name}, database_=db)
    # A new manager (a new process, in practice) puts the schema back before its first run.
    fresh = CheckpointManager(driver, db)
    with fresh.run(run_id=run_id) as again:
        result = load(again, range(30))
    assert (result.processed, result.skipped) == (15, 15)
    records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name", database_=db)
    assert set(names) <= {r["name"] for r in records}
    assert counts(driver, db) == (30, 30, 30)


# --- the command line ------------------------------------------------------------------------


def cli(server: Neo4jServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        NEO4J_URI=server.uri,
        NEO4J_USERNAME=server.username,
        NEO4J_PASSWORD=server.password,
    )
    if server.database:
        env["NEO4J_DATABASE"] = server.database
    return subprocess.run(
        [sys.executable, "-m", "graph_checkpoint", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["show", INJECTION],
        ["delete", "--yes", INJECTION],
        ["failures", INJECTION],
        ["list", "--status", INJECTION],
        ["list", "--loader", INJECTION],
        ["cleanup", "--keep", "0; MATCH (n) DETACH DELETE n"],
        ["cleanup", "--older-than", "1d') DETACH DELETE n //"],
        ["list", "--database", INJECTION],
        ["list", "--username", INJECTION],
        ["list", "--uri", "bolt://127.0.0.1:1/'; DETACH DELETE n"],
    ],
    ids=[
        "show",
        "delete",
        "failures",
        "status",
        "loader",
        "keep",
        "older-than",
        "database",
        "username",
        "uri",
    ],
)
def test_injection_in_cli_options_executes_nothing(
    manager: CheckpointManager,
    driver: neo4j.Driver,
    db: str | None,
    neo4j_server: Neo4jServer,
    args: list[str],
) -> None:
    with manager.run(run_id="keep-me") as run:
        load(run, range(10))
    before = node_count(driver, db)
    proc = cli(neo4j_server, *args)
    if proc.returncode != 0:
        # A clear one-line error, not a traceback.
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip(), "failed without saying why"
    else:
        # Only filters can succeed: they match nothing.
        assert args[0] == "list" and "keep-me" not in proc.stdout, proc.stdout
    assert node_count(driver, db) == before, f"{args} changed the database: {proc}"
    assert manager.get_run("keep-me").status == "completed"


def test_cli_cleanup_refuses_a_negative_keep(neo4j_server: Neo4jServer) -> None:
    proc = cli(neo4j_server, "cleanup", "--keep", "-1")
    assert proc.returncode == 2 and "--keep" in proc.stderr
