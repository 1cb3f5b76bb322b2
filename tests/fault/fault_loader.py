"""A loader process for the fault tests: loads integer items with non-idempotent writes.

Run as ``python fault_loader.py --items 0:20000 [--run-id ID | --config-tag T] [--shuffle SEED]``.
The connection comes from NEO4J_URI, NEO4J_USERNAME and NEO4J_PASSWORD (and NEO4J_DATABASE).

Every write is a plain ``CREATE``, so any batch that was applied twice, or applied without its
checkpoint, shows up as a duplicate or orphan node when the test counts them afterwards. The
script prints one line per committed batch (``progress <seen>``) so the parent process can
SIGKILL it at chosen points of the load, and ``done <processed> <skipped> <failed>`` when the
load finished and the run was closed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import neo4j

from graph_checkpoint import CheckpointManager, Progress, checkpoint_loader


def parse_ranges(spec: str) -> list[int]:
    """``"0:100,200:300"`` as the list of ints in those half-open ranges, in order."""
    items: list[int] = []
    for part in spec.split(","):
        start, _, stop = part.partition(":")
        items.extend(range(int(start), int(stop)))
    return items


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", required=True, help="half-open ranges, e.g. 0:20000")
    parser.add_argument("--label", default="FaultItem", help="label of the data nodes")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--run-id", help="join this run (manager.run(run_id=...))")
    parser.add_argument("--config-tag", default="fault", help="resume by config instead")
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
    pid = os.getpid()

    def report(progress: Progress) -> None:
        print(f"progress {progress.seen}", flush=True)

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

    auth = (os.environ["NEO4J_USERNAME"], os.environ["NEO4J_PASSWORD"])
    with neo4j.GraphDatabase.driver(os.environ["NEO4J_URI"], auth=auth) as driver:
        manager = CheckpointManager(driver, os.environ.get("NEO4J_DATABASE") or None)
        if args.run_id:
            run = manager.run(run_id=args.run_id)
        else:
            run = manager.run(description="fault test", config={"tag": args.config_tag})
        print(f"run {run.run_id}", flush=True)
        with run:
            result = load(run, items)
            print("loaded", flush=True)
            # Lets a test act on a run that is certainly still running, however fast the load.
            while args.hold and not os.path.exists(args.hold):
                time.sleep(0.05)
    print(f"done {result.processed} {result.skipped} {result.failed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
