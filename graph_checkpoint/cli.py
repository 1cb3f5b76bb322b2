"""``graph-ckpt``: the command line over the checkpoint runs kept in Neo4j.

Every command takes the connection options ``--uri``, ``--username``, ``--password`` and
``--database`` (defaulting to ``NEO4J_URI``, ``NEO4J_USERNAME``, ``NEO4J_PASSWORD`` and
``NEO4J_DATABASE``) and ``--debug``. Errors print one line on stderr and exit with 1 (2 for
usage errors); ``--debug`` shows the traceback instead. Listing commands take ``--json``;
the documents are described in ``docs/cli.md``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click
import neo4j
import neo4j.exceptions as neo4j_errors
from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from . import __version__, _cypher, admin
from ._connection import translate_error
from .admin import CleanupCandidate, DeleteProgress, FailedItemInfo, RunDetails, RunSummary
from .errors import GraphCheckpointError
from .manager import CheckpointManager
from .model import LoaderProgress, RunInfo

__all__ = ["Connection", "connection_options", "main", "parse_duration"]

MAX_WIDTH = 100
"""Human output never gets wider than this many columns."""

DEFAULT_URI = "neo4j://localhost:7687"

_BOLT_SCHEMES = {"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"}

STATUSES = ("running", "completed", "failed", "interrupted", "stale", "deleting")

_STATUS_STYLE = {
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "interrupted": "yellow",
    "stale": "magenta",
    "deleting": "dim",
}


# ------------------------------------------------------------------------------ connection


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


class Connection:
    """Connection settings from the options or the environment.

    Nothing connects until :attr:`manager` is first used, so ``--help`` and usage errors
    never touch the network; the password is prompted for at that point when it was given
    nowhere and a terminal is attached. ``repr`` never shows the password.
    """

    def __init__(
        self,
        uri: str,
        username: str,
        password: str | None,
        database: str | None,
        *,
        debug: bool = False,
    ) -> None:
        self.uri = uri
        self.username = username
        self._password = password
        self.database = database
        self.debug = debug
        self._driver: neo4j.Driver | None = None
        self._manager: CheckpointManager | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.username}@{self.uri} database={self.database or '(default)'}>"

    @property
    def where(self) -> str:
        """The server and database, for messages."""
        return f"{self.uri} (database {self.database or '(default)'})"

    @property
    def manager(self) -> CheckpointManager:
        """A :class:`CheckpointManager` on a driver that has verified it can log in."""
        if self._manager is None:
            password = self._password
            if password is None and _stdin_is_tty():
                password = click.prompt(
                    f"Neo4j password for {self.username}", hide_input=True, err=True
                )
            scheme = self.uri.partition("://")[0].lower()
            if scheme not in _BOLT_SCHEMES:
                raise click.BadParameter(
                    f"{self.uri!r} is not a Bolt URI: use bolt://host:7687 or neo4j://host:7687"
                    " (+s or +ssc for TLS)",
                    param_hint="'--uri'",
                )
            auth = (self.username, password) if password is not None else None
            try:
                driver = neo4j.GraphDatabase.driver(
                    self.uri,
                    auth=auth,
                    connection_timeout=10.0,
                    # Bounds the Bolt handshake too, so a server that is not Neo4j fails
                    # in seconds rather than the driver's default minute.
                    connection_acquisition_timeout=15.0,
                    max_transaction_retry_time=5.0,
                )
            except (ValueError, neo4j_errors.ConfigurationError) as exc:
                raise click.BadParameter(_one_line(str(exc)), param_hint="'--uri'") from None
            self._driver = driver
            # Fails fast on a server that is down or refuses the login, where the managed
            # transactions would retry for seconds first.
            driver.verify_connectivity()
            self._manager = CheckpointManager(driver, self.database)
        return self._manager

    def close(self) -> None:
        """Close the driver, if one was made."""
        if self._driver is not None:
            self._driver.close()
            self._driver = None
            self._manager = None


def _describe(exc: BaseException, conn: Connection) -> str:
    """One line saying what failed and what to check; never the password."""
    if isinstance(exc, neo4j_errors.ServiceUnavailable) and "handshake" in str(exc).lower():
        return (
            f"the server at {conn.uri} did not answer as Neo4j (no Bolt handshake): check"
            " that NEO4J_URI (or --uri) points at a Neo4j server's Bolt port"
        )
    return _one_line(str(translate_error(exc, conn.database)))


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


def connection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the connection options and ``--debug`` to a command, which gets a ``Connection``.

    Errors from the library and the driver become one line on stderr and exit code 1,
    unless ``--debug`` asks for the traceback.
    """

    @click.option(
        "--uri",
        envvar="NEO4J_URI",
        default=DEFAULT_URI,
        show_default=True,
        metavar="URI",
        help="Bolt URI of the server [env NEO4J_URI].",
    )
    @click.option(
        "--username",
        "-u",
        envvar="NEO4J_USERNAME",
        default="neo4j",
        show_default=True,
        help="User to log in as [env NEO4J_USERNAME].",
    )
    @click.option(
        "--password",
        "-p",
        envvar="NEO4J_PASSWORD",
        default=None,
        show_default=False,
        help="Password [env NEO4J_PASSWORD]; prompted for on a terminal when unset.",
    )
    @click.option(
        "--database",
        "-d",
        envvar="NEO4J_DATABASE",
        default=None,
        help="Database [env NEO4J_DATABASE]; the server's default when unset.",
    )
    @click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        uri: str,
        username: str,
        password: str | None,
        database: str | None,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        conn = Connection(uri, username, password, database or None, debug=debug)
        try:
            return func(conn, *args, **kwargs)
        except (GraphCheckpointError, neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
            if debug:
                raise
            raise click.ClickException(_describe(exc, conn)) from None
        finally:
            conn.close()

    return wrapper


# ------------------------------------------------------------------------- option helpers

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or combinations such as ``1d12h``."""
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


class _Duration(_DurationBase):
    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _run_id_argument(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.argument("run_id_arg", metavar="[RUN_ID]", required=False)(func)
    return click.option("--run-id", "run_id_opt", metavar="ID", help="The run's id.")(func)


def _pick_run_id(positional: str | None, option: str | None) -> str | None:
    if positional and option and positional != option:
        raise click.UsageError(f"two different run ids given: {positional} and {option}")
    return positional or option


def _require_run_id(positional: str | None, option: str | None) -> str:
    run_id = _pick_run_id(positional, option)
    if not run_id:
        raise click.UsageError("give the run id: --run-id ID (or as an argument)")
    return run_id


# -------------------------------------------------------------------------------- output


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    probe = Console(file=stream)
    width = min(probe.width, MAX_WIDTH) if probe.is_terminal else MAX_WIDTH
    return Console(file=stream, width=width, highlight=False, emoji=False)


def _emit(console: Console, renderable: RenderableType) -> None:
    """Print; off a terminal as plain text without the padding rich leaves on each line."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as capture:
        console.print(renderable)
    for line in capture.get().splitlines():
        click.echo(line.rstrip())


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _num(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _status_text(run: RunInfo) -> Text:
    status = run.display_status
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def _table(console: Console, *headers: str) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD if console.is_terminal else None,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if console.is_terminal else "",
    )
    for header in headers:
        table.add_column(header)
    return table


def _bar(console: Console, percent: float | None, width: int = 16) -> Text:
    if percent is None:
        return Text("-")
    filled = round(width * percent / 100)
    full, empty = ("█", "░") if console.is_terminal else ("#", ".")
    text = Text(full * filled, style="green")
    text.append(empty * (width - filled), style="dim")
    text.append(f" {percent:5.1f}%")
    return text


# ---------------------------------------------------------------------------- JSON shapes


def loader_json(progress: LoaderProgress) -> dict[str, Any]:
    """The JSON object of one loader's progress (documented in docs/cli.md).

    The keys are those of ``LoaderProgress.as_dict()``, with times as ISO 8601 text.
    """
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in progress.as_dict().items()
    }


