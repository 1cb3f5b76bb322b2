"""Run a real Neo4j Community server from jars resolved with Maven.

Neither Docker nor the server tarball is needed: Maven copies ``org.neo4j:neo4j`` and its
dependencies into a cache folder once per version, and the server runs through Neo4j's own
entry point on a JDK found on the machine, serving Bolt on 127.0.0.1. Two lines are
supported and tested:

    5.26 LTS  (default 5.26.30)  org.neo4j.server.CommunityEntryPoint  Java 17 or 21
    2025.x    (tested 2025.12.1) org.neo4j.server.Neo4jCommunity       Java 21 or newer

Later calendar releases (2026.x...) are accepted with the 2025.x settings but untested.

Commands: start, stop, restart, status, env, reset, versions, and image (a Docker image of
the same server, built without a registry: scripts/neo4j_image.py). Settings come from the
environment:

    GRAPH_CKPT_NEO4J_VERSION   Neo4j version, e.g. 5.26.30 or 2025.12.1 (default 5.26.30)
    GRAPH_CKPT_NEO4J_PORT      Bolt port (default 7687)
    GRAPH_CKPT_NEO4J_PASSWORD  password of user neo4j (default graph-checkpoint-dev)
    GRAPH_CKPT_NEO4J_HOME      cache and instance folder (default <project>/.neo4j)
    GRAPH_CKPT_NEO4J_HEAP      JVM heap, e.g. 2g (default 2g)
    GRAPH_CKPT_NEO4J_PAGECACHE page cache size (default 1g)
    GRAPH_CKPT_START_TIMEOUT   seconds to wait for Bolt (default 180)
    GRAPH_CKPT_JAVA            the java binary to use (default: a JDK the version supports,
                               from JAVA_HOME, then GRAPH_CKPT_JDK_DIRS, then PATH)
    GRAPH_CKPT_JDK_DIRS        folders holding JDKs, ':'-separated (default /usr/lib/jvm)

The home holds ``lib-<version>`` (the jars) and one instance folder per port and version:
``instance-<port>`` for the 5.26 line (its patch releases share the store format) and
``instance-<port>-<version>`` for every other version, so data written by one version is
never opened by another. ``stop`` stops whichever of this project's servers holds the port.

Tests import this file (it has no side effects on import) for ``is_neo4j_server``,
``instance_dir`` and ``server_pid``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

DEFAULT_VERSION = "5.26.30"
# The versions CI runs the whole suite against (.ci/run), the default first.
TESTED_VERSIONS = (DEFAULT_VERSION, "2025.12.1")
ROOT = Path(__file__).resolve().parent.parent
POM = ROOT / "scripts" / "neo4j-pom.xml"
USER = "neo4j"
DATABASE = "neo4j"
LTS_ENTRY_CLASS = "org.neo4j.server.CommunityEntryPoint"
CALENDAR_ENTRY_CLASS = "org.neo4j.server.Neo4jCommunity"
ENTRY_CLASSES = (LTS_ENTRY_CLASS, CALENDAR_ENTRY_CLASS)
DEFAULT_JDK_DIRS = "/usr/lib/jvm"


class StartError(Exception):
    """A problem the user must fix; printed as one line."""


class Line(NamedTuple):
    """A release line of Neo4j: how to start its server and on which Java."""

    name: str
    entry_class: str
    java: tuple[int, ...]  # the Java feature releases it supports, preferred first
    java_or_newer: bool  # also any release newer than the last of ``java``

    def accepts(self, major: int) -> bool:
        return major in self.java or (self.java_or_newer and major > self.java[-1])

    def java_wanted(self) -> str:
        if self.java_or_newer:
            return f"Java {self.java[-1]} or newer"
        return "Java " + " or ".join(str(v) for v in self.java)

    def rank(self, major: int) -> tuple[int, int]:
        """Sort key: the supported releases in their order, then newer ones oldest first."""
        if major in self.java:
            return (0, self.java.index(major))
        return (1, major)


LTS = Line("5.26 LTS", LTS_ENTRY_CLASS, (17, 21), java_or_newer=False)


def line_for(version: str) -> Line:
    """The release line of a Neo4j version, or a StartError naming the supported ones."""
    if re.fullmatch(r"5\.26\.\d+", version):
        return LTS
    calendar = re.fullmatch(r"(20\d\d)\.(0[1-9]|1[0-2])\.\d+", version)
    if calendar and int(calendar.group(1)) >= 2025:
        return Line(f"{calendar.group(1)}.x", CALENDAR_ENTRY_CLASS, (21,), java_or_newer=True)
    raise StartError(
        f"GRAPH_CKPT_NEO4J_VERSION={version!r} is not a supported Neo4j version: use a 5.26"
        f" LTS or a 2025.x release, e.g. {' or '.join(TESTED_VERSIONS)}"
    )


def is_neo4j_server(
    cmdline: str | bytes | Sequence[str], home_dir: str | Path | None = None
) -> bool:
    """Whether a process command line is a Neo4j server as ``scripts/neo4j`` starts it.

    Any supported line counts (5.26's ``CommunityEntryPoint``, 2025.x's ``Neo4jCommunity``).
    ``cmdline`` is ``/proc/<pid>/cmdline`` as read (bytes or str, NUL-separated) or an argv
    list. With ``home_dir``, the server must also run that instance folder, so a recycled
    pid is never taken for ours.
    """
    if isinstance(cmdline, bytes):
        cmdline = cmdline.decode(errors="replace")
    args = cmdline.split("\0") if isinstance(cmdline, str) else list(cmdline)
    if not any(arg in ENTRY_CLASSES for arg in args):
        return False
    return home_dir is None or f"--home-dir={home_dir}" in args


def _settings(env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    home = Path(env.get("GRAPH_CKPT_NEO4J_HOME", str(ROOT / ".neo4j")))
    port = env.get("GRAPH_CKPT_NEO4J_PORT", "7687")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise StartError(f"GRAPH_CKPT_NEO4J_PORT={port!r} is not a port number")
    version = env.get("GRAPH_CKPT_NEO4J_VERSION", "").strip() or DEFAULT_VERSION
    line_for(version)  # refuse an unsupported version before anything else
    return {
        "home": str(home),
        "port": port,
        "version": version,
        "password": env.get("GRAPH_CKPT_NEO4J_PASSWORD", "graph-checkpoint-dev"),
        "heap": env.get("GRAPH_CKPT_NEO4J_HEAP", "2g"),
        "pagecache": env.get("GRAPH_CKPT_NEO4J_PAGECACHE", "1g"),
        "timeout": env.get("GRAPH_CKPT_START_TIMEOUT", "180"),
    }


def _instance(s: dict[str, str]) -> Path:
    home, port, version = Path(s["home"]), s["port"], s["version"]
    if line_for(version) is LTS:
        # 5.26 patch releases share one store format; this is also the folder name every
        # earlier scripts/neo4j used, so existing data and running servers are found.
        return home / f"instance-{port}"
    return home / f"instance-{port}-{version}"


def instance_dir(env: Mapping[str, str] | None = None) -> Path:
    """The instance folder ``scripts/neo4j`` uses with these settings (default: os.environ)."""
    return _instance(_settings(env))


def server_pid(env: Mapping[str, str] | None = None) -> int | None:
    """The pid of the running server of these settings' version and port, else None."""
    return _pid(instance_dir(env))


