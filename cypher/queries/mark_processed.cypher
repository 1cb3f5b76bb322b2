// Records one item as processed, in the caller's transaction (manual API). Returns the status
// the item had before: null (never seen) or 'failed' when it is marked now, 'processed' when
// another transaction recorded it first, in which case nothing changes and the caller makes
// its transaction fail. MERGE on the unique (run_id, loader, item_id) key serializes two
// transactions marking the same item: the second waits for the first and then sees its record.
// Parameters: $run_id, $loader, $shard, $item_id
MERGE (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: $item_id})
WITH p, p.status AS before
CALL (p, before) {
  WITH p, before
  WHERE before IS NULL OR before <> 'processed'
  REMOVE p:FailedItem
  SET p.status = 'processed',
      p.attempts = coalesce(p.attempts, 0) + 1,
      p.error_type = null,
      p.error = null,
      p.updated_at = datetime()
  MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
  ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
  SET c.processed = c.processed + 1,
      c.failed = c.failed - CASE WHEN before IS NULL THEN 0 ELSE 1 END,
      c.updated_at = datetime()
}
RETURN before
