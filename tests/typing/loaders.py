"""Type-checked by scripts/lint (mypy --strict), never run: what users' type checkers see."""

from __future__ import annotations

from typing import Any

import neo4j

from graph_checkpoint import (
    AsyncCheckpointedLoader,
    AsyncRun,
    CheckpointedLoader,
    Run,
    checkpoint_loader,
)


@checkpoint_loader(batch_size=10)
async def aload(tx: neo4j.AsyncManagedTransaction, batch: list[Any]) -> None:
    await tx.run("RETURN 1")


@checkpoint_loader
async def aload2(tx: neo4j.AsyncManagedTransaction, batch: list[Any]) -> None:
    await tx.run("RETURN 1")


@checkpoint_loader(batch_size=10)
def load(tx: neo4j.ManagedTransaction, batch: list[Any]) -> None:
    tx.run("RETURN 1")


@checkpoint_loader("people", compact=False)
def named(tx: neo4j.ManagedTransaction, batch: list[Any]) -> None:
    tx.run("RETURN 1")


async def use(run: AsyncRun, sync_run: Run) -> None:
    """``@checkpoint_loader`` on an ``async def`` is awaited with an AsyncRun."""
    awaited: AsyncCheckpointedLoader = aload
    bare: AsyncCheckpointedLoader = aload2
    plain: CheckpointedLoader = load
    by_name: CheckpointedLoader = named
    await awaited(run, [1])
    await bare(run, [1])
    plain(sync_run, [1])
    by_name(sync_run, [1])
