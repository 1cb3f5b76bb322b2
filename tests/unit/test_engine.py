"""The batch engine (``_engine``) driven in-process against a fake graph: no server."""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Iterator

import neo4j.exceptions as neo4j_errors
import pytest

from graph_checkpoint import FailureBudget, FailureBudgetExceededError
from graph_checkpoint._engine import (
    CallLoader,
    Commit,
    Fail,
    FailureTracker,
    LoaderOptions,
    Tally,
    TxQuery,
    WorkerState,
    accumulate,
    batches,
    check_params,
    is_collision,
    is_fatal,
    is_interruption,
    split_until_isolated,
    status_after,
)
from graph_checkpoint._items import id_getter
from graph_checkpoint.errors import (
    GraphCheckpointError,
    InvalidItemError,
    LoadInterruptedError,
    RunNotFoundError,
)
from graph_checkpoint.model import LoadResult, RunStatus

from ._fakes import LOADER, RUN, FakeGraph, collision, drive, entries, load, make_scope, neo4j_error

plain_id = id_getter(None)


def cut(items, batch_size):  # type: ignore[no-untyped-def]
    """[(ids, duplicates)] of the batches ``batches`` makes of plain items."""
    return [([i for i, _ in batch], dups) for batch, dups in batches(items, plain_id, batch_size)]


# --- batches ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "batch_size", "sizes"),
    [(10, 4, [4, 4, 2]), (8, 4, [4, 4]), (3, 10, [3]), (5, 1, [1] * 5), (0, 4, [])],
)
def test_batches_have_batch_size_items_and_a_short_last_one(count, batch_size, sizes):  # type: ignore[no-untyped-def]
    got = cut(range(count), batch_size)
    assert [len(ids) for ids, _ in got] == sizes
    assert [i for ids, _ in got for i in ids] == list(range(count))


def test_duplicates_within_a_batch_are_counted_and_the_first_copy_kept():
    rows = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 1, "v": "c"}, {"id": 2, "v": "d"}]
    [(batch, duplicates)] = batches(rows, plain_id, 10)
    assert batch == [(1, {"id": 1, "v": "a"}), (2, {"id": 2, "v": "b"})]
    assert duplicates == 2


def test_a_duplicate_fills_no_slot_of_the_batch():
    assert cut([1, 1, 1, 2, 3], 2) == [([1, 2], 2), ([3], 0)]


def test_duplicates_in_different_batches_are_left_to_the_database_check():
    assert cut([1, 2, 1], 2) == [([1, 2], 0), ([1], 0)]


def test_int_and_str_ids_with_the_same_text_stay_distinct():
    assert cut([1, "1", 1, "1"], 10) == [([1, "1"], 2)]


def _broken_input(count: int) -> Iterator[int]:
    yield from range(count)
    raise OSError("disk read failed")


def test_a_broken_input_still_yields_what_was_read_before_it_raises():
    it = batches(_broken_input(5), plain_id, 2)
    assert [i for i, _ in next(it)[0]] == [0, 1]
    assert [i for i, _ in next(it)[0]] == [2, 3]
    assert [i for i, _ in next(it)[0]] == [4]
    with pytest.raises(OSError, match="disk read failed"):
        next(it)


def test_a_broken_input_right_after_a_full_batch_yields_no_empty_batch():
    it = batches(_broken_input(4), plain_id, 2)
    assert len(next(it)[0]) == 2
    assert len(next(it)[0]) == 2
    with pytest.raises(OSError):
        next(it)


def test_a_bad_id_mid_input_yields_the_items_before_it_then_raises():
    rows = [{"id": 1}, {"id": 2}, {"id": None}, {"id": 4}]
    it = batches(rows, plain_id, 10)
    assert [i for i, _ in next(it)[0]] == [1, 2]
    with pytest.raises(InvalidItemError, match="got None"):
        next(it)


def test_batches_read_the_input_lazily():
    pulled = 0

    def endless() -> Iterator[int]:
        nonlocal pulled
        for n in itertools.count():
            pulled += 1
            yield n

    it = batches(endless(), plain_id, 100)
    assert pulled == 0
    for expected_start in (0, 100, 200):
        batch, _ = next(it)
        assert batch[0][0] == expected_start
        assert pulled == expected_start + 100


