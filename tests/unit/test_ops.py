"""The run and loader operations (``_ops``) driven in-process against a fake graph."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from types import MappingProxyType

import pytest

from graph_checkpoint import _ops
from graph_checkpoint._ops import (
    Read,
    Schema,
    Write,
    add_skipped,
    check_text,
    config_json,
    create_run,
    end_participation,
    error_text,
    finish_loader,
    get_run,
    item_status,
    loader_progress,
    new_run_id,
    open_run,
    record_failure,
    resume_run,
    start_loader,
)
from graph_checkpoint.errors import (
    ConfigMismatchError,
    GraphCheckpointError,
    InvalidConfigError,
    InvalidNameError,
    RunNotFoundError,
    RunStateError,
)
from graph_checkpoint.model import RunStatus

from ._fakes import LOADER, RUN, FakeGraph, drive

GENERATED = "run_20240102_030405"


@pytest.fixture
def graph() -> FakeGraph:
    return FakeGraph()


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> str:
    """new_run_id() always gives GENERATED, so clashes of generated ids can be set up."""
    monkeypatch.setattr(_ops, "new_run_id", lambda now=None: GENERATED)
    return GENERATED


def run(graph, op):  # type: ignore[no-untyped-def]
    return drive(op, graph.perform)


# --- create_run -------------------------------------------------------------------------


def test_new_run_ids_name_the_utc_time():
    assert new_run_id(datetime(2024, 3, 5, 6, 7, 8, tzinfo=timezone.utc)) == "run_20240305_060708"
    assert re.fullmatch(r"run_\d{8}_\d{6}", new_run_id())


def test_a_new_run_is_running_with_its_description_and_config(graph, fixed_clock):  # type: ignore[no-untyped-def]
    info = run(graph, create_run("people", {"file": "people.csv", "limit": 5}))
    assert info.run_id == GENERATED
    assert info.status is RunStatus.RUNNING
    assert (info.description, info.config, info.resumes) == (
        "people",
        {"file": "people.csv", "limit": 5},
        0,
    )
    assert graph.runs[GENERATED]["config"] == '{"file": "people.csv", "limit": 5}'


def test_a_taken_generated_id_gets_a_numeric_suffix(graph, fixed_clock):  # type: ignore[no-untyped-def]
    graph.add_run(GENERATED)
    graph.add_run(f"{GENERATED}_2")
    info = run(graph, create_run(None, None))
    assert info.run_id == f"{GENERATED}_3"
    assert [w.params["run_id"] for w in graph.writes("create_run")] == [
        GENERATED,
        f"{GENERATED}_2",
        f"{GENERATED}_3",
    ]
    assert all(w.conflict_ok for w in graph.writes("create_run"))


def test_an_explicit_run_id_is_used_as_given(graph):  # type: ignore[no-untyped-def]
    info = run(graph, create_run(None, None, run_id="nightly"))
    assert info.run_id == "nightly"


def test_a_taken_explicit_run_id_is_refused_without_trying_others(graph):  # type: ignore[no-untyped-def]
    graph.add_run("nightly", status="completed")
    with pytest.raises(GraphCheckpointError, match=r"'nightly'.*taken"):
        run(graph, create_run(None, None, run_id="nightly"))
    assert len(graph.writes("create_run")) == 1
    assert set(graph.runs) == {"nightly"}
    assert graph.runs["nightly"]["status"] == "completed"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"description": 5}, "description must be a str"),
        ({"description": "bad \ud800"}, "description is not valid Unicode"),
        ({"run_id": "r\udc80"}, "run id is not valid Unicode"),
        ({"config": ["a"]}, "config must be a dict"),
    ],
)
def test_create_run_refuses_bad_arguments_before_writing(graph, kwargs, needle):  # type: ignore[no-untyped-def]
    args = {"description": None, "config": None, **kwargs}
    with pytest.raises(InvalidConfigError, match=needle):
        run(graph, create_run(**args))
    assert graph.steps == []


# --- open_run ---------------------------------------------------------------------------


def test_open_run_with_an_existing_id_resumes_it(graph):  # type: ignore[no-untyped-def]
    graph.add_run("shared", status="interrupted", config={"a": 1})
    info = run(graph, open_run(None, {"a": 1}, "shared", False))
    assert (info.run_id, info.status, info.resumes) == ("shared", RunStatus.RUNNING, 1)
    assert graph.writes("create_run") == []


def test_open_run_with_an_existing_id_resumes_it_whatever_its_status(graph):  # type: ignore[no-untyped-def]
    graph.add_run("shared", status="completed")
    info = run(graph, open_run(None, None, "shared", False))
    assert (info.status, info.resumes) == (RunStatus.RUNNING, 1)


def test_open_run_with_a_new_id_creates_it(graph):  # type: ignore[no-untyped-def]
    info = run(graph, open_run("desc", {"a": 1}, "shared", False))
    assert (info.run_id, info.status, info.resumes) == ("shared", RunStatus.RUNNING, 0)
    assert info.description == "desc"
    assert graph.run_config("shared") == {"a": 1}


def test_open_run_joins_a_run_another_process_created_meanwhile(graph):  # type: ignore[no-untyped-def]
    def perform(step):  # type: ignore[no-untyped-def]
        if isinstance(step, Write) and step.name == "create_run" and "shared" not in graph.runs:
            graph.add_run("shared", config={"a": 1})  # the other process wins the race
        return graph.perform(step)

    info = drive(open_run(None, {"a": 1}, "shared", False), perform)
    assert (info.run_id, info.status, info.resumes) == ("shared", RunStatus.RUNNING, 1)
    assert graph.runs["shared"]["host"] != "elsewhere"  # now marked as this process's
    assert len(graph.runs) == 1


def test_joining_a_run_created_meanwhile_checks_its_config(graph):  # type: ignore[no-untyped-def]
    def perform(step):  # type: ignore[no-untyped-def]
        if isinstance(step, Write) and step.name == "create_run" and "shared" not in graph.runs:
            graph.add_run("shared", config={"other": 1})
        return graph.perform(step)

    with pytest.raises(ConfigMismatchError):
        drive(open_run(None, {"a": 1}, "shared", False), perform)


def test_open_run_without_id_resumes_the_newest_incomplete_run_with_that_config(graph):  # type: ignore[no-untyped-def]
    config = {"file": "x.csv"}
    graph.add_run("old", status="failed", config=config)
    graph.add_run("newer", status="interrupted", config=config)
    graph.add_run("newest-done", status="completed", config=config)
    graph.add_run("newest-other", status="interrupted", config={"file": "y.csv"})
    info = run(graph, open_run(None, config, None, False))
    assert (info.run_id, info.resumes) == ("newer", 1)
    assert graph.runs["old"]["status"] == "failed"


def test_open_run_without_id_creates_a_run_when_none_matches(graph, fixed_clock):  # type: ignore[no-untyped-def]
    graph.add_run("done", status="completed", config={"a": 1})
    graph.add_run("other", status="interrupted", config={"a": 2})
    info = run(graph, open_run("fresh", {"a": 1}, None, False))
    assert (info.run_id, info.resumes, info.description) == (GENERATED, 0, "fresh")
    assert graph.runs["other"]["status"] == "interrupted"


def test_open_run_refuses_an_empty_run_id(graph):  # type: ignore[no-untyped-def]
    with pytest.raises(GraphCheckpointError):
        run(graph, open_run(None, None, "", False))
    assert graph.runs == {}


# --- resume_run -------------------------------------------------------------------------


def test_resume_marks_the_run_running_in_this_process(graph):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="interrupted")
    graph.runs[RUN]["error"] = "LoadInterruptedError: server gone"
    info = run(graph, resume_run(RUN, None, False))
    assert (info.status, info.resumes, info.error) == (RunStatus.RUNNING, 1, None)
    info = run(graph, resume_run(RUN, None, False))
    assert info.resumes == 2


def test_resume_without_id_picks_the_newest_incomplete_run(graph):  # type: ignore[no-untyped-def]
    graph.add_run("a", status="failed", config={"x": 1})
    graph.add_run("b", status="interrupted", config={"y": 1})
    graph.add_run("c", status="completed")
    assert run(graph, resume_run(None, None, False)).run_id == "b"


@pytest.mark.parametrize("statuses", [[], ["completed"], ["completed", "deleting"]])
def test_resume_without_id_and_nothing_incomplete_says_so(graph, statuses):  # type: ignore[no-untyped-def]
    for n, status in enumerate(statuses):
        graph.add_run(f"r{n}", status=status)
    with pytest.raises(RunNotFoundError, match="no incomplete run"):
        run(graph, resume_run(None, None, False))


def test_resume_of_an_unknown_id_says_so(graph):  # type: ignore[no-untyped-def]
    with pytest.raises(RunNotFoundError, match="'nope'"):
        run(graph, resume_run("nope", None, False))
    assert graph.writes("resume_run") == []


@pytest.mark.parametrize(
    ("stored", "given", "missing", "unexpected"),
    [
        ({"a": 1, "b": 2}, {"a": 1}, ["b"], []),
        ({"a": 1}, {"a": 1, "c": 3, "b": 2}, [], ["b", "c"]),
        ({"a": 1, "b": 2}, {"b": 2, "c": 3}, ["a"], ["c"]),
        (None, {"a": 1}, [], ["a"]),
        ({"a": 1}, {}, ["a"], []),
    ],
)
def test_resume_with_other_config_keys_names_them(graph, stored, given, missing, unexpected):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="interrupted", config=stored)
    with pytest.raises(ConfigMismatchError) as info:
        run(graph, resume_run(RUN, given, False))
    error = info.value
    assert (error.run_id, error.missing, error.unexpected) == (RUN, missing, unexpected)
    for key in missing + unexpected:
        assert key in str(error)
    assert graph.runs[RUN]["status"] == "interrupted"  # not resumed


def test_resume_compares_config_values_too(graph):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="interrupted", config={"file": "a.csv", "batch": 10})
    with pytest.raises(ConfigMismatchError, match="changed file") as info:
        run(graph, resume_run(RUN, {"file": "b.csv", "batch": 10}, False))
    assert (info.value.missing, info.value.unexpected, info.value.changed) == ([], [], ["file"])
    assert graph.runs[RUN]["status"] == "interrupted"


def test_a_forced_resume_stores_the_new_config(graph):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="failed", config={"a": 1})
    info = run(graph, resume_run(RUN, {"other": 1}, True))
    assert info.status is RunStatus.RUNNING
    assert info.config == {"other": 1}
    assert graph.run_config(RUN) == {"other": 1}


def test_resume_without_a_config_keeps_the_stored_one(graph):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="failed", config={"a": 1})
    info = run(graph, resume_run(RUN, None, False))
    assert info.status is RunStatus.RUNNING
    assert info.config == {"a": 1}


def test_a_run_being_deleted_is_not_resumed(graph):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="deleting")
    with pytest.raises(RunStateError, match="being deleted"):
        run(graph, resume_run(RUN, None, False))
    assert graph.writes("resume_run") == []
    assert graph.runs[RUN]["status"] == "deleting"


def test_a_delete_starting_between_read_and_write_wins(graph):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="interrupted")

    def perform(step):  # type: ignore[no-untyped-def]
        if isinstance(step, Write) and step.name == "resume_run":
            graph.runs[RUN]["status"] = "deleting"
        return graph.perform(step)

    with pytest.raises(RunStateError, match="being deleted"):
        drive(resume_run(RUN, None, False), perform)
    assert graph.runs[RUN]["status"] == "deleting"


# --- get_run and end_participation -------------------------------------------------------------


def test_get_run_reads_the_run(graph):  # type: ignore[no-untyped-def]
    graph.add_run(RUN, status="failed", config={"k": [1, 2]}, description="d")
    info = run(graph, get_run(RUN))
    assert (info.run_id, info.status, info.config, info.description) == (
        RUN,
        RunStatus.FAILED,
        {"k": [1, 2]},
        "d",
    )
    assert graph.steps == [Read("get_run", {"run_id": RUN})]


def test_get_run_of_an_unknown_id_points_to_the_list(graph):  # type: ignore[no-untyped-def]
    with pytest.raises(RunNotFoundError, match=r"no run with id 'ghost'.*graph-ckpt list"):
        run(graph, get_run("ghost"))


@pytest.mark.parametrize("run_id", ["", None, 5])
def test_get_run_refuses_a_non_string_or_empty_id_without_a_query(graph, run_id):  # type: ignore[no-untyped-def]
    with pytest.raises(RunNotFoundError, match="non-empty string"):
        run(graph, get_run(run_id))
    assert graph.steps == []


@pytest.mark.parametrize(
    ("error", "stored"),
    [
        (None, None),
        (ValueError("bad row"), "ValueError: bad row"),
        ("stopped by hand", "Error: stopped by hand"),
    ],
)
def test_the_last_participant_ends_the_run_with_its_status_and_error(graph, error, stored):  # type: ignore[no-untyped-def]
    graph.add_run(RUN)
    run(graph, start_loader(RUN, LOADER, None))
    info, live = run(graph, end_participation(RUN, "me", RunStatus.FAILED, error, (0, 0), False))
    assert (info.status, info.error, live) == (RunStatus.FAILED, stored, [])
    assert info.finished_at is not None
    assert graph.loaders[(RUN, LOADER)]["status"] == "failed"


def test_ending_a_deleted_run_says_so(graph):  # type: ignore[no-untyped-def]
    with pytest.raises(RunNotFoundError, match="deleted"):
        run(graph, end_participation(RUN, "me", RunStatus.COMPLETED, None, (0, 0), False))


# --- loaders and items ------------------------------------------------------------------


def test_a_loader_is_registered_with_its_total_and_finished_with_a_status(graph):  # type: ignore[no-untyped-def]
    run(graph, start_loader(RUN, LOADER, 10))
    run(graph, start_loader(RUN, LOADER, None))  # a resume with an unknown total keeps it
    assert graph.loaders[(RUN, LOADER)]["total"] == 10
    run(graph, finish_loader(RUN, LOADER, RunStatus.INTERRUPTED))
    assert graph.loaders[(RUN, LOADER)]["status"] == "interrupted"


@pytest.mark.parametrize("name", ["", "has space", "x'})//", None])
def test_a_loader_with_a_bad_name_is_refused_before_any_query(graph, name):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidNameError):
        run(graph, start_loader(RUN, name, None))
    assert graph.steps == []


def test_loader_progress_sums_the_counter_shards(graph):  # type: ignore[no-untyped-def]
    run(graph, start_loader(RUN, LOADER, 100))
    run(graph, add_skipped(RUN, LOADER, 0, 3))
    run(graph, add_skipped(RUN, LOADER, 7, 4))
    run(graph, record_failure(RUN, LOADER, 5, "x", ValueError("bad")))
    [progress] = run(graph, loader_progress(RUN))
    assert (progress.loader, progress.status, progress.total) == (LOADER, RunStatus.RUNNING, 100)
    assert (progress.processed, progress.failed, progress.skipped) == (0, 1, 7)
    assert run(graph, loader_progress("other-run")) == []


def test_no_skips_means_no_write(graph):  # type: ignore[no-untyped-def]
    run(graph, add_skipped(RUN, LOADER, 0, 0))
    assert graph.steps == []


def test_record_failure_returns_the_attempt_count(graph):  # type: ignore[no-untyped-def]
    attempts = [run(graph, record_failure(RUN, LOADER, 0, 7, KeyError("k"))) for _ in range(3)]
    assert attempts == [1, 2, 3]
    record = graph.record(7)
    assert (record.status, record.error_type, record.error) == ("failed", "KeyError", "'k'")
    assert graph.counter().failed == 1  # one item, however many attempts


def test_record_failure_leaves_an_item_another_worker_processed(graph):  # type: ignore[no-untyped-def]
    graph.seed(processed=[7])
    assert run(graph, record_failure(RUN, LOADER, 0, 7, ValueError("late"))) == 0
    assert graph.status_of(7) == "processed"
    assert graph.counter().failed == 0


def test_record_failure_bounds_a_huge_error(graph):  # type: ignore[no-untyped-def]
    run(graph, record_failure(RUN, LOADER, 0, 1, "e" * 50_000))
    [write] = graph.writes("record_failure")
    assert write.params["error_type"] == "Error"
    assert len(write.params["error"]) <= 2000


def test_item_status(graph):  # type: ignore[no-untyped-def]
    graph.seed(processed=[1], failed={"2": 1})
    assert run(graph, item_status(RUN, LOADER, 1)) == "processed"
    assert run(graph, item_status(RUN, LOADER, "2")) == "failed"
    assert run(graph, item_status(RUN, LOADER, "1")) is None
    assert run(graph, item_status(RUN, LOADER, 2)) is None


def test_ensure_schema_asks_for_the_schema_only(graph):  # type: ignore[no-untyped-def]
    run(graph, _ops.ensure_schema())
    assert graph.steps == [Schema()]


# --- config_json, check_text, error_text ------------------------------------------------


def test_config_json_is_canonical():
    assert config_json(None) is None
    assert config_json({}) == "{}"
    text = config_json({"b": [1, 2.5, None, True], "a": {"z": 1, "y": "é"}})
    assert text == '{"a": {"y": "é", "z": 1}, "b": [1, 2.5, null, true]}'
    assert config_json({"b": 1, "a": 2}) == config_json({"a": 2, "b": 1})


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        (["a", "b"], "must be a dict"),
        ("a=1", "must be a dict"),
        (42, "must be a dict"),
        ({1: "a"}, "keys must be strings"),
        ({None: "a"}, "keys must be strings"),
        ({("a",): 1}, "keys must be strings"),
        ({"a": object()}, "not JSON-serializable"),
        ({"a": {1, 2}}, "not JSON-serializable"),
        ({"a": b"bytes"}, "not JSON-serializable"),
        ({"a": datetime(2024, 1, 1)}, "not JSON-serializable"),
        ({"a": float("nan")}, "not JSON-serializable"),
        ({"a": [float("inf")]}, "not JSON-serializable"),
        ({"a": "\ud800"}, "not valid Unicode"),
        ({"\udc80": 1}, "not valid Unicode"),
        ({"a": {"b": ["ok", "\udfff"]}}, "not valid Unicode"),
    ],
    ids=repr,
)
def test_config_json_refuses_what_is_not_a_json_object(config, needle):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidConfigError, match=needle):
        config_json(config)


def test_config_json_accepts_any_mapping():
    assert config_json(MappingProxyType({"b": 1, "a": 2})) == '{"a": 2, "b": 1}'


def test_check_text():
    for fine in (None, 5, "plain ünïcode ✓", "emoji 😀"):
        assert check_text("anything", fine) is None
    with pytest.raises(InvalidConfigError, match="description is not valid Unicode"):
        check_text("description", "bad \ud83d")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("bad row"), ("ValueError", "bad row")),
        (KeyError("k"), ("KeyError", "'k'")),
        ("plain text", ("Error", "plain text")),
        (RuntimeError(), ("RuntimeError", "")),
    ],
)
def test_error_text(error, expected):  # type: ignore[no-untyped-def]
    assert error_text(error) == expected


@pytest.mark.parametrize("size", [2001, 10_000, 1_000_000])
def test_error_text_bounds_long_messages(size):  # type: ignore[no-untyped-def]
    kind, message = error_text(ValueError("a" * (size - 1) + "Z"))
    assert kind == "ValueError"
    assert len(message) <= 2000
    assert message.startswith("a" * 1000)
    assert message.endswith("[truncated]")
    assert "Z" not in message


def test_error_text_keeps_a_message_at_the_limit_whole():
    message = "m" * 2000
    assert error_text(message) == ("Error", message)


def test_the_stored_config_round_trips(graph):  # type: ignore[no-untyped-def]
    config = {"nested": {"list": [1, "two", None]}, "flag": False}
    info = run(graph, create_run(None, config, run_id="r"))
    assert info.config == config
    assert json.loads(graph.runs["r"]["config"]) == config
