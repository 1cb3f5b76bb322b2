"""The wheel builds, and works when installed into a fresh virtual environment.

The wheel is built from this checkout, installed with its dependencies (from the package
index pip is configured for) into a new venv that does not see this checkout or the test
venv's packages, and used from a directory outside the checkout, so nothing can be found
by accident in the source tree.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    """A fresh venv holding the built wheel."""

    wheel: Path
    python: Path
    bin: Path
    workdir: Path

    def run(self, *argv: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv in a directory outside the checkout."""
        proc = subprocess.run(
            [str(a) for a in argv],
            cwd=self.workdir,
            env=_clean_env(self.bin),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"{argv} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}",
                pytrace=False,
            )
        return proc


def _clean_env(bin_dir: Path | None = None) -> dict[str, str]:
    """The environment minus what would let the checkout or the test venv leak in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(bin_dir.parent)
    env.pop("PYTHONWARNINGS", None)
    return env


def _build_wheel(outdir: Path) -> Path:
    """Build the wheel with ``python -m build``.

    Without build isolation when the backend is installed here already (fast, offline);
    otherwise ``build`` fetches hatchling into an isolated environment, as on a fresh
    machine.
    """
    argv = [sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir)]
    if importlib.util.find_spec("hatchling") is not None:
        argv.append("--no-isolation")
    proc = subprocess.run(
        [*argv, str(ROOT)], env=_clean_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"wheel build failed\n{proc.stdout[-4000:]}\n{proc.stderr}"
    [wheel] = outdir.glob("graph_checkpoint-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout."""
    return _build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """A new venv (no system site-packages) with the wheel and its dependencies installed."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    workdir = tmp_path_factory.mktemp("elsewhere")
    target = Installed(wheel, python, bin_dir, workdir)
    # pytest too, which users who test with the plugin have; the package does not need it.
    target.run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        wheel,
        "pytest",
        timeout=600,
    )
    yield target


def test_wheel_holds_the_cypher_files_and_the_typing_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "graph_checkpoint/py.typed" in names
    assert "graph_checkpoint/cypher/schema.cypher" in names
    # Every query the library can load from the source tree ships in the wheel.
    queries = {
        f"graph_checkpoint/cypher/queries/{path.name}"
        for path in (ROOT / "cypher" / "queries").glob("*.cypher")
    }
    assert queries and queries <= names, sorted(queries - names)
    assert "graph_checkpoint/pytest_plugin.py" in names
    # The dashboard's pages, script and style are package data.
    static = {
        f"graph_checkpoint/dashboard/static/{path.name}"
        for path in (ROOT / "graph_checkpoint" / "dashboard" / "static").iterdir()
    }
    assert {"graph_checkpoint/dashboard/static/runs.html"} <= static <= names
    # Tests, docs and scripts stay out of the installed package.
    assert not [n for n in names if n.startswith(("tests/", "docs/", "scripts/", "cypher/"))]


def test_wheel_metadata_declares_dependencies_and_entry_points(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        dist_info = next(n.split("/")[0] for n in archive.namelist() if ".dist-info/" in n)
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for dependency in ("neo4j", "click", "rich"):
        assert any(line.split()[1].startswith(dependency) for line in requires), dependency
    assert "graph-ckpt = graph_checkpoint.cli:main" in entry_points
    assert "graph_checkpoint = graph_checkpoint.pytest_plugin" in entry_points


def test_installed_package_imports_from_the_venv(installed: Installed) -> None:
    proc = installed.run(
        installed.python,
        "-W",
        "error::DeprecationWarning",
        "-c",
        "import graph_checkpoint, sys; print(graph_checkpoint.__file__);"
        " print(graph_checkpoint.__version__)",
    )
    location, version = proc.stdout.split()
    assert Path(location).resolve().is_relative_to(installed.bin.parent.resolve())
    assert version in installed.wheel.name


def test_installed_package_loads_its_queries(installed: Installed) -> None:
    # The queries and schema come from inside the installed package: the fallback beside
    # the package (the source layout) does not exist in site-packages.
    script = (
        "from pathlib import Path\n"
        "from graph_checkpoint import _cypher\n"
        "assert 'CheckpointRun' in _cypher.query('get_run')\n"
        "assert _cypher.schema_statements()\n"
        "print(_cypher._cypher_dir())\n"
    )
    proc = installed.run(installed.python, "-W", "error::DeprecationWarning", "-c", script)
    cypher_dir = Path(proc.stdout.strip()).resolve()
    assert cypher_dir.parent.name == "graph_checkpoint"
    assert cypher_dir.is_relative_to(installed.bin.parent.resolve())


def test_installed_pytest_plugin_provides_the_fixtures(installed: Installed) -> None:
    # A pytest in the fresh venv lists the fixtures without any conftest: the pytest11 entry
    # point of the installed wheel alone registers them.
    proc = installed.run(installed.python, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider")
    for fixture in ("neo4j_driver", "clean_neo4j", "checkpoint_manager", "interrupt_after"):
        assert f"{fixture} -- " in proc.stdout or f"{fixture} [" in proc.stdout, fixture


def test_installed_command_line_runs(installed: Installed) -> None:
    script = installed.bin / ("graph-ckpt.exe" if os.name == "nt" else "graph-ckpt")
    assert script.exists()
    help_text = installed.run(script, "--help").stdout
    assert "Usage" in help_text
    # python -m graph_checkpoint is the same command.
    assert installed.run(installed.python, "-m", "graph_checkpoint", "--help").stdout == help_text


def test_serve_without_the_dashboard_extra_says_how_to_get_it(installed: Installed) -> None:
    # The wheel is installed without extras; the command must not get as far as connecting.
    proc = subprocess.run(
        [str(installed.python), "-m", "graph_checkpoint", "serve", "--uri", "bolt://127.0.0.1:1"],
        cwd=installed.workdir,
        env=_clean_env(installed.bin),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        "Error: graph-ckpt serve needs the dashboard extra:"
        ' pip install "graph-checkpoint[dashboard]"'
    ), proc.stderr
