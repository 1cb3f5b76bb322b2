"""Compaction of processed records (graph_checkpoint._compaction, admin.compact_*, ``graph-ckpt
compact``), on the real server.

Records of every form are written with Cypher, compacted, and read back. A record set is
judged by what it covers (the spec of the per-batch model: a range covers first..last, a
single or legacy record its id, a chunk exactly the ids it lists, a failed record nothing),
by its failed records, and by the model's invariants; never by timing.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import neo4j
import pytest

from graph_checkpoint import (
    CheckpointManager,
    GraphCheckpointError,
    RunNotFoundError,
    RunStateError,
    _cypher,
    admin,
    checkpoint_loader,
)
from graph_checkpoint._compaction import CHUNK_IDS, CompactStats, compact_loader
from graph_checkpoint._ops import Write
from graph_checkpoint._sync.manager import executor_of
from tests.test_cli import cli, env, one_error_line  # noqa: F401  (fixtures)

ItemId = int | str
Record = dict[str, Any]

LOADER = "items"
# A 16-character id, the size the storage target is stated for.
WIDE = "{:016d}"


# --------------------------------------------------------------------------------- helpers


def make_run(manager: CheckpointManager, run_id: str, *loaders: str) -> str:
    """A completed run with these loaders (nodes only: records are written by the test)."""
    run = manager.start_run(description="compaction test", run_id=run_id)
    for name in loaders or (LOADER,):
        manager.driver.execute_query(
            "CREATE (:CheckpointLoader {run_id: $run_id, loader: $loader, status: 'completed',"
            " started_at: datetime(), updated_at: datetime(), finished_at: datetime()})",
            run_id=run_id,
            loader=name,
        )
    run.complete()
    return run_id


def write(driver: neo4j.Driver, query: str, **params: Any) -> None:
    with driver.session(notifications_min_severity="OFF") as session:
        session.run(query, params).consume()


def add_ranges(driver: neo4j.Driver, run_id: str, ranges: list[tuple[int, int]]) -> None:
    write(
        driver,
        "UNWIND $ranges AS r CREATE (:ProcessedItem {run_id: $run_id, loader: $loader,"
        " item_id: r[0], last_item_id: r[1]})",
        ranges=[list(r) for r in ranges],
        run_id=run_id,
        loader=LOADER,
    )


def add_singles(
    driver: neo4j.Driver, run_id: str, ids: Sequence[ItemId], loader: str = LOADER
) -> None:
    write(
        driver,
        "UNWIND $ids AS id CREATE (:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})",
        ids=list(ids),
        run_id=run_id,
        loader=loader,
    )


def add_legacy(
    driver: neo4j.Driver, run_id: str, ids: Sequence[ItemId], loader: str = LOADER
) -> None:
    """Per-item records exactly as runs made before per-batch records have them."""
    write(
        driver,
        "UNWIND $ids AS id CREATE (:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id,"
        " status: 'processed', attempts: 1, updated_at: datetime()})",
        ids=list(ids),
        run_id=run_id,
        loader=loader,
    )


def add_failed(
    driver: neo4j.Driver, run_id: str, ids: Sequence[ItemId], loader: str = LOADER
) -> None:
    write(
        driver,
        "UNWIND $ids AS id CREATE (:ProcessedItem:FailedItem {run_id: $run_id, loader: $loader,"
        " item_id: id, status: 'failed', attempts: 2, error_type: 'ValueError',"
        " error: 'bad row ' + toString(id), updated_at: datetime()})",
        ids=list(ids),
        run_id=run_id,
        loader=loader,
    )


def add_chunks(driver: neo4j.Driver, run_id: str, chunks: list[list[str]]) -> None:
    write(
        driver,
        "UNWIND $chunks AS ids CREATE (:ProcessedItem:ProcessedChunk {run_id: $run_id,"
        " loader: $loader, item_id: ids[0], last_item_id: ids[-1], item_ids: ids})",
        chunks=[sorted(c) for c in chunks],
        run_id=run_id,
        loader=LOADER,
    )


def records(driver: neo4j.Driver, run_id: str, loader: str = LOADER) -> list[Record]:
    """Every record of the loader: its properties, and its labels under ``labels``.

    Read after taking the loader lock, as writers do: a plain read while a load commits
    could meet a record another transaction is deleting, and see it without properties.
    """

    def read(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        return tx.run(
            "OPTIONAL MATCH (l:CheckpointLoader {run_id: $run_id, loader: $loader})"
            " SET l.compacted_at = datetime()"
            " WITH count(*) AS locked"
            " MATCH (p:ProcessedItem) WHERE p.run_id = $run_id AND p.loader = $loader"
            " RETURN p {.*, labels: labels(p)} AS p",
            run_id=run_id,
            loader=loader,
        ).data()

    with driver.session() as session:
        rows = [dict(r["p"]) for r in session.execute_write(read)]
    for row in rows:
        row["labels"] = sorted(row["labels"])
    return sorted(rows, key=lambda r: (isinstance(r["item_id"], str), r["item_id"]))


def is_chunk(record: Record) -> bool:
    return "ProcessedChunk" in record["labels"]


def is_failed(record: Record) -> bool:
    return bool(record.get("status", "processed") != "processed")


def covered(rows: list[Record]) -> set[ItemId]:
    """The ids the records say are processed, expanded as the spec defines."""
    ids: set[ItemId] = set()
    for row in rows:
        if is_failed(row):
            continue
        if is_chunk(row):
            ids.update(row["item_ids"])
        elif row.get("last_item_id") is not None:
            ids.update(range(row["item_id"], row["last_item_id"] + 1))
        else:
            ids.add(row["item_id"])
    return ids


def failed(rows: list[Record]) -> list[Record]:
    return [row for row in rows if is_failed(row)]


def check_invariants(rows: list[Record]) -> None:
    """The invariants of the per-batch model hold for one loader's records."""
    ints = [r for r in rows if isinstance(r["item_id"], int)]
    for before, after in pairwise(ints):
        reach = before.get("last_item_id", before["item_id"])
        assert after["item_id"] > reach, f"int records overlap: {before} and {after}"
    for row in ints:
        assert isinstance(row.get("last_item_id", 0), int)
        if row.get("last_item_id") is not None:
            assert row["last_item_id"] > row["item_id"], f"a range of one id: {row}"
    chunks = [r for r in rows if is_chunk(r)]
    for chunk in chunks:
        ids = chunk["item_ids"]
        assert 0 < len(ids) <= CHUNK_IDS
        assert all(isinstance(i, str) for i in ids)
        assert ids == sorted(set(ids)), "a chunk's ids are not sorted and distinct"
        assert (chunk["item_id"], chunk["last_item_id"]) == (ids[0], ids[-1])
        assert "FailedItem" not in chunk["labels"] and "status" not in chunk
    for before, after in pairwise(chunks):
        assert after["item_id"] > before["last_item_id"], "chunk intervals overlap"
    in_chunks = {i for chunk in chunks for i in chunk["item_ids"]}
    own = {r["item_id"] for r in rows if not is_chunk(r) and isinstance(r["item_id"], str)}
    assert not in_chunks & own, f"ids both in a chunk and in a record: {in_chunks & own}"