class Row:
    def __init__(self, n: int) -> None:
        self.id = n


def test_batches_hold_one_batch_at_a_time():
    alive: weakref.WeakSet[Row] = weakref.WeakSet()
    most_alive = 0

    def endless_rows() -> Iterator[Row]:
        nonlocal most_alive
        for n in itertools.count():
            row = Row(n)
            alive.add(row)
            most_alive = max(most_alive, len(alive))
            yield row
            del row

    batch_size = 50
    it = batches(endless_rows(), plain_id, batch_size)
    for _ in range(40):  # 2,000 rows
        batch, _ = next(it)
        assert len(batch) == batch_size
        del batch  # the consumer is done with it
    assert most_alive <= batch_size + 1


# --- check_params -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "lo", "hi"),
    [(list(range(3, 10)), 3, 9), ([5, 3, 4], 3, 5), ([-2, -1, 0, 1], -2, 1), ([7], 7, 7)],
)
def test_dense_int_ids_are_checked_by_range(ids, lo, hi):  # type: ignore[no-untyped-def]
    params = check_params(make_scope(), ids)
    cap = 4 * len(ids) + 1  # more than the range can hold: it is read whole
    assert params == {"run_id": RUN, "loader": LOADER, "ids": [], "lo": lo, "hi": hi, "cap": cap}


@pytest.mark.parametrize(
    "ids",
    [
        [1, 1_000_000],
        [0, 10**12, 5],
        [1, "2", 3],
        [True, 1, 2],
        [1, 2, False],
    ],
    ids=["sparse", "very-sparse", "mixed", "bool-first", "bool-last"],
)
def test_other_ids_are_checked_by_list(ids):  # type: ignore[no-untyped-def]
    params = check_params(make_scope(), ids)
    assert params == {"run_id": RUN, "loader": LOADER, "ids": ids, "lo": None, "hi": None, "cap": 0}


@pytest.mark.parametrize("ids", [["b", "a", "c"], ["1", "2", "3"], ["p-000007"]])
def test_str_ids_are_checked_by_their_interval_with_the_list_as_fallback(ids):  # type: ignore[no-untyped-def]
    params = check_params(make_scope(), ids)
    assert (params["lo"], params["hi"]) == (min(ids), max(ids))
    assert params["ids"] == ids  # looked up one by one if the interval is crowded
    assert params["cap"] == 4 * len(ids) + 1


# --- batch_transaction ------------------------------------------------------------------


def tx(graph, ids, pending=0, **scope_args):  # type: ignore[no-untyped-def]
    """Run one batch transaction of plain items; return its outcome and what it did."""
    before = len(graph.tx_steps)
    outcome = graph.transaction(make_scope(**scope_args), entries(ids), pending)
    steps = graph.tx_steps[before:]
    loader_calls = [step.items for step in steps if isinstance(step, CallLoader)]
    commits = [s.params for s in steps if isinstance(s, TxQuery) and "strs" in s.params]
    return outcome, loader_calls, commits


def test_a_fresh_batch_is_loaded_whole_and_recorded():
    graph = FakeGraph()
    outcome, calls, commits = tx(graph, [1, 2, 3])
    assert calls == [[1, 2, 3]]
    assert len(commits) == 1
    assert outcome.tally == Tally(processed=3)
    assert graph.ids_with_status("processed") == {1, 2, 3}
    assert graph.counter().processed == 3


def test_processed_ids_are_skipped():
    graph = FakeGraph()
    graph.seed(processed=[2, "x"])
    outcome, calls, _ = tx(graph, [1, 2, 3, "x", "y"])
    assert calls == [[1, 3, "y"]]
    assert outcome.tally == Tally(processed=3, skipped=2)
    assert graph.counter().skipped == 2


def test_a_fully_processed_range_is_skipped_without_loading():
    graph = FakeGraph()
    graph.seed(processed=range(1, 11))
    outcome, calls, commits = tx(graph, list(range(1, 11)))
    assert (calls, commits) == ([], [])
    assert outcome.tally == Tally(skipped=10)


