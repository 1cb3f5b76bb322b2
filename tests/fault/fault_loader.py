"""A loader process for the fault tests: loads integer items with non-idempotent writes.

Run as ``python fault_loader.py --items 0:20000 [--run-id ID | --config-tag T] [--shuffle SEED]
[--api sync|async]``. The connection comes from NEO4J_URI, NEO4J_USERNAME and NEO4J_PASSWORD
(and NEO4J_DATABASE).

``--api sync`` (the default) loads through ``CheckpointManager``, a plain ``def`` loader and
``neo4j.GraphDatabase``; ``--api async`` does the same load through ``AsyncCheckpointManager``,
an ``async def`` loader, ``neo4j.AsyncGraphDatabase`` and an async iterable input, in
``asyncio.run``. Both print the same lines, so the tests drive either in the same way.

Every write is a plain ``CREATE``, so any batch that was applied twice, or applied without its
checkpoint, shows up as a duplicate or orphan node when the test counts them afterwards. The
script prints one line per committed batch (``progress <seen>``) so the parent process can
SIGKILL it at chosen points of the load, and ``done <processed> <skipped> <failed>`` when the
load finished and the run was closed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import AsyncIterator

import neo4j

from graph_checkpoint import (
    AsyncCheckpointManager,
    CheckpointManager,
    LoadResult,
    Progress,
    checkpoint_loader,
)

APIS = ("sync", "async")


def parse_ranges(spec: str) -> list[int]:
    """``"0:100,200:300"`` as the list of ints in those half-open ranges, in order."""
    items: list[int] = []
    for part in spec.split(","):
        start, _, stop = part.partition(":")
        items.extend(range(int(start), int(stop)))
    return items


def report(progress: Progress) -> None:
    print(f"progress {progress.seen}", flush=True)


def auth() -> tuple[str, str]:
    return (os.environ["NEO4J_USERNAME"], os.environ["NEO4J_PASSWORD"])


def database() -> str | None:
    return os.environ.get("NEO4J_DATABASE") or None


def load_sync(args: argparse.Namespace, items: list[int], create: str) -> LoadResult:
    """The load through the sync API."""
    pid = os.getpid()

    @checkpoint_loader(
        name="fault_loader",
        batch_size=args.batch_size,
        workers=args.workers,
        on_progress=report,
        progress=False,
    )
    def load(tx: neo4j.ManagedTransaction, rows: list[int]) -> None:
        tx.run(create, rows=rows, pid=pid).consume()
        if args.sleep:
            time.sleep(args.sleep)

    with neo4j.GraphDatabase.driver(os.environ["NEO4J_URI"], auth=auth()) as driver:
        manager = CheckpointManager(driver, database())
        if args.run_id:
            run = manager.run(run_id=args.run_id, participant=args.participant)
        else:
            run = manager.run(
                description="fault test",
                config={"tag": args.config_tag},
                participant=args.participant,
            )
        print(f"run {run.run_id}", flush=True)
        with run:
            result = load(run, items)
            print("loaded", flush=True)
            # Lets a test act on a run that is certainly still running, however fast the load.
            while args.hold and not os.path.exists(args.hold):
                time.sleep(0.05)
    return result


async def load_async(args: argparse.Namespace, items: list[int], create: str) -> LoadResult:
    """The same load through the async API: async loader, async driver, async input."""
    pid = os.getpid()

    @checkpoint_loader(
        name="fault_loader",
        batch_size=args.batch_size,
        workers=args.workers,
        on_progress=report,
        progress=False,
    )
    async def load(tx: neo4j.AsyncManagedTransaction, rows: list[int]) -> None:
        result = await tx.run(create, rows=rows, pid=pid)
        await result.consume()
        if args.sleep:
            await asyncio.sleep(args.sleep)

    async def source() -> AsyncIterator[int]:
        # An async iterable that really yields to the event loop now and then, as a reader
        # of a file or a network stream would.
        for index, item in enumerate(items):
            yield item
            if index % 64 == 0:
                await asyncio.sleep(0)

    async with neo4j.AsyncGraphDatabase.driver(os.environ["NEO4J_URI"], auth=auth()) as driver:
        manager = AsyncCheckpointManager(driver, database())
        if args.run_id:
            run = await manager.run(run_id=args.run_id, participant=args.participant)
        else:
            run = await manager.run(
                description="fault test",
                config={"tag": args.config_tag},
                participant=args.participant,
            )
        print(f"run {run.run_id}", flush=True)
        async with run:
            result = await load(run, source())
            print("loaded", flush=True)
            while args.hold and not os.path.exists(args.hold):
                await asyncio.sleep(0.05)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", required=True, help="half-open ranges, e.g. 0:20000")
    parser.add_argument("--api", choices=APIS, default="sync", help="which API loads")
    parser.add_argument("--label", default="FaultItem", help="label of the data nodes")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--run-id", help="join this run (manager.run(run_id=...))")
    parser.add_argument("--config-tag", default="fault", help="resume by config instead")
    parser.add_argument("--participant", help="this process's participant name in the run")
    parser.add_argument("--shuffle", type=int, help="shuffle the items with this seed")
    parser.add_argument("--hold", help="keep the run open until this file exists")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds per batch, in the tx")
    args = parser.parse_args(argv)
    if not args.label.isidentifier():  # the label is spliced into the query text below
        parser.error("--label must be an identifier")

    items = parse_ranges(args.items)
    if args.shuffle is not None:
        # Workers that meet the same ids in different orders are the likeliest to deadlock.
        random.Random(args.shuffle).shuffle(items)
    # Labels cannot be parameters; the label was checked above and comes from the test only.
    create = "UNWIND $rows AS r CREATE (:" + args.label + " {id: r, pid: $pid})"

    if args.api == "async":
        result = asyncio.run(load_async(args, items, create))
    else:
        result = load_sync(args, items, create)
    print(f"done {result.processed} {result.skipped} {result.failed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