def compact(manager: CheckpointManager, run_id: str, batch: int, loader: str = LOADER) -> Any:
    return executor_of(manager).run(compact_loader(run_id, loader, batch=batch))


def assert_compacts(
    manager: CheckpointManager, run_id: str, batch: int, loader: str = LOADER
) -> tuple[list[Record], CompactStats]:
    """Compact, check what must not change and the invariants, then compact again: nothing
    changes. Returns the records after and the first compaction's figures."""
    driver = manager.driver
    before = records(driver, run_id, loader)
    stats = compact(manager, run_id, batch, loader)
    after = records(driver, run_id, loader)
    assert covered(after) == covered(before)
    assert failed(after) == failed(before)
    check_invariants(after)
    assert (stats.records_before, stats.records_after) == (len(before), len(after))
    for row in after:
        if not is_failed(row):  # legacy properties are gone from processed records
            assert not {"status", "attempts", "updated_at"} & set(row), row
    again = compact(manager, run_id, batch, loader)
    assert not again.changed
    assert records(driver, run_id, loader) == after
    return after, stats


def status_of(driver: neo4j.Driver, run_id: str, item_id: ItemId) -> str | None:
    found, _, _ = driver.execute_query(
        _cypher.query("item_status"), run_id=run_id, loader=LOADER, item_id=item_id
    )
    return found[0]["status"] if found else None