def run_json(summary: RunSummary) -> dict[str, Any]:
    """The JSON object of one run with its loaders (documented in docs/cli.md)."""
    run = summary.run
    duration = run.duration
    throughput = summary.throughput
    return {
        "run_id": run.run_id,
        "status": run.status,
        "display_status": run.display_status,
        "stale": run.stale,
        "description": run.description,
        "config": run.config,
        "started_at": _iso(run.started_at),
        "updated_at": _iso(run.updated_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": None if duration is None else round(duration.total_seconds(), 3),
        "error": run.error,
        "host": run.host,
        "pid": run.pid,
        "resumes": run.resumes,
        "processed": summary.processed,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "throughput_per_second": None if throughput is None else round(throughput, 1),
        "loaders": [loader_json(p) for p in summary.loaders],
    }


def failure_json(item: FailedItemInfo) -> dict[str, Any]:
    """The JSON object of one failed item (documented in docs/cli.md)."""
    return {
        "run_id": item.run_id,
        "loader": item.loader,
        "item_id": item.item_id,
        "attempts": item.attempts,
        "error_type": item.error_type,
        "error": item.error,
        "updated_at": _iso(item.updated_at),
    }


def _candidate_json(candidate: CleanupCandidate) -> dict[str, Any]:
    run = candidate.run
    return {
        "run_id": run.run_id,
        "status": run.status,
        "display_status": run.display_status,
        "description": run.description,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "loaders": list(candidate.loaders),
        "items": candidate.items,
    }


def resume_hint(run: RunInfo) -> str | None:
    """The Python that resumes ``run``, or None when it needs no resuming."""
    if run.status == "completed" or run.status == "deleting" or admin.is_live(run):
        return None
    return f"manager.resume_run({json.dumps(run.run_id)})"


# --------------------------------------------------------------------------------- the CLI


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="graph-ckpt")
def main() -> None:
    """Inspect and clean up graph-checkpoint runs stored in Neo4j.

    Connection options go after the command (graph-ckpt list --uri bolt://...) and default
    to NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD and NEO4J_DATABASE.
    """


