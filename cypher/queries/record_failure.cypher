// Records one item as failed with its error, counting the attempt. An item that another
// worker processed meanwhile is left as processed.
// Parameters: $run_id, $loader, $shard, $item_id, $error_type, $error
OPTIONAL MATCH (old:ProcessedItem {run_id: $run_id, loader: $loader, item_id: $item_id})
WITH old
WHERE old IS NULL OR old.status = 'failed'
MERGE (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: $item_id})
SET p:FailedItem,
    p.status = 'failed',
    p.attempts = coalesce(p.attempts, 0) + 1,
    p.error_type = $error_type,
    p.error = $error,
    p.updated_at = datetime()
WITH p, old
MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
SET c.failed = c.failed + CASE WHEN old IS NULL THEN 1 ELSE 0 END,
    c.updated_at = datetime()
RETURN p.attempts AS attempts