def test_a_range_answer_naming_ids_outside_the_batch_is_ignored():
    graph = FakeGraph()
    graph.seed(processed=[2, 4], failed={6: 1})
    outcome, calls, _ = tx(graph, [1, 3, 5, 7])  # checked as the range 1..7
    assert calls == [[1, 3, 5, 7]]
    assert outcome.tally == Tally(processed=4)


def test_an_int_id_is_not_skipped_because_its_str_twin_was_processed():
    graph = FakeGraph()
    graph.seed(processed=["1", 2])
    _, calls, _ = tx(graph, [1, "2"])
    assert calls == [[1, "2"]]


@pytest.mark.parametrize(
    ("attempts", "max_attempts", "retried"),
    [(1, 3, True), (2, 3, True), (3, 3, False), (7, 3, False), (1, 1, False)],
)
def test_failed_ids_are_retried_until_they_are_out_of_attempts(attempts, max_attempts, retried):  # type: ignore[no-untyped-def]
    graph = FakeGraph()
    graph.seed(failed={3: attempts})
    outcome, calls, _ = tx(graph, [1, 2, 3], max_attempts=max_attempts)
    if retried:
        assert calls == [[1, 2, 3]]
        assert outcome.tally == Tally(processed=3)
        assert graph.record(3).status == "processed"
        assert graph.counter().failed == -1  # the failure recorded earlier is taken back
    else:
        assert calls == [[1, 2]]
        assert outcome.tally == Tally(processed=2, failed=1, failed_ids=[3])
        assert graph.record(3).status == "failed"


def test_failed_ids_are_not_retried_when_retry_failed_is_off():
    graph = FakeGraph()
    graph.seed(failed={3: 1})
    outcome, calls, _ = tx(graph, [1, 3], retry_failed=False)
    assert calls == [[1]]
    assert outcome.tally == Tally(processed=1, failed=1, failed_ids=[3])


@pytest.mark.parametrize(
    ("processed", "failed", "tally"),
    [
        ([10, 500], {}, Tally(skipped=2)),
        ([], {10: 3, 500: 9}, Tally(failed=2, failed_ids=[10, 500])),
        ([10], {500: 3}, Tally(skipped=1, failed=1, failed_ids=[500])),
    ],
)
def test_a_batch_with_nothing_to_do_stays_read_only(processed, failed, tally):  # type: ignore[no-untyped-def]
    graph = FakeGraph()
    graph.seed(processed=processed, failed=failed)
    outcome, calls, commits = tx(graph, [10, 500], pending=7)
    assert (calls, commits) == ([], [])
    assert (outcome.tally, outcome.skipped_flushed) == (tally, 0)
    assert graph.counter().skipped == 0  # the pending skips wait for a batch that writes


def test_pending_skips_are_written_with_the_next_commit():
    graph = FakeGraph()
    graph.seed(processed=[1])
    outcome, _, [commit] = tx(graph, [1, 2, 3], pending=5)
    assert commit["skipped"] == 6
    assert outcome.skipped_flushed == 6
    assert outcome.tally.skipped == 1  # the batch's own; the pending ones were counted before
    assert graph.counter().skipped == 6


def test_a_worker_carries_read_only_skips_to_its_next_writing_batch():
    graph = FakeGraph()
    graph.seed(processed=[1, 2])
    worker = WorkerState(shard=0)
    perform = graph.batch_performer(make_scope(), worker)
    drive(split_until_isolated(entries([1, 2])), perform)
    assert (worker.pending_skipped, graph.counter().skipped) == (2, 0)
    drive(split_until_isolated(entries([3])), perform)
    assert (worker.pending_skipped, graph.counter().skipped) == (0, 2)


# --- split_until_isolated ---------------------------------------------------------------


def isolate(graph, ids, **scope_args):  # type: ignore[no-untyped-def]
    return drive(
        split_until_isolated(entries(ids)), graph.batch_performer(make_scope(**scope_args))
    )


def failed_steps(graph):  # type: ignore[no-untyped-def]
    return [step.entry[0] for step in graph.steps if isinstance(step, Fail)]


