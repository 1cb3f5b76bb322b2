"""Human output: the console, tables, times and durations, progress bars, the ``show`` view.

On a terminal output has colours and box lines and is never wider than :data:`MAX_WIDTH`;
off one (piped, redirected) it is plain text without ANSI codes or trailing padding. Run
ids and statuses are never cut. ``list`` off a terminal prints one line per run however
long (:func:`runs_lines`): columns two or more spaces apart, no cell empty and none holding
two spaces in a row, so ``awk -F '  +'`` splits them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import click
from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from .. import admin
from ..admin import CleanupCandidate, CompactResult, DeleteProgress, RunDetails, RunSummary
from ..model import LoaderProgress, RunInfo, RunStatus
from .shapes import resume_hint

__all__ = [
    "MAX_WIDTH",
    "DeleteReporter",
    "cleanup_table",
    "compact_lines",
    "details_view",
    "emit",
    "format_count",
    "format_duration",
    "format_time",
    "make_console",
    "make_table",
    "one_line",
    "print_runs",
    "progress_cell",
    "runs_lines",
    "runs_table",
    "status_text",
    "watch_details",
]

MAX_WIDTH = 100
"""Human output never gets wider than this many columns."""

_BAR_WIDTH = 16

_STATUS_STYLE: dict[RunStatus, str] = {
    RunStatus.RUNNING: "cyan",
    RunStatus.COMPLETED: "green",
    RunStatus.COMPLETED_WITH_FAILURES: "yellow",
    RunStatus.FAILED: "red",
    RunStatus.INTERRUPTED: "yellow",
    RunStatus.STALE: "magenta",
    RunStatus.DELETING: "dim",
}


# ---------------------------------------------------------------------------- the console


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width up to MAX_WIDTH, else MAX_WIDTH."""
    stream = sys.stderr if stderr else sys.stdout
    probe = Console(file=stream)
    width = min(probe.width, MAX_WIDTH) if probe.is_terminal else MAX_WIDTH
    return Console(file=stream, width=width, highlight=False, emoji=False)


def emit(console: Console, renderable: RenderableType) -> None:
    """Print; off a terminal as plain text without the padding rich leaves on each line."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as capture:
        console.print(renderable)
    for line in capture.get().splitlines():
        click.echo(line.rstrip())


# ----------------------------------------------------------------------------- formatting


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines too) as one space; never empty."""
    return " ".join(text.split()) or "unknown error"


def format_time(value: datetime | None, seconds: bool = False) -> str:
    """``2026-11-28 15:21`` (with ``:SS`` when ``seconds``), or ``-`` for no time."""
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_duration(value: timedelta | None) -> str:
    """A duration in its two largest units (``2m 07s``, ``3h 05m``), ``4.2s`` under 10s."""
    if value is None:
        return "-"
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f}s"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_count(value: int | None) -> str:
    """A count with thousands separators, ``?`` when unknown."""
    return "?" if value is None else f"{value:,}"


def status_text(run: RunInfo) -> Text:
    """The run's status as shown (``admin.display_status``: stale when its process is gone),
    coloured by status."""
    return _styled(admin.display_status(run))


def _styled(status: RunStatus) -> Text:
    return Text(str(status), style=_STATUS_STYLE.get(status, ""))


def _plain(text: str | None) -> str:
    """Text on one line, each run of whitespace one space; ``-`` when empty."""
    return " ".join((text or "").split()) or "-"


def make_table(console: Console, *headers: str) -> Table:
    """A table with these column headers: a bold header and a rule only on a terminal."""
    table = Table(
        box=box.SIMPLE_HEAD if console.is_terminal else None,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if console.is_terminal else "",
    )
    for header in headers:
        table.add_column(header)
    return table


def progress_cell(percent: float | None) -> RenderableType:
    """A bar with the percentage beside it, or ``-`` when the total is unknown.

    Off a terminal rich draws only the done part of the bar (there is no colour for the
    rest), so the percentage, in a column of its own, stays aligned and says it exactly.
    """
    if percent is None:
        return Text("-")
    cell = Table.grid(padding=(0, 1))
    cell.add_column(width=_BAR_WIDTH, no_wrap=True)
    cell.add_column(no_wrap=True)
    bar = ProgressBar(
        total=100.0,
        completed=percent,
        width=_BAR_WIDTH,
        complete_style="green",
        finished_style="green",
    )
    cell.add_row(bar, Text(f"{percent:5.1f}%"))
    return cell