def _lib(s: dict[str, str]) -> Path:
    return Path(s["home"]) / f"lib-{s['version']}"


def _uri(s: dict[str, str]) -> str:
    return f"bolt://127.0.0.1:{s['port']}"


def java_major(java: str) -> int | None:
    """The feature release (17, 21, 25...) of a java binary, or None if it does not run."""
    if not os.access(java, os.X_OK):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(?:1\.)?(\d+)', out)
    return int(match.group(1)) if match else None


def pick_java(line: Line, found: Iterable[tuple[str, int | None]]) -> str | None:
    """The java a line prefers among (path, feature release) pairs; None if none fits.

    The line's supported releases come first in its order (17 before 21 for 5.26), then
    newer ones oldest first; equal releases keep the order they were found in.
    """
    usable = [(path, major) for path, major in found if major is not None and line.accepts(major)]
    if not usable:
        return None
    return min(usable, key=lambda item: line.rank(item[1]))[0]


def _jdk_candidates(env: Mapping[str, str]) -> list[str]:
    """java binaries under GRAPH_CKPT_JDK_DIRS, then on PATH, each real file once."""
    candidates: list[str] = []
    for folder in env.get("GRAPH_CKPT_JDK_DIRS", DEFAULT_JDK_DIRS).split(os.pathsep):
        if folder:
            candidates += sorted(glob.glob(os.path.join(folder, "*", "bin", "java")))
    on_path = shutil.which("java", path=env.get("PATH", os.defpath))
    if on_path:
        candidates.append(on_path)
    unique: dict[str, str] = {}
    for java in candidates:
        unique.setdefault(os.path.realpath(java), java)
    return list(unique.values())


