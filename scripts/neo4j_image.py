"""Build a Docker image of the project's Neo4j without any image registry.

``scripts/neo4j image`` calls :func:`build`. The official ``neo4j`` image is what
graph-checkpoint's pytest plugin starts on a user's machine; where no registry can be reached,
this builds a stand-in from what can be: a Debian root file system made by ``debootstrap``
from the machine's own Debian mirror, Java from Debian's packages, and the server jars
``scripts/neo4j`` already resolves with Maven. Two images:

    graph-checkpoint/jre:<java>-<suite>        Debian (minbase) with the Java runtime:
                                               17 on bookworm (5.26), 21 on trixie (2025.x)
    graph-checkpoint/neo4j:<version>-local     that base, the jars and scripts/image's
                                               entrypoint (the official image's conventions)

Each carries a label with a hash of what it is made of; a build whose inputs are unchanged
does nothing, so a second ``scripts/neo4j image`` returns at once. Building the base needs
root (debootstrap, chroot) and a Debian mirror (``GRAPH_CKPT_DEBIAN_MIRROR``, else the first
one apt's sources name). The Neo4j layer needs only a Docker daemon.

Tests import this file (no side effects on import) for :func:`image_name`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "image"
IMAGE_REPOSITORY = "graph-checkpoint/neo4j"
BASE_REPOSITORY = "graph-checkpoint/jre"
INPUTS_LABEL = "org.graph-checkpoint.inputs"
# The Debian release that packages each Java the Neo4j lines need.
SUITES = {17: "bookworm", 21: "trixie"}
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))
# Bump when the base recipe below changes in a way its inputs do not show.
BASE_RECIPE = 1


class ImageError(Exception):
    """A problem the user must fix; printed as one line."""


def image_name(version: str) -> str:
    """The tag ``scripts/neo4j image`` gives the image of Neo4j ``version``."""
    return f"{IMAGE_REPOSITORY}:{version}-local"


def base_name(java: int) -> str:
    """The tag of the Debian + Java base image for Java ``java``."""
    return f"{BASE_REPOSITORY}:{java}-{_suite(java)}"


def _suite(java: int) -> str:
    try:
        return SUITES[java]
    except KeyError:
        raise ImageError(f"no Debian release is set up to provide Java {java}") from None


def _log(message: str) -> None:
    print(f"neo4j image: {message}", file=sys.stderr, flush=True)


def _docker(*args: str, stdin: bytes | None = None, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], input=stdin, capture_output=True)
    if check and proc.returncode != 0:
        error = proc.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        raise ImageError(f"docker {args[0]} failed: {error[-1]}")
    return proc.stdout.decode(errors="replace").strip()


def _label(image: str) -> str | None:
    """The inputs label of a local image, None if there is no such image."""
    try:
        found = _docker("image", "inspect", "--format", "{{json .Config.Labels}}", image)
    except ImageError:
        return None
    return (json.loads(found) or {}).get(INPUTS_LABEL, "")


def _digest(parts: Sequence[str | bytes]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()[:16]


def debian_mirror(
    env: dict[str, str] | None = None, sources: tuple[Path, Path] = APT_SOURCES
) -> str:
    """The Debian mirror for debootstrap: ``GRAPH_CKPT_DEBIAN_MIRROR``, else the first archive
    apt's ``sources`` (a ``sources.list.d`` folder, a ``sources.list``) name, security aside."""
    env = dict(os.environ) if env is None else env
    chosen = env.get("GRAPH_CKPT_DEBIAN_MIRROR", "").strip()
    if chosen:
        return chosen
    folder, single = sources
    texts = [p.read_text() for p in sorted(folder.glob("*.sources")) if p.is_file()]
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and not _security_only(suites.group(1).split()):
                return uris.group(1)
    lists = [single, *sorted(folder.glob("*.list"))]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            fields = re.sub(r"\[[^]]*\]", "", line).split()
            if len(fields) >= 3 and fields[0] == "deb" and not _security_only([fields[2]]):
                return fields[1]
    raise ImageError(
        "no Debian mirror found in apt's sources for debootstrap: set GRAPH_CKPT_DEBIAN_MIRROR"
        " to one (the URL of a Debian archive)"
    )


def _security_only(suites: Sequence[str]) -> bool:
    return all(s.endswith(("-security", "/updates")) for s in suites)


def check_docker() -> None:
    """An ImageError unless the docker command is there and its daemon answers."""
    if not shutil.which("docker"):
        raise ImageError(
            "the docker command is missing: install Docker (apt-get install docker.io)"
        )
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise ImageError("the Docker daemon does not answer: start dockerd (as root), then retry")


