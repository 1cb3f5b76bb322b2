// The id of the newest run (by start time), whatever its status.
// Parameters: none
MATCH (r:CheckpointRun)
RETURN r.run_id AS run_id
ORDER BY r.started_at DESC, r.run_id DESC
LIMIT 1
