"""scripts/neo4j: the project's own Neo4j server, its versions, and its one-line errors.

These start extra servers on their own ports and folders, never touching the session's.
The version under test is GRAPH_CKPT_NEO4J_VERSION (CI runs the suite once per tested
version); the selection logic is checked for every line without starting anything.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "scripts" / "neo4j_server.py"


def _load_server_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("graph_ckpt_neo4j_server", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


srv = _load_server_module()
VERSION = os.environ.get("GRAPH_CKPT_NEO4J_VERSION") or srv.DEFAULT_VERSION
LTS_VERSION = srv.DEFAULT_VERSION
CALENDAR_VERSION = srv.TESTED_VERSIONS[-1]
CACHE = Path(os.environ.get("GRAPH_CKPT_NEO4J_HOME", str(ROOT / ".neo4j")))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def share_jars(home: Path, version: str) -> None:
    """Point ``home``'s jar folder for ``version`` at the shared cache, so no test waits
    for Maven twice (a first resolution fills the shared cache for the next run)."""
    shared = CACHE / f"lib-{version}"
    shared.mkdir(parents=True, exist_ok=True)
    (home / shared.name).symlink_to(shared)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A server home that reuses the jar cache of the version under test."""
    if (CACHE / f"lib-{VERSION}" / ".complete").exists():
        share_jars(tmp_path, VERSION)
    return tmp_path


def script(
    command: str, drop: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    for name in drop:
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, str(SERVER), command],
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def fake_jdk(folder: Path, name: str, major: int) -> str:
    """A ``<folder>/<name>/bin/java`` that reports Java ``major`` the way a JDK does."""
    java = folder / name / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(
        f"#!/bin/sh\necho 'openjdk version \"{major}.0.1\" 2025-10-21' >&2\n"
        f"echo 'OpenJDK 64-Bit Server VM (build {major}.0.1+8)' >&2\n"
    )
    java.chmod(0o755)
    return str(java)


def jdk_env(jdks: Path, **extra: str) -> dict[str, str]:
    """Only the JDKs under ``jdks``: no JAVA_HOME, no java on PATH."""
    empty = jdks.parent / "empty-path"
    empty.mkdir(exist_ok=True)
    return {"GRAPH_CKPT_JDK_DIRS": str(jdks), "PATH": str(empty), **extra}


# The selection logic, without a server.


def test_each_line_has_its_entry_class_and_java():
    lts = srv.line_for("5.26.30")
    assert lts.entry_class == "org.neo4j.server.CommunityEntryPoint"
    assert [v for v in (11, 17, 19, 21, 25) if lts.accepts(v)] == [17, 21]
    assert lts.java_wanted() == "Java 17 or 21"
    assert srv.line_for("5.26.31") is lts

    for version in ("2025.12.1", "2025.01.0", "2025.10.1"):
        line = srv.line_for(version)
        assert line.entry_class == "org.neo4j.server.Neo4jCommunity"
        assert [v for v in (17, 21, 24, 25) if line.accepts(v)] == [21, 24, 25]
        assert line.java_wanted() == "Java 21 or newer"
    assert srv.line_for(CALENDAR_VERSION).name == "2025.x"


@pytest.mark.parametrize("version", ["4.4.30", "5.25.1", "5.26", "2024.12.0", "2025.13.1", "x"])
def test_an_unsupported_version_is_refused(version: str):
    with pytest.raises(srv.StartError, match="not a supported Neo4j version"):
        srv.line_for(version)


@pytest.mark.parametrize(
    ("version", "found", "chosen"),
    [
        (LTS_VERSION, [("a", 25), ("b", 21), ("c", 17)], "c"),
        (LTS_VERSION, [("a", 25), ("b", 21)], "b"),
        (LTS_VERSION, [("a", 25), ("x", None)], None),
        (CALENDAR_VERSION, [("c", 17), ("a", 25), ("b", 21)], "b"),
        (CALENDAR_VERSION, [("c", 17), ("a", 25), ("d", 25)], "a"),
        (CALENDAR_VERSION, [("c", 17), ("x", None)], None),
        (CALENDAR_VERSION, [], None),
    ],
)
def test_pick_java_prefers_the_lines_own_releases(
    version: str, found: list[tuple[str, int | None]], chosen: str | None
):
    assert srv.pick_java(srv.line_for(version), found) == chosen


