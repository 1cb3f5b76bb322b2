"""The neo4j-etl-lib peer's own virtual environment: found or made, then used for its loads.

neo4j-etl-lib needs Python 3.11 or newer and brings its own dependencies (pydantic...), so
it never goes into the project's environment. The benchmark makes ``bench/.venv-etl`` with
the first Python >= 3.11 it finds (this interpreter, else ``python3.11``, ``python3.12`` or
``python3.13`` on PATH) and installs the pinned release there, with the same ``neo4j`` and
``neo4j-rust-ext`` versions as this interpreter has, so the peer and the bare load it is
compared with run the same driver. The environment is reused while it holds those versions.
When no such Python exists or the install fails, the peer is left out and the reason is
printed once and written to the JSON.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_VENV = HERE / ".venv-etl"
CHILD = HERE / "etl_peer.py"
PEER = "neo4j-etl-lib"
PEER_VERSION = "0.5.1"
MIN_PYTHON = (3, 11)
READY = ".bench-ready"  # written last: a venv without it was never finished


@dataclass
class Peer:
    """The peer's interpreter, or why there is none."""

    python: Path | None
    reason: str | None = None
    requirements: list[str] = field(default_factory=list)
    driver: str | None = None
    installed_now: bool = False

    def describe(self) -> dict[str, Any]:
        """What the JSON report says about the peer."""
        return {
            "name": PEER,
            "version": PEER_VERSION,
            "available": self.python is not None,
            "reason": self.reason,
            "python": None if self.python is None else str(self.python),
            "requirements": self.requirements,
            "driver": self.driver,
        }


def requirements() -> list[str]:
    """The pinned peer and this interpreter's driver versions, so both sides run one driver."""
    pins = [f"{PEER}=={PEER_VERSION}", f"neo4j=={importlib.metadata.version('neo4j')}"]
    # Without the extension here the peer still gets it (it requires it); the report then
    # shows two drivers.
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        pins.append(f"neo4j-rust-ext=={importlib.metadata.version('neo4j-rust-ext')}")
    return pins


def python_version(python: str) -> tuple[int, int] | None:
    """The (major, minor) of a Python interpreter, or None if it does not run."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)", out.stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_python() -> tuple[str | None, str]:
    """A Python >= 3.11 for the peer's venv, and what was looked at."""
    if sys.version_info[:2] >= MIN_PYTHON:
        return sys.executable, f"this interpreter, Python {sys.version.split()[0]}"
    seen = [f"this interpreter is Python {sys.version.split()[0]}"]
    for name in ("python3.11", "python3.12", "python3.13"):
        found = shutil.which(name)
        if found is None:
            continue
        version = python_version(found)
        if version is not None and version >= MIN_PYTHON:
            return found, f"{found}, Python {version[0]}.{version[1]}"
        seen.append(f"{found} does not run")
    return None, "; ".join(seen) + "; no python3.11, python3.12 or python3.13 on PATH"


def prepare(venv: Path = DEFAULT_VENV) -> Peer:
    """The peer's environment, made or reused; a Peer with a reason when there is none."""
    wanted = requirements()
    python = venv / "bin" / "python"
    marker = venv / READY
    if python.exists() and marker.exists():
        try:
            if json.loads(marker.read_text(encoding="utf-8")) == wanted:
                return Peer(python, requirements=wanted, driver=peer_driver(python))
        except (OSError, ValueError):
            pass  # unreadable marker: make the venv again
    base, looked_at = find_python()
    if base is None:
        return Peer(None, f"{PEER} needs Python >= 3.11: {looked_at}", wanted)
    print(f"making the peer's venv {venv} ({looked_at}): {' '.join(wanted)}", flush=True)
    made = subprocess.run(
        [base, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True, timeout=300
    )
    if made.returncode != 0:
        return Peer(None, f"python -m venv failed: {_tail(made.stderr)}", wanted)
    try:
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *wanted],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired:
        return Peer(None, f"pip install {' '.join(wanted)} took over 900 s", wanted)
    if installed.returncode != 0:
        return Peer(None, f"pip install failed: {_tail(installed.stderr)}", wanted)
    marker.write_text(json.dumps(wanted) + "\n", encoding="utf-8")
    return Peer(python, requirements=wanted, driver=peer_driver(python), installed_now=True)


def peer_driver(python: Path) -> str | None:
    """The driver description inside the peer's venv (``etl_peer.driver_description``)."""
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import etl_peer;"
            " print(etl_peer.driver_description())",
            str(HERE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out.stdout.strip() or None


def run_load(peer: Peer, csv_file: Path, query: str, batch_size: int, items: int) -> dict[str, Any]:
    """One peer load in a fresh process of the peer's venv; its figures."""
    assert peer.python is not None
    command = [
        str(peer.python),
        str(CHILD),
        "--csv",
        str(csv_file),
        "--query",
        query,
        "--batch-size",
        str(batch_size),
        "--items",
        str(items),
    ]
    # The peer's interpreter must not see the project's packages (PYTHONPATH of a test run).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"the {PEER} peer failed (exit {out.returncode})")
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    figures: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return figures


def _tail(text: str, lines: int = 3) -> str:
    """The last lines of a tool's output, on one line."""
    return " | ".join(x.strip() for x in text.strip().splitlines()[-lines:] if x.strip())[:500]
