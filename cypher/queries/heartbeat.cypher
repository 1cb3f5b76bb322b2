// Keeps a running run's updated_at fresh, so a run whose process died shows as stale.
// Parameters: $run_id
CYPHER replan=skip
MATCH (r:CheckpointRun {run_id: $run_id})
WHERE r.status = 'running'
SET r.updated_at = datetime()