def test_a_good_batch_commits_once():
    graph = FakeGraph()
    tally = isolate(graph, range(128))
    assert tally == Tally(processed=128)
    assert graph.loaded == list(range(128))
    assert (graph.count(Commit), graph.count(Fail)) == (1, 0)


@pytest.mark.parametrize("bad", [0, 1, 63, 64, 100, 127])
def test_one_bad_item_among_128_is_isolated_and_the_rest_committed_in_order(bad):  # type: ignore[no-untyped-def]
    graph = FakeGraph()
    graph.bad_items[bad] = ValueError(f"bad value in row {bad}")
    tally = isolate(graph, range(128))
    others = [i for i in range(128) if i != bad]
    assert graph.loaded == others
    assert failed_steps(graph) == [bad]
    assert tally == Tally(processed=127, failed=1, failed_ids=[bad])
    assert graph.ids_with_status("failed") == {bad}
    assert graph.ids_with_status("processed") == set(others)
    record = graph.record(bad)
    assert (record.error_type, record.error, record.attempts) == (
        "ValueError",
        f"bad value in row {bad}",
        1,
    )
    assert graph.counter().failed == 1
    # Bisection: a logarithmic number of transactions, not one per item.
    assert graph.count(Commit) <= 2 * math.log2(128) + 1


def test_several_bad_items_are_each_isolated_in_input_order():
    graph = FakeGraph()
    bad = [5, 6, 77, 120]
    for item_id in bad:
        graph.bad_items[item_id] = KeyError(item_id)
    tally = isolate(graph, range(128))
    assert failed_steps(graph) == bad
    assert graph.loaded == [i for i in range(128) if i not in bad]
    assert tally == Tally(processed=124, failed=4, failed_ids=bad)


def test_a_batch_of_only_bad_items_records_each_as_failed():
    graph = FakeGraph()
    ids = ["a", "b", "c", "d", "e"]
    for item_id in ids:
        graph.bad_items[item_id] = ValueError(item_id)
    tally = isolate(graph, ids)
    assert graph.loaded == []
    assert tally == Tally(failed=5, failed_ids=ids)
    assert graph.ids_with_status("failed") == set(ids)


def test_a_violation_of_the_users_own_constraint_is_the_items_fault():
    graph = FakeGraph()
    graph.bad_items[3] = neo4j_error(
        "Neo.ClientError.Schema.ConstraintValidationFailed",
        "Node(9) already exists with label `Person` and property `email` = 'a@b.c'",
    )
    tally = isolate(graph, range(8))
    assert tally == Tally(processed=7, failed=1, failed_ids=[3])
    assert graph.record(3).error_type == "Neo.ClientError.Schema.ConstraintValidationFailed"


def test_a_user_constraint_violation_quoting_processeditem_fails_only_that_item():
    graph = FakeGraph()
    graph.bad_items[3] = neo4j_error(
        "Neo.ClientError.Schema.ConstraintValidationFailed",
        "Node(9) already exists with label `Tag` and property `name` = 'ProcessedItem'",
    )
    tally = isolate(graph, range(8))
    assert tally == Tally(processed=7, failed=1, failed_ids=[3])


def test_a_failed_item_is_recorded_with_a_bounded_error_message():
    graph = FakeGraph()
    graph.bad_items[1] = ValueError("x" * 100_000)
    isolate(graph, [1])
    assert len(graph.record(1).error) <= 2000


def test_a_collision_with_another_worker_is_retried_and_its_items_skipped():
    graph = FakeGraph()

    def other_worker_commits_first(ids: list[int]) -> None:
        if graph.record(5) is None:
            graph.seed(processed=[5])  # committed by another worker, after our check

    graph.during_load = other_worker_commits_first
    tally = isolate(graph, range(8))
    assert tally == Tally(processed=7, skipped=1)
    assert graph.loaded == [0, 1, 2, 3, 4, 6, 7]  # ours: each once, 5 was the other's
    assert (graph.count(Commit), graph.count(Fail)) == (2, 0)


@pytest.mark.parametrize("label", ["ProcessedItem", "CheckpointCounter"])
def test_a_few_collisions_are_retried_until_the_batch_commits(label):  # type: ignore[no-untyped-def]
    graph = FakeGraph()
    graph.fail_next("Commit", *[collision(label)] * 3)
    tally = isolate(graph, range(10))
    assert tally == Tally(processed=10)
    assert graph.loaded == list(range(10))
    assert graph.count(Commit) == 4


