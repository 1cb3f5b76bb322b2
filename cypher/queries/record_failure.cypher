// Records one item as failed with its error, counting the attempt. An item that another
// worker processed meanwhile is left as processed (no row comes back). Takes the loader lock
// first, like every writer of records, so the check and the write see the same records.
// Parameters: $run_id, $loader, $shard, $item_id, $error_type, $error
CYPHER replan=skip
MATCH (l:CheckpointLoader {run_id: $run_id, loader: $loader})
SET l.updated_at = datetime()
WITH l.updated_at AS now
CALL () {
  OPTIONAL CALL () {
    MATCH (p:ProcessedItem)
    WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id <= $item_id
    WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
    WITH p WHERE p.item_id = $item_id OR (p.last_item_id >= $item_id AND NOT p:ProcessedChunk)
    RETURN p
    UNION
    MATCH (p:ProcessedChunk)
    WHERE p.run_id = $run_id AND p.loader = $loader AND p.item_id <= $item_id
    WITH p ORDER BY p.run_id DESC, p.loader DESC, p.item_id DESC LIMIT 1
    WITH p WHERE $item_id IN p.item_ids
    RETURN p
  }
  RETURN p AS old
  LIMIT 1
}
WITH now, old
WHERE old IS NULL OR old.status = 'failed'
MERGE (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: $item_id})
SET p:FailedItem,
    p.status = 'failed',
    p.attempts = coalesce(p.attempts, 0) + 1,
    p.error_type = $error_type,
    p.error = $error,
    p.updated_at = now
WITH p, old, now
MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
SET c.failed = c.failed + CASE WHEN old IS NULL THEN 1 ELSE 0 END,
    c.updated_at = now
RETURN p.attempts AS attempts
