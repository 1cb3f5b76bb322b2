"""What the Spark tests share: sessions on loopback, the data, the injected faults, figures.

Spark runs on loopback only: ``SPARK_LOCAL_IP``, the driver's host and bind address are
127.0.0.1, and the web UI is off. The executors run this interpreter (``PYSPARK_PYTHON``), so
they import this checkout's graph-checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pyspark

from graph_checkpoint import ConnectionSettings, checkpoint_loader
from graph_checkpoint.pytest_plugin import Neo4jServer

ROWS = 100_000
PARTITIONS = 4
BATCH = 1_000
CONNECTOR = "org.neo4j:neo4j-connector-apache-spark_2.12:5.0.3_for_spark_3"
CONNECTOR_JAR = (
    Path.home()
    / ".m2/repository/org/neo4j/neo4j-connector-apache-spark_2.12/5.0.3_for_spark_3"
    / "neo4j-connector-apache-spark_2.12-5.0.3_for_spark_3.jar"
)
FIGURES_FILE = Path(os.environ.get("GRAPH_CKPT_SPARK_FIGURES", "/tmp/graph-ckpt-spark.json"))


def connector_jar() -> Path:
    """The connector's jar, fetched with Maven (without its dependencies: it bundles them)."""
    if not CONNECTOR_JAR.is_file():
        subprocess.run(
            ["mvn", "-q", "dependency:get", "-Dtransitive=false", f"-Dartifact={CONNECTOR}"],
            check=True,
            timeout=600,
        )
    return CONNECTOR_JAR


def session(master: str, **conf: str) -> Any:
    """A SparkSession on ``master``, on loopback, with the connector on its class path."""
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = (
        SparkSession.builder.master(master)
        .appName("graph-checkpoint tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.jars", str(connector_jar()))
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("FATAL")  # each injected failure logs a long trace
    return spark


class StandaloneCluster:
    """A Spark standalone master on 127.0.0.1 and one-core workers on 127.0.0.2, .3...

    Spark never launches speculative attempts in local mode, nor on the host that runs the
    attempt it would speculate on: two workers on two loopback addresses are two hosts to it.
    """

    def __init__(self, workdir: Path, workers: int = 2, port: int = 7790) -> None:
        self.url = f"spark://127.0.0.1:{port}"
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []
        spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
        env = {**os.environ, "SPARK_HOME": str(Path(pyspark.__file__).parent)}
        env["PYSPARK_PYTHON"] = sys.executable
        self._start(
            [
                str(spark_class),
                "org.apache.spark.deploy.master.Master",
                *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(port + 1)),
            ],
            {**env, "SPARK_LOCAL_IP": "127.0.0.1"},
            "master",
        )
        self._wait_for("master", "Starting Spark master")
        for index in range(workers):
            host = f"127.0.0.{index + 2}"
            work = workdir / f"worker{index}"
            self._start(
                [
                    str(spark_class),
                    "org.apache.spark.deploy.worker.Worker",
                    *("--host", host, "--cores", "1", "--memory", "1g", "--webui-port", "0"),
                    *("--work-dir", str(work), self.url),
                ],
                {**env, "SPARK_LOCAL_IP": host, "SPARK_WORKER_DIR": str(work)},
                f"worker{index}",
            )
        for index in range(workers):
            self._wait_for(f"worker{index}", "Successfully registered with master")

    def _start(self, argv: list[str], env: dict[str, str], name: str) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes.append(
                subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
            )

    def _wait_for(self, name: str, text: str, timeout: float = 120) -> None:
        log = self.workdir / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.is_file() and text in log.read_text("utf-8", "replace"):
                return
            time.sleep(0.2)
        raise AssertionError(f"{name} did not start: {log.read_text('utf-8', 'replace')[-3000:]}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def people(spark: Any) -> Any:
    """The DataFrame every load reads: ids 0..ROWS-1 with a name, in PARTITIONS partitions."""
    return spark.range(0, ROWS, numPartitions=PARTITIONS).selectExpr(
        "id", "concat('Person ', id) AS name"
    )


def faults(
    markers: Path, *, fail: tuple[int, ...] = (), slow: tuple[int, ...] = (), at: float = 0.6
) -> Any:
    """A pass-through of a partition's rows for ``mapPartitions`` that, in the first attempt
    of a partition, once ``at`` of it went through: raises (``fail``) or stalls for a minute
    (``slow``, so that Spark speculates). Each fault leaves a marker file, and so does each
    later attempt of a partition (``again-p<partition>-a<attempt>``)."""
    per_partition = ROWS // PARTITIONS

    def wrap(rows: Iterator[Any]) -> Iterator[Any]:
        from pyspark import TaskContext

        context = TaskContext.get()
        partition, attempt = context.partitionId(), context.attemptNumber()
        if attempt > 0:
            (markers / f"again-p{partition}-a{attempt}").touch()
        for index, row in enumerate(rows):
            if attempt == 0 and index == int(per_partition * at):
                if partition in fail:
                    (markers / f"failed-p{partition}").touch()
                    raise RuntimeError(f"injected failure in partition {partition}")
                if partition in slow:
                    (markers / f"slow-p{partition}").touch()
                    time.sleep(60)
            yield row

    return wrap


def markers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


@checkpoint_loader("people", batch_size=BATCH, item_id="id")
def load_people(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run("UNWIND $rows AS r CREATE (:Person {id: r.id, name: r.name})", rows=rows).consume()


def connector_write(frame: Any, server: Neo4jServer) -> None:
    """Write ``frame`` as :Person nodes with Neo4j's Spark connector (Append mode: CREATE)."""
    writer = (
        frame.write.format("org.neo4j.spark.DataSource")
        .mode("Append")
        .option("url", server.uri)
        .option("authentication.basic.username", server.username)
        .option("authentication.basic.password", server.password)
        .option("labels", ":Person")
        .option("batch.size", str(BATCH))
    )
    if server.database:
        writer = writer.option("database", server.database)
    writer.save()


def person_counts(driver: neo4j.Driver, database: str | None) -> tuple[int, int]:
    """(:Person nodes, distinct ids among them)."""
    records, _, _ = driver.execute_query(
        "MATCH (p:Person) RETURN count(p) AS nodes, count(DISTINCT p.id) AS ids",
        database_=database,
    )
    return records[0]["nodes"], records[0]["ids"]


def settings_of(server: Neo4jServer) -> ConnectionSettings:
    return ConnectionSettings(server.uri, server.username, server.password, server.database)


def record_figures(case: str, figures: dict[str, Any]) -> None:
    """Add one case's figures to FIGURES_FILE and print them (``SPARK FIGURES``)."""
    document = json.loads(FIGURES_FILE.read_text("utf-8")) if FIGURES_FILE.is_file() else {}
    document[case] = {"rows": ROWS, "partitions": PARTITIONS, "batch_size": BATCH, **figures}
    FIGURES_FILE.write_text(json.dumps(document, indent=2), "utf-8")
    print(f"\nSPARK FIGURES {case}: {json.dumps(figures)}")
