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
    ├── ItemAlreadyProcessedError  mark_processed(id, tx=tx) on an item another transaction
    │                              recorded: that transaction must roll back
    ├── FailureBudgetExceededError too many items failed: the loader or its query is broken
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
    "FailureBudgetExceededError",
    "GraphCheckpointError",
    "InvalidConfigError",
    "InvalidItemError",
    "InvalidNameError",
    "ItemAlreadyProcessedError",
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
    """The config given on resume differs from the one stored with the run.

    ``missing`` are keys stored but not given; ``unexpected`` are keys given but not stored;
    ``changed`` are keys in both whose values differ.
    """

    def __init__(
        self,
        run_id: str,
        missing: list[str],
        unexpected: list[str],
        changed: list[str] | None = None,
    ) -> None:
        changed = changed or []
        super().__init__(
            f"config differs from the one stored with run {run_id}"
            f" ({self.describe(missing, unexpected, changed)}): pass the same config, or"
            " force=True to resume it and store the new config"
        )
        self.run_id = run_id
        self.missing = missing
        self.unexpected = unexpected
        self.changed = changed

    @staticmethod
    def describe(missing: list[str], unexpected: list[str], changed: list[str]) -> str:
        """``missing a; unexpected b; changed c``: the differences, for messages."""
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if unexpected:
            parts.append("unexpected " + ", ".join(unexpected))
        if changed:
            parts.append("changed " + ", ".join(changed))
        return "; ".join(parts)


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


class ItemAlreadyProcessedError(GraphCheckpointError):
    """``mark_processed(item_id, tx=tx)`` found the item recorded as processed already.

    Another transaction (another thread or process) loaded the item first, so the
    transaction that raised must not commit: let the error leave the transaction function
    and the driver rolls its writes back. Check ``is_processed(item_id, tx=tx)`` inside the
    transaction to skip such items without an error. ``item_id`` and ``run_id`` say which.
    """

    def __init__(self, run_id: str, loader: str, item_id: Any) -> None:
        super().__init__(
            f"item {item_id!r} of loader {loader} was already processed in run {run_id} by"
            " another transaction: this transaction must roll back (let the error leave the"
            " transaction function); check is_processed(item_id, tx=tx) first to skip it"
        )
        self.run_id = run_id
        self.loader = loader
        self.item_id = item_id


class FailureBudgetExceededError(GraphCheckpointError):
    """Too many items of a load failed, so it stopped: the run and loader end ``failed``.

    Usually the loader or its query is broken for every item (see the error of the last
    failed item in the message). Fix it and resume the run: the failed items are retried.
    Tune or turn off the limit with ``checkpoint_loader(failure_budget=...)``.
    """
