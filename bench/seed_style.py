"""The approach graph-checkpoint replaces, written faithfully for the benchmark.

This is the "seed" pattern many hand-written Neo4j loaders start from: one managed write
transaction per item, and progress kept outside the database in a JSON file that lists
every processed id, rewritten in full every ``checkpoint_interval`` items. It is quadratic
(each rewrite serialises every id seen so far) and not exactly-once (a crash between a
commit and the next rewrite loads up to ``checkpoint_interval - 1`` items twice), which is
why the benchmark runs it on a prefix of the data only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import neo4j


class SeedStyleLoader:
    """Loads items one transaction each, remembering progress in a JSON file."""

    def __init__(self, progress_file: Path, checkpoint_interval: int = 25) -> None:
        self.progress_file = progress_file
        self.checkpoint_interval = checkpoint_interval
        self.processed_ids: list[Any] = []
        # The seed keeps a set next to the list for the skip test; the list is what is saved.
        self._seen: set[Any] = set()
        self._load_progress()

    def _load_progress(self) -> None:
        """Read the ids processed by an earlier pass, if the progress file exists."""
        if self.progress_file.exists():
            state = json.loads(self.progress_file.read_text(encoding="utf-8"))
            self.processed_ids = list(state.get("processed_ids", []))
            self._seen = set(self.processed_ids)

    def _save_progress(self) -> None:
        """Rewrite the whole progress file: every processed id, every time."""
        state = {
            "processed_ids": self.processed_ids,
            "count": len(self.processed_ids),
            "updated_at": datetime.now(timezone.utc).isoformat(),
        }
        tmp = self.progress_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        # Atomic replace, as a careful seed loader does, so a crash never leaves half a file.
        os.replace(tmp, self.progress_file)

    def load(
        self,
        session: neo4j.Session,
        items: Iterable[dict[str, Any]],
        write_item: Callable[[neo4j.ManagedTransaction, dict[str, Any]], None],
        item_id: str = "id",
    ) -> dict[str, int]:
        """Load each item not yet in the progress file in its own transaction."""
        processed = skipped = 0
        for item in items:
            key = item[item_id]
            if key in self._seen:
                skipped += 1
                continue
            session.execute_write(write_item, item)
            self.processed_ids.append(key)
            self._seen.add(key)
            processed += 1
            if processed % self.checkpoint_interval == 0:
                self._save_progress()
        self._save_progress()
        return {"processed": processed, "skipped": skipped}