def drive_checking(manager: CheckpointManager, run_id: str, batch: int) -> int:
    """Compact one transaction at a time, checking the records between any two of them (as
    a reader, or a process killed there, would find them). Returns the transactions."""
    driver = manager.driver
    expected = covered(records(driver, run_id))
    op = compact_loader(run_id, LOADER, batch=batch)
    result: Any = None
    steps = 0
    while True:
        try:
            step = op.send(result)
        except StopIteration:
            return steps
        assert isinstance(step, Write) and step.name.startswith("compact_")
        text, params = _cypher.query(step.name), step.params

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return tx.run(text, params).data()  # noqa: B023 (run at once)

        with driver.session() as session:
            result = session.execute_write(work)
        steps += 1
        now = records(driver, run_id)
        assert covered(now) == expected, f"after transaction {steps}"
        check_invariants(now)


# ----------------------------------------------------------------------------- int records


def test_consecutive_int_singles_become_one_range(manager: CheckpointManager) -> None:
    run_id = make_run(manager, "ints_3000")
    add_singles(manager.driver, run_id, list(range(3_000)))
    after, stats = assert_compacts(manager, run_id, batch=1_000)
    assert [(r["item_id"], r.get("last_item_id")) for r in after] == [(0, 2_999)]
    assert (stats.records_before, stats.records_after, stats.ints_merged) == (3_000, 1, 2_999)
    assert stats.transactions == 5  # 4 int windows (the last one empty), 1 str window


def test_int_records_of_every_form(manager: CheckpointManager) -> None:
    driver = manager.driver
    run_id = make_run(manager, "ints_mixed")
    add_ranges(driver, run_id, [(1, 100), (201, 300), (1_000, 1_999)])
    add_singles(driver, run_id, [*range(101, 151), *range(500, 511), 700, 2_000])
    add_legacy(driver, run_id, [*range(151, 201), *range(302, 401), 800, -5, -4])
    add_failed(driver, run_id, [301, 600, 999])
    # A window of 7 ends inside groups, so merges carry over from one transaction to the next.
    after, stats = assert_compacts(manager, run_id, batch=7)
    assert [(r["item_id"], r.get("last_item_id"), is_failed(r)) for r in after] == [
        (-5, -4, False),
        (1, 300, False),
        (301, None, True),
        (302, 400, False),
        (500, 510, False),
        (600, None, True),
        (700, None, False),
        (800, None, False),
        (999, None, True),
        (1_000, 2_000, False),
    ]
    assert stats.records_after == 10
    assert stats.ints_merged == stats.records_before - 10
    assert stats.strings_packed == stats.chunks_written == 0


def test_ints_at_the_ends_of_the_64_bit_range(manager: CheckpointManager) -> None:
    low, high = -(2**63), 2**63 - 1
    run_id = make_run(manager, "ints_ends")
    add_legacy(manager.driver, run_id, [low, low + 1, high - 1, high])
    after, _ = assert_compacts(manager, run_id, batch=1)
    assert [(r["item_id"], r["last_item_id"]) for r in after] == [(low, low + 1), (high - 1, high)]


# ----------------------------------------------------------------------------- str records


def test_string_singles_become_full_chunks(manager: CheckpointManager) -> None:
    run_id = make_run(manager, "strs_3000")
    ids = [WIDE.format(i * 7) for i in range(3_000)]
    add_singles(manager.driver, run_id, random.Random(1).sample(ids, len(ids)))
    after, stats = assert_compacts(manager, run_id, batch=1_000)
    assert [len(r["item_ids"]) for r in after] == [1_000, 1_000, 1_000]
    assert (stats.strings_packed, stats.chunks_written, stats.records_after) == (3_000, 3, 3)


def test_string_records_of_every_form(manager: CheckpointManager) -> None:
    driver = manager.driver
    run_id = make_run(manager, "strs_mixed")
    # Chunks as the batch commit leaves them: one for each batch whose interval was free.
    add_chunks(driver, run_id, [["b1", "b5", "b9"], ["d1", "d2"], ["f0", "f5", "f9"]])
    # Singles and legacy records after them: inside chunk intervals, between and around them.
    add_singles(driver, run_id, ["a1", "b2", "b3", "c5", "e1", "f1", "g1", "é", "😀"])
    add_legacy(driver, run_id, ["a2", "b6", "f6", "h1"])
    # Failed records, one inside a chunk's interval; an int beside the strings.
    add_failed(driver, run_id, ["b4", "c1", "z9"])
    add_singles(driver, run_id, [7])
    rows = records(driver, run_id)
    check_invariants(rows)
    after, stats = assert_compacts(manager, run_id, batch=4)
    assert stats.chunks_replaced >= 3 and stats.strings_packed == 13
    # Failed records stay single; everything else processed is in chunks now.
    assert {r["item_id"] for r in after if not is_chunk(r)} == {"b4", "c1", "z9", 7}


