"""The pytest plugin users get with graph-checkpoint (``graph_checkpoint.pytest_plugin``).

Three layers: the server selection as plain functions; ``interrupt_after`` and the fixtures
used in-process by this suite (they are the same fixtures, via the entry point); and a
user's own test file run by a separate pytest through ``pytester``, which proves that the
``pytest11`` entry point alone makes the fixtures available.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import SimpleNamespace
from typing import Any

import neo4j
import pytest

from graph_checkpoint import CheckpointManager, checkpoint_loader
from graph_checkpoint.errors import LoadInterruptedError
from graph_checkpoint.pytest_plugin import (
    NO_SERVER_REASON,
    ContainerUnavailableError,
    Interruption,
    Neo4jServer,
    SimulatedInterrupt,
    container_image,
    open_server,
    select_source,
    server_from_env,
)

pytest_plugins = ["pytester"]

InterruptAfter = Callable[[int], AbstractContextManager[Interruption]]

ROWS = [{"id": i, "name": f"person {i}"} for i in range(100)]
CONFIG = {"source": "people.csv"}


@checkpoint_loader(batch_size=10, item_id="id", progress=False)
def load_people(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run("UNWIND $rows AS r CREATE (p:Person) SET p = r", rows=rows)


@checkpoint_loader(name="load_people", batch_size=10, item_id="id", workers=4, progress=False)
def load_people_parallel(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run("UNWIND $rows AS r CREATE (p:Person) SET p = r", rows=rows)


def _person_counts(driver: neo4j.Driver, database: str | None) -> tuple[int, int]:
    """(nodes, distinct ids): CREATE, not MERGE, so any double load shows as nodes > ids."""
    records, _, _ = driver.execute_query(
        "MATCH (p:Person) RETURN count(p) AS nodes, count(DISTINCT p.id) AS ids",
        database_=database,
    )
    return records[0]["nodes"], records[0]["ids"]


def _never(*_: Any) -> bool:
    raise AssertionError("Docker must not be consulted when NEO4J_URI is set")


# --- server selection --------------------------------------------------------------------


def test_neo4j_uri_wins_without_asking_docker() -> None:
    assert select_source({"NEO4J_URI": "bolt://db:7687"}, docker_available=_never) == "env"


def test_docker_is_used_when_no_uri_is_set() -> None:
    assert select_source({}, docker_available=lambda: True) == "docker"
    # An empty NEO4J_URI (as `export NEO4J_URI=` leaves it) counts as unset.
    assert select_source({"NEO4J_URI": ""}, docker_available=lambda: True) == "docker"


def test_no_uri_and_no_docker_selects_nothing() -> None:
    assert select_source({"NEO4J_USERNAME": "neo4j"}, docker_available=lambda: False) is None
    with open_server({}, docker_available=lambda: False) as server:
        assert server is None


def test_a_container_that_does_not_start_gives_a_one_line_reason(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Without a Docker daemon: the daemon's side is stood in for, the plugin's is real.
    # tests/test_container.py runs the same path against a real daemon.
    from graph_checkpoint import _docker

    class Daemon:  # has the image, no containers of earlier sessions
        images = SimpleNamespace(get=lambda image: object())
        containers = SimpleNamespace(list=lambda **_: [])

        def close(self) -> None:
            pass

    class NoStart:  # what testcontainers raises when the container exits while starting
        def __init__(self, image: str, password: str) -> None:
            pass

        def with_kwargs(self, **_: Any) -> NoStart:
            return self

        def start(self) -> None:
            raise RuntimeError("Container exited\nwith code 1:\n  see its log")

        def get_wrapped_container(self) -> None:
            raise RuntimeError("Container is not started")

    monkeypatch.setattr(_docker, "_client", lambda timeout=60: Daemon())
    monkeypatch.setattr(_docker, "neo4j_container_class", lambda: NoStart)
    with pytest.raises(ContainerUnavailableError) as info, open_server({}, lambda: True):
        pass
    reason = str(info.value)
    assert "\n" not in reason
    assert "the Neo4j container (neo4j:5.26-community) did not start" in reason
    assert "Container exited with code 1: see its log" in reason
    assert "NEO4J_URI" in reason and "GRAPH_CKPT_NEO4J_IMAGE" in reason


def test_the_container_image_follows_the_server_version_setting() -> None:
    assert container_image({}) == "neo4j:5.26-community"
    assert container_image({"GRAPH_CKPT_NEO4J_VERSION": "2025.12.1"}) == "neo4j:2025.12.1-community"
    assert container_image({"GRAPH_CKPT_NEO4J_IMAGE": "local/neo4j:dev"}) == "local/neo4j:dev"
    # The ini option names an image too; the environment variable still wins over it.
    assert (
        container_image({"GRAPH_CKPT_NEO4J_VERSION": "2025.12.1"}, "ini/neo4j:1") == "ini/neo4j:1"
    )
    assert (
        container_image({"GRAPH_CKPT_NEO4J_IMAGE": "env/neo4j:2"}, "ini/neo4j:1") == "env/neo4j:2"
    )


def test_skip_reason_says_how_to_provide_a_server() -> None:
    for hint in ("NEO4J_URI", "NEO4J_PASSWORD", "Docker", "graph-checkpoint[test]"):
        assert hint in NO_SERVER_REASON


def test_server_from_env_reads_neo4j_tool_variables() -> None:
    server = server_from_env(
        {
            "NEO4J_URI": "neo4j://db:7687",
            "NEO4J_USER": "loader",
            "NEO4J_PASSWORD": "s3cret-pw",
            "NEO4J_DATABASE": "",
        }
    )
    assert server == Neo4jServer("neo4j://db:7687", "loader", "s3cret-pw", None, "env")
    assert "s3cret-pw" not in repr(server)
    defaults = server_from_env({"NEO4J_URI": "bolt://x"})
    assert (defaults.username, defaults.password, defaults.database) == ("neo4j", "", None)
    with open_server({"NEO4J_URI": "bolt://x"}, docker_available=_never) as selected:
        assert selected == defaults


def test_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    entry_points = importlib.metadata.entry_points(group="pytest11")
    assert {(ep.name, ep.value) for ep in entry_points} >= {
        ("graph_checkpoint", "graph_checkpoint.pytest_plugin")
    }


# --- interrupt_after ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_interrupt_after_rejects_a_bad_count(interrupt_after: InterruptAfter, bad: Any) -> None:
    with pytest.raises(ValueError, match="positive number of batches"), interrupt_after(bad):
        pass


def test_simulated_interrupt_ends_a_run_as_interrupted_not_the_session() -> None:
    # A LoadInterruptedError, not a KeyboardInterrupt: pytest aborts the whole session on
    # the latter, and the run's status must be the same as after a real interruption.
    assert issubclass(SimulatedInterrupt, LoadInterruptedError)
    assert not issubclass(SimulatedInterrupt, KeyboardInterrupt)


def test_interrupt_after_stops_the_load_and_a_resume_completes_it(
    checkpoint_manager: CheckpointManager,
    interrupt_after: InterruptAfter,
    neo4j_server: Neo4jServer,
) -> None:
    driver = checkpoint_manager.driver
    with (
        pytest.raises(SimulatedInterrupt),
        interrupt_after(3) as interruption,
        checkpoint_manager.run(description="people", config=CONFIG) as run,
    ):
        load_people(run, ROWS)
    assert interruption.fired and interruption.batches_seen == 3
    first = checkpoint_manager.get_run(run.run_id)
    assert first.status == "interrupted"
    # Exactly the three committed batches are in the graph, and recorded as processed.
    assert _person_counts(driver, neo4j_server.database) == (30, 30)
    [progress] = checkpoint_manager.progress(run.run_id)
    assert (progress.processed, progress.status) == (30, "interrupted")

    with checkpoint_manager.run(description="people", config=CONFIG) as resumed:
        result = load_people(resumed, ROWS)
    assert resumed.run_id == run.run_id
    assert (result.processed, result.skipped, result.failed) == (70, 30, 0)
    assert checkpoint_manager.get_run(run.run_id).status == "completed"
    assert _person_counts(driver, neo4j_server.database) == (100, 100)


def test_interrupt_after_fires_once_so_a_resume_in_the_same_block_runs_on(
    checkpoint_manager: CheckpointManager, interrupt_after: InterruptAfter
) -> None:
    with interrupt_after(1) as interruption:
        with pytest.raises(SimulatedInterrupt), checkpoint_manager.run(config=CONFIG) as run:
            load_people(run, ROWS)
        with checkpoint_manager.run(config=CONFIG) as resumed:
            result = load_people(resumed, ROWS)
    assert resumed.run_id == run.run_id
    assert (result.processed, result.skipped) == (90, 10)
    assert interruption.batches_seen == 1


def test_interrupt_after_with_parallel_workers_then_resume_loads_each_item_once(
    checkpoint_manager: CheckpointManager,
    interrupt_after: InterruptAfter,
    neo4j_server: Neo4jServer,
) -> None:
    with (
        pytest.raises(SimulatedInterrupt),
        interrupt_after(2),
        checkpoint_manager.run(config=CONFIG) as run,
    ):
        load_people_parallel(run, ROWS)
    assert checkpoint_manager.get_run(run.run_id).status == "interrupted"
    # Batches already in flight when the interrupt fired still commit, whole.
    nodes, ids = _person_counts(checkpoint_manager.driver, neo4j_server.database)
    assert nodes == ids and 20 <= nodes < 100 and nodes % 10 == 0

    with checkpoint_manager.run(config=CONFIG) as resumed:
        result = load_people_parallel(resumed, ROWS)
    assert result.processed == 100 - nodes
    assert _person_counts(checkpoint_manager.driver, neo4j_server.database) == (100, 100)


def test_no_hook_is_left_behind(interrupt_after: InterruptAfter) -> None:
    from graph_checkpoint import _reporter

    before = list(_reporter.after_batch)
    with pytest.raises(RuntimeError), interrupt_after(5):
        raise RuntimeError("the block failed")
    assert _reporter.after_batch == before


# --- a user's test file, run by its own pytest ---------------------------------------------

USER_TESTS = """
import neo4j
import pytest

