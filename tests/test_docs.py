"""Every example in README.md and docs/*.md runs against the real server, so docs cannot rot.

What runs (the convention is documented in docs/testing.md, "Docs are tested"):

* A fenced block whose language is ``python`` runs in a fresh Python process, on an empty
  database with only graph-checkpoint's own schema, after a small prelude that defines
  ``uri``, ``user``, ``password``, ``database`` (from the ``NEO4J_*`` variables) and ``rows``
  (1,000 sample dicts ``{"id": 1, "name": "Person 1"}``...); the working directory also
  holds the same rows as ``people.csv``. Tracebacks point at the document's own lines.
* A python block whose first line is ``# file: NAME`` is a file a reader would save: it is
  written to the working directory of that block and of every later block of the same
  document (so later blocks can import it). A ``test_*.py`` file is run with pytest and
  must pass; any other file is run with ``python NAME``.
* In ``bash``, ``console``, ``shell`` and ``sh`` blocks, every line that starts with
  ``graph-ckpt `` (after an optional ``$ `` prompt; ``\\`` continues a line) runs in bash,
  with ``graph-ckpt`` meaning ``python -m graph_checkpoint``, and must exit 0. The database
  then holds one completed run, and for every run id the command names
  (``run_YYYYMMDD_HHMMSS``) an interrupted run of loader ``load_people`` with 99 processed
  items and one failed one.
* ``<!-- no-run -->`` (or ``<!-- no-run: why -->``) on the line before a fence leaves that
  block out. Use it sparingly: for fragments, output, and commands that cannot finish.

Documents are found when the tests are collected, so new pages are picked up as they land.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neo4j
import pytest

from graph_checkpoint import CheckpointManager, _cypher, checkpoint_loader
from graph_checkpoint.pytest_plugin import Neo4jServer

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180  # seconds per block or command: generous, a hung example must still end

PRELUDE = """\
import os

uri = os.environ["NEO4J_URI"]
user = os.environ.get("NEO4J_USERNAME", "neo4j")
password = os.environ.get("NEO4J_PASSWORD", "")
database = os.environ.get("NEO4J_DATABASE") or None
rows = [{"id": i, "name": f"Person {i}"} for i in range(1, 1001)]
"""
"""Defines the names python blocks may use without defining them."""

SAMPLE_ROWS = [{"id": i, "name": f"Person {i}"} for i in range(1, 1001)]

# Runs one block: the prelude, then the block compiled under the document's name, so a
# traceback says "docs/guide.md", line 42.
RUNNER = """\
import sys
namespace = {"__name__": "__main__"}
exec(compile(sys.argv[1], "<docs prelude>", "exec"), namespace)
with open(sys.argv[2], encoding="utf-8") as handle:
    source = handle.read()
exec(compile(source, sys.argv[3], "exec"), namespace)
"""

# Commands run in bash, so pipes work; graph-ckpt is this interpreter's module, so the
# command tested is the one in this checkout even before the package is reinstalled.
SHELL_PRELUDE = """\
set -o pipefail
graph-ckpt() { "$GRAPH_CKPT_DOCS_PYTHON" -m graph_checkpoint "$@"; }
"""

PYTHON_LANGUAGES = {"python", "py"}
SHELL_LANGUAGES = {"bash", "console", "shell", "sh"}
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
NO_RUN = re.compile(r"^\s*<!--\s*no-run\b.*-->\s*$")
FILE_HEADER = re.compile(r"^#\s*file:\s*(?P<name>[\w./-]+\.\w+)\s*$")
RUN_ID = re.compile(r"\brun_\d{8}_\d{6}(?:_\d+)?\b")
TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test)\.py$")


@dataclass(frozen=True)
class Block:
    """A fenced code block: its document, the line of its opening fence, language, text."""

    doc: str
    line: int
    language: str
    text: str
    no_run: bool = False

    @property
    def file_name(self) -> str | None:
        """The NAME of a ``# file: NAME`` header on the first line, if there is one."""
        first = self.text.splitlines()[0] if self.text else ""
        match = FILE_HEADER.match(first)
        return match["name"] if match else None


@dataclass(frozen=True)
class Command:
    """A ``graph-ckpt`` command line from a shell block."""

    doc: str
    line: int
    text: str


@dataclass(frozen=True)
class PythonExample:
    """A python block with the ``# file:`` blocks of its document that come before it."""

    block: Block
    files: tuple[Block, ...] = field(default=())


