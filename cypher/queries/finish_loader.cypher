// Ends one loader of a run with 'completed', 'failed' or 'interrupted'; a completed loader
// with items still recorded as failed ends 'completed_with_failures'.
// Parameters: $run_id, $loader, $status
CYPHER replan=skip
MATCH (l:CheckpointLoader {run_id: $run_id, loader: $loader})
WITH l, COLLECT {
  MATCH (c:CheckpointCounter)
  WHERE c.run_id = $run_id AND c.loader = $loader AND c.shard IS NOT NULL
  RETURN c.failed
} AS failed
SET l.status = CASE
      WHEN $status = 'completed' AND reduce(total = 0, n IN failed | total + n) > 0
        THEN 'completed_with_failures'
      ELSE $status
    END,
    l.updated_at = datetime(),
    l.finished_at = datetime()
