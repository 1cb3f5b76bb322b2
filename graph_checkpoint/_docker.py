"""The Neo4j container the pytest plugin starts when Docker answers and NEO4J_URI is unset.

testcontainers starts the container. Its reaper (Ryuk) is not used: it is one more image to
pull, which is exactly what fails where no registry can be reached. The plugin removes its
container itself instead: at the end of the session, when the session is interrupted
(Ctrl-C, or SIGTERM, which is turned into the same interruption while the container runs),
and, for a session killed outright, at the start of the next session on this machine, which
removes containers whose pytest process is gone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import threading
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Any

from ._process import process_alive, this_process

logger = logging.getLogger("graph_checkpoint.pytest_plugin")

# Every container the plugin starts carries these labels: which process owns it.
HOST_LABEL = "org.graph-checkpoint.pytest.host"
PID_LABEL = "org.graph-checkpoint.pytest.pid"


class ContainerUnavailableError(Exception):
    """Docker answered, but the Neo4j container could not be started (e.g. no image)."""


def neo4j_container_class() -> Any:
    """testcontainers' Neo4jContainer: in ``community`` since 4.14, at the top level before."""
    try:
        from testcontainers.community.neo4j import Neo4jContainer
    except ImportError:
        from testcontainers.neo4j import Neo4jContainer  # type: ignore[no-redef,unused-ignore]
    return Neo4jContainer


def docker_available() -> bool:
    """True when a Docker daemon answers and testcontainers is installed to drive it."""
    try:
        neo4j_container_class()  # without testcontainers, Docker is of no use here
        client = _client(timeout=3)
        if client is None:
            return False
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, no daemon: all mean "no Docker here"
        return False


def _client(timeout: int = 60) -> Any:
    """A Docker SDK client from the environment (DOCKER_HOST...), or None if there is none."""
    import docker  # type: ignore[import-untyped,unused-ignore]

    try:
        client = docker.from_env(timeout=timeout)
    except Exception:
        client = None
    if client is None:  # outside the except block: its traceback holds the socket
        _collect_quietly()
    return client


def _collect_quietly() -> None:
    """Finalize what a failed Docker probe left behind without a ResourceWarning.

    The Docker SDK's client opens its socket in its constructor and, when the daemon is not
    there, raises without closing it; under ``-W error`` the warning would fail whichever
    test the garbage collector happens to run in.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return (text[:limit] + "...") if len(text) > limit else text


def _reason(exc: BaseException) -> str:
    """What Docker said, without the HTTP request around it when there is an explanation."""
    explanation = getattr(exc, "explanation", None)
    return _one_line(str(explanation or exc) or type(exc).__name__)


def _advice(image: str) -> str:
    return (
        f"set NEO4J_URI (with NEO4J_USERNAME, NEO4J_PASSWORD) to a Neo4j 5.26 or 2025.x server,"
        f" or make {image} available to Docker, or name a Neo4j image Docker has with"
        f" GRAPH_CKPT_NEO4J_IMAGE or the graph_checkpoint_neo4j_image ini option"
    )


def remove_leftovers(client: Any) -> list[str]:
    """Remove the plugin's containers whose pytest process on this host is gone."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": PID_LABEL}):
        labels = container.labels or {}
        try:
            pid = int(labels.get(PID_LABEL, ""))
        except ValueError:
            continue
        if process_alive(labels.get(HOST_LABEL), pid) is False:
            with contextlib.suppress(Exception):  # removed meanwhile by another session
                container.remove(force=True, v=True)
                removed.append(container.short_id)
    if removed:
        logger.info(
            "removed %d Neo4j container(s) left by pytest sessions that were killed: %s",
            len(removed),
            ", ".join(removed),
        )
    return removed


def _ensure_image(client: Any, image: str) -> None:
    """The image is on this machine, or is pulled now; else one line that says what to do."""
    import docker

    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    logger.info("pulling the Neo4j image %s", image)
    try:
        client.images.pull(image)
    except Exception as exc:
        raise ContainerUnavailableError(
            f"Docker answers, but the Neo4j image {image} is not on this machine and could not"
            f" be pulled ({_reason(exc)}): {_advice(image)}"
        ) from None


@contextlib.contextmanager
def _without_ryuk() -> Iterator[None]:
    """testcontainers' reaper off for the one container started in the block."""
    try:
        from testcontainers.core.config import testcontainers_config
    except ImportError:  # an older testcontainers: it reads TESTCONTAINERS_RYUK_DISABLED only
        yield
        return
    before = testcontainers_config.ryuk_disabled
    testcontainers_config.ryuk_disabled = True
    try:
        yield
    finally:
        testcontainers_config.ryuk_disabled = before


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (and SIGHUP) raise KeyboardInterrupt while the block runs, as Ctrl-C does.

    pytest tears its session fixtures down on KeyboardInterrupt, so a session stopped with
    ``kill`` or by a closed terminal still removes its container. Only where those signals
    still have their default action, and only in the main thread, where handlers can be set.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    replaced = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            replaced[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def neo4j_container(image: str, password: str) -> Iterator[str]:
    """A Neo4j container of ``image`` for the block, removed afterwards; yields its Bolt URI.

    Raises ContainerUnavailableError, with one line that says what to do, when it cannot be
    had.
    """
    client = _client()
    if client is None:
        raise ContainerUnavailableError(f"Docker does not answer: {_advice(image)}")
    try:
        remove_leftovers(client)
        _ensure_image(client, image)
    except ContainerUnavailableError:
        raise
    except Exception as exc:
        raise ContainerUnavailableError(
            f"Docker answers, but could not be asked for {image} ({_reason(exc)}): {_advice(image)}"
        ) from None
    finally:
        client.close()
    owner = this_process()
    container = neo4j_container_class()(image, password=password)
    container.with_kwargs(labels={HOST_LABEL: str(owner["host"]), PID_LABEL: str(owner["pid"])})
    with _sigterm_interrupts():
        try:
            with _without_ryuk():
                container.start()
        except BaseException as exc:
            _remove(container)
            if not isinstance(exc, Exception):
                raise  # Ctrl-C while the server was starting: nothing is left behind
            raise ContainerUnavailableError(
                f"Docker answers, but the Neo4j container ({image}) did not start"
                f" ({_reason(exc)}): {_advice(image)}"
            ) from None
        try:
            logger.info(
                "Neo4j container %s of %s started",
                container.get_wrapped_container().short_id,
                image,
            )
            yield container.get_connection_url()
        finally:
            _remove(container)


def _remove(container: Any) -> None:
    """Remove the container (killed: its data is thrown away anyway), if it was created."""
    try:
        short_id = _short_id(container)
    except Exception:  # testcontainers did not get as far as creating it
        return
    try:
        container.stop()
    except Exception as exc:
        logger.warning(
            "could not remove the Neo4j container %s: %s; remove it with `docker rm -f %s`",
            short_id,
            _reason(exc),
            short_id,
        )


def _short_id(container: Any) -> str:
    return str(container.get_wrapped_container().short_id)