# -------------------------------------------------------------------------------- tables


_RUNS_HEADERS = (
    "RUN ID",
    "STATUS",
    "STARTED (UTC)",
    "ACTIVE",
    "LOADER done/failed/total",
    "DESCRIPTION",
)
# On a terminal: the least the columns that may wrap get (the start date without its time,
# the loaders' header word "done/failed/total", the description's header), the most the
# loaders column takes before its lines wrap, and the two spaces between columns.
_STARTED_MIN = len("2026-11-28")
_LOADERS_MIN = len("done/failed/total")
_LOADERS_MAX = 40
_DESCRIPTION_MIN = len("DESCRIPTION")
_RUNS_GAP = 2


def print_runs(console: Console, runs: Iterable[RunSummary]) -> None:
    """Print the ``list`` output: on a terminal a table, with whole run ids and statuses;
    off one (or on a terminal too narrow for that) one line per run (:func:`runs_lines`)."""
    summaries = list(runs)
    if console.is_terminal:
        widths = runs_widths(summaries, console.width)
        if widths is not None:
            console.print(runs_table(console, summaries, widths))
            return
    for line in runs_lines(summaries):
        console.out(line, highlight=False)  # as is: no wrapping, cropping or markup


def _loader_figures(progress: LoaderProgress) -> str:
    return (
        f"{progress.loader} {format_count(progress.processed)}/{format_count(progress.failed)}"
        f"/{format_count(progress.total)}"
    )


def _run_cells(summary: RunSummary) -> tuple[str, str, str, str, list[str], str]:
    """The ``list`` cells of one run, as plain text; the loaders one string each."""
    run = summary.run
    return (
        run.run_id,
        str(admin.display_status(run)),
        format_time(run.started_at),
        format_duration(summary.active),
        [_loader_figures(p) for p in summary.loaders],
        _plain(run.description),
    )


def runs_widths(summaries: list[RunSummary], width: int) -> list[int] | None:
    """Widths of the ``list`` table's columns on a terminal ``width`` wide, or None when the
    run ids and statuses would not fit whole beside the least the other columns need.

    Id, status and active time get their longest value; the start, the loaders and the
    description get what they need when there is room, else the start drops its time to
    a second line, the loaders wrap past their share and the description wraps.
    """
    cells = [_run_cells(s) for s in summaries]
    heads = _RUNS_HEADERS

    def longest(index: int, floor: int) -> int:
        return max([floor, *(cell_len(str(row[index])) for row in cells)])

    id_w = longest(0, cell_len(heads[0]))
    status_w = longest(1, cell_len(heads[1]))
    active_w = longest(3, cell_len(heads[3]))
    loaders_w = min(
        _LOADERS_MAX,
        max([_LOADERS_MIN, *(cell_len(line) for row in cells for line in row[4])]),
    )
    description_w = longest(5, _DESCRIPTION_MIN)
    room = width - _RUNS_GAP * (len(heads) - 1) - id_w - status_w - active_w
    started_w = len("2026-11-28 15:21")
    if room - started_w < _LOADERS_MIN + _DESCRIPTION_MIN:
        started_w = _STARTED_MIN
    room -= started_w
    if room < _LOADERS_MIN + _DESCRIPTION_MIN:
        return None
    loaders_w = min(loaders_w, room - _DESCRIPTION_MIN)
    description_w = min(description_w, room - loaders_w)
    return [id_w, status_w, started_w, active_w, loaders_w, description_w]


def runs_lines(runs: Iterable[RunSummary]) -> list[str]:
    """The ``list`` output off a terminal: a header, then exactly one line per run.

    Nothing is wrapped or cut: loaders are joined with ``; `` on their run's line, and the
    description comes last, on one line however long. Columns are aligned, two or more
    spaces apart; no cell is empty (``-``) and none holds two spaces in a row (whitespace
    in descriptions is collapsed).
    """
    rows: list[tuple[str, ...]] = [_RUNS_HEADERS]
    for summary in runs:
        run_id, status, started, active, loaders, description = _run_cells(summary)
        rows.append((run_id, status, started, active, "; ".join(loaders) or "-", description))
    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(_RUNS_HEADERS) - 1)]
    lines = []
    for row in rows:
        padded = [
            cell + " " * (width - cell_len(cell))
            for cell, width in zip(row[:-1], widths, strict=True)
        ]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return lines


