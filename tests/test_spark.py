"""Loads from Spark: graph-checkpoint and Neo4j's own Spark connector, side by side.

The same DataFrame (100,000 rows in 4 partitions) goes through the same injected faults both
ways, with ``CREATE`` writes:

* task retries, in local mode (``local[2,4]``: a task may fail up to four times): the first
  attempts of two partitions raise three fifths into their partition, after earlier batches
  of it committed, and Spark retries them;
* speculative execution, on a standalone cluster of two one-core workers on loopback
  (Spark never speculates in local mode): the first attempt of one partition stalls three
  fifths in, Spark launches a copy of it on the other worker, takes the copy's result and
  kills the stalled attempt.

graph-checkpoint (``graph_checkpoint.spark.partition_loader``): every row exactly once, one
processed record per row, and the run completed only when the driver completes it after the
job. Asserted.

The connector (``org.neo4j.spark.DataSource``, Append mode: ``CREATE``) commits a
transaction per ``batch.size`` rows and rolls back only the open one when a task fails, so a
retried or speculative attempt writes the batches an earlier attempt committed again. Its
duplicates are counted and reported (``SPARK FIGURES`` lines, and the JSON file
``GRAPH_CKPT_SPARK_FIGURES``, by default /tmp/graph-ckpt-spark.json), not asserted away:
only that there are no more of them than the rows the earlier attempts had read. Its newest
build that Maven Central serves for Spark 3 is 5.0.3_for_spark_3 (a fat jar; the 5.1 to 5.4
lines are not served there), fetched with Maven on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

pytest.importorskip("pyspark", reason="the [spark] extra is not installed")

from _spark import (
    BATCH,
    CONNECTOR,
    PARTITIONS,
    ROWS,
    StandaloneCluster,
    connector_write,
    faults,
    load_people,
    markers,
    people,
    person_counts,
    record_figures,
    session,
    settings_of,
)
from conftest import processed_ids

from graph_checkpoint import CheckpointManager, RunStatus
from graph_checkpoint.pytest_plugin import Neo4jServer
from graph_checkpoint.spark import partition_loader

# PySpark leaves the sockets of its py4j calls and of collect() to the garbage collector;
# their ResourceWarnings say nothing about graph-checkpoint.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

FAILING = (1, 3)
SLOW = 0
COMMITTED = ROWS // PARTITIONS * 3 // 5 // BATCH * BATCH
"""The rows of a partition that its first attempt committed before its fault."""
RETRIED = sorted([*(f"failed-p{p}" for p in FAILING), *(f"again-p{p}-a1" for p in FAILING)])
"""The markers of the retries case: two failed first attempts, each tried again once."""
SPECULATED = sorted([f"slow-p{SLOW}", f"again-p{SLOW}-a1"])
"""The markers of the speculation case: one stalled first attempt and its copy."""


@pytest.fixture(scope="module")
def local_spark() -> Iterator[Any]:
    spark = session("local[2,4]")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def cluster_spark(local_spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    local_spark.stop()  # one SparkContext per process: the local one makes way
    cluster = StandaloneCluster(tmp_path_factory.mktemp("spark-cluster"))
    try:
        spark = session(
            cluster.url,
            **{
                "spark.speculation": "true",
                "spark.speculation.interval": "100ms",
                "spark.speculation.multiplier": "1.5",
                "spark.speculation.quantile": "0.5",
                "spark.speculation.minTaskRuntime": "1s",
                "spark.executor.memory": "768m",
                "spark.cores.max": "2",
            },
        )
        yield spark
        spark.stop()
    finally:
        cluster.stop()


def load_with_graph_checkpoint(
    manager: CheckpointManager, server: Neo4jServer, rows: Any
) -> tuple[str, list[dict[str, Any]]]:
    """Load ``rows`` (an RDD) as the driver does: open, load every partition, complete."""
    with manager.run(config={"job": "spark people"}, coordinator=True) as run:
        per_partition = rows.mapPartitions(
            partition_loader(run, load_people, settings_of(server))
        ).collect()
        # The job is done, but only the driver knows that the input is exhausted.
        assert manager.get_run(run.run_id).status is RunStatus.RUNNING
    return run.run_id, per_partition


def check_exactly_once(
    manager: CheckpointManager, driver: neo4j.Driver, server: Neo4jServer, run_id: str
) -> int:
    """Every row once as data and once in the records, the run completed; the node count."""
    assert manager.get_run(run_id).status is RunStatus.COMPLETED
    nodes, ids = person_counts(driver, server.database)
    assert (nodes, ids) == (ROWS, ROWS), "every row exactly once"
    covered = processed_ids(driver, server.database, run_id, "people")
    assert len(covered) == ROWS and set(covered) == set(range(ROWS)), "one record per row"
    return nodes


def test_graph_checkpoint_through_task_retries(
    local_spark: Any,
    manager: CheckpointManager,
    driver: neo4j.Driver,
    neo4j_server: Neo4jServer,
    tmp_path: Path,
) -> None:
    rows = people(local_spark).rdd.mapPartitions(faults(tmp_path, fail=FAILING))
    run_id, per_partition = load_with_graph_checkpoint(manager, neo4j_server, rows)
    assert markers(tmp_path) == RETRIED
    nodes = check_exactly_once(manager, driver, neo4j_server, run_id)

    # Each successful attempt went through its whole partition; the retries skipped what
    # the failed attempts had committed.
    assert sum(c["processed"] + c["skipped"] for c in per_partition) == ROWS, per_partition
    retries = [c for c in per_partition if c["participant"].endswith("-a1")]
    assert sorted(c["skipped"] for c in retries) == [COMMITTED] * len(FAILING), per_partition
    states = sorted((p.name.split("-")[2:], p.state) for p in manager.participants(run_id))
    assert [s for s in states if s[1] == "failed"] == [([f"p{p}", "a0"], "failed") for p in FAILING]
    record_figures(
        "task retries, graph-checkpoint",
        {"injected_failures": len(FAILING), "nodes": nodes, "duplicates": 0},
    )


def test_the_connector_through_task_retries(
    local_spark: Any, driver: neo4j.Driver, neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    frame = people(local_spark)
    rows = frame.rdd.mapPartitions(faults(tmp_path, fail=FAILING))
    connector_write(local_spark.createDataFrame(rows, frame.schema), neo4j_server)
    assert markers(tmp_path) == RETRIED
    nodes, ids = person_counts(driver, neo4j_server.database)
    assert ids == ROWS, "the connector loads every row at least once"
    assert 0 <= nodes - ids <= len(FAILING) * ROWS // PARTITIONS * 3 // 5
    record_figures(
        f"task retries, connector {CONNECTOR.rsplit(':', 1)[1]}",
        {"injected_failures": len(FAILING), "nodes": nodes, "duplicates": nodes - ids},
    )


def test_foreach_partition_loads_a_data_frame_too(
    local_spark: Any, manager: CheckpointManager, driver: neo4j.Driver, neo4j_server: Neo4jServer
) -> None:
    frame = people(local_spark).limit(10_000)
    with manager.run(config={"job": "foreach"}, coordinator=True) as run:
        frame.foreachPartition(partition_loader(run, load_people, settings_of(neo4j_server)))
    assert manager.get_run(run.run_id).status is RunStatus.COMPLETED
    assert person_counts(driver, neo4j_server.database) == (10_000, 10_000)
    joined = [p for p in manager.participants(run.run_id) if p.role == "participant"]
    assert joined and all(p.state == "done" for p in joined)
    assert sum(p.items for p in joined) == 10_000


def test_graph_checkpoint_through_speculative_execution(
    cluster_spark: Any,
    manager: CheckpointManager,
    driver: neo4j.Driver,
    neo4j_server: Neo4jServer,
    tmp_path: Path,
) -> None:
    rows = people(cluster_spark).rdd.mapPartitions(faults(tmp_path, slow=(SLOW,)))
    run_id, per_partition = load_with_graph_checkpoint(manager, neo4j_server, rows)
    assert markers(tmp_path) == SPECULATED, "one speculative copy of the stalled partition"
    nodes = check_exactly_once(manager, driver, neo4j_server, run_id)

    # The result of partition SLOW came from the speculative copy (attempt 1), which skipped
    # what the stalled attempt had committed.
    [copy] = [c for c in per_partition if f"-p{SLOW}-" in c["participant"]]
    assert copy["participant"].endswith("-a1"), per_partition
    assert (copy["processed"], copy["skipped"]) == (ROWS // PARTITIONS - COMMITTED, COMMITTED)
    record_figures(
        "speculative execution, graph-checkpoint",
        {"speculative_attempts": 1, "nodes": nodes, "duplicates": 0},
    )


def test_the_connector_through_speculative_execution(
    cluster_spark: Any, driver: neo4j.Driver, neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    frame = people(cluster_spark)
    rows = frame.rdd.mapPartitions(faults(tmp_path, slow=(SLOW,)))
    connector_write(cluster_spark.createDataFrame(rows, frame.schema), neo4j_server)
    assert markers(tmp_path) == SPECULATED, "one speculative copy of the stalled partition"
    nodes, ids = person_counts(driver, neo4j_server.database)
    assert ids == ROWS, "the connector loads every row at least once"
    assert 0 <= nodes - ids <= ROWS // PARTITIONS * 3 // 5
    record_figures(
        f"speculative execution, connector {CONNECTOR.rsplit(':', 1)[1]}",
        {"speculative_attempts": 1, "nodes": nodes, "duplicates": nodes - ids},
    )
