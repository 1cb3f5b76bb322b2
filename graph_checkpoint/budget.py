"""When a load stops because too many of its items fail.

A failing item does not stop a load: it is recorded with its error and the rest goes on.
But a loader that fails for every item (a typo, a query that cannot work) would otherwise
record its whole input as failed and end ``completed_with_failures``. A
:class:`FailureBudget` stops such a load early, failing the run with the error instead.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_FAILURE_BUDGET", "FailureBudget"]


@dataclass(frozen=True)
class FailureBudget:
    """How many failed items a load tolerates before it stops.

    ``first``: stop when the first ``first`` items a loader call tried all failed (None:
    never). ``max_rate``: stop when, once at least ``first`` items were tried, more than this
    share of them failed (None: never). Items skipped because they were done before do not
    count. Pass ``failure_budget=None`` to ``checkpoint_loader`` to tolerate any number.
    """

    first: int | None = 100
    max_rate: float | None = None

    def __post_init__(self) -> None:
        if self.first is not None and (
            isinstance(self.first, bool) or not isinstance(self.first, int) or self.first < 1
        ):
            raise ValueError(f"first must be a positive int or None, got {self.first!r}")
        if self.max_rate is not None and not 0 < self.max_rate < 1:
            raise ValueError(f"max_rate must be between 0 and 1 (exclusive), got {self.max_rate!r}")


DEFAULT_FAILURE_BUDGET = FailureBudget()
"""What ``checkpoint_loader`` uses unless told otherwise: stop when the first 100 items fail."""