from graph_checkpoint import CheckpointManager, checkpoint_loader
from graph_checkpoint.pytest_plugin import SimulatedInterrupt

ROWS = [{"id": i} for i in range(50)]


@checkpoint_loader(batch_size=5, item_id="id", progress=False)
def load_items(tx, rows):
    tx.run("UNWIND $rows AS r CREATE (:Item {id: r.id})", rows=rows)


def count_items(driver):
    records, _, _ = driver.execute_query("MATCH (i:Item) RETURN count(i) AS n")
    return records[0]["n"]


def test_fixtures_come_from_the_entry_point(request, neo4j_driver):
    assert request.config.pluginmanager.hasplugin("graph_checkpoint")
    assert isinstance(neo4j_driver, neo4j.Driver)


def test_a_dirty_database(neo4j_driver):
    neo4j_driver.execute_query("CREATE (:Item {id: -1})")


def test_clean_neo4j_empties_the_database(clean_neo4j):
    assert count_items(clean_neo4j) == 0


def test_checkpoint_manager_loads(checkpoint_manager):
    assert isinstance(checkpoint_manager, CheckpointManager)
    with checkpoint_manager.run(config={"file": "items"}) as run:
        result = load_items(run, ROWS)
    assert result.processed == 50
    assert count_items(checkpoint_manager.driver) == 50


