"""The sync and the async API offer the same names, with the same parameters.

The async modules are the source and the sync ones are generated from them, so they cannot
drift in what they do; this test keeps them from drifting in what they offer, including
through the hand-written parts (the package's exports, the decorator, ``_compat``).
"""

from __future__ import annotations

import inspect

import pytest

import graph_checkpoint
from graph_checkpoint import _compat

PAIRS = [
    (graph_checkpoint.CheckpointManager, graph_checkpoint.AsyncCheckpointManager),
    (graph_checkpoint.Run, graph_checkpoint.AsyncRun),
    (graph_checkpoint.LoaderCheckpoint, graph_checkpoint.AsyncLoaderCheckpoint),
    (graph_checkpoint.CheckpointedLoader, graph_checkpoint.AsyncCheckpointedLoader),
    (graph_checkpoint.CheckpointContext, graph_checkpoint.AsyncCheckpointContext),
    (_compat.Util, _compat.AsyncUtil),
    (_compat.Heartbeat, _compat.AsyncHeartbeat),
    (_compat.WorkerPool, _compat.AsyncWorkerPool),
]


def public_names(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")} | {
        name for name in ("__call__", "__enter__", "__aenter__") if hasattr(cls, name)
    }


def test_every_async_export_has_a_sync_twin_and_the_reverse() -> None:
    exported = set(graph_checkpoint.__all__)
    async_names = {name for name in exported if name.startswith("Async")}
    assert async_names, "the package exports an async API"
    for name in async_names:
        assert name.removeprefix("Async") in exported, f"{name} has no sync twin"
    for name in exported - async_names:
        obj = getattr(graph_checkpoint, name)
        has_io = inspect.isclass(obj) and any(
            inspect.iscoroutinefunction(member)
            for member in vars(getattr(graph_checkpoint, "Async" + name, object)).values()
        )
        if has_io:
            assert "Async" + name in exported


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=lambda cls: cls.__name__)
def test_twins_offer_the_same_names(sync: type, asynchronous: type) -> None:
    expected = {name.replace("__aenter__", "__enter__") for name in public_names(asynchronous)}
    assert public_names(sync) == expected


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=lambda cls: cls.__name__)
def test_twins_take_the_same_parameters(sync: type, asynchronous: type) -> None:
    for name in public_names(sync) | {"__init__"}:
        sync_member = inspect.getattr_static(sync, name)
        async_member = inspect.getattr_static(
            asynchronous, {"__enter__": "__aenter__"}.get(name, name)
        )
        if isinstance(sync_member, property):
            assert isinstance(async_member, property), name
            continue
        if not callable(sync_member) and not isinstance(sync_member, (staticmethod, classmethod)):
            continue
        sync_func = getattr(sync, name)
        async_func = getattr(asynchronous, {"__enter__": "__aenter__"}.get(name, name))
        assert list(inspect.signature(sync_func).parameters) == list(
            inspect.signature(async_func).parameters
        ), f"{sync.__name__}.{name}"


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS[:5], ids=lambda cls: cls.__name__)
def test_what_does_io_is_awaited_in_the_async_api_only(sync: type, asynchronous: type) -> None:
    for name in public_names(asynchronous):
        member = inspect.getattr_static(asynchronous, name)
        func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        if inspect.iscoroutinefunction(func):
            twin = inspect.getattr_static(sync, name.replace("__aenter__", "__enter__"))
            twin = twin.__func__ if isinstance(twin, (classmethod, staticmethod)) else twin
            assert not inspect.iscoroutinefunction(twin), f"{sync.__name__}.{name}"