def runs_table(
    console: Console, runs: Iterable[RunSummary], widths: list[int] | None = None
) -> Table:
    """The ``list`` table for a terminal: one row per run, one line per loader in its
    column. ``widths`` (default: :func:`runs_widths` for the console) fixes every column,
    so rich never cuts a run id or a status to make the table fit."""
    summaries = list(runs)
    widths = widths or runs_widths(summaries, console.width)
    table = make_table(console, *_RUNS_HEADERS)
    table.collapse_padding = True  # two columns between columns, as runs_widths counts
    for index, column in enumerate(table.columns):
        column.overflow = "fold"
        if widths is not None:
            column.width = widths[index]
    for column in table.columns[:2]:
        column.no_wrap = True
    for summary in summaries:
        run_id, _, started, active, _, description = _run_cells(summary)
        table.add_row(
            Text(run_id),
            status_text(summary.run),
            started,
            active,
            _loaders_cell(summary),
            Text(description),
        )
    return table


def _loaders_cell(summary: RunSummary) -> Text:
    text = Text()
    for i, progress in enumerate(summary.loaders):
        if i:
            text.append("\n")
        text.append(f"{progress.loader} {format_count(progress.processed)}/")
        text.append(format_count(progress.failed), style="red" if progress.failed else "")
        text.append(f"/{format_count(progress.total)}")
    return text or Text("-")


def cleanup_table(console: Console, selected: Iterable[CleanupCandidate]) -> Table:
    """The ``cleanup`` table of the runs deleted (or that would be); ids and statuses whole."""
    candidates = list(selected)
    table = make_table(console, "RUN ID", "STATUS", "STARTED (UTC)", "ITEMS", "LOADERS")
    widths = (
        max([6, *(cell_len(c.run.run_id) for c in candidates)]),
        max([6, *(cell_len(str(admin.display_status(c.run))) for c in candidates)]),
    )
    for column, width in enumerate(widths):
        table.columns[column].width = width
        table.columns[column].no_wrap = True
    table.columns[3].justify = "right"
    table.columns[4].overflow = "fold"
    for candidate in candidates:
        table.add_row(
            Text(candidate.run.run_id),
            status_text(candidate.run),
            format_time(candidate.run.started_at),
            format_count(candidate.items),
            Text(", ".join(candidate.loaders) or "-"),
        )
    return table


def compact_lines(result: CompactResult) -> list[str]:
    """What ``compact`` did to one run: a line for the run, then one per loader."""
    before, after = result.records_before, result.records_after
    if not result.changed:
        return [f"{result.run_id}: already compact ({after:,} records)."]
    lines = [
        f"{result.run_id}: {before:,} records -> {after:,} in"
        f" {format_duration(timedelta(seconds=result.elapsed))}."
    ]
    for stats in result.loaders:
        done = []
        if stats.ints_merged:
            done.append(f"{stats.ints_merged:,} int records merged into ranges")
        if stats.strings_packed or stats.chunks_replaced:
            packed = f"{stats.strings_packed:,} string ids packed"
            if stats.chunks_replaced:
                packed += f" with the ids of {stats.chunks_replaced:,} chunks"
            done.append(f"{packed} into {stats.chunks_written:,} chunks")
        lines.append(
            f"  {stats.loader}: {stats.records_before:,} -> {stats.records_after:,}"
            f" ({'; '.join(done) or 'already compact'})"
        )
    return lines


# ------------------------------------------------------------------------------ show view


def details_view(console: Console, details: RunDetails) -> RenderableType:
    """The ``show`` view: facts, loaders, recent failures and what to do next."""
    run = details.run
    title = Text(run.run_id, style="bold")
    title.append("  ")
    title.append_text(status_text(run))
    return Group(
        title,
        _facts(console, details),
        Text(""),
        _loaders(console, details),
        Text(""),
        *_participants(console, details),
        _failures(console, details),
        Text(""),
        _next_step(details),
    )


