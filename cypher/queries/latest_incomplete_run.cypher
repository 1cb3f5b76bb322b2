// The newest run that did not complete, whatever its config (resume_run() without an id).
// Parameters: none
MATCH (r:CheckpointRun)
WHERE r.status IN ['running', 'interrupted', 'failed']
RETURN r {.*} AS run
ORDER BY r.started_at DESC
LIMIT 1