def test_existing_full_chunks_and_a_window_cut_short(manager: CheckpointManager) -> None:
    """Singles scattered over many full chunks: each window merges a bounded number of them."""
    driver = manager.driver
    run_id = make_run(manager, "strs_cut")
    ids = [WIDE.format(i) for i in range(12_000)]
    chunked = [i for n, i in enumerate(ids) if n % 100 != 50]
    add_chunks(driver, run_id, [chunked[n : n + CHUNK_IDS] for n in range(0, 11_880, CHUNK_IDS)])
    add_singles(driver, run_id, [i for n, i in enumerate(ids) if n % 100 == 50])
    after, stats = assert_compacts(manager, run_id, batch=1_000)
    assert covered(after) == set(ids)
    # Cut short after 9 chunks (8 past the first single): 9 full chunks and the rest of that
    # window's ids, then the last 3 chunks' and singles' ids in 3 more.
    assert [len(r["item_ids"]) for r in after] == [1_000] * 9 + [91, 1_000, 1_000, 909]
    assert stats.chunks_replaced == 12 and stats.strings_packed == 120


@pytest.mark.parametrize("seed", range(6))
def test_random_mixes_of_every_form(manager: CheckpointManager, seed: int) -> None:
    rng = random.Random(seed)
    driver = manager.driver
    run_id = make_run(manager, f"random_{seed}")
    universe = [f"{rng.choice('abc')}{n:05d}" for n in rng.sample(range(20_000), 3_000)]
    universe = sorted(set(universe))
    # Disjoint chunks over random stretches, with random holes, like batch commits leave.
    taken: set[str] = set()
    chunks = []
    position = 0
    while position < len(universe):
        length = rng.randint(1, 1_200)
        if rng.random() < 0.4:
            part = [i for i in universe[position : position + length] if rng.random() < 0.7]
            part = part[:CHUNK_IDS]
            if part:
                chunks.append(part)
                taken.update(part)
        position += length
    rest = [i for i in universe if i not in taken]
    rng.shuffle(rest)
    add_chunks(driver, run_id, chunks)
    add_singles(driver, run_id, rest[: len(rest) // 3])
    add_legacy(driver, run_id, rest[len(rest) // 3 : 2 * len(rest) // 3])
    add_failed(driver, run_id, rest[2 * len(rest) // 3 : 2 * len(rest) // 3 + 40])
    ints = sorted(rng.sample(range(5_000), 1_500))
    add_singles(driver, run_id, ints[:500])
    add_legacy(driver, run_id, ints[500:1_400])
    add_failed(driver, run_id, ints[1_400:])
    check_invariants(records(driver, run_id))
    assert_compacts(manager, run_id, batch=rng.choice([2, 7, 50, 333, 1_000]))


def test_every_transaction_leaves_exact_records(manager: CheckpointManager) -> None:
    """Stopped between any two transactions (a kill -9), the records still say exactly what
    was loaded, and lookups answer exactly."""
    driver = manager.driver
    run_id = make_run(manager, "between")
    add_legacy(driver, run_id, [*range(0, 300), *range(301, 500)])
    add_failed(driver, run_id, [300, "m0151"])
    add_chunks(driver, run_id, [[f"m{n:04d}" for n in range(0, 400, 3)]])
    add_legacy(driver, run_id, [f"m{n:04d}" for n in range(400) if n % 3 and n != 151])
    steps = drive_checking(manager, run_id, batch=64)
    assert steps > 10
    cases: list[tuple[ItemId, str | None]] = [
        (0, "processed"),
        (299, "processed"),
        (300, "failed"),
        (499, "processed"),
        (500, None),
        ("m0000", "processed"),
        ("m0001", "processed"),
        ("m0150", "processed"),
        ("m0151", "failed"),
        ("m0399", "processed"),
        ("m0400", None),
        ("m", None),
    ]
    for item_id, expected in cases:
        assert status_of(driver, run_id, item_id) == expected, item_id


def test_loads_go_on_while_compacting(manager: CheckpointManager) -> None:
    """A load writing to the loader while it is compacted again and again loses nothing."""
    ids = [f"k{n:06d}" for n in range(6_000)]
    order = random.Random(5).sample(ids, len(ids))
    loaded = threading.Event()

    @checkpoint_loader(name=LOADER, batch_size=50, item_id="id", progress=False)
    def load(tx: neo4j.ManagedTransaction, rows: list[dict[str, str]]) -> None:
        tx.run("UNWIND $rows AS r CREATE (:Thing {id: r.id})", rows=rows).consume()

    run = manager.start_run(description="compacted while loading")
    errors: list[BaseException] = []

    def loading() -> None:
        try:
            load(run, [{"id": i} for i in order])
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            loaded.set()

    thread = threading.Thread(target=loading)
    thread.start()
    passes = 0
    try:
        # Compaction needs the loader node, which the load writes first.
        while not loaded.is_set() and not records(manager.driver, run.run_id):
            time.sleep(0.01)
        while not loaded.is_set() or passes == 0:
            compact(manager, run.run_id, batch=200)
            check_invariants(records(manager.driver, run.run_id))
            passes += 1
    finally:
        thread.join()
    run.complete()
    assert not errors, errors
    after, _ = assert_compacts(manager, run.run_id, batch=1_000)
    assert covered(after) == set(ids)
    things, _, _ = manager.driver.execute_query("MATCH (t:Thing) RETURN count(t) AS n")
    assert things[0]["n"] == len(ids)  # each item loaded exactly once


def test_compaction_queries_use_index_seeks(manager: CheckpointManager) -> None:
    """The plans, not the clock: every read of records is an index seek, in index order."""
    driver = manager.driver
    run_id = make_run(manager, "plans")
    add_legacy(driver, run_id, list(range(100)))
    add_singles(driver, run_id, [f"s{n:03d}" for n in range(100)])
    add_chunks(driver, run_id, [["r1", "r2"]])
    cases: dict[str, dict[str, Any]] = {
        "compact_ints": {"from": 10, "batch": 20},
        "compact_strings": {"after": "s010", "batch": 20, "chunk_ids": CHUNK_IDS, "max_chunks": 8},
    }
    for name, params in cases.items():

        def profile(tx: neo4j.ManagedTransaction) -> neo4j.ResultSummary:
            text = "PROFILE " + _cypher.query(name)  # noqa: B023 (run at once)
            return tx.run(text, run_id=run_id, loader=LOADER, **params).consume()  # noqa: B023

        with driver.session() as session:
            summary = session.execute_write(profile)
        assert summary.profile is not None
        operators = list(_operators(summary.profile))
        names = [op["operatorType"].split("@")[0] for op in operators]
        assert not {"NodeByLabelScan", "AllNodesScan", "NodeIndexScan"} & set(names)
        # Records come in index order; the one sort is of the str ids being packed.
        sorts = [op["args"].get("Details") for op in operators if "Sort" in op["operatorType"]]
        assert sorts == ([] if name == "compact_ints" else ["id ASC"]), sorts
        assert sum(n.startswith("Node") and "IndexSeek" in n for n in names) >= 4, names
        seeks = [op for op in operators if "ProcessedItem" in op["args"].get("Details", "")]
        assert all(op["rows"] <= 21 for op in seeks), "a seek read past its window"


def _operators(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("children", []):
        yield from _operators(child)


# ---------------------------------------------------------------------------------- admin


def test_compact_run_every_loader_or_one(manager: CheckpointManager) -> None:
    driver = manager.driver
    run_id = make_run(manager, "two_loaders", "ints", "strs")
    add_legacy(driver, run_id, list(range(1_000)), loader="ints")
    add_failed(driver, run_id, [1_000], loader="ints")
    add_legacy(driver, run_id, [f"id{n:04d}" for n in range(1_500)], loader="strs")
    details = admin.run_details(manager, run_id, failures=5)
    failures = list(admin.iter_failures(manager, run_id))

    only = admin.compact_run(manager, run_id, loader="ints")
    assert [s.loader for s in only.loaders] == ["ints"]
    assert (only.records_before, only.records_after) == (1_001, 2)
    result = admin.compact_run(manager, run_id)
    assert [(s.loader, s.records_before, s.records_after) for s in result.loaders] == [
        ("ints", 2, 2),
        ("strs", 1_500, 2),
    ]
    assert result.changed and not admin.compact_run(manager, run_id).changed
    # What graph-ckpt show and failures read does not change.
    assert admin.run_details(manager, run_id, failures=5) == details
    assert list(admin.iter_failures(manager, run_id)) == failures

    with pytest.raises(GraphCheckpointError, match="no loader named 'nope'; its loaders"):
        admin.compact_run(manager, run_id, loader="nope")
    with pytest.raises(RunNotFoundError):
        admin.compact_run(manager, "no_such_run")
    with pytest.raises(GraphCheckpointError, match="no loader named 'gone'"):
        compact(manager, run_id, batch=10, loader="gone")


def test_a_run_being_deleted_is_not_compacted(manager: CheckpointManager) -> None:
    driver = manager.driver
    kept = make_run(manager, "kept")
    going = make_run(manager, "going")
    for run_id in (kept, going):
        add_legacy(driver, run_id, list(range(10)))
    write(driver, "MATCH (r:CheckpointRun {run_id: $id}) SET r.status = 'deleting'", id=going)
    with pytest.raises(RunStateError, match="being deleted"):
        admin.compact_run(manager, going)
    with pytest.raises(RunStateError, match="being deleted"):
        compact(manager, going, batch=10)
    assert [r.run_id for r in admin.compact_all(manager)] == [kept]
    assert len(records(driver, going)) == 10 and len(records(driver, kept)) == 1


def test_compact_all_and_bad_arguments(manager: CheckpointManager) -> None:
    driver = manager.driver
    first = make_run(manager, "first")
    second = make_run(manager, "second")
    add_legacy(driver, first, list(range(50)))
    add_legacy(driver, second, ["x", "y"])
    results = admin.compact_all(manager, batch_size=7)
    assert {r.run_id: r.records_after for r in results} == {first: 1, second: 1}
    assert not any(r.changed for r in admin.compact_all(manager))
    with pytest.raises(ValueError):
        admin.compact_run(manager, first, batch_size=0)
    with pytest.raises(ValueError):
        compact(manager, first, batch=0)


# -------------------------------------------------------------------------------- the CLI


def test_cli_compacts_one_run_or_all(cli: Any, manager: CheckpointManager) -> None:  # noqa: F811
    driver = manager.driver
    one = make_run(manager, "cli_one", "ints", "strs")
    other = make_run(manager, "cli_other")
    add_legacy(driver, one, list(range(3_000)), loader="ints")
    add_legacy(driver, one, [WIDE.format(n) for n in range(3_000)], loader="strs")
    add_failed(driver, one, ["0000000000003000x"], loader="strs")
    add_legacy(driver, other, list(range(20)))

    result = cli("compact", one)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        result.output.splitlines()[0],
        "  ints: 3,000 -> 1 (2,999 int records merged into ranges)",
        "  strs: 3,001 -> 4 (3,000 string ids packed into 3 chunks)",
    ]
    assert result.output.startswith(f"{one}: 6,001 records -> 5 in ")
    assert cli("compact", "--run-id", one).output == f"{one}: already compact (5 records).\n"

    result = cli("compact", "--all", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [(r["run_id"], r["records_before"], r["records_after"]) for r in document["runs"]] == [
        (other, 20, 1),
        (one, 5, 5),
    ]
    assert document["runs"][0]["loaders"][0] == {
        "loader": LOADER,
        "records_before": 20,
        "records_after": 1,
        "ints_merged": 19,
        "strings_packed": 0,
        "chunks_written": 0,
        "chunks_replaced": 0,
        "transactions": 2,
    }
    result = cli("compact", "--all")
    assert result.exit_code == 0 and result.output.splitlines()[-1] == "2 runs: 6 records -> 6."


def test_cli_errors(cli: Any, manager: CheckpointManager) -> None:  # noqa: F811
    assert cli("compact", "--all").output.startswith("No runs to compact in ")
    result = cli("compact", "no_such_run")
    assert result.exit_code == 1
    assert "no run with id 'no_such_run'" in one_error_line(result)
    run_id = make_run(manager, "cli_errors")
    result = cli("compact", run_id, "--loader", "nope")
    assert result.exit_code == 1
    assert f"run {run_id} has no loader named 'nope'" in one_error_line(result)
    for args in (["compact"], ["compact", run_id, "--all"], ["compact", "--all", "--loader", "x"]):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