def test_endless_collisions_interrupt_the_load():
    graph = FakeGraph()
    clash = collision()
    graph.fail_always("Commit", clash)
    with pytest.raises(LoadInterruptedError, match="clashing") as info:
        isolate(graph, range(10))
    assert info.value.__cause__ is clash
    assert graph.loaded == []
    assert graph.count(Fail) == 0
    assert 1 < graph.count(Commit) < 1000


TRANSIENT = [
    neo4j_errors.ServiceUnavailable("server gone"),
    neo4j_errors.SessionExpired("session expired"),
    neo4j_error("Neo.TransientError.Transaction.DeadlockDetected", "deadlock"),
    neo4j_error("Neo.TransientError.General.DatabaseUnavailable", "unavailable"),
    ConnectionResetError("reset by peer"),
    TimeoutError("timed out"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_a_transient_error_interrupts_the_load_at_once_and_records_nothing(error):  # type: ignore[no-untyped-def]
    graph = FakeGraph()
    graph.fail_next("Commit", error)
    with pytest.raises(LoadInterruptedError, match="resumable") as info:
        isolate(graph, range(16))
    assert info.value.__cause__ is error
    assert graph.count(Commit) == 1
    assert graph.count(Fail) == 0
    assert graph.items[(RUN, LOADER)] == {}


def test_a_transient_error_during_bisection_keeps_what_was_committed():
    graph = FakeGraph()
    graph.bad_items[6] = ValueError("bad")
    perform = graph.batch_performer(make_scope())
    steps = 0

    def server_gone_at_third_step(step):  # type: ignore[no-untyped-def]
        nonlocal steps
        steps += 1
        if steps == 3:  # [0..7] failed on 6, [0..3] committed, now [4..7]
            raise neo4j_errors.ServiceUnavailable("gone")
        return perform(step)

    with pytest.raises(LoadInterruptedError):
        drive(split_until_isolated(entries(range(8))), server_gone_at_third_step)
    assert graph.loaded == [0, 1, 2, 3]
    assert graph.ids_with_status("processed") == {0, 1, 2, 3}
    assert graph.ids_with_status("failed") == set()


FATAL = [
    neo4j_error("Neo.ClientError.Statement.ParameterMissing", "Expected parameter(s): x"),
    neo4j_error("Neo.ClientError.Security.Unauthorized", "bad credentials"),
    neo4j_error("Neo.ClientError.Security.Forbidden", "no write access"),
    neo4j_error("Neo.ClientError.Database.DatabaseNotFound", "no such database"),
    neo4j_error("Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration", "slow"),
    GraphCheckpointError("ours"),
    RunNotFoundError("run deleted"),
    neo4j_errors.ConfigurationError("bad driver config"),
]


@pytest.mark.parametrize("error", FATAL, ids=lambda e: getattr(e, "code", type(e).__name__))
def test_a_fatal_error_is_raised_unchanged_without_bisecting(error):  # type: ignore[no-untyped-def]
    graph = FakeGraph()
    for item_id in range(64):
        graph.bad_items[item_id] = error  # e.g. a broken query in the loader: every item fails
    with pytest.raises(type(error)) as info:
        isolate(graph, range(64))
    assert info.value is error
    assert graph.count(Commit) == 1
    assert graph.count(Fail) == 0
    assert graph.items[(RUN, LOADER)] == {}


def test_ctrl_c_in_the_loader_is_not_blamed_on_an_item():
    graph = FakeGraph()
    graph.bad_items[3] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        isolate(graph, range(8))
    assert graph.count(Commit) == 1
    assert graph.items[(RUN, LOADER)] == {}


# --- classification ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (collision("ProcessedItem"), True),
        (collision("CheckpointCounter"), True),
        (collision("Person"), False),
        (neo4j_errors.ConstraintError("Node(1) already exists with label `ProcessedItem`"), True),
        (ValueError("ProcessedItem already exists"), False),
        (neo4j_error("Neo.ClientError.Statement.SyntaxError", "ProcessedItem"), False),
        (neo4j_errors.ServiceUnavailable("gone"), False),
    ],
)
def test_is_collision(error, expected):  # type: ignore[no-untyped-def]
    assert is_collision(error) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        *[(error, True) for error in TRANSIENT],
        (ConnectionRefusedError("refused"), True),
        (neo4j_errors.IncompleteCommit("commit outcome unknown"), False),
        (neo4j_errors.ConfigurationError("bad config"), False),
        (neo4j_error("Neo.ClientError.Statement.SyntaxError"), False),
        (neo4j_error("Neo.DatabaseError.General.UnknownError"), False),
        (collision(), False),
        (ValueError("x"), False),
        (OSError("disk"), False),
    ],
    ids=repr,
)
def test_is_interruption(error, expected):  # type: ignore[no-untyped-def]
    assert is_interruption(error) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        *[(error, True) for error in FATAL],
        (neo4j_error("Neo.ClientError.Request.Invalid"), True),
        (InvalidItemError("bad id"), True),
        (neo4j_error("Neo.ClientError.Statement.TypeError", "bad property type"), False),
        # Neo4j reports one row's parameter of the wrong type as a SyntaxError.
        (neo4j_error("Neo.ClientError.Statement.SyntaxError", "Type mismatch"), False),
        (neo4j_error("Neo.ClientError.Statement.ArithmeticError", "/ by zero"), False),
        (neo4j_error("Neo.DatabaseError.General.UnknownError"), False),
        (collision("Person"), False),
        (neo4j_errors.ServiceUnavailable("gone"), False),
        (ValueError("x"), False),
        (KeyError("x"), False),
    ],
    ids=repr,
)
def test_is_fatal(error, expected):  # type: ignore[no-untyped-def]
    assert is_fatal(error) is expected


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (None, RunStatus.COMPLETED),
        (KeyboardInterrupt(), RunStatus.INTERRUPTED),
        (LoadInterruptedError("x"), RunStatus.INTERRUPTED),
        (neo4j_errors.ServiceUnavailable("gone"), RunStatus.INTERRUPTED),
        (neo4j_error("Neo.TransientError.Transaction.DeadlockDetected"), RunStatus.INTERRUPTED),
        (ConnectionResetError("reset"), RunStatus.INTERRUPTED),
        (TimeoutError("slow"), RunStatus.INTERRUPTED),
        (ValueError("x"), RunStatus.FAILED),
        (GraphCheckpointError("x"), RunStatus.FAILED),
        (neo4j_error("Neo.ClientError.Statement.SyntaxError"), RunStatus.FAILED),
        (SystemExit(1), RunStatus.FAILED),
    ],
    ids=repr,
)
def test_status_after(error, status):  # type: ignore[no-untyped-def]
    assert status_after(error) == status


