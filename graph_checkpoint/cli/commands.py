"""The ``graph-ckpt`` click group and its commands: list, show, failures, delete, cleanup,
compact, init."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Mapping
from datetime import timedelta

import click

from .. import __version__, _cypher, admin
from ..admin import RunDetails
from ..model import RunStatus
from . import render, shapes
from .connection import Connection, connection_options
from .options import (
    DurationType,
    pick_run_id,
    pick_run_id_or_latest,
    require_run_id,
    run_id_argument,
    status_option,
)

__all__ = [
    "cleanup_command",
    "compact_command",
    "delete_command",
    "failures_command",
    "init_command",
    "list_command",
    "main",
    "serve_command",
    "show_command",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="graph-ckpt")
def main() -> None:
    """Inspect and clean up graph-checkpoint runs stored in Neo4j.

    Connection options go after the command (graph-ckpt list --uri bolt://...) and default
    to NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD and NEO4J_DATABASE.
    """


def _echo_json(document: Mapping[str, object]) -> None:
    click.echo(shapes.dumps(document, indent=2))


@main.command("list")
@status_option
@click.option("--loader", metavar="NAME", help="Only runs that have a loader of this name.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@connection_options
def list_command(
    conn: Connection,
    status: RunStatus | None,
    loader: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List runs, newest first, with per-loader processed/failed/total.

    Piped, it prints one line per run, nothing wrapped or cut: columns are two or more
    spaces apart and no cell holds two spaces in a row (awk -F '  +' splits them).
    """
    runs = admin.list_runs(conn.manager, status=status, loader=loader, limit=limit)
    if as_json:
        _echo_json(shapes.list_json(runs))
        return
    if not runs:
        filtered = " matching the filters" if status or loader else ""
        click.echo(f"No runs{filtered} in {conn.where}.")
        return
    render.print_runs(render.make_console(), runs)


@main.command("show")
@run_id_argument
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
    run_id = pick_run_id_or_latest("show", run_id_arg, run_id_opt, latest)
    if watch and as_json:
        raise click.UsageError("--watch and --json cannot be combined")
    manager = conn.manager
    shown = run_id or admin.latest_run_id(manager)

    def fetch() -> RunDetails:
        return admin.run_details(manager, shown, failures=failure_count)

    details = fetch()
    if as_json:
        _echo_json(shapes.show_json(details))
        return
    console = render.make_console()
    if watch:
        render.watch_details(console, details, fetch, interval)
    else:
        render.emit(console, render.details_view(console, details))


@main.command("failures")
@run_id_argument
@click.option("--latest", is_flag=True, help="The newest run's failed items.")
@click.option("--loader", metavar="NAME", help="Only the failed items of this loader.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (streamed).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Print one JSON object per line.")
@connection_options
def failures_command(
    conn: Connection,
    run_id_arg: str | None,
    run_id_opt: str | None,
    latest: bool,
    loader: str | None,
    as_json: bool,
    as_jsonl: bool,
) -> None:
    """Stream every failed item of a run, one line each, for piping.

    Lines are tab-separated: loader, item id, attempts, error type, error (on one line).
    """
    given = pick_run_id_or_latest("failures", run_id_arg, run_id_opt, latest)
    if as_json and as_jsonl:
        raise click.UsageError("--json and --jsonl cannot be combined")
    manager = conn.manager
    run_id = given or admin.latest_run_id(manager)
    items = admin.iter_failures(manager, run_id, loader)
    # Closed here, while the driver is still open, also when the reader stops early.
    with contextlib.closing(items):
        try:
            if as_json:
                for chunk in shapes.failures_json_chunks(run_id, items):
                    click.echo(chunk, nl=False)
                click.echo()
            elif as_jsonl:
                for item in items:
                    click.echo(shapes.dumps(shapes.failure_json(item)))
            else:
                for item in items:
                    fields = (
                        item.loader,
                        str(item.item_id),
                        str(item.attempts),
                        item.error_type or "",
                        render.one_line(item.error or ""),
                    )
                    click.echo("\t".join(fields))
        except BrokenPipeError:
            # The reader (head, grep -m) has what it wanted; stop without a complaint.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(0) from None


@main.command("delete")
@run_id_argument
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
    run_id = require_run_id(run_id_arg, run_id_opt)
    manager = conn.manager
    details = admin.run_details(manager, run_id, failures=0)
    items = details.processed + details.failed
    if not yes:
        click.confirm(
            f"Delete run {run_id} ({admin.display_status(details.run)}, {items:,} items)?",
            abort=True,
            err=True,
        )
    # Off a terminal the result line below says it all; a line for the run would repeat it.
    with render.DeleteReporter(line_per_run=False) as reporter:
        result = admin.delete_run(manager, run_id, force=force, on_progress=reporter.update)
    if as_json:
        _echo_json(shapes.delete_json(result))
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
    type=DurationType(),
    metavar="DURATION",
    help="Only delete runs whose last activity is older than this (30d, 12h, 2w).",
)
@click.option(
    "--include-running",
    is_flag=True,
    help="Also delete runs that are running with a live heartbeat.",
)
@click.option(
    "--include-resumable",
    is_flag=True,
    help="Also delete incomplete runs that manager.run() would resume for their config.",
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
    include_resumable: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Delete old runs with their items, keeping the newest ones.

    Running runs with a live heartbeat are never deleted unless --include-running; stale
    ones (whose process died) are. An incomplete run that manager.run() would resume for
    its config (the newest of that config) is kept unless --include-resumable.
    """
    if keep is None and older_than is None:
        raise click.UsageError("give --keep N, --older-than DURATION, or both")
    if per_loader and keep is None:
        raise click.UsageError("--per-loader needs --keep N")
    started = time.monotonic()
    with render.DeleteReporter(enabled=not dry_run) as reporter:
        result = admin.cleanup(
            conn.manager,
            keep=keep,
            per_loader=per_loader,
            older_than=older_than,
            include_running=include_running,
            include_resumable=include_resumable,
            dry_run=dry_run,
            on_progress=reporter.update,
        )
    elapsed = time.monotonic() - started
    if as_json:
        _echo_json(shapes.cleanup_json(result, None if dry_run else elapsed))
        return
    kept = len(result.kept)
    if not result.selected:
        click.echo(f"Nothing to delete ({kept} run{'' if kept == 1 else 's'} kept).")
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
        console = render.make_console()
        render.emit(console, render.cleanup_table(console, result.selected))
        click.echo(f"Kept {kept} run{'' if kept == 1 else 's'}.")
    if result.protected:
        ids = ", ".join(candidate.run.run_id for candidate in result.protected)
        click.echo(f"Left running runs alone: {ids} (--include-running deletes them too).")
    if result.resumable:
        ids = ", ".join(candidate.run.run_id for candidate in result.resumable)
        click.echo(f"Left resumable runs alone: {ids} (--include-resumable deletes them too).")


@main.command("compact")
@run_id_argument
@click.option("--all", "all_runs", is_flag=True, help="Compact every run.")
@click.option("--loader", metavar="NAME", help="Only this loader's records (with a run id).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@connection_options
def compact_command(
    conn: Connection,
    run_id_arg: str | None,
    run_id_opt: str | None,
    all_runs: bool,
    loader: str | None,
    as_json: bool,
) -> None:
    """Compact the processed records of a run, or of every run with --all.

    Adjacent int ids are merged into ranges and string ids packed into sorted chunks, in
    bounded transactions; failed items stay as they are. Lookups, resumes, show and failures
    answer as before, and it is safe while loads run. For runs made before loads compacted
    their own records.
    """
    run_id = pick_run_id(run_id_arg, run_id_opt)
    if run_id and all_runs:
        raise click.UsageError("give a run id or --all, not both")
    if not run_id and not all_runs:
        raise click.UsageError("give a run id (compact RUN_ID or --run-id ID) or --all")
    if loader and all_runs:
        raise click.UsageError("--loader needs a run id, not --all")
    manager = conn.manager
    if run_id:
        results = [admin.compact_run(manager, run_id, loader=loader)]
    else:
        results = admin.compact_all(manager)
    if as_json:
        _echo_json(shapes.compact_json(results))
        return
    if not results:
        click.echo(f"No runs to compact in {conn.where}.")
        return
    for result in results:
        for line in render.compact_lines(result):
            click.echo(line)
    if len(results) > 1:
        before = sum(r.records_before for r in results)
        after = sum(r.records_after for r in results)
        click.echo(f"{len(results)} runs: {before:,} records -> {after:,}.")


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


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port."
)
@click.option(
    "--token",
    envvar="GRAPH_CKPT_TOKEN",
    metavar="TOKEN",
    help="Every request must carry it (default: GRAPH_CKPT_TOKEN; none: no check).",
)
@click.option(
    "--finished-runs",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Finished runs /metrics exports besides the running ones.",
)
@connection_options
def serve_command(
    conn: Connection, host: str, port: int, token: str | None, finished_runs: int
) -> None:
    """Serve the web dashboard and /metrics (Prometheus) until Ctrl-C. Read-only.

    Needs the dashboard extra: pip install "graph-checkpoint[dashboard]". Listens on
    127.0.0.1 unless --host says otherwise; with --token (or GRAPH_CKPT_TOKEN) every request
    must carry it, as 'Authorization: Bearer TOKEN' or, in a browser, ?token=TOKEN once.
    """
    try:
        import uvicorn

        from ..dashboard import create_app
    except ImportError:
        raise click.ClickException(
            'graph-ckpt serve needs the dashboard extra: pip install "graph-checkpoint[dashboard]"'
        ) from None
    manager = conn.manager  # connects now: a wrong password stops here, in one line
    if host not in _LOOPBACK and not token:
        click.echo(
            f"warning: listening on {host} without --token: anyone who reaches this port"
            " sees your runs",
            err=True,
        )
    app = create_app(manager, token=token or None, finished_runs=finished_runs)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Dashboard of {conn.where}: http://{shown}:{port}/ (metrics at /metrics)")
    click.echo("Ctrl-C stops it.")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
