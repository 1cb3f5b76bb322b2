"""Progress people can see: a bar when asked for (or on a terminal), log lines otherwise."""

from __future__ import annotations

import logging

import pytest

from graph_checkpoint import _reporter, checkpoint_loader
from graph_checkpoint import progress as progress_module


@checkpoint_loader(batch_size=50, progress=True)
def with_bar(tx, rows):  # type: ignore[no-untyped-def]
    pass


@checkpoint_loader(batch_size=50)
def without_bar(tx, rows):  # type: ignore[no-untyped-def]
    pass


def test_the_bar_shows_items_rate_and_time(manager, capsys):  # type: ignore[no-untyped-def]
    with manager.run() as run:
        with_bar(run, range(200))
    err = capsys.readouterr().err
    assert "with_bar" in err
    assert "200/200" in err
    assert "items/s" in err


def test_without_a_terminal_progress_is_logged(manager, caplog, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    # Log every batch instead of every ten seconds, so a short test sees the periodic lines.
    monkeypatch.setattr(_reporter, "LOG_INTERVAL", 0.0)
    caplog.set_level(logging.INFO, logger="graph_checkpoint.progress")
    with manager.run() as run:
        without_bar(run, list(range(120)))
    lines = [r.getMessage() for r in caplog.records if r.name == "graph_checkpoint.progress"]
    assert lines[0].startswith("without_bar: 50/120 items (50 processed")
    assert lines[-1].startswith("without_bar: 120/120 items (120 processed, 0 skipped, 0 failed)")
    assert all("items/s" in line for line in lines)
    # stderr is not a terminal under pytest: no bar was drawn.
    assert "120/120" not in capsys.readouterr().err


def test_progress_snapshot_figures():
    snap = progress_module.Progress(
        "l", "r", processed=30, skipped=10, failed=0, total=80, elapsed=2.0
    )
    assert (snap.seen, snap.rate, snap.eta) == (40, 20.0, 2.0)
    unknown = progress_module.Progress("l", "r", 1, 0, 0, total=None, elapsed=1.0)
    assert unknown.eta is None


def test_on_progress_errors_stop_the_load(manager):  # type: ignore[no-untyped-def]
    def broken(_):  # type: ignore[no-untyped-def]
        raise RuntimeError("callback broke")

    @checkpoint_loader(batch_size=10, on_progress=broken, progress=False)
    def load(tx, rows):  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(RuntimeError, match="callback broke"), manager.run() as run:
        load(run, range(30))
    # The batch before the callback had committed: the resume skips it.
    [p] = run.progress()
    assert p.processed == 10