def test_find_java_searches_the_jdk_folders(tmp_path: Path):
    jdks = tmp_path / "jvm"
    java17 = fake_jdk(jdks, "jdk-17", 17)
    java21 = fake_jdk(jdks, "jdk-21", 21)
    java25 = fake_jdk(jdks, "temurin-25", 25)
    env = jdk_env(jdks)
    assert srv.find_java(LTS_VERSION, env) == java17
    assert srv.find_java(CALENDAR_VERSION, env) == java21
    # JAVA_HOME wins when it suits the line, and is passed over when it does not.
    assert srv.find_java(LTS_VERSION, {**env, "JAVA_HOME": str(jdks / "jdk-21")}) == java21
    assert srv.find_java(CALENDAR_VERSION, {**env, "JAVA_HOME": str(jdks / "jdk-17")}) == java21
    # GRAPH_CKPT_JAVA wins over both.
    assert srv.find_java(CALENDAR_VERSION, {**env, "GRAPH_CKPT_JAVA": java25}) == java25
    with pytest.raises(srv.StartError, match=r"GRAPH_CKPT_JAVA=.* is Java 17, and Neo4j"):
        srv.find_java(CALENDAR_VERSION, {**env, "GRAPH_CKPT_JAVA": java17})

    (jdks / "jdk-21" / "bin" / "java").unlink()
    assert srv.find_java(CALENDAR_VERSION, env) == java25
    (jdks / "jdk-17" / "bin" / "java").unlink()
    with pytest.raises(srv.StartError, match=r"Java 17 or 21 not found: .* has Java 25 \("):
        srv.find_java(LTS_VERSION, env)


def test_instance_folders_never_mix_versions(tmp_path: Path):
    def folder(version: str) -> Path:
        env = {"GRAPH_CKPT_NEO4J_HOME": str(tmp_path), "GRAPH_CKPT_NEO4J_PORT": "7711"}
        return srv.instance_dir({**env, "GRAPH_CKPT_NEO4J_VERSION": version})

    # 5.26 keeps the folder every earlier scripts/neo4j used; its patch releases share it.
    assert folder("5.26.30") == tmp_path / "instance-7711" == folder("5.26.31")
    assert folder("2025.12.1") == tmp_path / "instance-7711-2025.12.1"
    assert folder("2025.10.1") != folder("2025.12.1")


@pytest.mark.parametrize("entry", ["CommunityEntryPoint", "Neo4jCommunity"])
def test_is_neo4j_server_knows_both_lines(entry: str):
    inst = "/x/.neo4j/instance-7702"
    argv = ["/usr/bin/java", "-Xmx1g", "-cp", "/lib/*", f"org.neo4j.server.{entry}"]
    argv += [f"--home-dir={inst}", f"--config-dir={inst}/conf", "--console-mode"]
    proc_cmdline = ("\0".join(argv) + "\0").encode()
    assert srv.is_neo4j_server(proc_cmdline)
    assert srv.is_neo4j_server(proc_cmdline.decode(), inst)
    assert srv.is_neo4j_server(argv, Path(inst))
    assert not srv.is_neo4j_server(argv, "/x/.neo4j/instance-770")
    assert not srv.is_neo4j_server([a.replace("7702", "77021") for a in argv], inst)
    assert not srv.is_neo4j_server(["/usr/bin/java", "-jar", "other.jar", f"--home-dir={inst}"])
    assert not srv.is_neo4j_server(b"")


def test_versions_lists_the_tested_ones_default_first():
    proc = script("versions")
    assert proc.returncode == 0
    assert proc.stdout.split() == [LTS_VERSION, CALENDAR_VERSION]


# One-line errors, through the script.


def test_missing_java_is_one_line(home: Path):
    proc = script(
        "start",
        GRAPH_CKPT_NEO4J_HOME=str(home),
        GRAPH_CKPT_JAVA="/nonexistent/java",
        GRAPH_CKPT_NEO4J_PORT=str(free_port()),
    )
    line = one_error_line(proc)
    assert f"{srv.line_for(VERSION).java_wanted()} not found" in line
    assert "/nonexistent/java does not run" in line


@pytest.mark.parametrize(
    ("version", "wanted"), [(LTS_VERSION, "Java 17 or 21"), (CALENDAR_VERSION, "Java 21 or newer")]
)
def test_no_jdk_at_all_is_one_line(tmp_path: Path, version: str, wanted: str):
    (tmp_path / "jvm").mkdir()
    proc = script(
        "start",
        drop=("JAVA_HOME", "GRAPH_CKPT_JAVA"),
        GRAPH_CKPT_NEO4J_HOME=str(tmp_path / "home"),
        GRAPH_CKPT_NEO4J_VERSION=version,
        GRAPH_CKPT_NEO4J_PORT=str(free_port()),
        **jdk_env(tmp_path / "jvm"),
    )
    line = one_error_line(proc)
    assert f"{wanted} not found: Neo4j {version}" in line and "no JDK" in line
    assert "apt-get install" in line
    assert not (tmp_path / "home" / f"lib-{version}").exists()  # failed before Maven


def test_only_an_older_jdk_for_2025_is_one_line(tmp_path: Path):
    fake_jdk(tmp_path / "jvm", "java-17-openjdk-amd64", 17)
    proc = script(
        "start",
        drop=("JAVA_HOME", "GRAPH_CKPT_JAVA"),
        GRAPH_CKPT_NEO4J_HOME=str(tmp_path / "home"),
        GRAPH_CKPT_NEO4J_VERSION=CALENDAR_VERSION,
        GRAPH_CKPT_NEO4J_PORT=str(free_port()),
        **jdk_env(tmp_path / "jvm"),
    )
    line = one_error_line(proc)
    assert f"Java 21 or newer not found: Neo4j {CALENDAR_VERSION} (2025.x) needs it" in line
    assert "this machine has Java 17 (" in line