# --- a loader call end to end -----------------------------------------------------------


def test_a_load_then_its_resume_loads_each_item_exactly_once():
    graph = FakeGraph()
    graph.bad_items[4] = ValueError("bad row")
    first = load(graph, range(10), batch_size=4)
    assert first == Tally(processed=9, failed=1, failed_ids=[4])
    del graph.bad_items[4]  # the data was fixed
    second = load(graph, range(10), batch_size=4)
    assert second == Tally(processed=1, skipped=9)
    assert sorted(graph.loaded) == list(range(10))
    assert len(graph.loaded) == 10
    counts = graph.counter()
    assert (counts.processed, counts.failed, counts.skipped) == (10, 0, 9)


def test_an_item_that_keeps_failing_is_given_up_after_max_attempts():
    graph = FakeGraph()
    graph.bad_items["b"] = ValueError("always bad")
    tallies = [load(graph, ["a", "b", "c"], scope=make_scope(max_attempts=2)) for _ in range(4)]
    assert [t.failed for t in tallies] == [1, 1, 1, 1]
    assert graph.record("b").attempts == 2
    assert graph.count(Fail) == 2  # the third and fourth pass no longer try it
    assert graph.loaded == ["a", "c"]


def test_duplicates_in_the_input_are_counted_as_skipped():
    graph = FakeGraph()
    tally = load(graph, [1, 2, 1, 3, 3, 2], batch_size=4)
    assert tally == Tally(processed=3, skipped=3)
    assert graph.loaded == [1, 2, 3]
    assert graph.counter().skipped == 3


