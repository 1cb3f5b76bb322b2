"""``graph-ckpt`` usage errors, help and version: no server anywhere, nothing connects.

Every case here is decided before a connection would be made, so the driver is replaced
by one that fails the test if it is ever created.
"""

from __future__ import annotations

from typing import Any

import neo4j
import pytest
from click.testing import CliRunner

from graph_checkpoint import __version__
from graph_checkpoint.cli import main
from graph_checkpoint.cli.options import STATUS_CHOICES
from graph_checkpoint.cli.shapes import LoaderJSON
from graph_checkpoint.model import LoaderProgress, RunStatus

COMMANDS = ("list", "show", "failures", "delete", "cleanup", "compact", "init")
ENV_VARS = ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE")


@pytest.fixture(autouse=True)
def no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the command gets as far as making a driver."""

    def refuse(*args: Any, **kwargs: Any) -> neo4j.Driver:
        raise AssertionError("the command tried to connect")

    monkeypatch.setattr(neo4j.GraphDatabase, "driver", refuse)


def invoke(*args: str) -> tuple[int, str]:
    """Run ``graph-ckpt ARGS`` without the NEO4J_* environment; (exit code, output)."""
    runner = CliRunner()
    result = runner.invoke(
        main,
        list(args),
        env=dict.fromkeys(ENV_VARS),
        prog_name="graph-ckpt",
        terminal_width=100,
    )
    # Help wraps at the width; the text is checked with its whitespace collapsed.
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "exit_code", "expected"),
    [
        (["failures"], 2, "give a run id (failures RUN_ID or --run-id ID) or --latest"),
        (["failures", "--loader", "people"], 2, "give a run id (failures RUN_ID or --run-id"),
        (["failures", "run_1", "--latest"], 2, "give a run id or --latest, not both"),
        (["failures", "--run-id", "run_1", "--latest"], 2, "give a run id or --latest, not both"),
        (["failures", "--latest", "--json", "--jsonl"], 2, "--json and --jsonl cannot be combined"),
        (["delete", "--yes"], 2, "give the run id: --run-id ID (or as an argument)"),
        (["show"], 2, "give a run id (show RUN_ID or --run-id ID) or --latest"),
        (["show", "run_1", "--latest"], 2, "give a run id or --latest, not both"),
        (["show", "--run-id", "run_1", "--latest"], 2, "give a run id or --latest, not both"),
        (["show", "run_1", "--run-id", "run_2"], 2, "two different run ids given: run_1 and run_2"),
        (["failures", "run_1", "--json", "--jsonl"], 2, "--json and --jsonl cannot be combined"),
        (["show", "run_1", "--watch", "--json"], 2, "--watch and --json cannot be combined"),
        (["show", "run_1", "--interval", "0"], 2, "Invalid value for '--interval'"),
        (["cleanup"], 2, "give --keep N, --older-than DURATION, or both"),
        (["cleanup", "--dry-run"], 2, "give --keep N, --older-than DURATION, or both"),
        (["cleanup", "--per-loader", "--older-than", "1d"], 2, "--per-loader needs --keep N"),
        (["cleanup", "--older-than", "3x"], 2, "'3x' is not a duration"),
        (["cleanup", "--older-than", "30 days"], 2, "'30 days' is not a duration"),
        (["cleanup", "--keep", "-1"], 2, "Invalid value for '--keep'"),
        (["cleanup", "--include-resumable"], 2, "give --keep N, --older-than DURATION, or both"),
        (["cleanup", "--help"], 0, "--include-resumable Also delete incomplete runs that"),
        (["failures", "--help"], 0, "--loader NAME Only the failed items of this loader."),
        (["compact"], 2, "give a run id (compact RUN_ID or --run-id ID) or --all"),
        (["compact", "run_1", "--all"], 2, "give a run id or --all, not both"),
        (["list", "--limit", "0"], 2, "Invalid value for '--limit'"),
        (["list", "--status", "sleeping"], 2, "Invalid value for '--status'"),
        (
            ["list", "--uri", "http://localhost:7474", "--password", "x"],
            2,
            "Invalid value for '--uri': 'http://localhost:7474' is not a Bolt URI",
        ),
        (["nonsense"], 2, "No such command 'nonsense'"),
        (["list", "--nonsense"], 2, "No such option"),
        (["--version"], 0, f"graph-ckpt, version {__version__}"),
        (["--help"], 0, "Inspect and clean up graph-checkpoint runs stored in Neo4j."),
        (["-h"], 0, "Inspect and clean up graph-checkpoint runs stored in Neo4j."),
    ],
)
def test_usage(args: list[str], exit_code: int, expected: str) -> None:
    code, output = invoke(*args)
    assert code == exit_code, output
    assert expected in output
    if exit_code == 2:
        assert "Usage: graph-ckpt" in output


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_the_environment_variables(command: str) -> None:
    code, output = invoke(command, "--help")
    assert code == 0, output
    assert f"Usage: graph-ckpt {command} [OPTIONS]" in output
    for var in ENV_VARS:
        assert f"env var: {var}" in output
    assert "default: neo4j://localhost:7687" in output


def test_status_choices_are_every_run_status() -> None:
    assert sorted(STATUS_CHOICES) == sorted(RunStatus)
    code, output = invoke("list", "--help")
    assert code == 0, output
    assert (
        "--status [running|completed|completed_with_failures|failed|interrupted|stale|deleting]"
        in output
    )


def test_loader_json_has_the_keys_of_as_dict() -> None:
    # docs/cli.md promises a loader's JSON object has the keys of LoaderProgress.as_dict().
    assert set(LoaderJSON.__annotations__) == set(LoaderProgress.not_started("x").as_dict())