def find_java(version: str, env: Mapping[str, str] | None = None) -> str:
    """A java binary for this Neo4j version: GRAPH_CKPT_JAVA if set (it must fit), else
    JAVA_HOME's if it fits, else the best fit under GRAPH_CKPT_JDK_DIRS or on PATH."""
    env = os.environ if env is None else env
    line = line_for(version)
    wanted = line.java_wanted()
    explicit = env.get("GRAPH_CKPT_JAVA")
    if explicit:
        major = java_major(explicit)
        if major is not None and line.accepts(major):
            return explicit
        what = "does not run" if major is None else f"is Java {major}"
        raise StartError(
            f"{wanted} not found: GRAPH_CKPT_JAVA={explicit} {what}, and Neo4j {version}"
            f" ({line.name}) needs {wanted}"
        )
    if env.get("JAVA_HOME"):
        java = os.path.join(env["JAVA_HOME"], "bin", "java")
        major = java_major(java)
        if major is not None and line.accepts(major):
            return java
    found = [(java, java_major(java)) for java in _jdk_candidates(env)]
    chosen = pick_java(line, found)
    if chosen is not None:
        return chosen
    seen = ", ".join(f"Java {major} ({java})" for java, major in found if major is not None)
    install = "openjdk-17-jdk-headless" if line is LTS else "openjdk-21-jdk-headless"
    raise StartError(
        f"{wanted} not found: Neo4j {version} ({line.name}) needs it, and this machine has"
        f" {seen or 'no JDK'}; install one (e.g. apt-get install {install}, or a Temurin"
        f" JDK) or set JAVA_HOME or GRAPH_CKPT_JAVA to one"
    )


def _resolve_jars(s: dict[str, str]) -> Path:
    """Copy the server jars into the cache with Maven, once."""
    lib = _lib(s)
    marker = lib / ".complete"
    if marker.exists():
        return lib
    mvn = shutil.which("mvn")
    if not mvn:
        raise StartError(
            "Maven not found: install it (e.g. apt-get install maven); it fetches the Neo4j jars"
        )
    version = s["version"]
    print(f"resolving Neo4j {version} jars with Maven into {lib}", file=sys.stderr)
    lib.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM),
            f"-Dneo4j.version={version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        if not lib.is_symlink() and not any(lib.iterdir()):
            lib.rmdir()  # no empty cache folder left behind for a version that does not exist
        raise StartError(
            f"Maven could not resolve the jars of Neo4j {version} (is it a released version?"
            f" check the network and ~/.m2/settings.xml): {_maven_error(proc.stdout + proc.stderr)}"
        )
    marker.touch()
    return lib


def _maven_error(output: str) -> str:
    """Maven's first error line, the one that says what failed, without colour codes."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in output.splitlines()]
    errors = [line for line in lines if line.startswith("[ERROR]") and len(line) > 8]
    return (errors or [line for line in lines if line] or ["no output"])[0][:500]


def _write_config(s: dict[str, str], inst: Path) -> None:
    (inst / "conf").mkdir(parents=True, exist_ok=True)
    for sub in ("data", "logs", "run", "plugins", "import"):
        (inst / sub).mkdir(exist_ok=True)
    conf = f"""\