def _facts(console: Console, details: RunDetails) -> Table:
    run = details.run
    facts = Table(box=None, show_header=False, pad_edge=False, show_edge=False)
    facts.add_column(style="dim" if console.is_terminal else "", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("description", Text(run.description or "-"))
    config = "-" if run.config is None else json.dumps(run.config, sort_keys=True)
    facts.add_row("config", Text(config))
    facts.add_row("started", f"{format_time(run.started_at, seconds=True)} UTC")
    if run.finished_at is not None:
        facts.add_row("finished", f"{format_time(run.finished_at, seconds=True)} UTC")
    facts.add_row("last update", f"{format_time(details.last_activity, seconds=True)} UTC")
    facts.add_row(
        "duration",
        f"active {format_duration(details.active)}, wall {format_duration(details.wall)}",
    )
    throughput = details.throughput
    total_items = details.processed + details.failed
    facts.add_row(
        "throughput",
        "-" if throughput is None else f"{throughput:,.0f} items/s ({total_items:,} items)",
    )
    process = f"pid {run.pid or '?'} on {run.host or '?'}"
    if run.status is RunStatus.RUNNING and admin.process_alive(run) is False:
        process += " (gone)"
    if run.resumes:
        process += f", resumed {run.resumes} time{'s' if run.resumes != 1 else ''}"
    facts.add_row("process", process)
    if run.error:
        facts.add_row("error", Text(run.error, style="red"))
    return facts


def _loaders(console: Console, details: RunDetails) -> RenderableType:
    if not details.loaders:
        return Text("No loaders have started in this run.")
    table = make_table(
        console, "LOADER", "STATUS", "PROCESSED", "FAILED", "SKIPPED", "TOTAL", "PROGRESS"
    )
    for column in table.columns[2:6]:
        column.justify = "right"
    for progress in details.loaders:
        table.add_row(
            Text(progress.loader),
            _styled(progress.status),
            format_count(progress.processed),
            Text(format_count(progress.failed), style="red" if progress.failed else ""),
            format_count(progress.skipped),
            format_count(progress.total),
            progress_cell(progress.percent),
        )
    return table


def _participants(console: Console, details: RunDetails) -> list[RenderableType]:
    """The processes that joined the run, when more than one did (or one is a coordinator)."""
    parts = details.participants
    if len(parts) < 2 and all(p.role == "participant" for p in parts):
        return []
    table = make_table(
        console, "PARTICIPANT", "ROLE", "STATE", "HOST", "PID", "ITEMS", "FAILED", "HEARTBEAT"
    )
    for column in table.columns[4:7]:
        column.justify = "right"
    for part in parts:
        table.add_row(
            Text(part.name),
            part.role,
            _styled_state(part.state),
            Text(part.host or "?"),
            str(part.pid or "?"),
            format_count(part.items),
            Text(format_count(part.failed), style="red" if part.failed else ""),
            f"{format_time(part.updated_at, seconds=True)} UTC",
        )
    return [table, Text("")]


def _styled_state(state: str) -> Text:
    try:
        return _styled(RunStatus(state))
    except ValueError:  # "done" is a participant's own word for completed
        return Text(state, style="green" if state == "done" else "")


def _failures(console: Console, details: RunDetails) -> RenderableType:
    run_id = details.run.run_id
    if not details.failures:
        if details.failed:
            return Text(f"{details.failed:,} failed items: graph-ckpt failures {run_id}")
        return Text("No failed items.")
    heading = Text(
        f"Most recent failed items ({len(details.failures)} of {details.failed:,};"
        f" all of them: graph-ckpt failures {run_id}):"
    )
    table = make_table(console, "LOADER", "ITEM", "TRIES", "ERROR")
    table.columns[3].overflow = "fold"
    for item in details.failures:
        error = f"{item.error_type or 'Error'}: {one_line(item.error or '')}"
        table.add_row(
            Text(item.loader),
            Text(str(item.item_id)),
            str(item.attempts),
            Text(error, style="red"),
        )
    return Group(heading, table)


def _next_step(details: RunDetails) -> Text:
    run = details.run
    if run.status is RunStatus.DELETING:
        return Text(
            f"A delete of this run was interrupted: finish it with graph-ckpt delete {run.run_id}"
        )
    if admin.is_live(run):
        return Text(
            f"Still running as pid {run.pid or '?'} on {run.host or '?'}."
            f" Follow it with: graph-ckpt show {run.run_id} --watch"
        )
    hint = resume_hint(run)
    if hint is None:
        return Text("The run is complete: nothing to resume.")
    status = admin.display_status(run)
    if status is RunStatus.COMPLETED_WITH_FAILURES:
        noun = "item" if details.failed == 1 else "items"
        text = Text(
            f"The run went through all of its input, but {details.failed:,} {noun} failed."
            " To retry them, resume the run by id and run its loaders again on the same"
            " input (each item is tried up to max_attempts times in all):\n"
        )
    else:
        process = f"its process (pid {run.pid or '?'} on {run.host or '?'})"
        if status is RunStatus.STALE and admin.process_alive(run) is False:
            why = f"The run stopped: {process} is gone and did not close it."
        elif status is RunStatus.STALE:
            why = (
                f"The run stopped: {process} sent no heartbeat since"
                f" {format_time(run.updated_at, seconds=True)} UTC and did not close it."
            )
        elif status is RunStatus.FAILED:
            why = "The run is incomplete (it failed)."
        elif status is RunStatus.INTERRUPTED:
            why = "The run is incomplete (it was interrupted)."
        else:
            why = f"The run is incomplete (it is {status})."
        how = (
            " To resume it, run the same load again: manager.run() with the same config"
            " picks it up. Or resume it by id:\n"
            if run.open
            else " To resume it, resume it by id:\n"
        )
        text = Text(why + how)
    text.append(f"    {hint}", style="bold")
    return text


def watch_details(
    console: Console,
    details: RunDetails,
    fetch: Callable[[], RunDetails],
    interval: float,
) -> None:
    """Show ``details``, then ``fetch()`` and show again every ``interval`` seconds while
    the run is live.

    On a terminal the view is redrawn in place; off one each refresh is printed in full
    after a ``--- HH:MM:SS`` line. Ctrl-C ends watching, not the run.
    """
    try:
        if console.is_terminal:
            with Live(details_view(console, details), console=console, auto_refresh=False) as live:
                while admin.is_live(details.run):
                    time.sleep(interval)
                    details = fetch()
                    live.update(details_view(console, details), refresh=True)
            return
        emit(console, details_view(console, details))
        while admin.is_live(details.run):
            time.sleep(interval)
            details = fetch()
            click.echo(f"--- {datetime.now():%H:%M:%S}")
            emit(console, details_view(console, details))
    except KeyboardInterrupt:  # Ctrl-C ends watching, not the run
        pass


# ------------------------------------------------------------------------ delete progress


class DeleteReporter:
    """Shows delete progress on stderr: a bar per run on a terminal; off one, when
    ``line_per_run``, a line for each run deleted.

    Use it as a context manager and pass :meth:`update` as the ``on_progress`` callback of
    ``admin.delete_run`` or ``admin.cleanup``.
    """

    def __init__(self, enabled: bool = True, line_per_run: bool = True) -> None:
        self.enabled = enabled
        self.line_per_run = line_per_run
        self.console = make_console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._run_id: str | None = None

    def __enter__(self) -> DeleteReporter:
        if self.enabled and self.console.is_terminal:
            self._progress = Progress(
                TextColumn("deleting {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, event: DeleteProgress) -> None:
        """Called by the library after each delete transaction."""
        if not self.enabled:
            return
        if self._progress is not None:
            if self._task is None or event.run_id != self._run_id:
                self._run_id = event.run_id
                self._task = self._progress.add_task(event.run_id, total=event.expected)
            self._progress.update(self._task, completed=event.deleted)
            if event.done:
                self._progress.remove_task(self._task)
        elif event.done and self.line_per_run:
            rate = event.deleted / event.elapsed if event.elapsed > 0 else 0.0
            click.echo(
                f"deleted {event.run_id}: {event.deleted:,} items in"
                f" {event.elapsed:.1f}s ({rate:,.0f} items/s)",
                err=True,
            )
