// Records one item as processed, in the caller's transaction (manual API). Returns 1 when it
// was newly marked, 0 when it was already processed.
// Parameters: $run_id, $loader, $shard, $item_id
OPTIONAL MATCH (old:ProcessedItem {run_id: $run_id, loader: $loader, item_id: $item_id})
WITH old
WHERE old IS NULL OR old.status <> 'processed'
MERGE (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: $item_id})
REMOVE p:FailedItem
SET p.status = 'processed',
    p.attempts = coalesce(p.attempts, 0) + 1,
    p.error_type = null,
    p.error = null,
    p.updated_at = datetime()
WITH p, old
MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
SET c.processed = c.processed + 1,
    c.failed = c.failed - CASE WHEN old IS NULL THEN 0 ELSE 1 END,
    c.updated_at = datetime()
RETURN count(p) AS marked