@main.command("list")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    help="Only runs with this status ('running' includes stale runs).",
)
@click.option("--loader", metavar="NAME", help="Only runs that have a loader of this name.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@connection_options
def list_command(
    conn: Connection, status: str | None, loader: str | None, limit: int | None, as_json: bool
) -> None:
    """List runs, newest first, with per-loader processed/failed/total."""
    runs = admin.list_runs(conn.manager, status=status, loader=loader, limit=limit)
    if as_json:
        _echo_json({"runs": [run_json(s) for s in runs]})
        return
    console = _console()
    if not runs:
        filtered = " matching the filters" if status or loader else ""
        click.echo(f"No runs{filtered} in {conn.where}.")
        return
    table = _table(
        console,
        "RUN ID",
        "STATUS",
        "STARTED (UTC)",
        "DURATION",
        "DESCRIPTION",
        "LOADER done/failed/total",
    )
    for column in (0, 1, 2, 3, 5):
        table.columns[column].no_wrap = True
    table.columns[4].overflow = "fold"
    for summary in runs:
        run = summary.run
        table.add_row(
            Text(run.run_id),
            _status_text(run),
            _when(run.started_at),
            _duration(run.duration),
            Text(run.description or ""),
            _loaders_cell(summary),
        )
    _emit(console, table)


def _loaders_cell(summary: RunSummary) -> Text:
    text = Text()
    for i, p in enumerate(summary.loaders):
        if i:
            text.append("\n")
        text.append(f"{p.loader} {_num(p.processed)}/")
        text.append(_num(p.failed), style="red" if p.failed else "")
        text.append(f"/{_num(p.total)}")
    return text or Text("-")


@main.command("show")
@_run_id_argument
@click.option("--latest", is_flag=True, help="Show the newest run.")
@click.option(
    "--failures",
    "failure_count",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the most recent failed items to show.",
)
@click.option("--watch", is_flag=True, help="Refresh until the run is no longer running.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes with --watch.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@connection_options
def show_command(
    conn: Connection,
    run_id_arg: str | None,
    run_id_opt: str | None,
    latest: bool,
    failure_count: int,
    watch: bool,
    interval: float,
    as_json: bool,
) -> None:
    """Show one run: config, timing, throughput, loaders, failures, how to resume."""
    run_id = _pick_run_id(run_id_arg, run_id_opt)
    if run_id and latest:
        raise click.UsageError("give a run id or --latest, not both")
    if not run_id and not latest:
        raise click.UsageError("give a run id (show RUN_ID or --run-id ID) or --latest")
    if watch and as_json:
        raise click.UsageError("--watch and --json cannot be combined")
    manager = conn.manager
    if run_id is None:
        run_id = admin.latest_run_id(manager)
    details = admin.run_details(manager, run_id, failures=failure_count)
    if as_json:
        _echo_json(
            {
                "run": run_json(details),
                "recent_failures": [failure_json(f) for f in details.failures],
                "resume": resume_hint(details.run),
            }
        )
        return
    console = _console()
    if not watch:
        _emit(console, _render_details(console, details))
        return
    _watch(console, manager, run_id, failure_count, interval, details)


def _watch(
    console: Console,
    manager: CheckpointManager,
    run_id: str,
    failure_count: int,
    interval: float,
    details: RunDetails,
) -> None:
    def fetch() -> RunDetails:
        return admin.run_details(manager, run_id, failures=failure_count)

    try:
        if console.is_terminal:
            with Live(
                _render_details(console, details), console=console, auto_refresh=False
            ) as live:
                while admin.is_live(details.run):
                    time.sleep(interval)
                    details = fetch()
                    live.update(_render_details(console, details), refresh=True)
            return
        # Off a terminal each refresh is printed in full, after a separating line.
        _emit(console, _render_details(console, details))
        while admin.is_live(details.run):
            time.sleep(interval)
            details = fetch()
            click.echo(f"--- {datetime.now():%H:%M:%S}")
            _emit(console, _render_details(console, details))
    except KeyboardInterrupt:  # Ctrl-C ends watching, not the run
        pass


def _render_details(console: Console, details: RunDetails) -> RenderableType:
    run = details.run
    parts: list[RenderableType] = []
    title = Text(run.run_id, style="bold")
    title.append("  ")
    title.append_text(_status_text(run))
    parts.append(title)

    facts = Table(box=None, show_header=False, pad_edge=False, show_edge=False)
    facts.add_column(style="dim" if console.is_terminal else "", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("description", Text(run.description or "-"))
    config = "-" if run.config is None else json.dumps(run.config, sort_keys=True)
    facts.add_row("config", Text(config))
    facts.add_row("started", f"{_when(run.started_at, seconds=True)} UTC")
    if run.finished_at is not None:
        facts.add_row("finished", f"{_when(run.finished_at, seconds=True)} UTC")
    facts.add_row("last update", f"{_when(run.updated_at, seconds=True)} UTC")
    facts.add_row("duration", _duration(run.duration))
    throughput = details.throughput
    total_items = details.processed + details.failed
    facts.add_row(
        "throughput",
        "-" if throughput is None else f"{throughput:,.0f} items/s ({total_items:,} items)",
    )
    process = f"pid {run.pid or '?'} on {run.host or '?'}"
    if run.resumes:
        process += f", resumed {run.resumes} time{'s' if run.resumes != 1 else ''}"
    facts.add_row("process", process)
    if run.error:
        facts.add_row("error", Text(run.error, style="red"))
    parts.append(facts)

    parts.append(Text(""))
    if details.loaders:
        loaders = _table(
            console, "LOADER", "STATUS", "PROCESSED", "FAILED", "SKIPPED", "TOTAL", "PROGRESS"
        )
        for column in loaders.columns[2:6]:
            column.justify = "right"
        for p in details.loaders:
            loaders.add_row(
                Text(p.loader),
                p.status,
                _num(p.processed),
                Text(_num(p.failed), style="red" if p.failed else ""),
                _num(p.skipped),
                _num(p.total),
                _bar(console, p.percent),
            )
        parts.append(loaders)
    else:
        parts.append(Text("No loaders have started in this run."))

    parts.append(Text(""))
    if details.failures:
        shown = len(details.failures)
        parts.append(
            Text(
                f"Most recent failed items ({shown} of {details.failed:,};"
                f" all of them: graph-ckpt failures {run.run_id}):"
            )
        )
        failures = _table(console, "LOADER", "ITEM", "TRIES", "ERROR")
        failures.columns[3].overflow = "fold"
        for item in details.failures:
            error = f"{item.error_type or 'Error'}: {_one_line(item.error or '')}"
            failures.add_row(
                Text(item.loader),
                Text(str(item.item_id)),
                str(item.attempts),
                Text(error, style="red"),
            )
        parts.append(failures)
    elif details.failed:
        parts.append(Text(f"{details.failed:,} failed items: graph-ckpt failures {run.run_id}"))
    else:
        parts.append(Text("No failed items."))

    parts.append(Text(""))
    parts.append(_next_step(run))
    return Group(*parts)


def _next_step(run: RunInfo) -> Text:
    hint = resume_hint(run)
    if run.status == "deleting":
        return Text(
            f"A delete of this run was interrupted: finish it with graph-ckpt delete {run.run_id}"
        )
    if admin.is_live(run):
        return Text(
            f"Still running as pid {run.pid or '?'} on {run.host or '?'}."
            f" Follow it with: graph-ckpt show {run.run_id} --watch"
        )
    if hint is None:
        return Text("The run is complete: nothing to resume.")
    why = {
        "stale": "its process stopped without closing it",
        "failed": "it failed",
        "interrupted": "it was interrupted",
    }.get(run.display_status, f"it is {run.display_status}")
    text = Text(
        f"The run is incomplete ({why}). To resume it, run the same load again:"
        " manager.run() with the same config picks it up. Or resume it by id:\n"
    )
    text.append(f"    {hint}", style="bold")
    return text


@main.command("failures")
@_run_id_argument
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (streamed).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line.")
@connection_options
def failures_command(
    conn: Connection,
    run_id_arg: str | None,
    run_id_opt: str | None,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """Stream every failed item of a run, one line each, for piping.

    Lines are tab-separated: loader, item id, attempts, error type, error (on one line).
    """
    run_id = _require_run_id(run_id_arg, run_id_opt)
    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl cannot be combined")
    items = admin.iter_failures(conn.manager, run_id)
    # Closed here, while the driver is still open, also when the reader stops early.
    with contextlib.closing(items):
        try:
            if as_json:
                _stream_json_document(run_id, items)
            elif as_jsonl:
                for item in items:
                    click.echo(json.dumps(failure_json(item), ensure_ascii=False))
            else:
                for item in items:
                    click.echo(
                        "\t".join(
                            (
                                item.loader,
                                str(item.item_id),
                                str(item.attempts),
                                item.error_type or "",
                                _one_line(item.error or ""),
                            )
                        )
                    )
        except BrokenPipeError:
            # The reader (head, grep -m) has what it wanted; stop without a complaint.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None


def _stream_json_document(run_id: str, items: Iterable[FailedItemInfo]) -> None:
    # Written piece by piece so the failures never need to be in memory at once.
    click.echo(f'{{"run_id": {json.dumps(run_id)}, "failures": [', nl=False)
    first = True
    for item in items:
        click.echo(
            ("\n  " if first else ",\n  ") + json.dumps(failure_json(item), ensure_ascii=False),
            nl=False,
        )
        first = False
    click.echo("]}" if first else "\n]}")


@main.command("delete")
@_run_id_argument
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete even a run that is still running.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
@connection_options
def delete_command(
    conn: Connection,
    run_id_arg: str | None,
    run_id_opt: str | None,
    yes: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Delete one run with its processed items, in bounded transactions."""
    run_id = _require_run_id(run_id_arg, run_id_opt)
    manager = conn.manager
    details = admin.run_details(manager, run_id, failures=0)
    items = details.processed + details.failed
    if not yes:
        click.confirm(
            f"Delete run {run_id} ({details.run.display_status}, {items:,} items)?",
            abort=True,
            err=True,
        )
    # Off a terminal the result line below says it all; a per-run line would repeat it.
    with _DeleteReporter(lines=False) as reporter:
        result = admin.delete_run(manager, run_id, force=force, on_progress=reporter.update)
    if as_json:
        _echo_json(
            {
                "run_id": result.run_id,
                "items": result.items,
                "elapsed_seconds": round(result.elapsed, 3),
            }
        )
    else:
        click.echo(f"Deleted run {run_id}: {result.items:,} items in {result.elapsed:.1f}s.")


@main.command("cleanup")
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    metavar="N",
    help="Keep the newest N runs (per loader name with --per-loader).",
)
@click.option("--per-loader", is_flag=True, help="Count --keep per loader name.")
@click.option(
    "--older-than",
    type=_Duration(),
    metavar="DURATION",
    help="Only delete runs whose last activity is older than this (30d, 12h, 2w).",
)
@click.option(
    "--include-running",
    is_flag=True,
    help="Also delete runs that are running with a live heartbeat.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@connection_options
def cleanup_command(
    conn: Connection,
    keep: int | None,
    per_loader: bool,
    older_than: timedelta | None,
    include_running: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Delete old runs with their items, keeping the newest ones.

    Running runs with a live heartbeat are never deleted unless --include-running; stale
    ones (whose process died) are.
    """
    if keep is None and older_than is None:
        raise click.UsageError("give --keep N, --older-than DURATION, or both")
    if per_loader and keep is None:
        raise click.UsageError("--per-loader needs --keep N")
    started = time.monotonic()
    with _DeleteReporter(enabled=not dry_run) as reporter:
        result = admin.cleanup(
            conn.manager,
            keep=keep,
            per_loader=per_loader,
            older_than=older_than,
            include_running=include_running,
            dry_run=dry_run,
            on_progress=reporter.update,
        )
    elapsed = time.monotonic() - started
    if as_json:
        _echo_json(
            {
                "dry_run": result.dry_run,
                "runs": [_candidate_json(c) for c in result.selected],
                "items": result.items,
                "kept": [c.run.run_id for c in result.kept],
                "protected": [c.run.run_id for c in result.protected],
                "elapsed_seconds": None if dry_run else round(elapsed, 3),
            }
        )
        return
    console = _console()
    if not result.selected:
        click.echo(f"Nothing to delete ({len(result.kept)} runs kept).")
    else:
        count = len(result.selected)
        noun = "run" if count == 1 else "runs"
        if dry_run:
            click.echo(f"Would delete {count} {noun} ({result.items:,} items):")
        else:
            rate = result.items / elapsed if elapsed > 0 else 0.0
            click.echo(
                f"Deleted {count} {noun} ({result.items:,} items) in {elapsed:.1f}s"
                f" ({rate:,.0f} items/s):"
            )
        table = _table(console, "RUN ID", "STATUS", "STARTED (UTC)", "ITEMS", "LOADERS")
        table.columns[0].no_wrap = True
        table.columns[3].justify = "right"
        for c in result.selected:
            table.add_row(
                Text(c.run.run_id),
                _status_text(c.run),
                _when(c.run.started_at),
                _num(c.items),
                Text(", ".join(c.loaders) or "-"),
            )
        _emit(console, table)
        click.echo(f"Kept {len(result.kept)} run{'' if len(result.kept) == 1 else 's'}.")
    if result.protected:
        ids = ", ".join(c.run.run_id for c in result.protected)
        click.echo(f"Left running runs alone: {ids} (--include-running deletes them too).")


class _DeleteReporter:
    """Shows delete progress on stderr: a bar on a terminal, else (``lines``) a line per run."""

    def __init__(self, enabled: bool = True, lines: bool = True) -> None:
        self.enabled = enabled
        self.lines = lines
        self.console = _console(stderr=True)
        self._progress: Any = None
        self._task: Any = None
        self._run_id: str | None = None

    def __enter__(self) -> _DeleteReporter:
        if self.enabled and self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

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
            if event.run_id != self._run_id:
                self._run_id = event.run_id
                self._task = self._progress.add_task(event.run_id, total=event.expected)
            self._progress.update(self._task, completed=event.deleted)
            if event.done:
                self._progress.remove_task(self._task)
        elif event.done and self.lines:
            rate = event.deleted / event.elapsed if event.elapsed > 0 else 0.0
            click.echo(
                f"deleted {event.run_id}: {event.deleted:,} items in"
                f" {event.elapsed:.1f}s ({rate:,.0f} items/s)",
                err=True,
            )


@main.command("init")
@connection_options
def init_command(conn: Connection) -> None:
    """Create the checkpoint constraints and indexes (cypher/schema.cypher) if missing."""
    conn.manager.ensure_schema()
    statements = _cypher.schema_statements()
    constraints = sum(1 for s in statements if s.upper().startswith("CREATE CONSTRAINT"))
    click.echo(
        f"Schema in place on {conn.where}: {constraints} constraints and"
        f" {len(statements) - constraints} indexes."
    )