def parse_blocks(markdown: str, doc: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order (line numbers count from 1)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        language = (opening["info"].split() or [""])[0].lower()
        previous = next((text for text in reversed(lines[:index]) if text.strip()), "")
        body: list[str] = []
        end = index + 1
        while end < len(lines):
            closing = lines[end].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            # Content is de-indented by the fence's own indentation, as CommonMark does.
            text = lines[end]
            body.append(text[min(indent, len(text) - len(text.lstrip(" "))) :])
            end += 1
        blocks.append(
            Block(doc, index + 1, language, "\n".join(body) + "\n", bool(NO_RUN.match(previous)))
        )
        index = end + 1
    return blocks


def parse_commands(block: Block) -> list[Command]:
    """The ``graph-ckpt`` command lines of a shell block, continuation lines joined."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    # In a console transcript with prompts, the other lines are output, which may well
    # start with "graph-ckpt " (a usage line, a resume hint) without being a command.
    prompted = block.language == "console" and any(x.startswith("$ ") for x in lines)
    index = 0
    while index < len(lines):
        start = index
        text = lines[index].strip()
        while text.endswith("\\") and index + 1 < len(lines):
            index += 1
            text = text[:-1].rstrip() + " " + lines[index].strip()
        index += 1
        if text.startswith("$ "):
            text = text[2:].lstrip()
        elif prompted:
            continue
        if text.startswith("graph-ckpt "):
            commands.append(Command(block.doc, block.line + 1 + start, text))
    return commands


def documents() -> list[Path]:
    """README.md and every page in docs/, as they are when the tests are collected."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def collect() -> tuple[list[PythonExample], list[Command]]:
    """Every runnable python example and graph-ckpt command of the documents."""
    examples: list[PythonExample] = []
    commands: list[Command] = []
    for path in documents():
        doc = path.relative_to(ROOT).as_posix()
        files: list[Block] = []
        for block in parse_blocks(path.read_text("utf-8"), doc):
            if block.no_run:
                continue
            if block.language in PYTHON_LANGUAGES:
                if block.file_name is not None:
                    files.append(block)
                examples.append(PythonExample(block, tuple(files)))
            elif block.language in SHELL_LANGUAGES:
                commands.extend(parse_commands(block))
    return examples, commands


EXAMPLES, COMMANDS = collect()


def _subprocess_env(server: Neo4jServer) -> dict[str, str]:
    """This process's environment with the test server's NEO4J_* settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEO4J_")}
    env.update(NEO4J_URI=server.uri, NEO4J_USERNAME=server.username, NEO4J_PASSWORD=server.password)
    if server.database:
        env["NEO4J_DATABASE"] = server.database
    # The examples run as a reader would run them: no bar, plain output, Python's defaults
    # for warnings except that deprecated APIs in our docs are an error.
    env["PYTHONWARNINGS"] = "error::DeprecationWarning"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _report(what: str, proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{what} exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}"
        f"\n--- stderr ---\n{proc.stderr[-6000:]}"
    )


def _checkpoint_schema_names() -> set[str]:
    """The constraints and indexes ``cypher/schema.cypher`` creates."""
    pattern = re.compile(r"CREATE\s+(?:CONSTRAINT|INDEX)\s+(\w+)", re.IGNORECASE)
    return {m[1] for s in _cypher.schema_statements() if (m := pattern.search(s))}


def _drop_user_schema(driver: neo4j.Driver, database: str | None) -> None:
    """Drop every constraint and index except graph-checkpoint's and the token lookups."""
    keep = _checkpoint_schema_names()
    constraints, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name", database_=database)
    indexes, _, _ = driver.execute_query(
        "SHOW INDEXES YIELD name, type, owningConstraint"
        " WHERE owningConstraint IS NULL AND type <> 'LOOKUP' RETURN name",
        database_=database,
    )
    drops = [("CONSTRAINT", r["name"]) for r in constraints]
    drops += [("INDEX", r["name"]) for r in indexes]
    for kind, name in drops:
        if name not in keep:
            quoted = "`" + name.replace("`", "``") + "`"
            driver.execute_query(f"DROP {kind} {quoted} IF EXISTS", database_=database)


@pytest.fixture
def docs_database(clean_neo4j: neo4j.Driver, neo4j_server: Neo4jServer) -> Iterator[None]:
    """An empty database with only graph-checkpoint's schema, before and after the example.

    Before, so that a constraint another test left cannot change what an example does;
    after, so that one an example creates cannot make later tests' data fail.
    """
    _drop_user_schema(clean_neo4j, neo4j_server.database)
    yield
    _drop_user_schema(clean_neo4j, neo4j_server.database)


def _write_workdir(directory: Path, files: tuple[Block, ...]) -> None:
    with (directory / "people.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "name"])
        writer.writeheader()
        writer.writerows(SAMPLE_ROWS)
    for block in files:
        assert block.file_name is not None
        target = directory / block.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
    # A pytest.ini makes this directory the rootdir of example test runs, so no
    # configuration from the directories above leaks in.
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{e.block.doc}:{e.block.line}" for e in EXAMPLES]
)
def test_python_example(
    example: PythonExample, docs_database: None, neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    """The block runs to its end without an error (a test file: its tests pass)."""
    block = example.block
    _write_workdir(tmp_path, example.files)
    env = _subprocess_env(neo4j_server)
    name = block.file_name
    if name is not None and TEST_FILE.search(name):
        argv = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
        argv += ["-W", "error", name]
    elif name is not None:
        argv = [sys.executable, name]
    else:
        (tmp_path / "_doc_block.py").write_text("\n" * block.line + block.text, "utf-8")
        (tmp_path / "_doc_runner.py").write_text(RUNNER, "utf-8")
        argv = [sys.executable, "_doc_runner.py", PRELUDE, "_doc_block.py", block.doc]
    proc = subprocess.run(
        argv,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    # pytest.fail rather than assert: the report is the message, without pytest repeating
    # the whole CompletedProcess in its assertion explanation.
    if proc.returncode != 0:
        pytest.fail(_report(f"{block.doc}:{block.line}", proc), pytrace=False)
    if name is not None and TEST_FILE.search(name):
        summary = proc.stdout.strip().splitlines()[-1]
        if "passed" not in summary or "skipped" in summary:
            pytest.fail(_report(f"{block.doc}:{block.line}: not all passed", proc), False)


@checkpoint_loader(name="load_people", batch_size=10, item_id="id", progress=False)
def _seed_loader(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    if any(row["id"] == 13 for row in rows):
        raise ValueError("Person 13 has no name")  # one failed item for `failures`/`show`
    tx.run("UNWIND $rows AS r MERGE (p:Person {id: r.id}) SET p += r", rows=rows)


def seed_runs(manager: CheckpointManager, run_ids: list[str]) -> None:
    """An interrupted run with one failure per id, then a completed run (the newest)."""
    rows = SAMPLE_ROWS[:100]
    for run_id in run_ids:
        run = manager.start_run(
            description="people import", config={"source": "people.csv"}, run_id=run_id
        )
        _seed_loader(run, rows)
        run.interrupt("stopped by hand")
    with manager.run(description="people import, again", config={"source": "people-2.csv"}) as run:
        _seed_loader(run, SAMPLE_ROWS[100:200])


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c.doc}:{c.line}" for c in COMMANDS])
def test_graph_ckpt_command(
    command: Command,
    docs_database: None,
    checkpoint_manager: CheckpointManager,
    neo4j_server: Neo4jServer,
    tmp_path: Path,
) -> None:
    """The command exits 0 and prints no traceback, against a database of sample runs."""
    seed_runs(checkpoint_manager, sorted(set(RUN_ID.findall(command.text))))
    _write_workdir(tmp_path, ())
    env = _subprocess_env(neo4j_server)
    env["GRAPH_CKPT_DOCS_PYTHON"] = sys.executable
    script = SHELL_PRELUDE + command.text + "\n"
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0 or "Traceback" in proc.stderr:
        pytest.fail(_report(f"{command.doc}:{command.line}: {command.text}", proc), False)


# --- the extraction itself ---------------------------------------------------------------

SAMPLE_DOC = """\
# Title

```python
print("one")
```

<!-- no-run: a fragment -->
```python
load_people(run, rows)
```

````python title="x"
s = '''
```
'''
````

```console
$ graph-ckpt list --status interrupted \\
    --limit 5
graph-ckpt list: the output of a command is not run
$ graph-ckpt show run_20261128_143022
graph-ckpt-not-a-command
$ pip install graph-checkpoint
```

  ```bash
  graph-ckpt list --json | head -c 10
  ```

```python
# file: test_people.py
def test_x(): ...
```
"""


def test_blocks_are_extracted_with_their_lines_and_markers() -> None:
    blocks = parse_blocks(SAMPLE_DOC, "docs/sample.md")
    assert [(b.line, b.language, b.no_run) for b in blocks] == [
        (3, "python", False),
        (8, "python", True),
        (12, "python", False),
        (18, "console", False),
        (27, "bash", False),
        (31, "python", False),
    ]
    assert blocks[0].text == 'print("one")\n'
    # A shorter fence inside a longer one does not close it.
    assert blocks[2].text == "s = '''\n```\n'''\n"
    assert blocks[4].text == "graph-ckpt list --json | head -c 10\n"
    assert [b.file_name for b in blocks] == [None, None, None, None, None, "test_people.py"]


def test_commands_are_extracted_from_shell_blocks() -> None:
    blocks = parse_blocks(SAMPLE_DOC, "docs/sample.md")
    assert [(c.line, c.text) for c in parse_commands(blocks[3])] == [
        (19, "graph-ckpt list --status interrupted --limit 5"),
        (22, "graph-ckpt show run_20261128_143022"),
    ]
    assert RUN_ID.findall(parse_commands(blocks[3])[1].text) == ["run_20261128_143022"]
    assert [c.text for c in parse_commands(blocks[4])] == ["graph-ckpt list --json | head -c 10"]


def test_the_readme_example_is_collected() -> None:
    ids = {f"{e.block.doc}:{e.block.line}" for e in EXAMPLES}
    assert any(i.startswith("README.md:") for i in ids)
