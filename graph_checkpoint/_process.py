"""Whether a process recorded in the graph (a run's, a participant's) still exists."""

from __future__ import annotations

import os
import socket
import threading

_GENERIC_HOSTS = frozenset({"", "localhost", "localhost.localdomain"})


def this_process() -> dict[str, str | int]:
    """The ``host`` and ``pid`` recorded for this process."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def process_alive(host: str | None, pid: object) -> bool | None:
    """Whether process ``pid`` on ``host`` exists; None when that cannot be told from here.

    Only a process on this host can be checked (``host`` is ``socket.gethostname()``): True
    when it exists (also when it belongs to another user), False when it is gone. None for
    another host, no pid, a host with a generic name (``localhost``: other machines may have
    it too), or on Windows, where there is no harmless way to probe a pid. A pid the system
    gave to a new process since counts as alive: the heartbeat still tells in the end.
    """
    if not isinstance(pid, int) or pid <= 0 or host is None or os.name == "nt":
        return None
    if host in _GENERIC_HOSTS or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return None
    return True


# The participant names this process holds, per run: a second run object opened on the same
# run in this process (another thread, another manager) takes part under a name of its own.
_held: set[tuple[str, str]] = set()
_held_lock = threading.Lock()


def reserve_name(run_id: str) -> str:
    """A participant name for this process in ``run_id`` (``host:pid``, then ``host:pid/2``...)."""
    base = f"{socket.gethostname()}:{os.getpid()}"
    with _held_lock:
        name, n = base, 1
        while (run_id, name) in _held:
            n += 1
            name = f"{base}/{n}"
        _held.add((run_id, name))
    return name


def release_name(run_id: str, name: str) -> None:
    """Give back a name :func:`reserve_name` handed out."""
    with _held_lock:
        _held.discard((run_id, name))


# Participants this process held and left without writing their end (the server was gone):
# they are not live, whatever their heartbeat says, so the next join may take their place.
_abandoned: set[tuple[str, str]] = set()


def abandon(run_id: str, name: str) -> None:
    """Note that this process left participant ``name`` of ``run_id`` without ending it."""
    with _held_lock:
        _abandoned.add((run_id, name))


def reclaim(run_id: str, name: str) -> None:
    """This process holds participant ``name`` of ``run_id`` again."""
    with _held_lock:
        _abandoned.discard((run_id, name))


def abandoned(run_id: str) -> list[str]:
    """The participants of ``run_id`` this process left without ending them."""
    with _held_lock:
        return sorted(name for run, name in _abandoned if run == run_id)
