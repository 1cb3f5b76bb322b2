"""Run a real Neo4j 5.26 Community server from jars resolved with Maven.

Neither Docker nor the server tarball is needed: Maven copies ``org.neo4j:neo4j`` and its
dependencies into a cache folder once, and the server runs through Neo4j's own entry point
(``org.neo4j.server.CommunityEntryPoint``) on a JDK 17 or 21, serving Bolt on 127.0.0.1.

Commands: start, stop, restart, status, env, reset. Settings come from the environment:

    GRAPH_CKPT_NEO4J_PORT      Bolt port (default 7687)
    GRAPH_CKPT_NEO4J_PASSWORD  password of user neo4j (default graph-checkpoint-dev)
    GRAPH_CKPT_NEO4J_HOME      cache and instance folder (default <project>/.neo4j)
    GRAPH_CKPT_NEO4J_HEAP      JVM heap, e.g. 2g (default 2g)
    GRAPH_CKPT_NEO4J_PAGECACHE page cache size (default 1g)
    GRAPH_CKPT_START_TIMEOUT   seconds to wait for Bolt (default 180)
    GRAPH_CKPT_JAVA            the java binary to use (default: a JDK 17 or 21 found on the machine)
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
from pathlib import Path

NEO4J_VERSION = "5.26.30"
ROOT = Path(__file__).resolve().parent.parent
POM = ROOT / "scripts" / "neo4j-pom.xml"
USER = "neo4j"
DATABASE = "neo4j"


class StartError(Exception):
    """A problem the user must fix; printed as one line."""


def _settings() -> dict[str, str]:
    env = os.environ
    home = Path(env.get("GRAPH_CKPT_NEO4J_HOME", str(ROOT / ".neo4j")))
    port = env.get("GRAPH_CKPT_NEO4J_PORT", "7687")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise StartError(f"GRAPH_CKPT_NEO4J_PORT={port!r} is not a port number")
    return {
        "home": str(home),
        "port": port,
        "password": env.get("GRAPH_CKPT_NEO4J_PASSWORD", "graph-checkpoint-dev"),
        "heap": env.get("GRAPH_CKPT_NEO4J_HEAP", "2g"),
        "pagecache": env.get("GRAPH_CKPT_NEO4J_PAGECACHE", "1g"),
        "timeout": env.get("GRAPH_CKPT_START_TIMEOUT", "180"),
    }


def _instance(s: dict[str, str]) -> Path:
    return Path(s["home"]) / f"instance-{s['port']}"


def _lib(s: dict[str, str]) -> Path:
    return Path(s["home"]) / f"lib-{NEO4J_VERSION}"


def _uri(s: dict[str, str]) -> str:
    return f"bolt://127.0.0.1:{s['port']}"


def _find_java() -> str:
    """A java binary of version 17 or 21: the versions Neo4j 5.26 supports."""
    explicit = os.environ.get("GRAPH_CKPT_JAVA")
    candidates = [explicit] if explicit else []
    if not explicit and os.environ.get("JAVA_HOME"):
        candidates.append(os.path.join(os.environ["JAVA_HOME"], "bin", "java"))
    if not explicit:
        candidates += sorted(glob.glob("/usr/lib/jvm/*17*/bin/java"))
        candidates += sorted(glob.glob("/usr/lib/jvm/*21*/bin/java"))
        on_path = shutil.which("java")
        if on_path:
            candidates.append(on_path)
    for java in candidates:
        if not os.access(java, os.X_OK):
            continue
        try:
            out = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=30
            ).stderr
        except (OSError, subprocess.TimeoutExpired):
            continue
        match = re.search(r'version "(\d+)', out)
        if match and match.group(1) in ("17", "21"):
            return java
    raise StartError(
        "Java 17 or 21 not found: install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless)"
        " or set JAVA_HOME to one"
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
    print(f"resolving Neo4j {NEO4J_VERSION} jars with Maven into {lib}", file=sys.stderr)
    lib.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            mvn,
            "-B",
            "-q",
            "-f",
            str(POM),
            f"-Dneo4j.version={NEO4J_VERSION}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise StartError(
            "Maven could not resolve the Neo4j jars (check the network and ~/.m2/settings.xml): "
            + " | ".join(tail)
        )
    marker.touch()
    return lib


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
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    # A recycled pid must never be signalled: it has to be our java with our home dir.
    if "CommunityEntryPoint" not in cmdline or f"--home-dir={inst}" not in cmdline:
        return None
    return pid


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
        print(f"neo4j already running on {_uri(s)}", file=sys.stderr)
        return 0
    java = _find_java()
    lib = _resolve_jars(s)
    if not _port_free(int(s["port"])):
        raise StartError(
            f"port {s['port']} on 127.0.0.1 is already in use by another process: stop it,"
            f" or choose another port with GRAPH_CKPT_NEO4J_PORT"
        )
    _write_config(s, inst)
    if (
        not (inst / "data" / "dbms" / "auth.ini").exists()
        and not (inst / "data" / "databases" / "system").exists()
    ):
        # The initial password can only be set before the first start.
        proc = subprocess.run(
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
        if proc.returncode != 0:
            raise StartError(f"setting the initial password failed: {proc.stderr.strip()[-300:]}")
    log = inst / "logs" / "console.log"
    heap = s["heap"]
    cmd = [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:+DisableExplicitGC",
        "-Djdk.nio.maxCachedBufferSize=1024",
        "-Dio.netty.tryReflectionSetAccessible=true",
        "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/java.io=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "-cp",
        f"{lib}/*",
        "org.neo4j.server.CommunityEntryPoint",
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
            print(f"neo4j {NEO4J_VERSION} running on {_uri(s)} (pid {proc.pid})", file=sys.stderr)
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
    s = _settings()
    inst = _instance(s)
    pid = _pid(inst)
    if pid is None:
        print("neo4j is not running", file=sys.stderr)
    else:
        _terminate(pid)
        print(f"neo4j stopped (pid {pid})", file=sys.stderr)
    (inst / "neo4j.pid").unlink(missing_ok=True)
    return 0


def status() -> int:
    s = _settings()
    pid = _pid(_instance(s))
    if pid is None:
        print("stopped")
        return 3
    print(f"running pid={pid} uri={_uri(s)}")
    return 0


def env() -> int:
    s = _settings()
    if _pid(_instance(s)) is None:
        raise StartError("neo4j is not running: run 'scripts/neo4j start' first")
    print(
        f"export NEO4J_URI={_uri(s)} NEO4J_USERNAME={USER}"
        f" NEO4J_PASSWORD={s['password']} NEO4J_DATABASE={DATABASE}"
    )
    return 0


def reset() -> int:
    stop()
    inst = _instance(_settings())
    shutil.rmtree(inst, ignore_errors=True)
    print(f"removed {inst}", file=sys.stderr)
    return 0


COMMANDS = {
    "start": start,
    "stop": stop,
    "restart": lambda: stop() or start(),
    "status": status,
    "env": env,
    "reset": reset,
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
