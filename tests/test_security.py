"""Security: query text is never built from values, and credentials are never shown.

* Every query graph-checkpoint runs is a fixed text (from ``cypher/`` or a literal) with the
  values passed as parameters. The first test parses every module of the package and fails
  on any string formatting (f-string, ``%``, ``.format``, ``+``, ``join``) that builds query
  text, or that is handed to ``run``/``execute_query``/``Query``.
* A failed login, however it happens (library, command line, with ``--debug``), never shows
  the password: not in the error, its chain or traceback, any log record at DEBUG (the
  driver's included), nor the command line's output.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
import traceback
import uuid
from pathlib import Path

import neo4j
import pytest

from graph_checkpoint import CheckpointManager, ConnectionFailedError
from graph_checkpoint.pytest_plugin import Neo4jServer

PACKAGE = Path(__file__).resolve().parent.parent / "graph_checkpoint"

# Cypher clauses as they appear in query text (not in prose such as "CREATE DATABASE").
CYPHER = re.compile(
    r"\b(MATCH|MERGE|CREATE|OPTIONAL MATCH)\s*\("
    r"|\bUNWIND\s+\$?\w+\s+AS\b"
    r"|\b(DETACH\s+)?DELETE\s+\w+\s*($|\n|RETURN|WITH)"
    r"|\bRETURN\s+\w+(\.\w+|\s*\{)"
    r"|\bCALL\s*(\(|\{|\w+\.\w+\()"
    r"|\b(SET|WHERE)\s+\w+\.\w+\s*(=|IS|IN|<|>)"
    r"|\b(SHOW|DROP)\s+(CONSTRAINT|INDEX)"
)
QUERY_CALLS = {"run", "execute_query", "Query", "TxQuery"}


def _constant_text(node: ast.AST) -> str:
    """The literal parts of a string expression, joined (placeholders dropped)."""
    return " ".join(
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def _is_formatted(node: ast.AST) -> bool:
    """True for an expression that builds a string from pieces at run time."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return bool(_constant_text(node)) or _is_formatted(node.left) or _is_formatted(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in {"format", "join", "replace", "format_map"} and bool(
            _constant_text(node)
        )
    return False


def formatted_cypher(source: str, filename: str) -> list[str]:
    """Places in ``source`` where query text is built by string formatting."""
    tree = ast.parse(source, filename)
    problems: list[str] = []
    # Names assigned a formatted string anywhere in the module, so `q = f"..."; run(q)` counts.
    formatted_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        and node.value is not None
        and _is_formatted(node.value)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if _is_formatted(node) and CYPHER.search(_constant_text(node)):
            problems.append(f"{where}: query text built by formatting")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in QUERY_CALLS:
                continue
            args = node.args[:1] + [k.value for k in node.keywords if k.arg in ("query", "text")]
            for arg in args:
                if _is_formatted(arg) or (isinstance(arg, ast.Name) and arg.id in formatted_names):
                    problems.append(f"{where}: formatted text passed to {name}()")
    return problems


def test_no_query_text_is_built_by_string_formatting() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) >= 10, "the package was not found"
    problems = [
        problem
        for module in modules
        for problem in formatted_cypher(module.read_text("utf-8"), module.name)
    ]
    assert not problems, "query text must be fixed, with values as parameters:\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize(
    "source",
    [
        "session.run(f\"MATCH (r:CheckpointRun {{run_id: '{run_id}'}}) RETURN r\")",
        "session.run(\"MATCH (r {id: '%s'}) RETURN r\" % run_id)",
        "session.run(\"MATCH (r {id: '{}'}) RETURN r\".format(run_id))",
        'tx.run("MATCH (n:" + label + ") DETACH DELETE n")',
        'q = f"CREATE (:{label} {{id: 1}})"\ntx.run(q)',
        'driver.execute_query(query=" ".join(["MATCH (n)", "RETURN", name]))',
        'text = "UNWIND $rows AS r " + extra',
    ],
)
def test_the_check_finds_formatted_queries(source: str) -> None:
    """The grep above is only worth something if it catches the usual ways of doing it."""
    assert formatted_cypher(source, "example.py")


@pytest.mark.parametrize(
    "source",
    [
        'session.run("MATCH (r:CheckpointRun {run_id: $run_id}) RETURN r", run_id=run_id)',
        'tx.run(_cypher.query("check_items"), params)',
        'raise ConnectionFailedError(f"{db} does not exist: create it with CREATE DATABASE")',
        'manager.run(description=f"{name} (manual checkpoint)")',
    ],
)
def test_the_check_allows_parameters_and_prose(source: str) -> None:
    assert formatted_cypher(source, "example.py") == []


# --- credentials --------------------------------------------------------------------------


@pytest.fixture
def secret() -> str:
    """A password that appears nowhere else, so any occurrence in output is a leak."""
    return f"Pw-{uuid.uuid4().hex}"


@pytest.fixture
def bad_user() -> str:
    # An unknown user, not neo4j: repeated failed logins lock a user out for a few seconds,
    # which would break the other tests that share the server.
    return f"nobody_{uuid.uuid4().hex[:8]}"


def test_failed_login_never_logs_or_raises_the_password(
    neo4j_server: Neo4jServer, caplog: pytest.LogCaptureFixture, secret: str, bad_user: str
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the driver's own included
    for name in ("neo4j", "graph_checkpoint"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        with neo4j.GraphDatabase.driver(neo4j_server.uri, auth=(bad_user, secret)) as driver:
            manager = CheckpointManager(driver, neo4j_server.database)
            with pytest.raises(ConnectionFailedError, match="refused the credentials") as caught:
                manager.run(description="login test")
            with pytest.raises(ConnectionFailedError):
                manager.get_run("anything")
    finally:
        for name in ("neo4j", "graph_checkpoint"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    shown = "".join(traceback.format_exception(caught.value))  # with the chained driver error
    assert secret not in shown and secret not in repr(caught.value)
    assert caplog.records, "nothing was logged: the capture did not work"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    # The driver did log the login attempt at DEBUG (masked), so the check saw real traffic.
    assert bad_user in logged or "HELLO" in logged or "LOGON" in logged
    assert secret not in logged
    assert secret not in caplog.text


def _cli(
    server: Neo4jServer, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    return subprocess.run(
        [sys.executable, "-m", "graph_checkpoint", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**clean, **(env or {})},
    )


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("via", ["option", "env"])
def test_cli_failed_login_never_prints_the_password(
    neo4j_server: Neo4jServer, secret: str, bad_user: str, debug: bool, via: str
) -> None:
    args = ["list", "--uri", neo4j_server.uri, "--username", bad_user]
    env: dict[str, str] = {}
    if via == "option":
        args += ["--password", secret]
    else:
        env["NEO4J_PASSWORD"] = secret
    if debug:
        args.append("--debug")
    proc = _cli(neo4j_server, *args, env=env)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "credentials" in output or "Unauthorized" in output or "AuthError" in output, output
    assert secret not in output