def test_unsupported_version_is_one_line(tmp_path: Path):
    proc = script("start", GRAPH_CKPT_NEO4J_HOME=str(tmp_path), GRAPH_CKPT_NEO4J_VERSION="4.4.30")
    assert "'4.4.30' is not a supported Neo4j version" in one_error_line(proc)
    assert not any(tmp_path.iterdir())


def test_missing_maven_is_one_line(tmp_path: Path):
    # An empty home has no jars, and a PATH without mvn cannot fetch them.
    try:
        java = srv.find_java(VERSION)  # found here, wherever it is, as PATH loses it
    except srv.StartError as exc:
        pytest.skip(str(exc))
    proc = script(
        "start",
        GRAPH_CKPT_NEO4J_HOME=str(tmp_path),
        PATH=str(Path(sys.executable).parent),
        GRAPH_CKPT_NEO4J_PORT=str(free_port()),
        GRAPH_CKPT_JAVA=java,
    )
    assert "Maven not found" in one_error_line(proc)


def test_port_taken_is_one_line(home: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = script("start", GRAPH_CKPT_NEO4J_HOME=str(home), GRAPH_CKPT_NEO4J_PORT=str(port))
    assert f"port {port}" in one_error_line(proc)
    assert "already in use" in proc.stderr


def test_usage():
    proc = subprocess.run([sys.executable, str(SERVER), "bogus"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage: scripts/neo4j" in proc.stderr


# Real servers.


def small_server(home: Path, port: str, **extra: str) -> dict[str, str]:
    return {
        "GRAPH_CKPT_NEO4J_HOME": str(home),
        "GRAPH_CKPT_NEO4J_PORT": port,
        "GRAPH_CKPT_NEO4J_HEAP": "512m",
        "GRAPH_CKPT_NEO4J_PAGECACHE": "64m",
        **extra,
    }


@pytest.mark.slow
def test_start_env_stop_and_a_wrong_password(home: Path):
    port = str(free_port())
    env = small_server(home, port)
    try:
        started = script("start", **env)
        assert started.returncode == 0, started.stderr
        assert script("status", **env).stdout.startswith("running")
        exported = script("env", **env).stdout
        assert f"NEO4J_URI=bolt://127.0.0.1:{port}" in exported
        assert "NEO4J_PASSWORD=graph-checkpoint-dev" in exported
        again = script("start", **env)
        assert again.returncode == 0 and "already running" in again.stderr
        pid = int((srv.instance_dir({**os.environ, **env}) / "neo4j.pid").read_text())

        assert script("stop", **env).returncode == 0
        assert not Path(f"/proc/{pid}").exists()
        assert script("status", **env).returncode == 3

        wrong = script("start", GRAPH_CKPT_NEO4J_PASSWORD="not-the-one", **env)
        line = one_error_line(wrong)
        assert "rejects the password" in line and "scripts/neo4j reset" in line
        assert "not-the-one" not in wrong.stderr
        # The refused server was stopped again: no Java process of ours is left.
        time.sleep(0.5)
        assert script("status", **env).returncode == 3
    finally:
        script("stop", **env)


@pytest.mark.slow
def test_a_2025_server_starts_on_java_21_or_newer_and_stops(tmp_path: Path):
    share_jars(tmp_path, CALENDAR_VERSION)
    port = str(free_port())
    env = small_server(tmp_path, port, GRAPH_CKPT_NEO4J_VERSION=CALENDAR_VERSION)
    lts = {**env, "GRAPH_CKPT_NEO4J_VERSION": LTS_VERSION}
    try:
        started = script("start", **env)
        if started.returncode != 0 and "Java 21 or newer not found" in started.stderr:
            pytest.skip(f"no JDK for Neo4j {CALENDAR_VERSION}: {started.stderr.strip()}")
        assert started.returncode == 0, started.stderr
        assert f"neo4j {CALENDAR_VERSION} running" in started.stderr
        status = script("status", **env)
        assert status.returncode == 0
        assert f"version={CALENDAR_VERSION}" in status.stdout

        inst = srv.instance_dir({**os.environ, **env})
        assert inst == tmp_path / f"instance-{port}-{CALENDAR_VERSION}"
        pid = int((inst / "neo4j.pid").read_text())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        assert "org.neo4j.server.Neo4jCommunity" in argv
        assert srv.is_neo4j_server(Path(f"/proc/{pid}/cmdline").read_bytes(), inst)
        assert (srv.java_major(argv[0]) or 0) >= 21

        # The 5.26 server of the same port is another folder, and is not "running".
        assert script("status", **lts).returncode == 3
        assert f"held by this project's Neo4j {CALENDAR_VERSION}" in one_error_line(
            script("start", **lts)
        )
        # stop finds the server on its port whichever version is selected.
        stopped = script("stop", **lts)
        assert stopped.returncode == 0 and f"neo4j {CALENDAR_VERSION} stopped" in stopped.stderr
        assert not Path(f"/proc/{pid}").exists()
        assert script("status", **env).returncode == 3
    finally:
        script("stop", **env)
