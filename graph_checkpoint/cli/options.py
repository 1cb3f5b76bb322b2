"""Option helpers the commands share: durations, the run-id argument (or ``--latest``), the
status choice."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..model import RunStatus

__all__ = [
    "STATUS_CHOICES",
    "DurationType",
    "parse_duration",
    "pick_run_id",
    "pick_run_id_or_latest",
    "require_run_id",
    "run_id_argument",
    "status_option",
]

F = TypeVar("F", bound=Callable[..., Any])

STATUS_CHOICES: tuple[RunStatus, ...] = (
    RunStatus.RUNNING,
    RunStatus.COMPLETED,
    RunStatus.COMPLETED_WITH_FAILURES,
    RunStatus.FAILED,
    RunStatus.INTERRUPTED,
    RunStatus.STALE,
    RunStatus.DELETING,
)
"""The statuses ``list --status`` accepts, in the order its help and docs/cli.md list them."""

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or combinations such as ``1d12h``.

    Raises :class:`ValueError` for anything else.
    """
    cleaned = text.strip().lower()
    if not cleaned or _DURATION_PART.sub("", cleaned):
        raise ValueError(
            f"{text!r} is not a duration: use a number with s, m, h, d or w, e.g. 30d or 12h"
        )
    total = timedelta()
    for amount, unit in _DURATION_PART.findall(cleaned):
        total += timedelta(**{_UNITS[unit]: int(amount)})
    return total


if TYPE_CHECKING:
    _DurationBase = click.ParamType[timedelta]
else:  # click < 8.2 has no generic ParamType at run time
    _DurationBase = click.ParamType


class DurationType(_DurationBase):
    """A click parameter type for :func:`parse_duration` text, converted to a timedelta."""

    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        """The value as a timedelta; a usage error (exit 2) for text that is not a duration."""
        # click also passes values that are already converted (defaults, repeated calls).
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _to_status(ctx: click.Context, param: click.Parameter, value: str | None) -> RunStatus | None:
    return None if value is None else RunStatus(value)


def status_option(func: F) -> F:
    """Add ``--status``, one of :data:`STATUS_CHOICES`, passed on as a ``RunStatus``."""
    # Choice gets the values, not the enum: click would match an enum's member *names*
    # (RUNNING), and the help would list those.
    return click.option(
        "--status",
        type=click.Choice([str(status) for status in STATUS_CHOICES]),
        callback=_to_status,
        help="Only runs with this status ('running' includes stale runs).",
    )(func)


def run_id_argument(func: F) -> F:
    """Add the run id, as an optional argument and as ``--run-id``.

    The command gets both, as ``run_id_arg`` and ``run_id_opt``: see :func:`pick_run_id`.
    """
    func = click.argument("run_id_arg", metavar="[RUN_ID]", required=False)(func)
    return click.option("--run-id", "run_id_opt", metavar="ID", help="The run's id.")(func)


def pick_run_id(positional: str | None, option: str | None) -> str | None:
    """The run id given either way, or None; a usage error when the two disagree."""
    if positional and option and positional != option:
        raise click.UsageError(f"two different run ids given: {positional} and {option}")
    return positional or option


def pick_run_id_or_latest(
    command: str, positional: str | None, option: str | None, latest: bool
) -> str | None:
    """The run id given either way, or None for ``--latest``; a usage error for both or none."""
    run_id = pick_run_id(positional, option)
    if run_id and latest:
        raise click.UsageError("give a run id or --latest, not both")
    if not run_id and not latest:
        raise click.UsageError(f"give a run id ({command} RUN_ID or --run-id ID) or --latest")
    return run_id


def require_run_id(positional: str | None, option: str | None) -> str:
    """Like :func:`pick_run_id`, with a usage error when no run id is given at all."""
    run_id = pick_run_id(positional, option)
    if not run_id:
        raise click.UsageError("give the run id: --run-id ID (or as an argument)")
    return run_id