def _check_base_tools() -> None:
    if not shutil.which("debootstrap"):
        raise ImageError("debootstrap is missing: install it (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise ImageError("building the base image needs root (debootstrap and chroot): run as root")


@contextmanager
def _mounted_proc(rootfs: Path) -> Iterator[None]:
    """/proc in the chroot, which Java's package scripts need; always unmounted again."""
    proc = rootfs / "proc"
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        yield
    finally:
        if subprocess.run(["umount", str(proc)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(proc)], capture_output=True)


def _run_logged(cmd: Sequence[str], log: Path, what: str) -> None:
    with log.open("ab") as out:
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ImageError(f"{what} failed (exit {code}; log {log}): {tail[0]}")


def _build_base(java: int, work_dir: Path) -> str:
    """Debian minbase with Java's runtime, imported as a local image (cached by label)."""
    name, suite = base_name(java), _suite(java)
    package = f"openjdk-{java}-jre-headless"
    inputs = _digest([str(BASE_RECIPE), suite, package])
    if _label(name) == inputs:
        return name
    _check_base_tools()
    mirror = debian_mirror()
    replaced = _image_id(name)
    began = time.monotonic()
    work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="image-build-", dir=work_dir))
    log = scratch.with_suffix(".log")
    rootfs = scratch / "rootfs"
    try:
        _log(f"building {name}: debootstrap {suite} (about a minute, once)")
        _run_logged(
            ["debootstrap", "--variant=minbase", suite, str(rootfs), mirror], log, "debootstrap"
        )
        # No service may start inside the chroot; the host's resolver lets apt reach the mirror.
        policy = rootfs / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        shutil.copyfile("/etc/resolv.conf", rootfs / "etc/resolv.conf")
        with _mounted_proc(rootfs):
            _run_logged(
                [
                    "chroot",
                    str(rootfs),
                    "/usr/bin/env",
                    "-i",
                    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                    "DEBIAN_FRONTEND=noninteractive",
                    "LANG=C.UTF-8",
                    "sh",
                    "-c",
                    f"apt-get update -q && apt-get install -y -q --no-install-recommends {package}",
                ],
                log,
                f"installing {package}",
            )
        policy.unlink()
        (rootfs / "etc/resolv.conf").write_text("")
        for junk in ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man"):
            for entry in (rootfs / junk).glob("*"):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
        )
        assert tar.stdout is not None
        imported = subprocess.run(
            [
                "docker",
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                f"LABEL {INPUTS_LABEL}={inputs}",
                "--change",
                'CMD ["/bin/bash"]',
                "--message",
                f"debootstrap --variant=minbase {suite}, {package}",
                "-",
                name,
            ],
            stdin=tar.stdout,
            capture_output=True,
        )
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise ImageError(f"docker import failed: {imported.stderr.decode().strip()[-300:]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.unlink(missing_ok=True)
    _drop_if_untagged(replaced)
    _log(f"built {name} in {time.monotonic() - began:.0f}s")
    return name


def _image_id(image: str) -> str | None:
    try:
        return _docker("image", "inspect", "--format", "{{.Id}}", image)
    except ImageError:
        return None


def _drop_if_untagged(image_id: str | None) -> None:
    """Remove an image a rebuild replaced (only ours, and only if no tag or container uses it)."""
    if image_id and not _docker(
        "image", "inspect", "--format", '{{join .RepoTags ","}}', image_id, check=False
    ):
        _docker("image", "rm", image_id, check=False)


def build(
    *,
    version: str,
    lib: Path,
    entry_class: str,
    java: int,
    jvm_flags: Sequence[str],
    work_dir: Path,
) -> str:
    """Build (or find up to date) the image of Neo4j ``version``; return its name.

    ``lib`` holds the server jars, ``entry_class`` is the server's main class, ``java`` the
    Java release the image gets and ``jvm_flags`` the flags the server runs with;
    ``work_dir`` holds scratch files while the base image is made.
    """
    name = image_name(version)
    base = base_name(java)
    check_docker()
    began = time.monotonic()
    base_id = _image_id(_build_base(java, work_dir))
    jars = sorted(p for p in lib.glob("*.jar"))
    if not jars:
        raise ImageError(f"no Neo4j jars in {lib}: run scripts/neo4j start once to fetch them")
    args_file = "\n".join(jvm_flags) + "\n"
    inputs = _digest(
        [
            base_id,
            version,
            entry_class,
            args_file,
            (SOURCE / "Dockerfile").read_bytes(),
            (SOURCE / "docker-entrypoint.sh").read_bytes(),
            *(f"{jar.name} {jar.stat().st_size}" for jar in jars),
        ]
    )
    if _label(name) == inputs:
        _log(f"{name} is up to date")
        return name
    replaced = _image_id(name)
    with tempfile.TemporaryDirectory(prefix="image-context-", dir=work_dir) as context:
        ctx = Path(context)
        (ctx / "lib").mkdir()
        linkable = lib.stat().st_dev == ctx.stat().st_dev
        for jar in jars:  # hard links where possible: the jars are over 100 MB
            if linkable:
                os.link(jar, ctx / "lib" / jar.name)
            else:
                shutil.copy(jar, ctx / "lib")
        (ctx / "jvm.args").write_text(args_file)
        shutil.copy(SOURCE / "Dockerfile", ctx)
        shutil.copy(SOURCE / "docker-entrypoint.sh", ctx)
        (ctx / "docker-entrypoint.sh").chmod(0o755)
        # The classic builder uses a FROM image that exists locally as it is, never pulling.
        proc = subprocess.run(
            [
                "docker",
                "build",
                "--quiet",
                "--build-arg",
                f"BASE={base}",
                "--build-arg",
                f"ENTRY_CLASS={entry_class}",
                "--label",
                f"{INPUTS_LABEL}={inputs}",
                "--tag",
                name,
                str(ctx),
            ],
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
            capture_output=True,
        )
    if proc.returncode != 0:
        error = proc.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        raise ImageError(f"docker build of {name} failed: {error[-1]}")
    _drop_if_untagged(replaced)
    _log(f"built {name} in {time.monotonic() - began:.0f}s")
    return name