# Written by scripts/neo4j on every start; edit scripts/neo4j_server.py instead.
server.default_listen_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:{s["port"]}
server.bolt.advertised_address=127.0.0.1:{s["port"]}
server.http.enabled=false
server.https.enabled=false
server.directories.data={inst / "data"}
server.directories.logs={inst / "logs"}
server.directories.run={inst / "run"}
server.directories.plugins={inst / "plugins"}
server.directories.import={inst / "import"}
server.memory.pagecache.size={s["pagecache"]}
dbms.memory.transaction.total.max=1g
db.memory.transaction.max=512m
dbms.usage_report.enabled=false
dbms.security.auth_enabled=true
db.tx_log.rotation.retention_policy=2 files
db.tx_log.rotation.size=64m
"""
    (inst / "conf" / "neo4j.conf").write_text(conf)


def _pid(inst: Path) -> int | None:
    """The pid in the pid file, if that process is alive and is our server."""
    pidfile = inst / "neo4j.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # A recycled pid must never be signalled: it has to be our java with our home dir.
    return pid if is_neo4j_server(cmdline, inst) else None


def _servers_on_port(s: dict[str, str]) -> list[tuple[Path, int]]:
    """This project's running servers on the settings' port in their home, of any version."""
    home, port = Path(s["home"]), s["port"]
    found = []
    for inst in [home / f"instance-{port}", *sorted(home.glob(f"instance-{port}-*"))]:
        pid = _pid(inst)
        if pid is not None:
            found.append((inst, pid))
    return found


def _version_of(inst: Path, unrecorded: str = "5.26") -> str:
    """The Neo4j version an instance folder was last started with."""
    try:
        return (inst / "neo4j.version").read_text().strip()
    except OSError:
        return unrecorded  # folders from before versions were recorded: always 5.26


def _other_version_note(s: dict[str, str]) -> str:
    """Why the selected version is not running when another one holds its port, else ''."""
    inst = _instance(s)
    others = [(other, pid) for other, pid in _servers_on_port(s) if other != inst]
    if not others:
        return ""
    other, pid = others[0]
    return (
        f"port {s['port']} is held by this project's Neo4j {_version_of(other)} (pid {pid},"
        f" {other}), not {s['version']}: stop it first with 'scripts/neo4j stop'"
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _check_bolt(s: dict[str, str]) -> str | None:
    """None when Bolt answers with our credentials, else the reason it does not."""
    import neo4j
    from neo4j.exceptions import AuthError, ServiceUnavailable

    try:
        with neo4j.GraphDatabase.driver(
            _uri(s), auth=(USER, s["password"]), connection_timeout=5
        ) as driver:
            driver.verify_connectivity()
    except AuthError:
        return "auth"
    except (ServiceUnavailable, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


def start() -> int:
    s = _settings()
    inst = _instance(s)
    if _pid(inst) is not None and _check_bolt(s) is None:
        print(f"neo4j {s['version']} already running on {_uri(s)}", file=sys.stderr)
        return 0
    note = _other_version_note(s)
    if note:
        raise StartError(note)
    java = find_java(s["version"])
    lib = _resolve_jars(s)
    if not _port_free(int(s["port"])):
        raise StartError(
            f"port {s['port']} on 127.0.0.1 is already in use by another process: stop it,"
            f" or choose another port with GRAPH_CKPT_NEO4J_PORT"
        )
    _write_config(s, inst)
    (inst / "neo4j.version").write_text(s["version"] + "\n")
    if (
        not (inst / "data" / "dbms" / "auth.ini").exists()
        and not (inst / "data" / "databases" / "system").exists()
    ):
        # The initial password can only be set before the first start.
        admin = subprocess.run(
            [
                java,
                "-cp",
                f"{lib}/*",
                "org.neo4j.cli.AdminTool",
                "dbms",
                "set-initial-password",
                s["password"],
            ],
            env={**os.environ, "NEO4J_HOME": str(inst), "NEO4J_CONF": str(inst / "conf")},
            capture_output=True,
            text=True,
        )
        if admin.returncode != 0:
            raise StartError(f"setting the initial password failed: {admin.stderr.strip()[-300:]}")
    log = inst / "logs" / "console.log"
    heap = s["heap"]
    cmd = [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        *jvm_flags(java_major(java) or 0),
        "-cp",
        f"{lib}/*",
        line_for(s["version"]).entry_class,
        f"--home-dir={inst}",
        f"--config-dir={inst / 'conf'}",
        "--console-mode",
    ]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=inst,
            start_new_session=True,
        )
    (inst / "neo4j.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + float(s["timeout"])
    reason: str | None = "not started"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"neo4j exited with code {proc.returncode} while starting; see {log}")
        reason = _check_bolt(s)
        if reason is None:
            print(
                f"neo4j {s['version']} running on {_uri(s)} (pid {proc.pid}, {java})",
                file=sys.stderr,
            )
            return 0
        if reason == "auth":
            _terminate(proc.pid)
            raise StartError(
                f"neo4j in {inst} rejects the password from GRAPH_CKPT_NEO4J_PASSWORD: its data"
                f" was created with another one; run 'scripts/neo4j reset' to start afresh"
            )
        time.sleep(1)
    _terminate(proc.pid)
    raise StartError(
        f"neo4j did not answer on {_uri(s)} within {s['timeout']}s ({reason}); see {log}"
    )


def jvm_flags(major: int) -> list[str]:
    """The JVM flags of a Neo4j server on Java ``major``, heap aside: Neo4j's own launcher
    sets these, and both this script and the image ``scripts/neo4j image`` builds use them."""
    return [
        "-XX:+UseG1GC",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:+DisableExplicitGC",
        "-Djdk.nio.maxCachedBufferSize=1024",
        "-Dio.netty.tryReflectionSetAccessible=true",
        "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/java.io=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        *_quiet_java_flags(major),
    ]


def _quiet_java_flags(major: int) -> list[str]:
    """Flags that let Neo4j's libraries do on newer Java what they did on 17 and 21,
    without the warnings (and, later, the refusals) of JEP 472 and JEP 471."""
    flags = []
    if major >= 22:
        flags.append("--enable-native-access=ALL-UNNAMED")
    if major >= 24:
        flags.append("--sun-misc-unsafe-memory-access=allow")
    return flags


def _terminate(pid: int, timeout: float = 60) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Reap it if it is our child; otherwise just probe it.
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def stop() -> int:
    """Stop this project's server on the port, whichever version it runs."""
    s = _settings()
    running = _servers_on_port(s)
    if not running:
        print("neo4j is not running", file=sys.stderr)
    for inst, pid in running:
        _terminate(pid)
        print(f"neo4j {_version_of(inst)} stopped (pid {pid})", file=sys.stderr)
        (inst / "neo4j.pid").unlink(missing_ok=True)
    (_instance(s) / "neo4j.pid").unlink(missing_ok=True)
    return 0


