"""graph-checkpoint: resumable, exactly-once data loads into Neo4j.

Checkpoint state lives in the graph itself, as ``:CheckpointRun`` and ``:ProcessedItem``
nodes written in the same transaction as the loaded data, so progress and data commit
together or not at all.
"""

from __future__ import annotations

from ._async.checkpoint import AsyncLoaderCheckpoint
from ._async.manager import AsyncCheckpointManager
from ._async.run import AsyncRun
from ._connection import ConnectionSettings
from ._sync.checkpoint import LoaderCheckpoint
from ._sync.manager import CheckpointManager
from ._sync.run import Run
from .budget import FailureBudget
from .errors import (
    ConfigMismatchError,
    ConnectionFailedError,
    FailureBudgetExceededError,
    GraphCheckpointError,
    InvalidConfigError,
    InvalidItemError,
    InvalidNameError,
    ItemAlreadyProcessedError,
    LoadInterruptedError,
    RunNotFoundError,
    RunStateError,
)
from .loader import (
    AsyncCheckpointContext,
    AsyncCheckpointedLoader,
    CheckpointContext,
    CheckpointedLoader,
    checkpoint_loader,
)
from .model import LoaderProgress, LoadResult, ParticipantInfo, RunInfo, RunStatus
from .progress import Progress

__version__ = "0.1.0"

__all__ = [
    "AsyncCheckpointContext",
    "AsyncCheckpointManager",
    "AsyncCheckpointedLoader",
    "AsyncLoaderCheckpoint",
    "AsyncRun",
    "CheckpointContext",
    "CheckpointManager",
    "CheckpointedLoader",
    "ConfigMismatchError",
    "ConnectionFailedError",
    "ConnectionSettings",
    "FailureBudget",
    "FailureBudgetExceededError",
    "GraphCheckpointError",
    "InvalidConfigError",
    "InvalidItemError",
    "InvalidNameError",
    "ItemAlreadyProcessedError",
    "LoadInterruptedError",
    "LoadResult",
    "LoaderCheckpoint",
    "LoaderProgress",
    "ParticipantInfo",
    "Progress",
    "Run",
    "RunInfo",
    "RunNotFoundError",
    "RunStateError",
    "RunStatus",
    "checkpoint_loader",
]
