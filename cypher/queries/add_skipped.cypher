// Adds to a loader's count of items skipped because an earlier pass had processed them.
// Parameters: $run_id, $loader, $shard, $skipped
CYPHER replan=skip
MERGE (c:CheckpointCounter {run_id: $run_id, loader: $loader, shard: $shard})
ON CREATE SET c.processed = 0, c.failed = 0, c.skipped = 0
SET c.skipped = c.skipped + $skipped, c.updated_at = datetime()
