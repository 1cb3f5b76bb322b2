"""Compaction of a loader's processed records, in bounded transactions.

A load leaves behind many small records: per-item ones from runs made before per-batch
records, and singles beside the ranges and chunks of newer runs. Compaction rewrites them
into the fewest records the model allows (see ``cypher/queries/compact_*.cypher``):

- int ids: adjacent processed records (ranges, singles, legacy records) become one range,
  kept on the node with the lowest id; a record left alone becomes a bare single;
- str ids: processed per-item records are packed, sorted, into chunks of at most
  :data:`CHUNK_IDS` ids, merged with the chunks their span meets so chunks never overlap;
- failed records are never touched.

Every transaction takes the loader lock first and leaves the set of covered ids and every
invariant of the model as they were, so compaction may run while loads still write to the
loader, and a lookup between two of its transactions (or after a kill in the middle) is
still exact. Like ``_ops``, :func:`compact_loader` is a generator of steps that an executor
performs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ._ops import Op, Write, get_run
from .errors import GraphCheckpointError, RunStateError
from .model import RunStatus

__all__ = ["CHUNK_IDS", "COMPACT_BATCH", "CompactStats", "compact_loader"]

log = logging.getLogger("graph_checkpoint")

CHUNK_IDS = 1_000
"""The most str ids one chunk holds: a lookup reads one chunk's list, so it stays short."""

COMPACT_BATCH = 1_000
"""Records read per compaction transaction."""

# Chunks a str transaction may merge besides the one below its window: each can hold
# CHUNK_IDS ids, so this bounds what one transaction rewrites when singles and chunks
# interleave (e.g. ids loaded again after a chunk was written over their span).
_MAX_CHUNKS = 8

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class CompactStats:
    """What :func:`compact_loader` did to one loader's records.

    Counts are of records (nodes), not items. ``records_before`` counts the records the
    compaction read; a load writing to the loader meanwhile can add records it did not see.
    """

    run_id: str
    loader: str
    records_before: int
    """Records of the loader when compaction read them: ranges, singles, chunks, failed."""
    records_after: int
    """Records left: ``records_before`` less those merged, packed or replaced, plus chunks."""
    ints_merged: int
    """Int records merged into the range of an adjacent lower record, and deleted."""
    strings_packed: int
    """Per-item str records whose id went into a chunk, and deleted."""
    chunks_written: int
    """Chunk nodes created."""
    chunks_replaced: int
    """Existing chunks whose ids were merged into new chunks, and deleted."""
    transactions: int
    """Write transactions it took."""

    @property
    def changed(self) -> bool:
        """Whether any record was rewritten (a second compaction changes nothing)."""
        return bool(
            self.ints_merged or self.strings_packed or self.chunks_written or self.chunks_replaced
        )


def compact_loader(run_id: str, loader: str, *, batch: int = COMPACT_BATCH) -> Op[CompactStats]:
    """Compact the processed records of ``loader`` in ``run_id``, ``batch`` records per
    transaction, and return what was done.

    Raises :class:`RunStateError` when the run is being deleted and
    :class:`GraphCheckpointError` when it has no such loader (``RunNotFoundError`` when
    there is no such run).
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    transactions = read = merged = 0
    start: int = _INT_MIN
    while True:
        row = yield from _step(run_id, loader, "compact_ints", {"from": start, "batch": batch})
        transactions += 1
        read += int(row["read"])
        merged += int(row["merged"])
        if int(row["read"]) < batch or row["last_id"] == _INT_MAX:
            break
        start = int(row["last_id"]) + 1
    packed = written = replaced = ahead = 0
    after = ""  # below every str id: the empty string is not a valid id
    while True:
        row = yield from _step(
            run_id,
            loader,
            "compact_strings",
            {"after": after, "batch": batch, "chunk_ids": CHUNK_IDS, "max_chunks": _MAX_CHUNKS},
        )
        transactions += 1
        # A chunk the last transaction wrote past its window is read again by a later one:
        # it was counted as written, not as a record found.
        read += int(row["read"]) - ahead
        ahead = int(row["ahead"])
        packed += int(row["packed"])
        written += int(row["written"])
        replaced += int(row["replaced"])
        if not row["more"]:
            break
        after = str(row["last_id"])
    stats = CompactStats(
        run_id=run_id,
        loader=loader,
        records_before=read,
        records_after=read - merged - packed - replaced + written,
        ints_merged=merged,
        strings_packed=packed,
        chunks_written=written,
        chunks_replaced=replaced,
        transactions=transactions,
    )
    log.debug(
        "compacted loader %s of run %s: %d records -> %d (%d ints merged, %d strings packed"
        " into %d chunks) in %d transactions",
        loader,
        run_id,
        stats.records_before,
        stats.records_after,
        merged,
        packed,
        written,
        transactions,
    )
    return stats


def _step(run_id: str, loader: str, query: str, params: dict[str, Any]) -> Op[dict[str, Any]]:
    """One compaction transaction; its one row, or the reason there is none raised."""
    records = yield Write(query, {"run_id": run_id, "loader": loader, **params})
    if records:
        row: dict[str, Any] = records[0]
        return row
    # The query matched no run that is not being deleted, or no such loader: say which.
    info = yield from get_run(run_id)
    if info.status is RunStatus.DELETING:
        raise RunStateError(f"run {run_id} is being deleted: there is nothing to compact")
    raise GraphCheckpointError(f"run {run_id} has no loader named {loader!r}")
