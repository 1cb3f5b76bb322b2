"""scripts/neo4j image: where its base system comes from, and its one-line errors.

The image itself is built and run by tests/test_container.py (through the pytest plugin).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"graph_ckpt_{name}", ROOT / "scripts" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


image = _load("neo4j_image")


def _sources(tmp_path: Path, deb822: str = "", one_line: str = "") -> tuple[Path, Path]:
    folder = tmp_path / "sources.list.d"
    folder.mkdir()
    if deb822:
        (folder / "debian.sources").write_text(deb822)
    single = tmp_path / "sources.list"
    if one_line:
        single.write_text(one_line)
    return folder, single


def test_the_mirror_is_the_archive_apt_uses_not_its_security_one(tmp_path: Path) -> None:
    deb822 = (
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n"
    )
    assert (
        image.debian_mirror({}, _sources(tmp_path, deb822=deb822)) == "http://mirror.example/debian"
    )


def test_a_one_line_sources_list_works_too(tmp_path: Path) -> None:
    listed = (
        "# a comment\n"
        "deb http://security.example/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    )
    assert (
        image.debian_mirror({}, _sources(tmp_path, one_line=listed))
        == "http://mirror.example/debian"
    )


def test_the_mirror_setting_wins_and_none_at_all_is_one_clear_error(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    chosen = {"GRAPH_CKPT_DEBIAN_MIRROR": "http://chosen.example/debian"}
    assert image.debian_mirror(chosen, sources) == "http://chosen.example/debian"
    with pytest.raises(image.ImageError, match="set GRAPH_CKPT_DEBIAN_MIRROR"):
        image.debian_mirror({}, sources)


def test_each_java_has_its_debian_release_and_tags_name_the_version() -> None:
    assert image.base_name(17) == "graph-checkpoint/jre:17-bookworm"
    assert image.base_name(21) == "graph-checkpoint/jre:21-trixie"
    assert image.image_name("5.26.30") == "graph-checkpoint/neo4j:5.26.30-local"
    with pytest.raises(image.ImageError, match="Java 11"):
        image.base_name(11)


def test_without_a_docker_daemon_the_command_fails_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "neo4j_server.py"), "image"],
        env={
            **os.environ,
            "DOCKER_HOST": "unix:///nonexistent/graph-ckpt-test/docker.sock",
            "GRAPH_CKPT_NEO4J_HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == (
        "error: the Docker daemon does not answer: start dockerd (as root), then retry"
    ), proc.stderr
    assert proc.stdout == ""
    assert not any(tmp_path.iterdir())  # nothing fetched for an image that cannot be built
