"""graph-checkpoint: resumable, exactly-once data loads into Neo4j.

Checkpoint state lives in the graph itself, as ``:CheckpointRun`` and ``:ProcessedItem``
nodes written in the same transaction as the loaded data, so progress and data commit
together or not at all.
"""

from __future__ import annotations

from .aio import AsyncCheckpointedLoader, AsyncCheckpointManager, AsyncLoaderCheckpoint, AsyncRun
from .checkpoint import LoaderCheckpoint
from .errors import (
    ConfigMismatchError,
    ConnectionFailedError,
    GraphCheckpointError,
    InvalidConfigError,
    InvalidItemError,
    InvalidNameError,
    LoadInterruptedError,
    RunNotFoundError,
    RunStateError,
)
from .loader import CheckpointContext, CheckpointedLoader, checkpoint_loader
from .manager import CheckpointManager
from .model import LoaderProgress, LoadResult, RunInfo
from .progress import Progress
from .run import Run

__version__ = "0.1.0"

__all__ = [
    "AsyncCheckpointManager",
    "AsyncCheckpointedLoader",
    "AsyncLoaderCheckpoint",
    "AsyncRun",
    "CheckpointContext",
    "CheckpointManager",
    "CheckpointedLoader",
    "ConfigMismatchError",
    "ConnectionFailedError",
    "GraphCheckpointError",
    "InvalidConfigError",
    "InvalidItemError",
    "InvalidNameError",
    "LoadInterruptedError",
    "LoadResult",
    "LoaderCheckpoint",
    "LoaderProgress",
    "Progress",
    "Run",
    "RunInfo",
    "RunNotFoundError",
    "RunStateError",
    "checkpoint_loader",
]
