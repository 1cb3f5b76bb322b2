// Ends a run: status is 'completed', 'failed' or 'interrupted'; error is null or a message.
// Loaders still marked running end with the same status.
// Parameters: $run_id, $status, $error
MATCH (r:CheckpointRun {run_id: $run_id})
SET r.status = $status,
    r.error = $error,
    r.updated_at = datetime(),
    r.finished_at = datetime()
WITH r
OPTIONAL MATCH (l:CheckpointLoader {run_id: $run_id})
WHERE l.status = 'running'
SET l.status = $status, l.updated_at = datetime(), l.finished_at = datetime()
RETURN DISTINCT r {.*} AS run
