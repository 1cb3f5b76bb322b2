"""The exceptions graph-checkpoint raises.

Every error derives from one root, so ``except GraphCheckpointError`` catches them all::

    GraphCheckpointError
    ├── InvalidItemError        an item id that is missing, None, or not a str or int
    ├── InvalidNameError        a loader name with characters that are not allowed
    ├── InvalidConfigError      a run config that is not a JSON object
    ├── RunNotFoundError        resuming or showing a run id that does not exist
    ├── ConfigMismatchError     resuming with a config whose keys differ from the stored one
    ├── RunStateError           using a run that has already been closed in this process
    ├── ConnectionFailedError   the server cannot be reached, or refuses the credentials
    └── LoadInterruptedError    a transient failure outlasted the retries; the run is resumable

Messages say what went wrong and what to do about it, and ``is_retryable()`` says whether
trying again later may help, as the driver's own errors do. Misuse (a wrong argument type, an
invalid option value) raises the built-in ``TypeError`` or ``ValueError`` instead.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigMismatchError",
    "ConnectionFailedError",
    "GraphCheckpointError",
    "InvalidConfigError",
    "InvalidItemError",
    "InvalidNameError",
    "LoadInterruptedError",
    "RunNotFoundError",
    "RunStateError",
]


class GraphCheckpointError(Exception):
    """Root of every error raised by graph-checkpoint."""

    def is_retryable(self) -> bool:
        """True when trying the same thing again later may succeed (as the driver's errors say).

        A :class:`LoadInterruptedError` is; a server that cannot be reached may be; a bad
        id, name or config, an unknown run or wrong credentials are not.
        """
        return False


class InvalidItemError(GraphCheckpointError, ValueError):
    """An item whose id cannot be used: missing, None, the wrong type, or too long.

    ``item`` holds the offending item.
    """

    def __init__(self, message: str, item: Any = None) -> None:
        super().__init__(message)
        self.item = item


class InvalidNameError(GraphCheckpointError, ValueError):
    """A loader name that is empty, too long or holds characters that are not allowed."""


class InvalidConfigError(GraphCheckpointError, ValueError):
    """A run config that is not a JSON object of JSON-serializable values."""


class RunNotFoundError(GraphCheckpointError, LookupError):
    """No ``:CheckpointRun`` exists with the requested run id (or none is incomplete)."""


class ConfigMismatchError(GraphCheckpointError):
    """The config given on resume has other keys than the one stored with the run.

    ``missing`` are keys stored but not given; ``unexpected`` are keys given but not stored.
    """

    def __init__(self, run_id: str, missing: list[str], unexpected: list[str]) -> None:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected " + ", ".join(unexpected))
        super().__init__(
            f"config keys differ from those stored with run {run_id} ({'; '.join(parts)}):"
            " pass the same config, or force=True to resume anyway"
        )
        self.run_id = run_id
        self.missing = missing
        self.unexpected = unexpected


class RunStateError(GraphCheckpointError):
    """A run object used after it was completed or failed in this process."""


class ConnectionFailedError(GraphCheckpointError):
    """The Neo4j server could not be reached, or refused the credentials or database.

    ``retryable`` is True when the server could not be reached (it may come back), False
    when it answered and refused.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable

    def is_retryable(self) -> bool:
        """True when the server could not be reached: it may answer later."""
        return self.retryable


class LoadInterruptedError(GraphCheckpointError):
    """A transient error outlasted the driver's retries; the run is left resumable.

    Nothing of the batch that was being written is in the database. Resume the run once
    the cause (server restart, network, leader election) has passed.
    """

    def is_retryable(self) -> bool:
        """Always True: resuming the run once the cause has passed goes on where it stopped."""
        return True