def test_a_load_over_a_broken_input_commits_what_was_read():
    graph = FakeGraph()
    with pytest.raises(OSError):
        load(graph, _broken_input(7), batch_size=3)
    assert graph.loaded == list(range(7))


# --- small pieces -----------------------------------------------------------------------


def test_tallies_add_up_and_keep_at_most_1000_failed_ids():
    total = Tally(processed=1, failed_ids=list(range(990)), failed=990)
    total.add(Tally(processed=2, skipped=3, failed=20, failed_ids=list(range(1000, 1020))))
    assert (total.processed, total.skipped, total.failed) == (3, 3, 1010)
    assert total.failed_ids == [*range(990), *range(1000, 1010)]
    result = LoadResult(loader=LOADER, run_id=RUN)
    accumulate(result, total)
    assert (result.processed, result.failed, len(result.failed_ids)) == (3, 1010, 1000)


@pytest.mark.parametrize(
    "bad",
    [
        {"batch_size": 0},
        {"batch_size": 2.5},
        {"workers": 0},
        {"max_attempts": 0},
        {"transaction_timeout": 0},
        {"transaction_timeout": -1.0},
    ],
)
def test_loader_options_refuse_nonsense(bad):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=next(iter(bad))):
        LoaderOptions(name=LOADER, **bad)


def test_a_row_whose_parameter_has_the_wrong_type_fails_alone():
    # Neo4j answers a map where toInteger() wants a number with a SyntaxError ("Type mismatch
    # for parameter"): the row is isolated and recorded, the load goes on.
    graph = FakeGraph()
    graph.bad_items[6] = neo4j_error(
        "Neo.ClientError.Statement.SyntaxError", "Type mismatch for parameter 'age'"
    )
    tally = isolate(graph, range(16))
    assert tally == Tally(processed=15, failed=1, failed_ids=[6])
    assert graph.record(6).error_type == "Neo.ClientError.Statement.SyntaxError"
    assert graph.record(6).error == "Type mismatch for parameter 'age'"


def test_the_failure_budget_stops_a_loader_that_fails_for_every_item():
    graph = FakeGraph()
    broken = neo4j_error("Neo.ClientError.Statement.SyntaxError", "Invalid input 'MERGR'")
    for item_id in range(1000):
        graph.bad_items[item_id] = broken
    tracker = FailureTracker(FailureBudget(first=20))
    with pytest.raises(FailureBudgetExceededError, match="first 20 items tried all failed") as info:
        drive(
            split_until_isolated(entries(range(1000)), tracker), graph.batch_performer(make_scope())
        )
    assert "Invalid input 'MERGR'" in str(info.value)
    assert graph.count(Fail) == 20  # it stopped there, not after the whole batch


def test_the_failure_budget_ignores_failures_once_items_loaded():
    graph = FakeGraph()
    for item_id in range(50, 80):
        graph.bad_items[item_id] = ValueError("bad row")
    tracker = FailureTracker(FailureBudget(first=10))
    tally = drive(
        split_until_isolated(entries(range(100)), tracker), graph.batch_performer(make_scope())
    )
    assert (tally.processed, tally.failed) == (70, 30)


def test_the_failure_budget_rate():
    tracker = FailureTracker(FailureBudget(first=10, max_rate=0.5))
    tracker.succeeded(5)
    for _ in range(5):
        tracker.failed_item(ValueError("x"))  # 5 of 10: not over half
    with pytest.raises(
        FailureBudgetExceededError, match=r"6 of 11 items tried failed \(over 50%\)"
    ):
        tracker.failed_item(ValueError("x"))


def test_no_failure_budget_tolerates_any_number():
    tracker = FailureTracker(None)
    for _ in range(1000):
        tracker.failed_item(ValueError("x"))
    assert tracker.failed == 1000


@pytest.mark.parametrize(
    "budget", [{"first": 0}, {"first": True}, {"max_rate": 1.0}, {"max_rate": 0}]
)
def test_a_failure_budget_is_checked(budget):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        FailureBudget(**budget)
