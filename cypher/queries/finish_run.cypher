// Ends a run: $status is 'completed', 'failed' or 'interrupted'; $error is null or a message.
// A completed run with items still recorded as failed ends 'completed_with_failures'; a
// completed one gives up its open key (manager.run() starts a new run for its config then).
// The time since the run was resumed is added to its active time. Loaders still marked
// running end with the same status.
// Parameters: $run_id, $status, $error
MATCH (r:CheckpointRun {run_id: $run_id})
WITH r, datetime() AS now, COLLECT {
  MATCH (c:CheckpointCounter)
  WHERE c.run_id = $run_id AND c.loader IS NOT NULL AND c.shard IS NOT NULL
  RETURN c.failed
} AS failed
WITH r, now, CASE
  WHEN $status = 'completed' AND reduce(total = 0, n IN failed | total + n) > 0
    THEN 'completed_with_failures'
  ELSE $status
END AS status
SET r.status = status,
    r.error = $error,
    r.updated_at = now,
    r.finished_at = now,
    r.active_seconds = coalesce(r.active_seconds, 0.0) + CASE
      WHEN r.resumed_at IS NULL THEN 0.0
      ELSE (now.epochMillis - r.resumed_at.epochMillis) / 1000.0
    END,
    r.resumed_at = null,
    r.open_key = CASE WHEN status STARTS WITH 'completed' THEN null ELSE r.open_key END
WITH r, now, status
OPTIONAL MATCH (l:CheckpointLoader {run_id: $run_id})
WHERE l.status = 'running'
SET l.status = status, l.updated_at = now, l.finished_at = now
RETURN DISTINCT r {.*} AS run
