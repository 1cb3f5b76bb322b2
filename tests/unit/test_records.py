"""Per-batch records, without a server: how ids become ranges and chunks, how a lookup's
answer is read, and when a worker stops looking batches up (and what brings it back)."""

from __future__ import annotations

import pytest

from graph_checkpoint._engine import (
    Commit,
    RecordConflict,
    Recorded,
    Tally,
    TxOutcome,
    TxQuery,
    WorkerState,
    commit_params,
    committed,
    int_runs,
    is_collision,
    split_until_isolated,
)
from graph_checkpoint.errors import RunStateError

from ._fakes import FakeGraph, drive, entries, load, make_scope


@pytest.mark.parametrize(
    ("ids", "runs"),
    [
        ([], []),
        ([7], [[7, 7]]),
        ([3, 1, 2], [[1, 3]]),
        ([5, 3, 4, 10, 12, 11, 1], [[1, 1], [3, 5], [10, 12]]),
        ([-1, 0, 1, 9], [[-1, 1], [9, 9]]),
    ],
)
def test_int_ids_become_runs_of_consecutive_values(ids, runs):  # type: ignore[no-untyped-def]
    assert int_runs(ids) == runs


def test_a_commit_sends_runs_of_ints_and_sorted_strs():
    params = commit_params(make_scope(), [4, "b", 2, 3, "a", 9], retried=[9], skipped=5)
    assert params["ranges"] == [[2, 4], [9, 9]]
    assert params["strs"] == ["a", "b"]
    assert (params["retried"], params["count"], params["skipped"]) == ([9], 6, 5)


def test_a_thousand_row_numbers_are_one_range():
    params = commit_params(make_scope(), list(range(1000, 2000)), [], 0)
    assert params["ranges"] == [[1000, 1999]]


def lookup(ranges=(), in_chunks=(), failed=()):  # type: ignore[no-untyped-def]
    return Recorded.from_rows(
        [{"ranges": list(ranges), "in_chunks": list(in_chunks), "failed": list(failed)}]
    )


def test_a_lookup_answer_covers_ids_through_ranges_records_and_chunks():
    recorded = lookup(ranges=[[10, 19], ["s", "s"], [30, 30]], in_chunks=["c"], failed=[[25, 2]])
    assert [i for i in range(8, 33) if recorded.processed(i)] == [*range(10, 20), 30]
    assert recorded.processed("s") and recorded.processed("c")
    assert not recorded.processed("10") and not recorded.processed(25)
    assert recorded.failed == {25: 2}
    assert recorded.covers(12, 19) and not recorded.covers(9, 12)


def test_an_int_is_not_taken_for_its_str_twin():
    recorded = lookup(ranges=[["1", "1"]])
    assert not recorded.processed(1)
    assert recorded.processed("1")


def test_no_rows_means_nothing_recorded():
    assert Recorded.from_rows([]) == Recorded()


def test_a_commit_refused_for_a_conflict_is_a_collision():
    with pytest.raises(RecordConflict) as caught:
        committed([{"conflict": True, "singles": 0}], make_scope())
    assert is_collision(caught.value)
    committed([{"conflict": False, "singles": 0}], make_scope())  # written: nothing raised


def test_a_commit_for_a_deleted_loader_says_so():
    with pytest.raises(RunStateError, match="deleted"):
        committed([], make_scope())


# --- looking batches up, or not ---------------------------------------------------------


def check_queries(graph: FakeGraph) -> int:
    return sum(isinstance(s, TxQuery) and "lo" in s.params for s in graph.tx_steps)


def test_a_fresh_load_stops_looking_batches_up_after_two_clean_lookups():
    graph = FakeGraph()
    tally = load(graph, range(40), batch_size=4)
    assert tally == Tally(processed=40)
    assert check_queries(graph) == 2  # of 10 batches
    assert graph.ids_with_status("processed") == set(range(40))


def test_records_just_below_a_batch_do_not_keep_a_fresh_load_looking_up():
    # The lookup of a sequential load meets the previous batch's range below its interval:
    # none of its own ids, so the lookups still count as clean.
    worker = WorkerState(shard=0)
    below = Recorded(ranges=[(0, 999)])
    for _ in range(2):
        worker.committed(TxOutcome(Tally(processed=1000), 1, checked=True, recorded=below))
    assert not worker.verify


def test_a_resume_keeps_looking_up_while_it_finds_records():
    graph = FakeGraph()
    graph.seed(processed=range(0, 20))
    tally = load(graph, range(40), batch_size=4)
    assert tally == Tally(processed=20, skipped=20)
    assert check_queries(graph) == 5 + 2  # the 5 resumed batches, then 2 clean ones


def test_an_id_recorded_by_another_worker_is_found_by_the_commit_and_skipped_on_retry():
    graph = FakeGraph()
    worker = WorkerState(shard=0)
    worker.clean_lookups = 2  # past the lookups: committing blind
    graph.seed(processed=[2])  # another worker got there first
    perform = graph.batch_performer(make_scope(), worker)
    tally = drive(split_until_isolated(entries([1, 2, 3]), None, worker.verify), perform)
    commits = [s for s in graph.steps if isinstance(s, Commit)]
    assert [c.verify for c in commits] == [False, True]
    assert tally == Tally(processed=2, skipped=1)
    assert graph.loaded == [1, 3]  # the refused attempt was rolled back whole
    assert worker.verify  # it found records, so it looks the next batches up again


def test_a_failed_id_in_a_blind_batch_is_found_and_retried_with_its_attempts():
    graph = FakeGraph()
    graph.seed(failed={3: 5})
    worker = WorkerState(shard=0)
    worker.clean_lookups = 2
    perform = graph.batch_performer(make_scope(max_attempts=3), worker)
    tally = drive(split_until_isolated(entries([1, 2, 3]), None, worker.verify), perform)
    # Out of attempts: the lookup after the refused commit keeps it failed, not reloaded.
    assert tally == Tally(processed=2, failed=1, failed_ids=[3])
    assert graph.status_of(3) == "failed"


def test_batches_inside_a_known_processed_range_are_skipped_without_a_transaction():
    worker = WorkerState(shard=0)
    worker.known = [(0, 999)]
    assert worker.skip_known(entries(range(100, 200))) == Tally(skipped=100)
    assert worker.pending_skipped == 100  # written with the next commit
    assert worker.skip_known(entries(range(950, 1050))) is None
    assert worker.skip_known(entries(["a"])) is None
