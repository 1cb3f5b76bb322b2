// Records a batch's items as processed and moves the progress counters, in the transaction
// that wrote the batch's data. New ids are created (the unique constraint stops a second
// worker's copy); ids that had failed before are turned into processed ones.
// Parameters: $run_id, $loader, $shard, $new_ids, $retried_ids, $skipped (int)
WITH datetime() AS now
CALL (now) {
  UNWIND $new_ids AS id
  CREATE (:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id,
                          status: 'processed', attempts: 1, updated_at: now})
}
CALL (now) {
  UNWIND $retried_ids AS id
  MATCH (p:ProcessedItem {run_id: $run_id, loader: $loader, item_id: id})
  REMOVE p:FailedItem
  SET p.status = 'processed', p.attempts = p.attempts + 1,
      p.error = null, p.error_type = null, p.updated_at = now
}
MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
SET c.processed = c.processed + size($new_ids) + size($retried_ids),
    c.failed = c.failed - size($retried_ids),
    c.skipped = c.skipped + $skipped,
    c.updated_at = now
