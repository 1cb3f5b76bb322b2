"""Shows a load's progress: a bar on a terminal, a log line otherwise, callbacks, hooks."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .progress import Progress

if TYPE_CHECKING:
    from ._engine import Tally

log = logging.getLogger("graph_checkpoint.progress")

LOG_INTERVAL = 10.0
"""Seconds between progress log lines when no bar is shown."""

after_batch: list[Callable[[Progress], Any]] = []
"""Called with each Progress after a batch commits, in every load of the process; the pytest
plugin's ``interrupt_after`` uses it to stop a load at a chosen point."""


class Reporter:
    """Turns per-batch tallies into a bar, periodic log lines and callbacks."""

    def __init__(
        self,
        loader: str,
        run_id: str,
        total: int | None,
        show_bar: bool | None,
        on_progress: Callable[[Progress], Any] | None,
    ) -> None:
        self._loader = loader
        self._run_id = run_id
        self._total = total
        self._on_progress = on_progress
        self._start = time.monotonic()
        self._last_log = self._start
        self._processed = self._skipped = self._failed = 0
        if show_bar is None:
            show_bar = sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None
        if show_bar:
            self._bar = _make_bar()
            self._bar.start()
            self._task = self._bar.add_task(loader, total=total)

    def snapshot(self) -> Progress:
        """The figures as they stand."""
        return Progress(
            loader=self._loader,
            run_id=self._run_id,
            processed=self._processed,
            skipped=self._skipped,
            failed=self._failed,
            total=self._total,
            elapsed=time.monotonic() - self._start,
        )

    def update(self, tally: Tally) -> None:
        """Account for one finished batch."""
        self._processed += tally.processed
        self._skipped += tally.skipped
        self._failed += tally.failed
        snap = self.snapshot()
        if self._bar is not None:
            self._bar.update(self._task, completed=snap.seen)
        elif time.monotonic() - self._last_log >= LOG_INTERVAL:
            self._last_log = time.monotonic()
            self._log(snap)
        if self._on_progress is not None:
            self._on_progress(snap)
        for hook in list(after_batch):
            hook(snap)

    def close(self) -> None:
        """Stop the bar and log the final figures."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        self._log(self.snapshot())

    @staticmethod
    def _log(snap: Progress) -> None:
        of_total = f"/{snap.total}" if snap.total is not None else ""
        eta = f", eta {snap.eta:.0f}s" if snap.eta is not None else ""
        log.info(
            "%s: %d%s items (%d processed, %d skipped, %d failed), %.0f items/s%s",
            snap.loader,
            snap.seen,
            of_total,
            snap.processed,
            snap.skipped,
            snap.failed,
            snap.rate,
            eta,
        )


def _make_bar() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class _RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed or 0:>9,.0f} items/s")

    return RichProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
