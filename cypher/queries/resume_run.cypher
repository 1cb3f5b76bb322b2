// Marks a run as running again, in this process.
// Parameters: $run_id, $host, $pid
// A run being deleted is never resumed: the status test is part of the write, so a delete
// that starts between the caller's read and this write wins (no row comes back then).
MATCH (r:CheckpointRun {run_id: $run_id})
WHERE r.status <> 'deleting'
SET r.status = 'running',
    r.updated_at = datetime(),
    r.finished_at = null,
    r.error = null,
    r.host = $host,
    r.pid = $pid,
    r.resumes = coalesce(r.resumes, 0) + 1
RETURN r {.*} AS run