def test_interrupt_then_resume(checkpoint_manager, interrupt_after):
    with pytest.raises(SimulatedInterrupt), interrupt_after(4):
        with checkpoint_manager.run(config={"file": "items"}) as run:
            load_items(run, ROWS)
    assert checkpoint_manager.get_run(run.run_id).status == "interrupted"
    assert count_items(checkpoint_manager.driver) == 20
    with checkpoint_manager.run(config={"file": "items"}) as run:
        assert load_items(run, ROWS).processed == 30
    assert count_items(checkpoint_manager.driver) == 50


OPEN = []


def test_leaves_a_run_open(checkpoint_manager):
    OPEN.append(checkpoint_manager.start_run(description="left open").run_id)


def test_the_open_run_was_interrupted_at_teardown(neo4j_driver):
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (r:CheckpointRun {run_id: $id}) RETURN r.status AS status", id=OPEN[0]
    )
    assert [r["status"] for r in records] == ["interrupted"]
"""


def _use_server(monkeypatch: pytest.MonkeyPatch, server: Neo4jServer) -> None:
    """Point the inner pytest at this session's server through the variables users set."""
    monkeypatch.setenv("NEO4J_URI", server.uri)
    monkeypatch.setenv("NEO4J_USERNAME", server.username)
    monkeypatch.setenv("NEO4J_PASSWORD", server.password)
    if server.database:
        monkeypatch.setenv("NEO4J_DATABASE", server.database)
    else:
        monkeypatch.delenv("NEO4J_DATABASE", raising=False)


def test_user_test_file_runs_with_the_plugin_fixtures(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    neo4j_server: Neo4jServer,
    clean_neo4j: neo4j.Driver,
) -> None:
    _use_server(monkeypatch, neo4j_server)
    pytester.makepyfile(test_user_loader=USER_TESTS)
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=7)


def test_user_tests_are_skipped_with_a_reason_when_there_is_no_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEO4J_URI", raising=False)
    # A Docker endpoint that cannot answer, so the outcome does not depend on this machine.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/graph-ckpt-test/docker.sock")
    pytester.makepyfile(
        test_needs_neo4j="""
        def test_load(checkpoint_manager):
            raise AssertionError("must be skipped before it runs")
        """
    )
    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*no Neo4j for graph-checkpoint's fixtures*NEO4J_URI*"])


def test_an_unreachable_server_is_an_error_that_hides_the_password(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NEO4J_URI was set on purpose, so a server that does not answer fails the test rather
    # than skipping it; port 9 (discard) on localhost has no Bolt listener.
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:9")
    monkeypatch.setenv("NEO4J_USERNAME", "neo4j")
    monkeypatch.setenv("NEO4J_PASSWORD", "hunter2-do-not-print")
    pytester.makepyfile(
        test_unreachable="""
        def test_load(clean_neo4j):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=1)
    output = result.stdout.str() + result.stderr.str()
    assert "cannot use the Neo4j at bolt://127.0.0.1:9" in output
    assert "NEO4J_URI" in output
    assert "hunter2-do-not-print" not in output
