"""Progress of a running load, as passed to ``on_progress`` callbacks.

The figures are shown as a bar on a terminal and as a log line (logger
``graph_checkpoint.progress``) otherwise; ``_reporter`` does the showing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Progress"]


@dataclass(frozen=True)
class Progress:
    """A snapshot of a load in progress, as passed to ``on_progress`` callbacks.

    ``rate`` is items read per second since the load started; ``eta`` is the seconds left
    when the input's length is known.
    """

    loader: str
    run_id: str
    processed: int
    skipped: int
    failed: int
    total: int | None
    elapsed: float

    @property
    def seen(self) -> int:
        """Items read from the input so far."""
        return self.processed + self.skipped + self.failed

    @property
    def rate(self) -> float:
        """Items read per second."""
        return self.seen / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds until the input is consumed, when its length is known."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.seen) / self.rate)