def status() -> int:
    """Exit 0 when the selected version runs on the port, else 3."""
    s = _settings()
    inst = _instance(s)
    pid = _pid(inst)
    if pid is None:
        print("stopped")
        note = _other_version_note(s)
        if note:
            print(note, file=sys.stderr)
        return 3
    print(f"running pid={pid} uri={_uri(s)} version={_version_of(inst, s['version'])}")
    return 0


def env() -> int:
    s = _settings()
    if _pid(_instance(s)) is None:
        raise StartError(
            _other_version_note(s)
            or f"neo4j {s['version']} is not running: run 'scripts/neo4j start' first"
        )
    print(
        f"export NEO4J_URI={_uri(s)} NEO4J_USERNAME={USER}"
        f" NEO4J_PASSWORD={s['password']} NEO4J_DATABASE={DATABASE}"
    )
    return 0


def reset() -> int:
    """Stop the server on the port and remove the selected version's instance folder."""
    stop()
    inst = _instance(_settings())
    shutil.rmtree(inst, ignore_errors=True)
    print(f"removed {inst}", file=sys.stderr)
    return 0


def image() -> int:
    """Build the local Docker image of the selected version (see scripts/neo4j_image.py)."""
    import neo4j_image  # beside this file; only this command needs it

    s = _settings()
    line = line_for(s["version"])
    java = line.java[0]  # the release the line prefers: 17 for 5.26, 21 for 2025.x
    try:
        neo4j_image.check_docker()  # before Maven fetches jars for an image that cannot be
        name = neo4j_image.build(
            version=s["version"],
            lib=_resolve_jars(s),
            entry_class=line.entry_class,
            java=java,
            jvm_flags=jvm_flags(java),
            work_dir=Path(s["home"]),
        )
    except neo4j_image.ImageError as exc:
        raise StartError(str(exc)) from exc
    print(name)
    return 0


def versions() -> int:
    """Print the versions CI tests, the default first."""
    print("\n".join(TESTED_VERSIONS))
    return 0


COMMANDS = {
    "start": start,
    "stop": stop,
    "restart": lambda: stop() or start(),
    "status": status,
    "env": env,
    "reset": reset,
    "versions": versions,
    "image": image,
}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(f"usage: scripts/neo4j {{{'|'.join(COMMANDS)}}}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]]()
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
