// Marks a run as running again, in this process.
// Parameters: $run_id, $host, $pid
MATCH (r:CheckpointRun {run_id: $run_id})
SET r.status = 'running',
    r.updated_at = datetime(),
    r.finished_at = null,
    r.error = null,
    r.host = $host,
    r.pid = $pid,
    r.resumes = coalesce(r.resumes, 0) + 1
RETURN r {.*} AS run
